// The cache blocking shared by the training matrix products (train_gemm_avx512.c and
// train_gemm_avx2.c): C (+)= A · B is cut into K blocks of `kc` values, column blocks of `nc`
// columns and row blocks of `mc` rows. B is packed once for the whole product into `nr`-column
// panels per K block (tg_pack_b; callers may split the panels over threads and share the result
// between the threads that compute rows), A per row block into `mr`-row panels, p-major. For each
// B panel the row block's A panels run past it, so the B panel stays in L1 while the A panels come
// from L2 and each A block is packed once per column block. The ISA file supplies the register
// tile.
#ifndef LFM_TRAIN_GEMM_BLOCKING_H
#define LFM_TRAIN_GEMM_BLOCKING_H

#include <stddef.h>
#include <stdlib.h>

/// Rows of B ahead of the one being packed whose lines are prefetched.
#define TG_PACK_AHEAD 8

/// The shape of the blocking: register tile mr x nr, cache blocks kc x nc (B) and mc x kc (A);
/// mc is a multiple of mr and nc of nr.
typedef struct {
    size_t mr, nr, kc, nc, mc;
} tg_blocking;

/// Computes rows i0 ..< i0 + mr (mr <= tile rows) x columns j0 ..< j0 + nr of C over kc values of
/// k from a packed A panel `a` (a[p * MR + r]) and a packed B panel `b` (b[p * NR + j]).
typedef void (*tg_tile_fn)(const float *a, const float *b, size_t kc, float *C, size_t ldc, size_t i0, size_t mr,
                           size_t j0, size_t nr, int accumulate);

static inline size_t tg_round_up(size_t x, size_t multiple) { return (x + multiple - 1) / multiple * multiple; }

/// Floats of B packed for a product over k values into n columns (every K block, every panel).
static inline size_t tg_packed_b_floats(tg_blocking s, size_t k, size_t n) { return k * tg_round_up(n, s.nr); }

#if defined(__x86_64__)
#include <immintrin.h>

/// Packing A and B uses 256-bit transposes (both ISA files that include this are AVX2 or wider).
#define TG_PACK_TARGET __attribute__((target("avx2")))

/// dst[i · ld + r] = src[r][i] for r, i < 8: eight rows of eight values written transposed.
__attribute__((target("avx2"), always_inline)) static inline void tg_transpose8(const float *const src[8], float *dst,
                                                                               size_t ld) {
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src[i]);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);     // rows i, i+1 interleaved: columns 0 1 | 4 5
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]); // columns 2 3 | 6 7
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);     // column 0 | 4 of rows i ... i+3
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE); // column 1 | 5
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + i * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        _mm256_storeu_ps(dst + (i + 4) * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
}
#else
#define TG_PACK_TARGET
#endif

/// Packs A(i0 ..< i0 + mr, p0 ..< p1) p-major into `dst` (dst[(p - p0) * mr + r]); rows past m1
/// repeat the last one. A(i, p) is A[i * lda + p], or A[p * lda + i] when transA. (Plain loops here
/// become gathers or scatters, so the row-major case goes through 8 x 8 transposes on x86.)
TG_PACK_TARGET static inline __attribute__((always_inline)) void tg_pack_a(int transA, const float *A, size_t lda,
                                                                            size_t mr, size_t i0, size_t m1,
                                                                            size_t p0, size_t p1, float *dst) {
    const size_t rows = m1 - i0 < mr ? m1 - i0 : mr;
    if (transA) {
#pragma clang loop vectorize(disable)
        for (size_t p = p0; p < p1; p++) {
            const float *src = A + p * lda + i0;
            float *d = dst + (p - p0) * mr;
            if (rows == mr) {
                for (size_t r = 0; r < mr; r++) d[r] = src[r];
                continue;
            }
#pragma clang loop vectorize(disable)
            for (size_t r = 0; r < mr; r++) d[r] = src[r < rows ? r : rows - 1];
        }
        return;
    }
    size_t p = p0;
#if defined(__x86_64__)
    if (mr <= 8) {
        const float *src[8];
        for (size_t r = 0; r < 8; r++) src[r] = A + (i0 + (r < rows ? r : rows - 1)) * lda;
        for (; p + 8 <= p1; p += 8) {
            const float *at[8];
            for (size_t r = 0; r < 8; r++) at[r] = src[r] + p;
            float t[64] __attribute__((aligned(32)));
            tg_transpose8(at, t, 8); // t[i · 8 + r] = A(row r, p + i)
            for (size_t i = 0; i < 8; i++)
                for (size_t r = 0; r < mr; r++) dst[(p + i - p0) * mr + r] = t[i * 8 + r];
        }
    }
#endif
    for (size_t r = 0; r < mr; r++) {
        const float *src = A + (i0 + (r < rows ? r : rows - 1)) * lda;
#pragma clang loop vectorize(disable)
        for (size_t q = p; q < p1; q++) dst[(q - p0) * mr + r] = src[q];
    }
}

/// Packs columns j0 ..< j1 of B (j0 a multiple of nr, j1 one too or n) into `packed` for every K
/// block: the block of rows p0 ..< p0 + kcb starts at packed + p0 · round_up(n, nr), its panel of
/// columns j ..< j + nr at j · kcb past that, as panel[(p - p0) · nr + (column − j)], zeros past n.
/// B(p, j) is B[p · ldb + j], or B[j · ldb + p] when transB (a weight [n, k] used as its transpose).
/// Rows of B are often a power of two apart, which would alias in L1 if read in place.
TG_PACK_TARGET static inline __attribute__((always_inline)) void tg_pack_b(tg_blocking s, int transB, const float *B,
                                                                            size_t ldb, size_t k, size_t n, size_t j0,
                                                                            size_t j1, float *packed) {
    const size_t nr = s.nr, np = tg_round_up(n, nr);
    for (size_t p0 = 0; p0 < k; p0 += s.kc) {
        const size_t p1 = p0 + s.kc < k ? p0 + s.kc : k, kcb = p1 - p0;
        for (size_t j = j0; j < j1; j += nr) {
            const size_t cols = n - j < nr ? n - j : nr;
            float *panel = packed + p0 * np + j * kcb;
            if (transB) {
                // Column c of the panel is row j + c of the stored matrix: 8 x 8 blocks transposed in
                // registers (x86), the edges one value at a time.
                const float *src = B + j * ldb + p0;
#if defined(__x86_64__)
                const size_t c8 = cols / 8 * 8, q8 = kcb / 8 * 8;
                for (size_t q = 0; q < q8; q += 8)
                    for (size_t c = 0; c < c8; c += 8) {
                        const float *rows[8];
                        for (size_t i = 0; i < 8; i++) rows[i] = src + (c + i) * ldb + q;
                        tg_transpose8(rows, panel + q * nr + c, nr);
                    }
#else
                const size_t c8 = 0, q8 = 0;
#endif
                for (size_t p = 0; p < kcb; p++)
                    for (size_t c = p < q8 ? c8 : 0; c < nr; c++) panel[p * nr + c] = c < cols ? src[c * ldb + p] : 0;
                continue;
            }
            for (size_t p = p0; p < p1; p++) {
                const float *src = B + p * ldb + j;
                if (p + TG_PACK_AHEAD < p1) {
                    const float *ahead = src + TG_PACK_AHEAD * ldb;
                    __builtin_prefetch(ahead, 0, 3);
                    __builtin_prefetch(ahead + cols - 1, 0, 3);
                }
                float *d = panel + (p - p0) * nr;
                if (cols == nr) { // whole panels: a copy of constant length once inlined (no memcpy call per row)
                    for (size_t c = 0; c < nr; c++) d[c] = src[c];
                    continue;
                }
                size_t c = 0;
                for (; c < cols; c++) d[c] = src[c];
                for (; c < nr; c++) d[c] = 0;
            }
        }
    }
}

/// C[i, j] (+)= Σ_p A(i, p) · B(p, j) for m0 <= i < m1 with the ISA's tile, B packed by tg_pack_b
/// (all columns); `apack` holds mc x kc floats (the row block's A panels).
TG_PACK_TARGET static inline __attribute__((always_inline)) void tg_packed_gemm(tg_blocking s, tg_tile_fn tile, int transA,
                                                                  size_t m0, size_t m1, size_t n, size_t k,
                                                                  const float *A, size_t lda, const float *packed,
                                                                  float *C, size_t ldc, int accumulate,
                                                                  float *apack) {
    if (m1 <= m0 || n == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (size_t i = m0; i < m1; i++)
                for (size_t j = 0; j < n; j++) C[i * ldc + j] = 0;
        return;
    }
    const size_t np = tg_round_up(n, s.nr);
    // Column blocks of equal width (whole panels), at most nc: no narrow last block.
    const size_t blocks = (n + s.nc - 1) / s.nc, nc = tg_round_up((n + blocks - 1) / blocks, s.nr);
    for (size_t p0 = 0; p0 < k; p0 += s.kc) {
        const size_t p1 = p0 + s.kc < k ? p0 + s.kc : k, kcb = p1 - p0;
        const float *block = packed + p0 * np;
        const int acc = accumulate || p0 > 0;
        for (size_t jc = 0; jc < n; jc += nc) {
            const size_t je = jc + nc < n ? jc + nc : n;
            for (size_t ic = m0; ic < m1; ic += s.mc) {
                const size_t ie = ic + s.mc < m1 ? ic + s.mc : m1;
                for (size_t i0 = ic; i0 < ie; i0 += s.mr)
                    tg_pack_a(transA, A, lda, s.mr, i0, ie, p0, p1, apack + (i0 - ic) * s.kc);
                for (size_t j0 = jc; j0 < je; j0 += s.nr) {
                    const size_t nr = je - j0 < s.nr ? je - j0 : s.nr;
                    for (size_t i0 = ic; i0 < ie; i0 += s.mr) {
                        const size_t mr = ie - i0 < s.mr ? ie - i0 : s.mr;
                        // The tile's rows of C arrive while it multiplies (they are read or written
                        // once per K block, usually from beyond L2).
                        for (size_t r = 0; r < mr; r++) {
                            const float *c = C + (i0 + r) * ldc + j0;
                            __builtin_prefetch(c, 1, 3);
                            __builtin_prefetch(c + nr - 1, 1, 3);
                        }
                        tile(apack + (i0 - ic) * s.kc, block + j0 * kcb, kcb, C, ldc, i0, mr, j0, nr, acc);
                    }
                }
            }
        }
    }
}

/// C[i, j] (+)= Σ_p A(i, p) · B[p, j] for m0 <= i < m1 (lfm_tr_gemm in CLFMKernelsTraining.h): B
/// packed whole for this call, then the packed product. Returns 0 when the packed B could not be
/// allocated (nothing written).
TG_PACK_TARGET static inline __attribute__((always_inline)) int tg_blocked_gemm(tg_blocking s, tg_tile_fn tile,
                                                                                 int transA, size_t m0, size_t m1,
                                                                                 size_t n, size_t k, const float *A,
                                                                                 size_t lda, const float *B, size_t ldb,
                                                                                 float *C, size_t ldc, int accumulate,
                                                                                 float *apack) {
    float *packed = malloc(sizeof(float) * (tg_packed_b_floats(s, k, n) + 1));
    if (!packed) return 0;
    tg_pack_b(s, 0, B, ldb, k, n, 0, n, packed);
    tg_packed_gemm(s, tile, transA, m0, m1, n, k, A, lda, packed, C, ldc, accumulate, apack);
    free(packed);
    return 1;
}

#endif
