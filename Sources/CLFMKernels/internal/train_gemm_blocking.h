// The cache blocking shared by the training matrix products (train_gemm_avx512.c and
// train_gemm_avx2.c): C (+)= A · B is cut into K blocks of `kc` values, column blocks of `nc`
// columns of B (packed once per K block into `nr`-column panels, zeros past n) and row blocks of
// `mc` rows of A (packed into `mr`-row panels, p-major). For each B panel the row block's A panels
// run past it, so the B panel stays in L1 while the A panels come from L2 and each A block is
// packed once per column block. The ISA file supplies the register tile.
#ifndef LFM_TRAIN_GEMM_BLOCKING_H
#define LFM_TRAIN_GEMM_BLOCKING_H

#include <stddef.h>
#include <stdlib.h>

/// The shape of the blocking: register tile mr x nr, cache blocks kc x nc (B) and mc x kc (A);
/// mc is a multiple of mr and nc of nr.
typedef struct {
    size_t mr, nr, kc, nc, mc;
} tg_blocking;

/// Computes rows i0 ..< i0 + mr (mr <= tile rows) x columns j0 ..< j0 + nr of C over kc values of
/// k from a packed A panel `a` (a[p * MR + r]) and a packed B panel `b` (b[p * NR + j]).
typedef void (*tg_tile_fn)(const float *a, const float *b, size_t kc, float *C, size_t ldc, size_t i0, size_t mr,
                           size_t j0, size_t nr, int accumulate);

/// Packs A(i0 ..< i0 + mr, p0 ..< p1) p-major into `dst` (dst[(p - p0) * mr + r]); rows past m1
/// repeat the last one. A(i, p) is A[i * lda + p], or A[p * lda + i] when transA.
static inline __attribute__((always_inline)) void tg_pack_a(int transA, const float *A, size_t lda, size_t mr,
                                                             size_t i0, size_t m1, size_t p0, size_t p1,
                                                             float *dst) {
    size_t rows = m1 - i0 < mr ? m1 - i0 : mr;
    if (transA) {
        for (size_t p = p0; p < p1; p++) {
            const float *src = A + p * lda + i0;
            float *d = dst + (p - p0) * mr;
            for (size_t r = 0; r < mr; r++) d[r] = src[r < rows ? r : rows - 1];
        }
    } else {
        for (size_t r = 0; r < mr; r++) {
            const float *src = A + (i0 + (r < rows ? r : rows - 1)) * lda;
            for (size_t p = p0; p < p1; p++) dst[(p - p0) * mr + r] = src[p];
        }
    }
}

/// Packs B(p0 ..< p1, jc ..< je) into panels of nr columns, `kc` rows apart (zeros past je): rows
/// of B are often a power of two apart, which would alias in L1 if read in place.
static inline __attribute__((always_inline)) void tg_pack_b(const float *B, size_t ldb, size_t nr, size_t kc,
                                                             size_t p0, size_t p1, size_t jc, size_t je,
                                                             float *dst) {
    for (size_t j0 = jc; j0 < je; j0 += nr) {
        size_t cols = je - j0 < nr ? je - j0 : nr;
        float *panel = dst + (j0 - jc) * kc;
        for (size_t p = p0; p < p1; p++) {
            const float *src = B + p * ldb + j0;
            float *d = panel + (p - p0) * nr;
            if (cols == nr) { // whole panels: a copy of constant length once inlined (no memcpy call per row)
                for (size_t j = 0; j < nr; j++) d[j] = src[j];
                continue;
            }
            size_t j = 0;
            for (; j < cols; j++) d[j] = src[j];
            for (; j < nr; j++) d[j] = 0;
        }
    }
}

/// C[i, j] (+)= Σ_p A(i, p) · B[p, j] for m0 <= i < m1 (see lfm_tr_gemm in CLFMKernelsTraining.h)
/// with the ISA's tile. Returns 0 when the panels could not be allocated (nothing written).
static inline __attribute__((always_inline)) int tg_blocked_gemm(tg_blocking s, tg_tile_fn tile, int transA,
                                                                  size_t m0, size_t m1, size_t n, size_t k,
                                                                  const float *A, size_t lda, const float *B,
                                                                  size_t ldb, float *C, size_t ldc, int accumulate) {
    float *apack = malloc(sizeof(float) * (s.mc * s.kc + s.kc * s.nc));
    if (!apack) return 0;
    float *bpack = apack + s.mc * s.kc;
    // Column blocks of equal width (whole panels), at most nc: no narrow last block.
    size_t blocks = (n + s.nc - 1) / s.nc, nc = ((n + blocks - 1) / blocks + s.nr - 1) / s.nr * s.nr;
    for (size_t p0 = 0; p0 < k; p0 += s.kc) {
        size_t p1 = p0 + s.kc < k ? p0 + s.kc : k, kc = p1 - p0;
        int acc = accumulate || p0 > 0;
        for (size_t jc = 0; jc < n; jc += nc) {
            size_t je = jc + nc < n ? jc + nc : n;
            tg_pack_b(B, ldb, s.nr, s.kc, p0, p1, jc, je, bpack);
            for (size_t ic = m0; ic < m1; ic += s.mc) {
                size_t ie = ic + s.mc < m1 ? ic + s.mc : m1;
                for (size_t i0 = ic; i0 < ie; i0 += s.mr)
                    tg_pack_a(transA, A, lda, s.mr, i0, ie, p0, p1, apack + (i0 - ic) * s.kc);
                for (size_t j0 = jc; j0 < je; j0 += s.nr) {
                    size_t nr = je - j0 < s.nr ? je - j0 : s.nr;
                    for (size_t i0 = ic; i0 < ie; i0 += s.mr) {
                        size_t mr = ie - i0 < s.mr ? ie - i0 : s.mr;
                        tile(apack + (i0 - ic) * s.kc, bpack + (j0 - jc) * s.kc, kc, C, ldc, i0, mr, j0, nr, acc);
                    }
                }
            }
        }
    }
    free(apack);
    return 1;
}

#endif
