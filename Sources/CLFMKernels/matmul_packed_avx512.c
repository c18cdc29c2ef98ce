// Packed prefill GEMM for AVX-512 (F32/F16/BF16 weights, F32 activations and accumulation).
//
// BLIS-style: activations are packed once per product into MR-row panels (lfm_pack_activations);
// for every KC-long slice of K, each NR-row block of weights is widened to F32 and transposed
// into a KC x NR panel (128 KiB, L2-resident; double-buffered, see internal/matmul_packed_driver.h), then an MR x NR
// register tile of FMAs runs over all activation panels. Widening costs one conversion per
// weight per slice instead of one per (weight, token tile), and the micro-kernel is pure F32:
// 2 loads + MR broadcasts per 2*MR FMAs.
// KC = 1024 covers all of K for most products, so most outputs are written once (a 256-column
// slice with an L1-resident panel measured 5-10% slower on 1024-column products).
#include "CLFMKernels.h"
#include "internal/matmul_common.h"
#include "internal/matmul_packed.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define T512I T512 __attribute__((always_inline)) static inline

#define MR LFM_PACKED_MR_AVX512
#define NR LFM_PACKED_NR_AVX512

// 16 weights of one row from element k, widened; `mask` selects the first elements (rest zero).
T512I __m512 wload(int dt, const char *row, size_t k, __mmask16 mask) {
    if (dt == LFM_DT_F32) return _mm512_maskz_loadu_ps(mask, (const float *)row + k);
    __m256i h = _mm256_maskz_loadu_epi16(mask, (const uint16_t *)row + k);
    if (dt == LFM_DT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// In-register 16 x 16 transpose: on return r[c] holds column c of the input rows.
T512I void transpose16(__m512 r[16]) {
    __m512 t[16], u[16], v[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4g + j]: rows 4g..4g+3 of column 4l + j in 128-bit lane l.
    for (int g = 0; g < 4; g++) {
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 2]);
        __m512d c = _mm512_castps_pd(t[4 * g + 1]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    // v[j] (j < 4) / v[4 + j]: columns j, j + 8 / j + 4, j + 12 of rows 0..7 (v[8 + ...]: rows 8..15).
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 4; j++) {
            v[8 * h + j] = _mm512_shuffle_f32x4(u[8 * h + j], u[8 * h + 4 + j], 0x88);
            v[8 * h + 4 + j] = _mm512_shuffle_f32x4(u[8 * h + j], u[8 * h + 4 + j], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(v[j], v[8 + j], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(v[j], v[8 + j], 0xdd);
    }
}

// One packing unit: rows h .. h+15 (h = 0 or 16) x columns k .. k+15 of a block of nr rows
// (rows at or past nr are zero, columns at or past kl absent) into bp[k' * NR + j] in F32.
T512I void pack_unit(int dt, const char *base, size_t rb, size_t nr, size_t kl, size_t k, size_t h,
                     float *bp) {
    __m512 r[16];
    if (nr >= h + 16 && k + 16 <= kl) {
        for (size_t i = 0; i < 16; i++) r[i] = wload(dt, base + (h + i) * rb, k, (__mmask16)0xFFFF);
        transpose16(r);
        for (size_t c = 0; c < 16; c++) _mm512_store_ps(bp + (k + c) * NR + h, r[c]);
        return;
    }
    size_t kv = lfm_min(16, kl - k);
    __mmask16 mk = kv == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << kv) - 1);
    for (size_t i = 0; i < 16; i++) r[i] = h + i < nr ? wload(dt, base + (h + i) * rb, k, mk) : _mm512_setzero_ps();
    transpose16(r);
    for (size_t c = 0; c < kv; c++) _mm512_store_ps(bp + (k + c) * NR + h, r[c]);
}

// Packing units of a block of kl columns: unit u covers columns 16 (u / 2) and rows 16 (u % 2).
static inline size_t pack_units(size_t kl) { return 2 * ((kl + 15) / 16); }

// Packs units u0 ..< u1 of the block at `base`; before each unit it prefetches the rows of the
// unit 4 ahead (the packing reads 16 short strided streams that the hardware prefetcher does not
// follow).
T512I void pack_range(int dt, const char *base, size_t rb, size_t nr, size_t kl, size_t u0, size_t u1,
                      float *bp) {
    size_t es = lfm_dtype_size(dt), units = pack_units(kl);
    for (size_t u = u0; u < u1; u++) {
        size_t pu = u + 4;
        if (pu < units) {
            size_t h = 16 * (pu % 2), k = 16 * (pu / 2);
            for (size_t i = 0; i < 16 && h + i < nr; i++) _mm_prefetch(base + (h + i) * rb + k * es, _MM_HINT_T0);
        }
        pack_unit(dt, base, rb, nr, kl, 16 * (u / 2), 16 * (u % 2), bp);
    }
}

// c[i * ldc + j] (+)= sum_k a[k * MR + i] * b[k * NR + j] for i < mv, j < nv, with an R x NR
// register tile (R >= mv): the last activation panel of a product runs with the smallest tile
// that covers its rows.
#define NV (NR / 16)
#define DEFINE_MICRO(R)                                                                              \
    T512I void micro##R(const float *a, const float *b, size_t kl, float *c, size_t ldc,             \
                        int accumulate, size_t mv, size_t nv) {                                      \
        __m512 acc[R][NV];                                                                           \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < R; i++)                               \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps(); \
        const int full = mv == R && nv == NR;                                                        \
        /* The outputs are fetched near the end of the K loop (earlier, the streaming panels       \
           would evict them). */                                                                     \
        size_t kpf = kl > 48 ? kl - 48 : 0;                                                          \
        for (size_t k = 0; k < kl; k++) {                                                            \
            if (k == kpf && full) {                                                                  \
                _Pragma("clang loop unroll(full)") for (int i = 0; i < R; i++)                       \
                    _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                  \
                        _mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_T0);             \
            }                                                                                        \
            __m512 bv[NV];                                                                           \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                          \
                bv[v] = _mm512_load_ps(b + k * NR + 16 * v);                                         \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < R; i++) {                         \
                __m512 av = _mm512_set1_ps(a[k * MR + i]);                                           \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                      \
                    acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);                               \
            }                                                                                        \
        }                                                                                            \
        if (full) {                                                                                  \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < R; i++) {                         \
                float *d = c + i * ldc;                                                              \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {                    \
                    __m512 r = acc[i][v];                                                            \
                    if (accumulate) r = _mm512_add_ps(r, _mm512_loadu_ps(d + 16 * v));               \
                    _mm512_storeu_ps(d + 16 * v, r);                                                 \
                }                                                                                    \
            }                                                                                        \
            return;                                                                                  \
        }                                                                                            \
        store_partial(&acc[0][0], c, ldc, accumulate, mv, nv);                                       \
    }

// Stores rows i < mv, columns j < nv of a tile (acc[i * NV + v] holds columns 16v ..< 16v+16).
T512I void store_partial(const __m512 *acc, float *c, size_t ldc, int accumulate, size_t mv, size_t nv) {
    __mmask16 mask[NV];
    for (int v = 0; v < NV; v++) {
        size_t lo = 16 * (size_t)v;
        mask[v] = nv <= lo ? 0 : nv >= lo + 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nv - lo)) - 1);
    }
    for (size_t i = 0; i < mv; i++) {
        float *d = c + i * ldc;
        for (int v = 0; v < NV; v++) {
            __m512 r = acc[i * NV + v];
            if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask[v], d + 16 * v));
            _mm512_mask_storeu_ps(d + 16 * v, mask[v], r);
        }
    }
}

_Static_assert(MR == 14, "micro() dispatches on a 14-row tile");
_Static_assert(LFM_PACKED_PANEL_FLOATS_AVX512 == 2 * LFM_PACKED_KC * NR, "work area = two weight panels");
DEFINE_MICRO(14)
DEFINE_MICRO(8)
DEFINE_MICRO(4)
DEFINE_MICRO(2)

T512I void micro(const float *a, const float *b, size_t kl, float *c, size_t ldc, int accumulate,
                 size_t mv, size_t nv) {
    if (mv > 8) micro14(a, b, kl, c, ldc, accumulate, mv, nv);
    else if (mv > 4) micro8(a, b, kl, c, ldc, accumulate, mv, nv);
    else if (mv > 2) micro4(a, b, kl, c, ldc, accumulate, mv, nv);
    else micro2(a, b, kl, c, ldc, accumulate, mv, nv);
}

#define LFM_PACKED_INL T512I
#define LFM_PACKED_TARGET T512
#define LFM_PACKED_ENTRY lfm_matmul_packed_avx512
#include "internal/matmul_packed_driver.h"

// Activation packing for MR = 14 (layout in internal/matmul_packed.h): 16 x 16 blocks are
// transposed in registers and each k stores its 14 values contiguously.
T512 void lfm_pack_activations_avx512(const float *x, size_t xStride, size_t m, size_t cols,
                                      size_t t0, size_t t1, float *out) {
    size_t mp = lfm_packed_rows(m, MR);
    if (t1 > mp) t1 = mp;
    const __mmask16 mr = (__mmask16)((1u << MR) - 1);
    for (size_t kc = 0; kc < cols; kc += LFM_PACKED_KC) {
        size_t kl = lfm_min(LFM_PACKED_KC, cols - kc);
        for (size_t t = t0; t < t1; t += MR) {
            float *panel = out + kc * mp + t * kl;
            size_t rows = t < m ? lfm_min(MR, m - t) : 0;
            for (size_t k = 0; k < kl; k += 16) {
                size_t kv = lfm_min(16, kl - k);
                __mmask16 mk = kv == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << kv) - 1);
                __m512 r[16];
                for (size_t i = 0; i < 16; i++)
                    r[i] = i < rows ? _mm512_maskz_loadu_ps(mk, x + (t + i) * xStride + kc + k) : _mm512_setzero_ps();
                transpose16(r);
                for (size_t c = 0; c < kv; c++) _mm512_mask_storeu_ps(panel + (k + c) * MR, mr, r[c]);
            }
        }
    }
}

#else
void lfm_matmul_packed_avx512(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                              const float *ap, size_t m, float *y, size_t yStride, float *panel) {
    (void)dtype; (void)w; (void)cols; (void)n0; (void)n1; (void)ap; (void)m; (void)y; (void)yStride;
    (void)panel;
    __builtin_trap(); // never selected: ISA detection reports no AVX-512 off x86-64
}
void lfm_pack_activations_avx512(const float *x, size_t xStride, size_t m, size_t cols,
                                 size_t t0, size_t t1, float *out) {
    (void)x; (void)xStride; (void)m; (void)cols; (void)t0; (void)t1; (void)out;
    __builtin_trap();
}
#endif
