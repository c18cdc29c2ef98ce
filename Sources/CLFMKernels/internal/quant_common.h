// Shared definitions of the block-quantized matmul kernels (included by quant_*.c only).
//
// Weights stay in ggml's GGUF block layouts; activations come quantized as LFMQuantActivations
// (see CLFMKernels.h). Every kernel computes, per weight row and activation row, the same
// integer dot products as ggml's vec_dot with Q8_0 / Q8_K activations and scales them in F32.
#ifndef LFM_QUANT_COMMON_H
#define LFM_QUANT_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "CLFMKernels.h"

// ggml type ids.
#define QT_Q4_0 2
#define QT_Q4_1 3
#define QT_Q5_0 6
#define QT_Q5_1 7
#define QT_Q8_0 8
#define QT_Q2_K 10
#define QT_Q3_K 11
#define QT_Q4_K 12
#define QT_Q5_K 13
#define QT_Q6_K 14
#define QT_IQ4_NL 20
#define QT_IQ4_XS 23
#define QT_Q4_0_X8 LFM_QT_Q4_0_X8
#define QT_Q8_0_X8 LFM_QT_Q8_0_X8

/// Bytes of one block of a regrouped type (18 or 34), 0 for other types.
static inline size_t lfm_x8_block_bytes(int type) {
    return type == QT_Q4_0_X8 ? 18 : type == QT_Q8_0_X8 ? 34 : 0;
}
/// LFM_QT_Q4_0_X8 / LFM_QT_Q8_0_X8 (CLFMKernels.h): where block b of a row of nb blocks of `bytes`
/// bytes keeps its F16 scale and its codes. Whole groups of eight: the scales first (block j of the
/// group at position (j % 2) * 4 + j / 2), then the codes in block order; the last nb % 8 blocks as in GGUF.
static inline size_t lfm_x8_scale_offset(size_t bytes, size_t b, size_t nb) {
    const size_t g = b / 8, j = b % 8;
    if (g * 8 + 8 > nb) return b * bytes;
    return g * 8 * bytes + 2 * ((j % 2) * 4 + j / 2);
}
static inline size_t lfm_x8_code_offset(size_t bytes, size_t b, size_t nb) {
    const size_t g = b / 8;
    if (g * 8 + 8 > nb) return b * bytes + 2;
    return g * 8 * bytes + 16 + (bytes - 2) * (b % 8);
}
/// Block b of a regrouped row (blocks of `bytes` bytes) copied out as one GGUF block.
static inline void lfm_x8_block(const uint8_t *row, size_t bytes, size_t nb, size_t b, uint8_t *out) {
    memcpy(out, row + lfm_x8_scale_offset(bytes, b, nb), 2);
    memcpy(out + 2, row + lfm_x8_code_offset(bytes, b, nb), bytes - 2);
}

#if defined(__x86_64__)
/// LFM_QT_Q4_0_X8 / LFM_QT_Q8_0_X8 rows n0 ..< n1 times m activation rows with AVX-512 VNNI
/// (quant_avx512.c; the VNNI and VBMI entry points both run it).
void lfm_x8_rows_avx512(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                        float *y, size_t yStride);
/// IQ4_NL / IQ4_XS rows n0 ..< n1 times m activation rows with AVX-512 VNNI (internal/quant_iq4_avx512.h,
/// compiled by quant_avx512.c), and the same with VBMI lookups and BMI2 scale unpacking (compiled by
/// quant_avx512vbmi.c); both return the same bits.
void lfm_iq4_rows_avx512(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                         float *y, size_t yStride);
void lfm_iq4_rows_avx512vbmi(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                             float *y, size_t yStride);
#endif

/// The 16 levels of IQ4_NL / IQ4_XS codes (ggml's kvalues_iq4nl): a 4-bit code selects one.
static const int8_t lfm_qt_iq4_values[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };

/// The 6-bit scale (stored + 32) of sub-block ib (0..7) of an IQ4_XS block: 4 low bits in
/// scales_l (byte 4 + ib / 2, low nibble for even ib), 2 high bits in scales_h (u16 at byte 2).
static inline int lfm_qt_iq4xs_scale(const uint8_t *blk, int ib) {
    const int high = (blk[2] | (blk[3] << 8)) >> (2 * ib) & 3;
    return (((blk[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (high << 4)) - 32;
}

/// Bytes of one block of `type` (0 for types without an integer kernel).
static inline size_t lfm_qt_block_bytes(int type) {
    switch (type) {
    case QT_Q4_0: case QT_Q4_0_X8: return 18;
    case QT_Q4_1: return 20;
    case QT_Q5_0: return 22;
    case QT_Q5_1: return 24;
    case QT_Q8_0: case QT_Q8_0_X8: return 34;
    case QT_Q2_K: return 84;
    case QT_Q3_K: return 110;
    case QT_Q4_K: return 144;
    case QT_Q5_K: return 176;
    case QT_Q6_K: return 210;
    case QT_IQ4_NL: return 18;
    case QT_IQ4_XS: return 136;
    default: return 0;
    }
}

/// Elements per block of `type` (0 for types without an integer kernel).
static inline size_t lfm_qt_block_elems(int type) {
    switch (type) {
    case QT_Q4_0: case QT_Q4_0_X8: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: case QT_Q8_0: case QT_Q8_0_X8: case QT_IQ4_NL: return 32;
    case QT_Q2_K: case QT_Q3_K: case QT_Q4_K: case QT_Q5_K: case QT_Q6_K: case QT_IQ4_XS: return 256;
    default: return 0;
    }
}

static inline size_t lfm_qt_row_bytes(int type, size_t cols) {
    return cols / lfm_qt_block_elems(type) * lfm_qt_block_bytes(type);
}

/// IEEE half to float (exact), portable.
static inline float lfm_qt_half(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (e == 0) {
        float v = (float)mant * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    bits = e == 0x1F ? (sign | 0x7F800000u | (mant << 13)) : (sign | ((e + 112) << 23) | (mant << 13));
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint32_t lfm_qt_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/// The 8 six-bit scales and 8 six-bit mins of a Q4_K / Q5_K block (12 packed bytes).
static inline void lfm_qt_scales_k4(const uint8_t *q, uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
        sc[j + 4] = (uint8_t)((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
    }
}

/// The 16 six-bit scales of a Q3_K block (12 bytes at q, stored + 32) as signed values -32..31:
/// sub-block j takes its low 4 bits from byte j (j < 8) or the high nibble of byte j - 8, its high
/// 2 bits from bits 2 (j / 4) of byte 8 + j % 4. Four at a time in 32-bit words, as ggml does; the
/// stored value with bit 5 flipped is the scale in six-bit two's complement, sign-extended per byte.
static inline void lfm_qt_scales_q3k(const uint8_t *q, int8_t sc[16]) {
    uint32_t a0, a1, hi;
    memcpy(&a0, q, 4);
    memcpy(&a1, q + 4, 4);
    memcpy(&hi, q + 8, 4);
    const uint32_t low = 0x0F0F0F0Fu, two = 0x03030303u, bit5 = 0x20202020u;
    uint32_t s[4] = {(a0 & low) | ((hi & two) << 4), (a1 & low) | (((hi >> 2) & two) << 4),
                     ((a0 >> 4) & low) | (((hi >> 4) & two) << 4), ((a1 >> 4) & low) | (((hi >> 6) & two) << 4)};
    for (int i = 0; i < 4; i++) {
        const uint32_t v = s[i] ^ bit5, sign = v & bit5;
        s[i] = v | (sign << 1) | (sign << 2);
    }
    memcpy(sc, s, 16);
}

/// The packed prefill GEMMs (AVX-512 and AVX2) with at most LFM_GEMM_FEW_TOKENS activation rows:
/// packing, not the tile, is most of such a call (continuous batching, short prompts), so they pack
/// chunks of LFM_GEMM_KC_FEW columns instead of their long ones and prefetch the next chunk's weight
/// bytes (lfm_prefetch_next_chunk; Benchmarks/README.md, "packing for few tokens").
#define LFM_GEMM_FEW_TOKENS 16
#define LFM_GEMM_KC_FEW 256

/// Rows of W per cache block in the prefill loop (about 64 KiB of weights).
static inline size_t lfm_qt_chunk_rows(size_t rowBytes) {
    size_t n = (64u * 1024u) / (rowBytes ? rowBytes : 1);
    return n < 4 ? 4 : n;
}

// The activation quantizer, instantiated once per ISA by quant_*.c with LFM_QACT_NAME and
// LFM_QACT_ATTR defined. Rounding is round-half-even through the 1.5 * 2^23 constant (exact for
// |v| < 2^22), so every variant and the Swift reference give identical bytes.
#define LFM_DEFINE_QUANTIZE_ACTIVATIONS(NAME, ATTR)                                                      \
    ATTR void NAME(const float *x, size_t xStride, size_t t0, size_t t1, size_t cols, size_t block,       \
                   int8_t *q, float *d, int16_t *sums, float *dsums) {                                    \
        const size_t nb = cols / block;                                                                   \
        for (size_t t = t0; t < t1; t++) {                                                                \
            const float *xr = x + t * xStride;                                                            \
            int8_t *qr = q + t * cols;                                                                    \
            for (size_t b = 0; b < nb; b++) {                                                             \
                const float *xb = xr + b * block;                                                         \
                int8_t *qb = qr + b * block;                                                              \
                float amax = 0;                                                                           \
                for (size_t j = 0; j < block; j++) {                                                      \
                    float a = xb[j] < 0 ? -xb[j] : xb[j];                                                 \
                    amax = a > amax ? a : amax;                                                           \
                }                                                                                         \
                const float id = amax >= 1e-30f ? 127.0f / amax : 0.0f;                                   \
                d[t * nb + b] = id != 0.0f ? amax / 127.0f : 0.0f;                                        \
                for (size_t j = 0; j < block; j++) {                                                      \
                    float v = xb[j] * id;                                                                 \
                    v = v + 12582912.0f;                                                                  \
                    v = v - 12582912.0f;                                                                  \
                    qb[j] = (int8_t)(int)v;                                                               \
                }                                                                                         \
                int total = 0;                                                                            \
                for (size_t j = 0; j < block; j++) total += qb[j];                                        \
                dsums[t * nb + b] = d[t * nb + b] * (float)total;                                         \
            }                                                                                             \
            for (size_t g = 0; g < cols / 16; g++) {                                                      \
                int s = 0;                                                                                \
                for (int j = 0; j < 16; j++) s += qr[g * 16 + j];                                         \
                sums[t * (cols / 16) + g] = (int16_t)s;                                                   \
            }                                                                                             \
        }                                                                                                 \
    }

// The row loop shared by every kernel: weight rows in cache-sized chunks; within a chunk, the
// activation rows four at a time (each loaded weight block serves four activation rows).
// DOT(w_row, x, t, R, out) computes out[r] for activation rows t + r, r < R (R a constant).
#define LFM_DEFINE_QLOOP(NAME, ATTR, DOT, TYPE)                                                            \
    ATTR static void NAME(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m, \
                          float *y, size_t ys) {                                                         \
        const size_t rb = lfm_qt_row_bytes(TYPE, x->cols);                                               \
        const size_t chunk = m == 1 ? (n1 - n0) : lfm_qt_chunk_rows(rb);                                 \
        float o[4];                                                                                      \
        for (size_t nc = n0; nc < n1; nc += chunk) {                                                     \
            const size_t ne = nc + chunk < n1 ? nc + chunk : n1;                                         \
            size_t t = 0;                                                                                \
            for (; t + 4 <= m; t += 4)                                                                   \
                for (size_t n = nc; n < ne; n++) {                                                       \
                    DOT(w + n * rb, x, t, 4, o);                                                         \
                    for (int r = 0; r < 4; r++) y[(t + r) * ys + n] = o[r];                              \
                }                                                                                        \
            switch (m - t) {                                                                             \
            case 3:                                                                                      \
                for (size_t n = nc; n < ne; n++) {                                                       \
                    DOT(w + n * rb, x, t, 3, o);                                                         \
                    for (int r = 0; r < 3; r++) y[(t + r) * ys + n] = o[r];                              \
                }                                                                                        \
                break;                                                                                   \
            case 2:                                                                                      \
                for (size_t n = nc; n < ne; n++) {                                                       \
                    DOT(w + n * rb, x, t, 2, o);                                                         \
                    for (int r = 0; r < 2; r++) y[(t + r) * ys + n] = o[r];                              \
                }                                                                                        \
                break;                                                                                   \
            case 1:                                                                                      \
                for (size_t n = nc; n < ne; n++) {                                                       \
                    DOT(w + n * rb, x, t, 1, o);                                                         \
                    y[t * ys + n] = o[0];                                                                \
                }                                                                                        \
                break;                                                                                   \
            default: break;                                                                              \
            }                                                                                            \
        }                                                                                                \
    }

/// Activation row pointers for rows t ..< t + R of quantized activations x: int8 codes xq, block
/// scales xd and sums of 16 codes xs (the row kernels of quant_portable.c and quant_neon.c).
#define LFM_QT_ROWS(x, t, R)                                                               \
    const int8_t *xq[4];                                                                   \
    const float *xd[4];                                                                    \
    const int16_t *xs[4];                                                                  \
    for (int r = 0; r < R; r++) {                                                          \
        xq[r] = (x)->q + ((t) + r) * (x)->cols;                                            \
        xd[r] = (x)->d + ((t) + r) * ((x)->cols / (x)->block);                             \
        xs[r] = (x)->sums + ((t) + r) * ((x)->cols / 16);                                  \
    }

#endif
