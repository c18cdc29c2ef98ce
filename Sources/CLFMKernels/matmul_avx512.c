// AVX-512 matrix multiplication (F32/F16/BF16 weights, F32 activations and accumulation),
// plus the opt-in vdpbf16ps path. Every function carries its own target attribute.
#include "CLFMKernels.h"
#include "internal/matmul_common.h"
#include "internal/prefetch.h"
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define T512I T512 __attribute__((always_inline)) static inline
#define T512BF __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,f16c")))

// 16 weights from element k of a row, widened to F32.
T512I __m512 ld16(int dt, const char *row, size_t k) {
    if (dt == LFM_DT_F32) return _mm512_loadu_ps((const float *)row + k);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)row + k));
    if (dt == LFM_DT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// The first popcount(mask) weights from element k, zeros after.
T512I __m512 ld16m(int dt, const char *row, size_t k, __mmask16 mask) {
    if (dt == LFM_DT_F32) return _mm512_maskz_loadu_ps(mask, (const float *)row + k);
    __m256i h = _mm256_maskz_loadu_epi16(mask, (const uint16_t *)row + k);
    if (dt == LFM_DT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Sums of a, b, c, d as one 4-lane vector.
T512I __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
    __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
    __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm512_extractf32x8_ps(d, 1));
    __m256 ab = _mm256_hadd_ps(a8, b8), cd = _mm256_hadd_ps(c8, d8);
    __m256 abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// Writes (or, when `accumulate`, adds) an nt x nr block of tile results into y.
T512I void store_tile(const __m128 out[4], size_t nt, size_t nr, int accumulate, float *y, size_t ys) {
    for (size_t i = 0; i < nt; i++) {
        float *dst = y + i * ys;
        if (nr == 4) {
            _mm_storeu_ps(dst, accumulate ? _mm_add_ps(_mm_loadu_ps(dst), out[i]) : out[i]);
        } else {
            float tmp[4];
            _mm_storeu_ps(tmp, out[i]);
            for (size_t j = 0; j < nr; j++) dst[j] = accumulate ? dst[j] + tmp[j] : tmp[j];
        }
    }
}

/// Columns per K block in the prefill loops (a multiple of 32, see lfm_permute_pairs): long
/// rows are cut so that a 4-row activation tile stays in L1 and a weight block in L2.
#define LFM_KC 1024

// ---- decode: y = W x for one activation row, one weight row at a time ----
// Each row is read front to back as one stream with four independent accumulators. Measured
// from DRAM on 65536 x 2048 BF16 weights: 37.5 GB/s on one thread and 44-48 GB/s on two, against
// 31 and 36-42 GB/s for four interleaved rows with software prefetch (the earlier kernel): the
// hardware prefetcher follows one stream per thread better than four. Software prefetches at two
// distances (lfm_prefetch_ahead) add lines in flight.
T512I void matvec(int dt, const char *w, size_t rb, size_t K, size_t n0, size_t n1,
                  const float *x, float *y) {
    const size_t es = lfm_dtype_size(dt);
    for (size_t n = n0; n < n1; n++) {
        const char *r = w + n * rb;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t k = 0;
        for (; k + 64 <= K; k += 64) {
            lfm_prefetch_ahead(r + k * es, 64 * es);
            a0 = _mm512_fmadd_ps(ld16(dt, r, k), _mm512_loadu_ps(x + k), a0);
            a1 = _mm512_fmadd_ps(ld16(dt, r, k + 16), _mm512_loadu_ps(x + k + 16), a1);
            a2 = _mm512_fmadd_ps(ld16(dt, r, k + 32), _mm512_loadu_ps(x + k + 32), a2);
            a3 = _mm512_fmadd_ps(ld16(dt, r, k + 48), _mm512_loadu_ps(x + k + 48), a3);
        }
        for (; k < K; k += 16) {
            __mmask16 mk = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            a0 = _mm512_fmadd_ps(ld16m(dt, r, k, mk), _mm512_maskz_loadu_ps(mk, x + k), a0);
        }
        y[n] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
}

/// Columns up to which matvec_bf16 keeps its pair-permuted activations on the stack (32 KiB).
#define LFM_MATVEC_PAIRS_STACK 8192

/// BF16 decode rows on pair-permuted activations (as tile_bfp below): each 512-bit load of 32
/// weights widens with one shift (even elements) and one AND (odd elements) instead of a widening
/// move and a shift per 16, so less arithmetic sits between the loads. The activations are
/// permuted once per call (stack, or heap for long rows; the natural-order kernel if that fails).
T512I void matvec_bf16(const char *w, size_t rb, size_t K, size_t n0, size_t n1, const float *x, float *y) {
    float stackPairs[LFM_MATVEC_PAIRS_STACK];
    float *xp = K <= LFM_MATVEC_PAIRS_STACK ? stackPairs : malloc(K * sizeof(float));
    if (!xp) {
        matvec(LFM_DT_BF16, w, rb, K, n0, n1, x, y);
        return;
    }
    lfm_permute_pairs_avx512(x, K, 1, K, xp);
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    for (size_t n = n0; n < n1; n++) {
        const char *r = w + n * rb;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t k = 0;
        for (; k + 64 <= K; k += 64) {
            lfm_prefetch_ahead(r + 2 * k, 128);
            const __m512i v0 = _mm512_loadu_si512((const void *)(r + 2 * k));
            const __m512i v1 = _mm512_loadu_si512((const void *)(r + 2 * k + 64));
            a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v0, 16)), _mm512_loadu_ps(xp + k), a0);
            a1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v0, high)), _mm512_loadu_ps(xp + k + 16), a1);
            a2 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v1, 16)), _mm512_loadu_ps(xp + k + 32), a2);
            a3 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v1, high)), _mm512_loadu_ps(xp + k + 48), a3);
        }
        if (k + 32 <= K) {
            const __m512i v = _mm512_loadu_si512((const void *)(r + 2 * k));
            a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), _mm512_loadu_ps(xp + k), a0);
            a1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, high)), _mm512_loadu_ps(xp + k + 16), a1);
            k += 32;
        }
        for (; k < K; k += 16) { // natural order: fewer than 32 columns left (copied as they are)
            __mmask16 mk = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            a0 = _mm512_fmadd_ps(ld16m(LFM_DT_BF16, r, k, mk), _mm512_maskz_loadu_ps(mk, xp + k), a0);
        }
        y[n] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
    if (xp != stackPairs) free(xp);
}

// ---- prefill: 4 activation rows x 4 weight rows register tile ----
// Rows past the end are aliases of valid rows (computed, not stored).
T512I void tile4x4(int dt, const char *const wr[4], const float *const xr[4], size_t K, __m128 out[4]) {
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 wv[4];
        for (int j = 0; j < 4; j++) wv[j] = ld16(dt, wr[j], k);
        for (int i = 0; i < 4; i++) {
            __m512 xv = _mm512_loadu_ps(xr[i] + k);
            for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    if (k < K) {
        __mmask16 mk = (__mmask16)((1u << (K - k)) - 1);
        __m512 wv[4];
        for (int j = 0; j < 4; j++) wv[j] = ld16m(dt, wr[j], k, mk);
        for (int i = 0; i < 4; i++) {
            __m512 xv = _mm512_maskz_loadu_ps(mk, xr[i] + k);
            for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < 4; i++) out[i] = sum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
}

T512I void gemm(int dt, const char *w, size_t rb, size_t K, size_t n0, size_t n1,
                const float *x, size_t xs, size_t m, float *y, size_t ys) {
    size_t es = lfm_dtype_size(dt);
    for (size_t kc = 0; kc < K; kc += LFM_KC) {
        size_t kl = lfm_min(LFM_KC, K - kc);
        size_t nbRows = lfm_block_rows(kl * es);
        for (size_t nb = n0; nb < n1; nb += nbRows) {
            size_t ne = lfm_min(nb + nbRows, n1);
            for (size_t t = 0; t < m; t += 4) {
                size_t nt = lfm_min(4, m - t);
                const float *xr[4];
                for (size_t i = 0; i < 4; i++) xr[i] = x + (t + (i < nt ? i : nt - 1)) * xs + kc;
                for (size_t n = nb; n < ne; n += 4) {
                    size_t nr = lfm_min(4, ne - n);
                    const char *wr[4];
                    for (size_t j = 0; j < 4; j++) wr[j] = w + (n + (j < nr ? j : nr - 1)) * rb + kc * es;
                    __m128 out[4];
                    tile4x4(dt, wr, xr, kl, out);
                    store_tile(out, nt, nr, kc > 0, y + t * ys + n, ys);
                }
            }
        }
    }
}

#define LFM_AVX512_VARIANT(NAME, DT) \
    T512 static void NAME(const void *w, size_t K, size_t n0, size_t n1, const float *x, size_t xs, \
                          size_t m, float *y, size_t ys) { \
        size_t rb = K * lfm_dtype_size(DT); \
        if (m == 1 && DT == LFM_DT_BF16 && K >= 32) matvec_bf16((const char *)w, rb, K, n0, n1, x, y); \
        else if (m == 1) matvec(DT, (const char *)w, rb, K, n0, n1, x, y); \
        else gemm(DT, (const char *)w, rb, K, n0, n1, x, xs, m, y, ys); \
    }
LFM_AVX512_VARIANT(mm_f32, LFM_DT_F32)
LFM_AVX512_VARIANT(mm_f16, LFM_DT_F16)
LFM_AVX512_VARIANT(mm_bf16, LFM_DT_BF16)

T512 void lfm_matmul_avx512(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                            const float *x, size_t xStride, size_t m, float *y, size_t yStride) {
    if (lfm_matmul_trivial(cols, n0, n1, m, y, yStride)) return;
    switch (dtype) {
    case LFM_DT_F32: mm_f32(w, cols, n0, n1, x, xStride, m, y, yStride); break;
    case LFM_DT_F16: mm_f16(w, cols, n0, n1, x, xStride, m, y, yStride); break;
    default: mm_bf16(w, cols, n0, n1, x, xStride, m, y, yStride); break;
    }
}

// ---- exact BF16 prefill on pair-permuted activations ----
// Every full block of 32 activations is stored as its 16 even then its 16 odd elements
// (lfm_permute_pairs). A 512-bit load of 32 BF16 weights then widens exactly with one shift
// (even elements, low halves) and one AND (odd elements, high halves), without shuffles.
T512I void tile_bfp(const uint16_t *const wr[4], const float *const xr[4], size_t K, __m128 out[4]) {
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    size_t k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512 we[4], wo[4];
        for (int j = 0; j < 4; j++) {
            __m512i v = _mm512_loadu_si512((const void *)(wr[j] + k));
            we[j] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
            wo[j] = _mm512_castsi512_ps(_mm512_and_si512(v, high));
        }
        for (int i = 0; i < 4; i++) {
            __m512 xe = _mm512_loadu_ps(xr[i] + k), xo = _mm512_loadu_ps(xr[i] + k + 16);
            for (int j = 0; j < 4; j++) {
                acc[i][j] = _mm512_fmadd_ps(xe, we[j], acc[i][j]);
                acc[i][j] = _mm512_fmadd_ps(xo, wo[j], acc[i][j]);
            }
        }
    }
    for (; k < K; k += 16) { // natural-order tail (fewer than 32 elements)
        __mmask16 mk = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
        __m512 wv[4];
        for (int j = 0; j < 4; j++) wv[j] = ld16m(LFM_DT_BF16, (const char *)wr[j], k, mk);
        for (int i = 0; i < 4; i++) {
            __m512 xv = _mm512_maskz_loadu_ps(mk, xr[i] + k);
            for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < 4; i++) out[i] = sum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
}

/// lfm_permute_pairs with two 512-bit permutes per block of 32 (the same bytes out).
T512 void lfm_permute_pairs_avx512(const float *x, size_t xStride, size_t m, size_t cols, float *out) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (size_t i = 0; i < m; i++) {
        const float *src = x + i * xStride;
        float *dst = out + i * cols;
        size_t k = 0;
        for (; k + 32 <= cols; k += 32) {
            const __m512 a = _mm512_loadu_ps(src + k), b = _mm512_loadu_ps(src + k + 16);
            _mm512_storeu_ps(dst + k, _mm512_permutex2var_ps(a, even, b));
            _mm512_storeu_ps(dst + k + 16, _mm512_permutex2var_ps(a, odd, b));
        }
        for (; k < cols; k++) dst[k] = src[k];
    }
}

T512 void lfm_matmul_bf16pairs_avx512(const uint16_t *w, size_t K, size_t n0, size_t n1,
                                      const float *xp, size_t xps, size_t m, float *y, size_t ys) {
    if (n1 <= n0 || m == 0) return;
    for (size_t kc = 0; kc < K; kc += LFM_KC) {
        size_t kl = lfm_min(LFM_KC, K - kc);
        size_t nbRows = lfm_block_rows(kl * 2);
        for (size_t nb = n0; nb < n1; nb += nbRows) {
            size_t ne = lfm_min(nb + nbRows, n1);
            for (size_t t = 0; t < m; t += 4) {
                size_t nt = lfm_min(4, m - t);
                const float *xr[4];
                for (size_t i = 0; i < 4; i++) xr[i] = xp + (t + (i < nt ? i : nt - 1)) * xps + kc;
                for (size_t n = nb; n < ne; n += 4) {
                    size_t nr = lfm_min(4, ne - n);
                    const uint16_t *wr[4];
                    for (size_t j = 0; j < 4; j++) wr[j] = w + (n + (j < nr ? j : nr - 1)) * K + kc;
                    __m128 out[4];
                    tile_bfp(wr, xr, kl, out);
                    store_tile(out, nt, nr, kc > 0, y + t * ys + n, ys);
                }
            }
        }
    }
}

// ---- opt-in BF16 x BF16 -> F32 path (vdpbf16ps, 32 products per instruction) ----
#define TBFI T512BF __attribute__((always_inline)) static inline

TBFI __m512 dp(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}

TBFI void tile_bf(const uint16_t *const wr[4], const uint16_t *const xr[4], size_t K, __m128 out[4]) {
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    size_t k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512i wv[4];
        for (int j = 0; j < 4; j++) wv[j] = _mm512_loadu_si512((const void *)(wr[j] + k));
        for (int i = 0; i < 4; i++) {
            __m512i xv = _mm512_loadu_si512((const void *)(xr[i] + k));
            for (int j = 0; j < 4; j++) acc[i][j] = dp(acc[i][j], xv, wv[j]);
        }
    }
    if (k < K) {
        __mmask32 mk = (__mmask32)((1u << (K - k)) - 1);
        __m512i wv[4];
        for (int j = 0; j < 4; j++) wv[j] = _mm512_maskz_loadu_epi16(mk, wr[j] + k);
        for (int i = 0; i < 4; i++) {
            __m512i xv = _mm512_maskz_loadu_epi16(mk, xr[i] + k);
            for (int j = 0; j < 4; j++) acc[i][j] = dp(acc[i][j], xv, wv[j]);
        }
    }
    for (int i = 0; i < 4; i++) out[i] = sum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
}

T512BF void lfm_matmul_bf16dot_avx512(const uint16_t *w, size_t K, size_t n0, size_t n1,
                                      const uint16_t *xb, size_t xbs, size_t m, float *y, size_t ys) {
    if (n1 <= n0 || m == 0) return;
    for (size_t kc = 0; kc < K; kc += LFM_KC) {
        size_t kl = lfm_min(LFM_KC, K - kc);
        size_t nbRows = lfm_block_rows(kl * 2);
        for (size_t nb = n0; nb < n1; nb += nbRows) {
            size_t ne = lfm_min(nb + nbRows, n1);
            for (size_t t = 0; t < m; t += 4) {
                size_t nt = lfm_min(4, m - t);
                const uint16_t *xr[4];
                for (size_t i = 0; i < 4; i++) xr[i] = xb + (t + (i < nt ? i : nt - 1)) * xbs + kc;
                for (size_t n = nb; n < ne; n += 4) {
                    size_t nr = lfm_min(4, ne - n);
                    const uint16_t *wr[4];
                    for (size_t j = 0; j < 4; j++) wr[j] = w + (n + (j < nr ? j : nr - 1)) * K + kc;
                    __m128 out[4];
                    tile_bf(wr, xr, kl, out);
                    store_tile(out, nt, nr, kc > 0, y + t * ys + n, ys);
                }
            }
        }
    }
}

T512BF void lfm_round_bf16_avx512(const float *x, size_t count, uint16_t *out) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
    if (i < count) {
        __mmask16 mk = (__mmask16)((1u << (count - i)) - 1);
        __m256i v = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, x + i));
        _mm256_mask_storeu_epi16(out + i, mk, v);
    }
}

#else
void lfm_matmul_avx512(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                       const float *x, size_t xStride, size_t m, float *y, size_t yStride) {
    (void)dtype; (void)w; (void)cols; (void)n0; (void)n1; (void)x; (void)xStride; (void)m; (void)y;
    (void)yStride;
    __builtin_trap(); // never selected: ISA detection reports no AVX-512 off x86-64
}
void lfm_matmul_bf16dot_avx512(const uint16_t *w, size_t cols, size_t n0, size_t n1,
                               const uint16_t *xb, size_t xbStride, size_t m, float *y, size_t yStride) {
    (void)w; (void)cols; (void)n0; (void)n1; (void)xb; (void)xbStride; (void)m; (void)y; (void)yStride;
    __builtin_trap();
}
void lfm_matmul_bf16pairs_avx512(const uint16_t *w, size_t cols, size_t n0, size_t n1,
                                  const float *xp, size_t xpStride, size_t m, float *y, size_t yStride) {
    (void)w; (void)cols; (void)n0; (void)n1; (void)xp; (void)xpStride; (void)m; (void)y; (void)yStride;
    __builtin_trap();
}
void lfm_round_bf16_avx512(const float *x, size_t count, uint16_t *out) {
    (void)x; (void)count; (void)out;
    __builtin_trap();
}
void lfm_permute_pairs_avx512(const float *x, size_t xStride, size_t m, size_t cols, float *out) {
    lfm_permute_pairs(x, xStride, m, cols, out);
}
#endif
