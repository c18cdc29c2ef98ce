// The AVX2 block-quantized row kernels (internal/quant_avx2_template.h) compiled for AVX-VNNI: the
// VEX-encoded vpdpbusd / vpdpwssd of Intel client cores since Alder Lake (and of AVX-512 cores,
// which take their own AVX-512 VNNI path instead) replace vpmaddubsw + vpmaddwd + vpaddd. Same
// integer products as the AVX2 kernels; activations come from lfm_quantize_activations_avx2.
#include "CLFMKernels.h"
#include "internal/quant_common.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#define QS_TARGET __attribute__((target("avx2,fma,f16c,avxvnni")))
#define QS_VNNI 2
#define QA2_ENTRY lfm_qmatmul_avxvnni
#include "internal/quant_avx2_template.h"
#else
void lfm_qmatmul_avxvnni(int type, const void *w, size_t n0, size_t n1,
                         const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride);
}
#endif
