// Layout of the packed prefill GEMM (matmul_packed*.c only; the public parts are in CLFMKernels.h).
//
// Packed activations for m rows, `cols` columns and panel height MR: rows are padded with zeros
// to mp = lfm_packed_rows(m, MR); K is cut into slices of LFM_PACKED_KC columns; slice kc
// (length kl) starts at kc * mp, the panel of rows t .. t+MR-1 at kc * mp + t * kl, and element
// (t + i, kc + k) sits at kc * mp + t * kl + k * MR + i.
#ifndef LFM_MATMUL_PACKED_H
#define LFM_MATMUL_PACKED_H
#include <stddef.h>

static inline size_t lfm_packed_rows(size_t m, size_t mr) { return (m + mr - 1) / mr * mr; }

/// The entry point NAME of a packed GEMM file, under the file's target attribute ATTR: the file's
/// always-inline `packed(dt, w, K, n0, n1, ap, m, y, ys, panel)` instantiated per weight type (so each
/// copy has its loads fixed), and zero outputs for a product without columns.
#define LFM_DEFINE_PACKED_ENTRY(NAME, ATTR)                                                                   \
    ATTR static void NAME##_f32(const void *w, size_t K, size_t n0, size_t n1, const float *ap, size_t m,     \
                                float *y, size_t ys, float *bp) {                                             \
        packed(LFM_DT_F32, (const char *)w, K, n0, n1, ap, m, y, ys, bp);                                     \
    }                                                                                                         \
    ATTR static void NAME##_f16(const void *w, size_t K, size_t n0, size_t n1, const float *ap, size_t m,     \
                                float *y, size_t ys, float *bp) {                                             \
        packed(LFM_DT_F16, (const char *)w, K, n0, n1, ap, m, y, ys, bp);                                     \
    }                                                                                                         \
    ATTR static void NAME##_bf16(const void *w, size_t K, size_t n0, size_t n1, const float *ap, size_t m,    \
                                 float *y, size_t ys, float *bp) {                                            \
        packed(LFM_DT_BF16, (const char *)w, K, n0, n1, ap, m, y, ys, bp);                                    \
    }                                                                                                         \
    ATTR void NAME(int dtype, const void *w, size_t cols, size_t n0, size_t n1, const float *ap, size_t m,    \
                   float *y, size_t yStride, float *panel) {                                                  \
        if (n1 <= n0 || m == 0) return;                                                                       \
        if (cols == 0) {                                                                                      \
            for (size_t t = 0; t < m; t++)                                                                    \
                for (size_t n = n0; n < n1; n++) y[t * yStride + n] = 0;                                      \
            return;                                                                                           \
        }                                                                                                     \
        switch (dtype) {                                                                                      \
        case LFM_DT_F32: NAME##_f32(w, cols, n0, n1, ap, m, y, yStride, panel); break;                        \
        case LFM_DT_F16: NAME##_f16(w, cols, n0, n1, ap, m, y, yStride, panel); break;                        \
        default: NAME##_bf16(w, cols, n0, n1, ap, m, y, yStride, panel); break;                               \
        }                                                                                                     \
    }

#endif
