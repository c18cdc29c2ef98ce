// AVX2 + FMA matrix product of the training ops (see lfm_tr_gemm in CLFMKernelsTraining.h), the
// same blocking as train_gemm_avx512.c on 256-bit registers: C (+)= A · B on a 6 x 16 register
// tile (12 accumulators; per k: 2 loads of B, 6 broadcasts of A, 12 FMAs; 15 of the 16 ymm
// registers). A is packed per K block into a 6-row panel (p-major) just before use, B per
// K x 256 block into 16-column panels (zeros past n), as the AVX-512 kernel explains.
#include "CLFMKernelsTraining.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdlib.h>

#define TG2 __attribute__((target("avx2,fma")))
#define TG2I TG2 __attribute__((always_inline)) static inline

enum { MR2 = 6, NR2 = 16, KC2 = 256, NC2 = 256 };

/// Lanes j < count set (count 0 ... 8), for vmaskmovps.
TG2I __m256i lane_mask(size_t count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Rows i0 ..< i0 + mr (mr <= MR2) x columns j0 ..< j0 + nr (nr <= NR2) over kc values of k:
// `a` is the packed A panel (a[p * MR2 + r]), `b` the packed B panel (b[p * NR2 + j], zero past nr).
TG2I void tile2(const float *a, const float *b, size_t kc, float *C, size_t ldc,
                size_t i0, size_t mr, size_t j0, size_t nr, int accumulate) {
    __m256 acc[MR2][2];
    for (int r = 0; r < MR2; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (size_t p = 0; p < kc; p++, a += MR2, b += NR2) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        for (int r = 0; r < MR2; r++) {
            const __m256 av = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    const __m256i m0 = lane_mask(nr >= 8 ? 8 : nr), m1 = lane_mask(nr > 8 ? nr - 8 : 0);
    for (size_t r = 0; r < mr; r++) {
        float *c = C + (i0 + r) * ldc + j0;
        __m256 v0 = acc[r][0], v1 = acc[r][1];
        if (nr == NR2) {
            if (accumulate) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(c));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(c + 8));
            }
            _mm256_storeu_ps(c, v0);
            _mm256_storeu_ps(c + 8, v1);
        } else {
            if (accumulate) {
                v0 = _mm256_add_ps(v0, _mm256_maskload_ps(c, m0));
                v1 = _mm256_add_ps(v1, _mm256_maskload_ps(c + 8, m1));
            }
            _mm256_maskstore_ps(c, m0, v0);
            _mm256_maskstore_ps(c + 8, m1, v1);
        }
    }
}

TG2 void lfm_tr_gemm_avx2(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda,
                          const float *B, size_t ldb, float *C, size_t ldc, int accumulate) {
    if (m1 <= m0 || n == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (size_t i = m0; i < m1; i++)
                for (size_t j = 0; j < n; j++) C[i * ldc + j] = 0;
        return;
    }
    float *pack = malloc(sizeof(float) * (MR2 * KC2 + KC2 * NC2));
    if (!pack) { // no memory for the panels: the generic loops
        lfm_tr_gemm_portable(transA, m0, m1, n, k, A, lda, B, ldb, C, ldc, accumulate);
        return;
    }
    float *bpack = pack + MR2 * KC2;
    for (size_t p0 = 0; p0 < k; p0 += KC2) {
        size_t p1 = p0 + KC2 < k ? p0 + KC2 : k, kc = p1 - p0;
        int acc = accumulate || p0 > 0;
        for (size_t jc = 0; jc < n; jc += NC2) {
            size_t je = jc + NC2 < n ? jc + NC2 : n;
            for (size_t j0 = jc; j0 < je; j0 += NR2) {
                size_t nr = je - j0 < NR2 ? je - j0 : NR2;
                float *dst = bpack + (j0 - jc) * KC2;
                for (size_t p = p0; p < p1; p++) {
                    const float *src = B + p * ldb + j0;
                    float *d = dst + (p - p0) * NR2;
                    size_t j = 0;
                    for (; j < nr; j++) d[j] = src[j];
                    for (; j < NR2; j++) d[j] = 0;
                }
            }
            for (size_t i0 = m0; i0 < m1; i0 += MR2) {
                size_t mr = m1 - i0 < MR2 ? m1 - i0 : MR2;
                // Pack A(i0 ..< i0 + MR2, p0 ..< p1), p-major (rows past m1 repeat the last one).
                size_t rows[MR2];
                for (size_t r = 0; r < MR2; r++) rows[r] = i0 + (r < mr ? r : mr - 1);
                if (transA) {
                    for (size_t p = p0; p < p1; p++) {
                        const float *src = A + p * lda;
                        for (size_t r = 0; r < MR2; r++) pack[(p - p0) * MR2 + r] = src[rows[r]];
                    }
                } else {
                    for (size_t r = 0; r < MR2; r++) {
                        const float *src = A + rows[r] * lda;
                        for (size_t p = p0; p < p1; p++) pack[(p - p0) * MR2 + r] = src[p];
                    }
                }
                for (size_t j0 = jc; j0 < je; j0 += NR2) {
                    size_t nr = je - j0 < NR2 ? je - j0 : NR2;
                    tile2(pack, bpack + (j0 - jc) * KC2, kc, C, ldc, i0, mr, j0, nr, acc);
                }
            }
        }
    }
    free(pack);
}
#endif
// (Other architectures: train_avx2.c builds the generic lfm_tr_gemm_avx2.)
