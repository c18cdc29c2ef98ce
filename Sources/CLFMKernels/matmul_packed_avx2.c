// Packed prefill GEMM for AVX2 + FMA + F16C (F32/F16/BF16 weights, F32 activations and accumulation):
// the AVX2 form of matmul_packed_avx512.c. Activations are packed once per product into 6-row panels
// (lfm_pack_activations with mr = LFM_PACKED_MR_AVX2); for every LFM_PACKED_KC-long slice of K, each
// 16-row block of weights is widened to F32 and transposed into a KC x 16 panel (64 KiB; double-
// buffered: the next block is packed a few units per micro-kernel call, internal/matmul_packed_driver.h), then a 6 x 16 register tile
// (12 accumulators, two panel loads and six broadcasts per 12 FMAs) runs over every activation panel.
// The row-dot kernel of matmul_avx2.c converts every weight once per four tokens and ends each output
// with a horizontal sum; here a weight is converted once per slice for all tokens.
#include "CLFMKernels.h"
#include "internal/matmul_common.h"
#include "internal/matmul_packed.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define T2 __attribute__((target("avx2,fma,f16c")))
#define T2I T2 __attribute__((always_inline)) static inline

#define MR LFM_PACKED_MR_AVX2
#define NR LFM_PACKED_NR_AVX2

/// 8 weights of one row from element k, widened to F32; only the first `count` are read (the rest zero).
T2I __m256 wload8(int dt, const char *row, size_t k, size_t count) {
    if (count < 8) {
        float v[8] = {0};
        for (size_t i = 0; i < count; i++) {
            if (dt == LFM_DT_F32) {
                v[i] = ((const float *)row)[k + i];
            } else {
                uint16_t h;
                memcpy(&h, row + 2 * (k + i), 2);
                if (dt == LFM_DT_F16) {
                    v[i] = _cvtsh_ss(h);
                } else {
                    const uint32_t u = (uint32_t)h << 16;
                    memcpy(&v[i], &u, 4);
                }
            }
        }
        return _mm256_loadu_ps(v);
    }
    if (dt == LFM_DT_F32) return _mm256_loadu_ps((const float *)row + k);
    const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + k));
    if (dt == LFM_DT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/// In-register 8 x 8 transpose: on return r[c] holds column c of the input rows.
T2I void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 2; g++) {
        u[4 * g] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        r[j + 4] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

/// One packing unit: rows h .. h+7 (h = 0 or 8) x columns k .. k+7 of a block of nr rows (rows at or
/// past nr are zero, columns at or past kl absent) into bp[k' * NR + j] in F32.
T2I void pack_unit(int dt, const char *base, size_t rb, size_t nr, size_t kl, size_t k, size_t h, float *bp) {
    const size_t kv = lfm_min(8, kl - k);
    __m256 r[8];
    for (size_t i = 0; i < 8; i++) r[i] = h + i < nr ? wload8(dt, base + (h + i) * rb, k, kv) : _mm256_setzero_ps();
    transpose8(r);
    for (size_t c = 0; c < kv; c++) _mm256_store_ps(bp + (k + c) * NR + h, r[c]);
}

/// Packing units of a block of kl columns: unit u covers columns 8 (u / 2) and rows 8 (u % 2).
static inline size_t pack_units(size_t kl) { return 2 * ((kl + 7) / 8); }

/// Packs units u0 ..< u1 of the block at `base`, prefetching the rows of the unit 8 ahead (the packing
/// reads 16 short strided streams that the hardware prefetcher does not follow).
T2I void pack_range(int dt, const char *base, size_t rb, size_t nr, size_t kl, size_t u0, size_t u1, float *bp) {
    const size_t es = lfm_dtype_size(dt), units = pack_units(kl);
    for (size_t u = u0; u < u1; u++) {
        const size_t pu = u + 8;
        if (pu < units && (pu / 2) % (64 / (8 * es)) == 0) {
            const size_t h = 8 * (pu % 2), k = 8 * (pu / 2);
            for (size_t i = 0; i < 8 && h + i < nr; i++) _mm_prefetch(base + (h + i) * rb + k * es, _MM_HINT_T0);
        }
        pack_unit(dt, base, rb, nr, kl, 8 * (u / 2), 8 * (u % 2), bp);
    }
}

/// Stores rows i < mv, columns j < nv of a tile (acc[2 i], acc[2 i + 1]: columns 0..7, 8..15).
T2I void store_partial(const __m256 *acc, size_t rows, float *c, size_t ldc, int accumulate, size_t mv, size_t nv) {
    float tile[MR * NR];
    for (size_t i = 0; i < rows; i++) {
        _mm256_storeu_ps(tile + i * NR, acc[2 * i]);
        _mm256_storeu_ps(tile + i * NR + 8, acc[2 * i + 1]);
    }
    for (size_t i = 0; i < mv; i++)
        for (size_t j = 0; j < nv; j++) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + tile[i * NR + j];
}

/// c[i * ldc + j] (+)= sum_k a[k * MR + i] * b[k * NR + j] for i < mv, j < nv, with an R x 16 register
/// tile (R >= mv): the last activation panel of a product runs with the smallest tile that covers it.
#define DEFINE_MICRO(R)                                                                              \
    T2I void micro##R(const float *a, const float *b, size_t kl, float *c, size_t ldc, int accumulate, \
                      size_t mv, size_t nv) {                                                        \
        __m256 acc[2 * R];                                                                           \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < 2 * R; i++) acc[i] = _mm256_setzero_ps(); \
        for (size_t k = 0; k < kl; k++) {                                                            \
            const __m256 b0 = _mm256_load_ps(b + k * NR), b1 = _mm256_load_ps(b + k * NR + 8);       \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < R; i++) {                         \
                const __m256 av = _mm256_broadcast_ss(a + k * MR + i);                               \
                acc[2 * i] = _mm256_fmadd_ps(av, b0, acc[2 * i]);                                    \
                acc[2 * i + 1] = _mm256_fmadd_ps(av, b1, acc[2 * i + 1]);                            \
            }                                                                                        \
        }                                                                                            \
        if (mv == R && nv == NR) {                                                                   \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < R; i++) {                         \
                float *d = c + i * ldc;                                                              \
                __m256 r0 = acc[2 * i], r1 = acc[2 * i + 1];                                         \
                if (accumulate) {                                                                    \
                    r0 = _mm256_add_ps(r0, _mm256_loadu_ps(d));                                      \
                    r1 = _mm256_add_ps(r1, _mm256_loadu_ps(d + 8));                                  \
                }                                                                                    \
                _mm256_storeu_ps(d, r0);                                                             \
                _mm256_storeu_ps(d + 8, r1);                                                         \
            }                                                                                        \
            return;                                                                                  \
        }                                                                                            \
        store_partial(acc, R, c, ldc, accumulate, mv, nv);                                           \
    }

_Static_assert(MR == 6, "micro() dispatches on a 6-row tile");
_Static_assert(LFM_PACKED_PANEL_FLOATS_AVX2 == 2 * LFM_PACKED_KC * NR, "work area = two weight panels");
DEFINE_MICRO(6)
DEFINE_MICRO(4)
DEFINE_MICRO(2)
DEFINE_MICRO(1)

T2I void micro(const float *a, const float *b, size_t kl, float *c, size_t ldc, int accumulate, size_t mv, size_t nv) {
    if (mv > 4) micro6(a, b, kl, c, ldc, accumulate, mv, nv);
    else if (mv > 2) micro4(a, b, kl, c, ldc, accumulate, mv, nv);
    else if (mv > 1) micro2(a, b, kl, c, ldc, accumulate, mv, nv);
    else micro1(a, b, kl, c, ldc, accumulate, mv, nv);
}

#define LFM_PACKED_INL T2I
#define LFM_PACKED_TARGET T2
#define LFM_PACKED_ENTRY lfm_matmul_packed_avx2
#include "internal/matmul_packed_driver.h"

#else
void lfm_matmul_packed_avx2(int dtype, const void *w, size_t cols, size_t n0, size_t n1, const float *ap,
                            size_t m, float *y, size_t yStride, float *panel) {
    (void)dtype; (void)w; (void)cols; (void)n0; (void)n1; (void)ap; (void)m; (void)y; (void)yStride;
    (void)panel;
    __builtin_trap(); // never selected: ISA detection reports no AVX2 off x86-64
}
#endif
