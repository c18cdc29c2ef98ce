// AVX2 + FMA + F16C matrix multiplication (F32/F16/BF16 weights, F32 activations/accumulation).
#include "CLFMKernels.h"
#include "internal/matmul_common.h"

#if defined(__x86_64__)
#include <immintrin.h>

/// Bytes ahead of the decode kernel's software prefetch (see matvec; chosen in Benchmarks/README.md).
#define LFM_AVX2_MATVEC_PREFETCH 4096
#define T2 __attribute__((target("avx2,fma,f16c")))
#define T2I T2 __attribute__((always_inline)) static inline

// 8 weights from element k of a row, widened to F32.
T2I __m256 ld8(int dt, const char *row, size_t k) {
    if (dt == LFM_DT_F32) return _mm256_loadu_ps((const float *)row + k);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + k));
    if (dt == LFM_DT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

T2I float wscalar(int dt, const char *row, size_t k) {
    if (dt == LFM_DT_F32) return ((const float *)row)[k];
    uint16_t h = ((const uint16_t *)row)[k];
    if (dt == LFM_DT_F16) return _cvtsh_ss(h);
    union { uint32_t u; float f; } v = { (uint32_t)h << 16 };
    return v.f;
}

T2I float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// One weight row at a time, read front to back as one stream with four accumulators (as in
/// matmul_avx512.c: the hardware prefetcher follows one stream per thread better than four), plus a
/// software prefetch LFM_AVX2_MATVEC_PREFETCH bytes ahead (into the next rows near a row's end) for
/// more lines in flight than the hardware prefetcher keeps. Each row's result depends only on the
/// row, not on how the rows are split over threads.
T2I void matvec(int dt, const char *w, size_t rb, size_t K, size_t n0, size_t n1,
                const float *x, float *y) {
    const size_t es = lfm_dtype_size(dt);
    for (size_t n = n0; n < n1; n++) {
        const char *r = w + n * rb;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t k = 0;
        for (; k + 32 <= K; k += 32) {
            for (size_t o = 0; o < 32 * es; o += 64) _mm_prefetch(r + k * es + LFM_AVX2_MATVEC_PREFETCH + o, _MM_HINT_T0);
            a0 = _mm256_fmadd_ps(ld8(dt, r, k), _mm256_loadu_ps(x + k), a0);
            a1 = _mm256_fmadd_ps(ld8(dt, r, k + 8), _mm256_loadu_ps(x + k + 8), a1);
            a2 = _mm256_fmadd_ps(ld8(dt, r, k + 16), _mm256_loadu_ps(x + k + 16), a2);
            a3 = _mm256_fmadd_ps(ld8(dt, r, k + 24), _mm256_loadu_ps(x + k + 24), a3);
        }
        for (; k + 8 <= K; k += 8) a0 = _mm256_fmadd_ps(ld8(dt, r, k), _mm256_loadu_ps(x + k), a0);
        float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; k < K; k++) s += wscalar(dt, r, k) * x[k];
        y[n] = s;
    }
}

// 4 activation rows x 3 weight rows (12 ymm accumulators); aliased rows past the end.
T2I void tile4x3(int dt, const char *const wr[3], const float *const xr[4], size_t K, float out[4][3]) {
    __m256 acc[4][3];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) acc[i][j] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 wv[3];
        for (int j = 0; j < 3; j++) wv[j] = ld8(dt, wr[j], k);
        for (int i = 0; i < 4; i++) {
            __m256 xv = _mm256_loadu_ps(xr[i] + k);
            for (int j = 0; j < 3; j++) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            float s = hsum8(acc[i][j]);
            for (size_t kk = k; kk < K; kk++) s += wscalar(dt, wr[j], kk) * xr[i][kk];
            out[i][j] = s;
        }
}

T2I void gemm(int dt, const char *w, size_t rb, size_t K, size_t n0, size_t n1,
              const float *x, size_t xs, size_t m, float *y, size_t ys) {
    size_t nbRows = lfm_block_rows(rb);
    for (size_t nb = n0; nb < n1; nb += nbRows) {
        size_t ne = lfm_min(nb + nbRows, n1);
        for (size_t t = 0; t < m; t += 4) {
            size_t nt = lfm_min(4, m - t);
            const float *xr[4];
            for (size_t i = 0; i < 4; i++) xr[i] = x + (t + (i < nt ? i : nt - 1)) * xs;
            for (size_t n = nb; n < ne; n += 3) {
                size_t nr = lfm_min(3, ne - n);
                const char *wr[3];
                for (size_t j = 0; j < 3; j++) wr[j] = w + (n + (j < nr ? j : nr - 1)) * rb;
                float out[4][3];
                tile4x3(dt, wr, xr, K, out);
                for (size_t i = 0; i < nt; i++)
                    for (size_t j = 0; j < nr; j++) y[(t + i) * ys + n + j] = out[i][j];
            }
        }
    }
}

#define LFM_AVX2_VARIANT(NAME, DT) \
    T2 static void NAME(const void *w, size_t K, size_t n0, size_t n1, const float *x, size_t xs, \
                        size_t m, float *y, size_t ys) { \
        size_t rb = K * lfm_dtype_size(DT); \
        if (m == 1) matvec(DT, (const char *)w, rb, K, n0, n1, x, y); \
        else gemm(DT, (const char *)w, rb, K, n0, n1, x, xs, m, y, ys); \
    }
LFM_AVX2_VARIANT(mm_f32, LFM_DT_F32)
LFM_AVX2_VARIANT(mm_f16, LFM_DT_F16)
LFM_AVX2_VARIANT(mm_bf16, LFM_DT_BF16)

T2 void lfm_matmul_avx2(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                        const float *x, size_t xStride, size_t m, float *y, size_t yStride) {
    if (n1 <= n0 || m == 0) return;
    switch (dtype) {
    case LFM_DT_F32: mm_f32(w, cols, n0, n1, x, xStride, m, y, yStride); break;
    case LFM_DT_F16: mm_f16(w, cols, n0, n1, x, xStride, m, y, yStride); break;
    default: mm_bf16(w, cols, n0, n1, x, xStride, m, y, yStride); break;
    }
}

#else
void lfm_matmul_avx2(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                     const float *x, size_t xStride, size_t m, float *y, size_t yStride) {
    (void)dtype; (void)w; (void)cols; (void)n0; (void)n1; (void)x; (void)xStride; (void)m; (void)y;
    (void)yStride;
    __builtin_trap(); // never selected: ISA detection reports no AVX2 off x86-64
}
#endif
