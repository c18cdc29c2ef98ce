// AVX2 + FMA matrix product of the training ops (see lfm_tr_gemm in CLFMKernelsTraining.h), the
// same blocking as train_gemm_avx512.c on 256-bit registers: C (+)= A · B on a 6 x 16 register
// tile (12 accumulators; per k: 2 loads of B, 6 broadcasts of A, 12 FMAs; 15 of the 16 ymm
// registers), blocked as internal/train_gemm_blocking.h describes: B into 16-column panels of 256
// values of k (16 KiB each, in L1 while used) in column blocks of up to 512, A into 6-row panels
// of 48 rows (in L2).
#include "CLFMKernelsTraining.h"
#include "internal/train_gemm_blocking.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdlib.h>

#define TG2 __attribute__((target("avx2,fma")))
#define TG2I TG2 __attribute__((always_inline)) static inline

enum { MR2 = 6, NR2 = 16, KC2 = 256, NC2 = 512, MC2 = 8 * MR2 };

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

static const tg_blocking blocking2 = {.mr = MR2, .nr = NR2, .kc = KC2, .nc = NC2, .mc = MC2};

size_t lfm_tr_gemm_panel_width_avx2(void) { return NR2; }

size_t lfm_tr_gemm_packed_size_avx2(size_t k, size_t n) { return tg_packed_b_floats(blocking2, k, n); }

TG2 void lfm_tr_gemm_pack_b_avx2(int transB, size_t k, size_t n, const float *B, size_t ldb, size_t j0, size_t j1,
                                 float *packed) {
    tg_pack_b(blocking2, transB, B, ldb, k, n, j0, j1, packed);
}

TG2 void lfm_tr_gemm_packed_avx2(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda,
                                 const float *packed, float *C, size_t ldc, int accumulate) {
    float apack[MC2 * KC2] __attribute__((aligned(64)));
    tg_packed_gemm(blocking2, tile2, transA, m0, m1, n, k, A, lda, packed, C, ldc, accumulate, apack);
}

TG2 void lfm_tr_gemm_avx2(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda,
                          const float *B, size_t ldb, float *C, size_t ldc, int accumulate) {
    float apack[MC2 * KC2] __attribute__((aligned(64)));
    if (!tg_blocked_gemm(blocking2, tile2, transA, m0, m1, n, k, A, lda, B, ldb, C, ldc, accumulate, apack))
        lfm_tr_gemm_portable(transA, m0, m1, n, k, A, lda, B, ldb, C, ldc, accumulate); // no memory for panels
}
#endif
// (Other architectures: train_avx2.c builds the generic lfm_tr_gemm_avx2.)
