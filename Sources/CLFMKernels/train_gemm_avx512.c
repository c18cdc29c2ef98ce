// AVX-512 matrix product of the training ops (see lfm_tr_gemm in CLFMKernelsTraining.h):
// C (+)= A · B with B row-major and A row-major or transposed, on a 6 x 32 register tile
// (12 accumulators; per k: 2 loads of B, 6 broadcasts of A, 12 FMAs), blocked as
// internal/train_gemm_blocking.h describes: A packed into 6-row panels (so both layouts read it
// sequentially; a transposed A read in place walks one cache line per k at a large, often
// power-of-two stride, which aliases in L1), B into 32-column panels of 256 values of k, used in
// column blocks of up to 1024; a 32 KiB B panel stays in L1 while 8 A panels (48 rows, kept in L2)
// run past it.
#include "CLFMKernelsTraining.h"
#include "internal/train_gemm_blocking.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdlib.h>

#define TG __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define TGI TG __attribute__((always_inline)) static inline

enum { MR = 6, NR = 32, KC = 256, NC = 1024, MC = 8 * MR };

// Rows i0 ..< i0 + mr (mr <= MR) x columns j0 ..< j0 + nr (nr <= NR) over kc values of k:
// `a` is the packed A panel (a[p * MR + r]), `b` the packed B panel (b[p * NR + j], zero past nr).
TGI void tile(const float *a, const float *b, size_t kc, float *C, size_t ldc,
              size_t i0, size_t mr, size_t j0, size_t nr, int accumulate) {
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    for (size_t p = 0; p < kc; p++, a += MR, b += NR) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
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
}

static const tg_blocking blocking = {.mr = MR, .nr = NR, .kc = KC, .nc = NC, .mc = MC};

size_t lfm_tr_gemm_panel_width_avx512(void) { return NR; }

size_t lfm_tr_gemm_packed_size_avx512(size_t k, size_t n) { return tg_packed_b_floats(blocking, k, n); }

TG void lfm_tr_gemm_pack_b_avx512(int transB, size_t k, size_t n, const float *B, size_t ldb, size_t j0, size_t j1,
                                  float *packed) {
    tg_pack_b(blocking, transB, B, ldb, k, n, j0, j1, packed);
}

TG void lfm_tr_gemm_packed_avx512(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda,
                                  const float *packed, float *C, size_t ldc, int accumulate) {
    float apack[MC * KC] __attribute__((aligned(64)));
    tg_packed_gemm(blocking, tile, transA, m0, m1, n, k, A, lda, packed, C, ldc, accumulate, apack);
}

TG void lfm_tr_gemm_avx512(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda,
                           const float *B, size_t ldb, float *C, size_t ldc, int accumulate) {
    float apack[MC * KC] __attribute__((aligned(64)));
    if (!tg_blocked_gemm(blocking, tile, transA, m0, m1, n, k, A, lda, B, ldb, C, ldc, accumulate, apack))
        lfm_tr_gemm_portable(transA, m0, m1, n, k, A, lda, B, ldb, C, ldc, accumulate); // no memory for panels
}
#endif
// (Other architectures: train_avx512.c builds the generic lfm_tr_gemm_avx512.)
