// ARM64 matrix multiplication with NEON intrinsics (lfm_matmul_portable runs it on ARM64).
// Tiles of up to 4 activation rows x 4 weight rows accumulate in F32 FMA lanes; F16 weights
// are widened with fcvtl, BF16 weights by a 16-bit shift, four at a time, straight from memory.
// Numerics: F32 accumulation, differences from the reference only by summation order.
#include "CLFMKernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>
#include "internal/matmul_common.h"

#define MN_INLINE static inline __attribute__((always_inline))

/// Four weights of a row from element k, widened to F32.
MN_INLINE float32x4_t mn_load4(int dt, const char *row, size_t k) {
    if (dt == LFM_DT_F32) return vld1q_f32((const float *)row + k);
    uint16x4_t h = vld1_u16((const uint16_t *)row + k);
    if (dt == LFM_DT_F16) return vcvt_f32_f16(vreinterpret_f16_u16(h));
    return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

/// One weight of a row, widened to F32.
MN_INLINE float mn_load1(int dt, const char *row, size_t k) {
    if (dt == LFM_DT_F32) return ((const float *)row)[k];
    uint16_t h;
    memcpy(&h, (const uint16_t *)row + k, 2);
    if (dt == LFM_DT_F16) {
        __fp16 f;
        memcpy(&f, &h, 2);
        return (float)f;
    }
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/// NT (1 ... 4) activation rows from t times weight rows n ..< n + nr (nr <= 4; missing rows
/// reuse the last valid one, computed but not stored). With one or two activation rows, two
/// accumulator sets cover eight columns per step, so eight FMA chains hide the FMA latency.
MN_INLINE void mn_tile(int dt, int NT, const char *w, size_t rb, size_t K, size_t n, size_t nr,
                       const float *x, size_t xs, size_t t, float *y, size_t ys) {
    enum { U_MAX = 2 };
    const int U = NT <= 2 ? 2 : 1;
    const char *wr[4];
    for (size_t j = 0; j < 4; j++) wr[j] = w + (n + (j < nr ? j : nr - 1)) * rb;
    const float *xr[4];
    for (int i = 0; i < NT; i++) xr[i] = x + (t + (size_t)i) * xs;
    float32x4_t acc[4][4][U_MAX];
    for (int i = 0; i < NT; i++)
        for (int j = 0; j < 4; j++)
            for (int u = 0; u < U; u++) acc[i][j][u] = vdupq_n_f32(0);
    size_t k = 0;
    for (; k + 4 * (size_t)U <= K; k += 4 * (size_t)U) {
        for (int u = 0; u < U; u++) {
            const size_t ku = k + 4 * (size_t)u;
            float32x4_t wv[4];
            for (int j = 0; j < 4; j++) wv[j] = mn_load4(dt, wr[j], ku);
            for (int i = 0; i < NT; i++) {
                const float32x4_t xv = vld1q_f32(xr[i] + ku);
                for (int j = 0; j < 4; j++) acc[i][j][u] = vfmaq_f32(acc[i][j][u], xv, wv[j]);
            }
        }
    }
    for (; k + 4 <= K; k += 4) {
        float32x4_t wv[4];
        for (int j = 0; j < 4; j++) wv[j] = mn_load4(dt, wr[j], k);
        for (int i = 0; i < NT; i++) {
            const float32x4_t xv = vld1q_f32(xr[i] + k);
            for (int j = 0; j < 4; j++) acc[i][j][0] = vfmaq_f32(acc[i][j][0], xv, wv[j]);
        }
    }
    for (int i = 0; i < NT; i++)
        for (size_t j = 0; j < nr; j++) {
            float32x4_t a = acc[i][j][0];
            if (U == 2) a = vaddq_f32(a, acc[i][j][1]);
            float s = vaddvq_f32(a);
            for (size_t q = k; q < K; q++) s += xr[i][q] * mn_load1(dt, wr[j], q);
            y[(t + (size_t)i) * ys + n + j] = s;
        }
}

/// The blocked loop for one weight type (a constant after inlining): weight rows in cache
/// blocks, then activation rows four at a time, then weight rows four at a time.
MN_INLINE void mn_matmul(int dt, const char *w, size_t cols, size_t n0, size_t n1,
                         const float *x, size_t xs, size_t m, float *y, size_t ys) {
    const size_t rb = cols * lfm_dtype_size(dt);
    const size_t nbRows = lfm_block_rows(rb);
    for (size_t nb = n0; nb < n1; nb += nbRows) {
        const size_t ne = lfm_min(nb + nbRows, n1);
        for (size_t t = 0; t < m; t += 4) {
            const size_t nt = lfm_min(4, m - t);
            for (size_t n = nb; n < ne; n += 4) {
                const size_t nr = lfm_min(4, ne - n);
                switch (nt) {
                case 4: mn_tile(dt, 4, w, rb, cols, n, nr, x, xs, t, y, ys); break;
                case 3: mn_tile(dt, 3, w, rb, cols, n, nr, x, xs, t, y, ys); break;
                case 2: mn_tile(dt, 2, w, rb, cols, n, nr, x, xs, t, y, ys); break;
                default: mn_tile(dt, 1, w, rb, cols, n, nr, x, xs, t, y, ys); break;
                }
            }
        }
    }
}

static void mn_matmul_f32(const char *w, size_t cols, size_t n0, size_t n1, const float *x, size_t xs,
                          size_t m, float *y, size_t ys) {
    mn_matmul(LFM_DT_F32, w, cols, n0, n1, x, xs, m, y, ys);
}

static void mn_matmul_f16(const char *w, size_t cols, size_t n0, size_t n1, const float *x, size_t xs,
                          size_t m, float *y, size_t ys) {
    mn_matmul(LFM_DT_F16, w, cols, n0, n1, x, xs, m, y, ys);
}

static void mn_matmul_bf16(const char *w, size_t cols, size_t n0, size_t n1, const float *x, size_t xs,
                           size_t m, float *y, size_t ys) {
    mn_matmul(LFM_DT_BF16, w, cols, n0, n1, x, xs, m, y, ys);
}

void lfm_matmul_neon(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                     const float *x, size_t xStride, size_t m, float *y, size_t yStride) {
    if (n1 <= n0 || m == 0) return;
    const char *wb = (const char *)w;
    switch (dtype) {
    case LFM_DT_F32: mn_matmul_f32(wb, cols, n0, n1, x, xStride, m, y, yStride); break;
    case LFM_DT_F16: mn_matmul_f16(wb, cols, n0, n1, x, xStride, m, y, yStride); break;
    default: mn_matmul_bf16(wb, cols, n0, n1, x, xStride, m, y, yStride); break;
    }
}
#endif
