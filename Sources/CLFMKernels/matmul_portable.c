// Portable matrix multiplication: plain C that the compiler vectorizes for the baseline ISA
// (SSE2 on x86-64, NEON on ARM64). Weight rows are widened to F32 in chunks, then dotted.
// On ARM64 the portable entry point runs the NEON intrinsics of matmul_neon.c instead.
#include "CLFMKernels.h"
#include "internal/matmul_common.h"
#include <string.h>

#define CHUNK 256

static inline float bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

// Exact IEEE half -> float: scale the shifted pattern by 2^112 (exact for normal and
// subnormal halves), then patch inf / NaN. Measured faster than select-only variants on SSE2.
static inline float half_to_float(uint16_t h) {
    uint32_t em = h & 0x7fffu;
    uint32_t r = float_to_bits(bits_to_float(em << 13) * 0x1p112f);
    if (em >= 0x7c00u) r = 0x7f800000u | ((em & 0x3ffu) << 13); // inf / NaN
    return bits_to_float(r | ((uint32_t)(h & 0x8000u) << 16));
}

typedef float v4f __attribute__((vector_size(16)));

static void widen(int dt, const char *row, size_t k, size_t len, float *out) {
    if (dt == LFM_DT_F32) {
        memcpy(out, (const float *)row + k, len * 4);
    } else if (dt == LFM_DT_F16) {
        const uint16_t *p = (const uint16_t *)row + k;
#if defined(__aarch64__)
        // ARM64 converts halves natively (fcvtl); the loop vectorizes.
        const __fp16 *hp = (const __fp16 *)p;
        for (size_t i = 0; i < len; i++) out[i] = (float)hp[i];
#else
        for (size_t i = 0; i < len; i++) out[i] = half_to_float(p[i]);
#endif
    } else {
        const uint16_t *p = (const uint16_t *)row + k;
        for (size_t i = 0; i < len; i++) out[i] = bits_to_float((uint32_t)p[i] << 16);
    }
}

static inline v4f load4(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }
static inline float hsum4(v4f v) { return (v[0] + v[2]) + (v[1] + v[3]); }

// Up to 4 activation rows x up to 4 weight rows: each chunk of 4 weight rows is widened once
// into `buf`, then 2 activation rows x 4 weight rows are accumulated in 8 vector registers.
static void tile(int dt, const char *w, size_t rb, size_t K, size_t n, size_t nr,
                 const float *x, size_t xs, size_t t, size_t nt, float *y, size_t ys) {
    float acc[4][4] = {{0}};
    float buf[4][CHUNK];
    for (size_t k = 0; k < K; k += CHUNK) {
        size_t len = lfm_min(CHUNK, K - k);
        for (size_t j = 0; j < 4; j++) {
            // Missing rows reuse the last valid one (computed, not stored).
            widen(dt, w + (n + (j < nr ? j : nr - 1)) * rb, k, len, buf[j]);
        }
        for (size_t i = 0; i < nt; i += 2) {
            const float *x0 = x + (t + i) * xs + k;
            const float *x1 = x + (t + (i + 1 < nt ? i + 1 : i)) * xs + k;
            v4f a[2][4] = {{0}};
            size_t kk = 0;
            for (; kk + 4 <= len; kk += 4) {
                v4f w0 = load4(buf[0] + kk), w1 = load4(buf[1] + kk), w2 = load4(buf[2] + kk),
                    w3 = load4(buf[3] + kk);
                v4f xa = load4(x0 + kk), xb = load4(x1 + kk);
                a[0][0] += xa * w0; a[0][1] += xa * w1; a[0][2] += xa * w2; a[0][3] += xa * w3;
                a[1][0] += xb * w0; a[1][1] += xb * w1; a[1][2] += xb * w2; a[1][3] += xb * w3;
            }
            for (size_t j = 0; j < 4; j++) {
                float s0 = hsum4(a[0][j]), s1 = hsum4(a[1][j]);
                for (size_t q = kk; q < len; q++) {
                    s0 += x0[q] * buf[j][q];
                    s1 += x1[q] * buf[j][q];
                }
                acc[i][j] += s0;
                if (i + 1 < 4) acc[i + 1][j] += s1;
            }
        }
    }
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < nr; j++) y[(t + i) * ys + n + j] = acc[i][j];
}

void lfm_matmul_portable(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                         const float *x, size_t xStride, size_t m, float *y, size_t yStride) {
#if defined(__aarch64__)
    lfm_matmul_neon(dtype, w, cols, n0, n1, x, xStride, m, y, yStride);
#else
    lfm_matmul_plain(dtype, w, cols, n0, n1, x, xStride, m, y, yStride);
#endif
}

void lfm_matmul_plain(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                      const float *x, size_t xStride, size_t m, float *y, size_t yStride) {
    if (n1 <= n0 || m == 0) return;
    size_t rb = cols * lfm_dtype_size(dtype);
    size_t nbRows = lfm_block_rows(rb);
    for (size_t nb = n0; nb < n1; nb += nbRows) {
        size_t ne = lfm_min(nb + nbRows, n1);
        for (size_t t = 0; t < m; t += 4)
            for (size_t n = nb; n < ne; n += 4)
                tile(dtype, (const char *)w, rb, cols, n, lfm_min(4, ne - n), x, xStride, t,
                     lfm_min(4, m - t), y, yStride);
    }
}
