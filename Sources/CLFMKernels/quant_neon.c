// ARM64 block-quantized matmul with NEON intrinsics (lfm_qmatmul_portable runs it on ARM64):
// Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL and IQ4_XS weights unpacked
// to int8 lanes and dotted with the int8 activations, by widening multiplies (smull + sadalp, any
// ARMv8-A CPU) or by SDOT (vdotq_s32, the dot-product extension: lfm_qmatmul_neon_dotprod,
// compiled for it with a function attribute and called only when lfm_cpu_features() reports
// LFM_CPU_DOTPROD). The regrouped Q4_0_X8 / Q8_0_X8 layouts run the plain C kernels.
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

/// 0xFF in lane i where bit 16 * half + i of `bits` is set, else 0 (Q5_0 / Q5_1's fifth bits).
static inline __attribute__((always_inline)) uint8x16_t qn_bit_lanes(uint32_t bits, int half) {
    static const uint8_t index[2][16] = { { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 },
                                          { 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3 } };
    static const uint8_t bit[16] = { 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128 };
    const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(bits));
    return vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(index[half])), vld1q_u8(bit));
}

/// [sum of a's lanes, b's, c's, d's].
static inline __attribute__((always_inline)) int32x4_t qn_sum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

/// The 8 signed sub-block scales of an IQ4_XS block (lfm_qt_iq4xs_scale for ib = 0 ..< 8): low
/// nibbles from bytes 4..7, two high bits each from bytes 2..3.
static inline __attribute__((always_inline)) int16x8_t qn_iq4xs_scales(const uint8_t *blk) {
    static const uint8_t lowIndex[8] = { 4, 4, 5, 5, 6, 6, 7, 7 }, highIndex[8] = { 2, 2, 2, 2, 3, 3, 3, 3 };
    static const int8_t lowShift[8] = { 0, -4, 0, -4, 0, -4, 0, -4 }, highShift[8] = { 4, 2, 0, -2, 4, 2, 0, -2 };
    const uint8x8_t v = vld1_u8(blk);
    const uint8x8_t lo = vand_u8(vshl_u8(vtbl1_u8(v, vld1_u8(lowIndex)), vld1_s8(lowShift)), vdup_n_u8(0xF));
    const uint8x8_t hi = vand_u8(vshl_u8(vtbl1_u8(v, vld1_u8(highIndex)), vld1_s8(highShift)), vdup_n_u8(0x30));
    return vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vorr_u8(lo, hi))), vdupq_n_s16(32));
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
    const qn_widening_loop_fn loop = qn_widening_loop_for(type);
    if (loop) loop((const uint8_t *)w, n0, n1, x, m, y, yStride);
    else lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride);
}

QN_ATTR void lfm_qmatmul_neon_dotprod(int type, const void *w, size_t n0, size_t n1,
                                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    const qn_sdot_loop_fn loop = qn_sdot_loop_for(type);
    if (loop) loop((const uint8_t *)w, n0, n1, x, m, y, yStride);
    else lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride);
}
#undef QN_ATTR
#endif
