// The AVX2 prefill GEMM (internal/quant_gemm_avx2_template.h) compiled for AVX-VNNI: the same
// packed panels, with vpdpbusd / vpdpwssd in place of vpmaddubsw + vpmaddwd + vpaddd.
#include "CLFMKernels.h"
#include "internal/quant_common.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#define QA_TARGET __attribute__((target("avx2,fma,f16c,avxvnni")))
#define QA_VNNI 1
#define QA_ENTRY lfm_qgemm_avxvnni
#define QA_ROW_ENTRY lfm_qmatmul_avxvnni
#include "internal/quant_gemm_avx2_template.h"
#else
void lfm_qgemm_avxvnni(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                       float *y, size_t yStride) {
    lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride);
}
#endif
