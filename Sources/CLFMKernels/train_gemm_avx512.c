// AVX-512 matrix product of the training ops (see lfm_tr_gemm in CLFMKernelsTraining.h):
// C (+)= A · B with B row-major and A row-major or transposed, on a 6 x 32 register tile
// (12 accumulators; per k: 2 loads of B, 6 broadcasts of A, 12 FMAs). No packing: the K loop is
// cut into blocks so that the B block being swept stays in L2.
#include "CLFMKernelsTraining.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TG __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define TGI TG __attribute__((always_inline)) static inline

enum { MR = 6, NR = 32, KC = 256, NC = 256 };

TGI float aval(int transA, const float *A, size_t lda, size_t i, size_t p) {
    return transA ? A[p * lda + i] : A[i * lda + p];
}

// Rows i0 ..< i0 + mr (mr <= MR) x columns j0 ..< j0 + nr (nr <= NR), k = p0 ..< p1.
TGI void tile(int transA, const float *A, size_t lda, const float *B, size_t ldb, float *C, size_t ldc,
              size_t i0, size_t mr, size_t j0, size_t nr, size_t p0, size_t p1, int accumulate) {
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    size_t rows[MR];
    for (size_t r = 0; r < MR; r++) rows[r] = i0 + (r < mr ? r : mr - 1);
    if (transA) {
        for (size_t p = p0; p < p1; p++) {
            const float *b = B + p * ldb + j0, *a = A + p * lda;
            __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
            for (int r = 0; r < MR; r++) {
                __m512 av = _mm512_set1_ps(a[rows[r]]);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            }
        }
    } else {
        const float *ar[MR];
        for (int r = 0; r < MR; r++) ar[r] = A + rows[r] * lda;
        for (size_t p = p0; p < p1; p++) {
            const float *b = B + p * ldb + j0;
            __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
            for (int r = 0; r < MR; r++) {
                __m512 av = _mm512_set1_ps(ar[r][p]);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            }
        }
    }
    for (size_t r = 0; r < mr; r++) {
        float *c = C + (i0 + r) * ldc + j0;
        __m512 v0 = acc[r][0], v1 = acc[r][1];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, c));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, c + 16));
        }
        _mm512_mask_storeu_ps(c, m0, v0);
        _mm512_mask_storeu_ps(c + 16, m1, v1);
    }
    (void)aval;
}

TG void lfm_tr_gemm_avx512(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda,
                           const float *B, size_t ldb, float *C, size_t ldc, int accumulate) {
    if (m1 <= m0 || n == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (size_t i = m0; i < m1; i++)
                for (size_t j = 0; j < n; j++) C[i * ldc + j] = 0;
        return;
    }
    for (size_t p0 = 0; p0 < k; p0 += KC) {
        size_t p1 = p0 + KC < k ? p0 + KC : k;
        int acc = accumulate || p0 > 0;
        for (size_t jc = 0; jc < n; jc += NC) {
            size_t je = jc + NC < n ? jc + NC : n;
            for (size_t i0 = m0; i0 < m1; i0 += MR) {
                size_t mr = m1 - i0 < MR ? m1 - i0 : MR;
                for (size_t j0 = jc; j0 < je; j0 += NR) {
                    size_t nr = je - j0 < NR ? je - j0 : NR;
                    tile(transA, A, lda, B, ldb, C, ldc, i0, mr, j0, nr, p0, p1, acc);
                }
            }
        }
    }
}
#endif
// (Other architectures: train_avx512.c builds the generic lfm_tr_gemm_avx512.)
