// AVX2 (+FMA, F16C) block-quantized matmul: maddubs / madd integer dot products (the kernels are in
// internal/quant_avx2_template.h, which quant_avxvnni.c compiles again for AVX-VNNI). The activation
// quantizer serves both 256-bit paths.
#include "CLFMKernels.h"
#include "internal/quant_common.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#define QS_TARGET __attribute__((target("avx2,fma,f16c")))
#define QS_VNNI 0
#define QA2_ENTRY lfm_qmatmul_avx2
#include "internal/quant_avx2_template.h"

LFM_DEFINE_QUANTIZE_ACTIVATIONS(lfm_quantize_activations_avx2, QS_TARGET)
#else
void lfm_quantize_activations_avx2(const float *x, size_t xStride, size_t t0, size_t t1, size_t cols,
                                   size_t block, int8_t *q, float *d, int16_t *sums, float *dsums) {
    lfm_quantize_activations_portable(x, xStride, t0, t1, cols, block, q, d, sums, dsums);
}
void lfm_qmatmul_avx2(int type, const void *w, size_t n0, size_t n1,
                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride);
}
#endif
