// ARM64 block-quantized matmul with NEON intrinsics (lfm_qmatmul_portable runs it on ARM64):
// Q8_0, Q4_0, Q4_K and Q6_K weights unpacked to int8 lanes and dotted with the int8
// activations, by widening multiplies (smull + sadalp, any ARMv8-A CPU) or by SDOT
// (vdotq_s32, the dot-product extension: lfm_qmatmul_neon_dotprod, compiled for it with a
// function attribute and called only when lfm_cpu_features() reports LFM_CPU_DOTPROD).
// Other types run the plain C kernels.
#include "CLFMKernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include "internal/quant_common.h"

#pragma clang fp contract(off)

/// IEEE half at p (unaligned) to float, with the hardware conversion.
static inline __attribute__((always_inline)) float qn_half(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

/// acc + the 16 int8 products of a and b with widening multiplies and pairwise adds.
static inline __attribute__((always_inline)) int32x4_t qn_dot16_widening(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
}

#define QN_NAME(n) qn_widening_##n
#define QN_ATTR
#define QN_DOT16(acc, a, b) qn_dot16_widening(acc, a, b)
#include "internal/quant_neon_template.h"
#undef QN_NAME
#undef QN_ATTR
#undef QN_DOT16

#define QN_NAME(n) qn_sdot_##n
#define QN_ATTR __attribute__((target("dotprod")))
#define QN_DOT16(acc, a, b) vdotq_s32(acc, a, b)
#include "internal/quant_neon_template.h"
#undef QN_NAME
#undef QN_DOT16

void lfm_qmatmul_neon(int type, const void *w, size_t n0, size_t n1,
                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    const uint8_t *wb = (const uint8_t *)w;
    switch (type) {
    case QT_Q8_0: qn_widening_loop_q8_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_0: qn_widening_loop_q4_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_K: qn_widening_loop_q4_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q6_K: qn_widening_loop_q6_k(wb, n0, n1, x, m, y, yStride); break;
    default: lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride); break;
    }
}

QN_ATTR void lfm_qmatmul_neon_dotprod(int type, const void *w, size_t n0, size_t n1,
                                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    const uint8_t *wb = (const uint8_t *)w;
    switch (type) {
    case QT_Q8_0: qn_sdot_loop_q8_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_0: qn_sdot_loop_q4_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_K: qn_sdot_loop_q4_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q6_K: qn_sdot_loop_q6_k(wb, n0, n1, x, m, y, yStride); break;
    default: lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride); break;
    }
}
#undef QN_ATTR
#endif
