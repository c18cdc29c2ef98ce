// e^x on clang vector-extension types, shared by the inference ops (ops_template.h) and the
// training kernels (train_template.h): Cephes-style polynomial after rounding x / ln 2 with the
// 1.5 * 2^23 trick, about 2 ulp; inputs clamped to [-87.3, 88.0]; NaN inputs stay NaN.
#ifndef LFM_VEC_EXP_H
#define LFM_VEC_EXP_H
#include <string.h>

/// Defines `QUALIFIERS VF NAME(VF input)` for the float vector type VF, its int32 vector type
/// VI and the splat function SPLAT.
#define LFM_DEFINE_VEXP(QUALIFIERS, NAME, VF, VI, SPLAT)                                     \
    QUALIFIERS VF NAME(VF input) {                                                           \
        VF x = __builtin_elementwise_min(input, SPLAT(88.0f));                               \
        x = __builtin_elementwise_max(x, SPLAT(-87.3f));                                     \
        VF t = x * 1.44269504088896341f + 12582912.0f;                                       \
        VF n = t - 12582912.0f;                                                              \
        VF r = x - n * 0.693359375f;                                                         \
        r = r - n * -2.12194440e-4f;                                                         \
        VF p = SPLAT(1.9875691500e-4f);                                                      \
        p = p * r + 1.3981999507e-3f;                                                        \
        p = p * r + 8.3334519073e-3f;                                                        \
        p = p * r + 4.1665795894e-2f;                                                        \
        p = p * r + 1.6666665459e-1f;                                                        \
        p = p * r + 5.0000001201e-1f;                                                        \
        p = p * (r * r) + r + 1.0f;                                                          \
        VI e = (__builtin_convertvector(n, VI) + 127) << 23;                                 \
        VF scale;                                                                            \
        memcpy(&scale, &e, sizeof scale);                                                    \
        VF result = p * scale;                                                               \
        /* min/max return the non-NaN operand: put NaN inputs back. */                       \
        VI ordered = input == input, rb, ib;                                                 \
        memcpy(&rb, &result, sizeof rb);                                                     \
        memcpy(&ib, &input, sizeof ib);                                                      \
        rb = (rb & ordered) | (ib & ~ordered);                                               \
        memcpy(&result, &rb, sizeof result);                                                 \
        return result;                                                                       \
    }

#endif
