// AVX-512 VNNI block-quantized matmul: vpdpbusd / vpdpwssd integer dot products (ymm registers,
// one 32-value block per instruction), F32 scaling with FMA.
#include "CLFMKernels.h"
#include "internal/quant_common.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#define QS_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define QS_VNNI 1
#include "internal/quant_simd.h"

LFM_DEFINE_QUANTIZE_ACTIVATIONS(lfm_quantize_activations_avx512, QS_TARGET)

QS_TARGET void lfm_qmatmul_avx512vnni(int type, const void *w, size_t n0, size_t n1,
                                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    QS_DISPATCH(type, w, n0, n1, x, m, y, yStride);
}
#else
void lfm_quantize_activations_avx512(const float *x, size_t xStride, size_t t0, size_t t1, size_t cols,
                                     size_t block, int8_t *q, float *d, int16_t *sums, float *dsums) {
    lfm_quantize_activations_portable(x, xStride, t0, t1, cols, block, q, d, sums, dsums);
}
void lfm_qmatmul_avx512vnni(int type, const void *w, size_t n0, size_t n1,
                            const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride);
}
#endif
