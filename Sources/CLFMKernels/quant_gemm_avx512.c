// AVX-512 VNNI prefill GEMM over block-quantized weights (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K, IQ4_NL, IQ4_XS).
//
// The weights stay in the GGUF block layout. For every panel of 32 weight rows and every chunk of
// QG_KC columns, the panel is packed once into a small stack buffer ("row-interleaved" form):
// per unit of S columns (one scale), the codes as unsigned bytes in groups of four columns,
// 16 rows per 512-bit register (lane r = row r, bytes = columns 4g .. 4g + 3), followed by the
// unit's F32 weight scale per row. The micro-kernel then multiplies the packed panel with four
// activation rows at a time: every vpdpbusd takes one register of 16 weight rows and the four
// activation bytes of one token broadcast to all lanes, so each decoded weight is used for every
// token of the call and no horizontal sums are needed.
//
// Integer semantics are exactly those of the row kernels (quant_simd.h) and of ggml's vec_dot:
//   Q8_0  codes w + 128, integer dot minus 128 * (sum of the block's activation codes);
//   Q4_0  codes q (0..15), integer dot minus 8 * (sum of the block's activation codes);
//   Q5_0  codes q (0..31, the fifth bit joins the nibble while packing), minus 16 * that sum;
//   Q4_1, Q5_1  codes q (0..15 / 0..31), no offset; per block the min m times d(x) * that sum (the
//         activations' dsums), one F32 FMA per token;
//   Q4_K  codes q (0..15) per sub-block of 32, F32 scale d * sc_j; per super-block the mins
//         term dmin * sum_j mn_j * (activation sum of sub-block j);
//   Q5_K  as Q4_K with codes q (0..31): the fifth bit joins the nibble while packing;
//   Q6_K  codes q (0..63) per sub-block of 16, integer dot minus 32 * (its activation sum),
//         F32 scale d * sc_j;
//   Q3_K  packed as Q6_K with codes q3 + 32 (28..35), F32 scale d * (sc_j - 32);
//   Q2_K  packed as Q6_K with codes q (0..3), F32 scale d * sc_j, no offset; per super-block the
//         mins term dmin * sum_j mn_j * (activation sum of sub-block j of 16);
//   IQ4_NL codes looked up while packing (vpshufb against the 16 levels + 128), then as Q8_0;
//   IQ4_XS the same per sub-block of 32, minus 128 * (its activation sum), F32 scale d * (ls - 32).
// The offsets are applied in integers (vpdpwssd with the activation sums of 16), so the only
// difference from the row kernels is the order of the F32 additions.
#include "CLFMKernels.h"
#include "internal/quant_common.h"

#pragma clang fp contract(off)

size_t lfm_qgemm_min_rows(int type) {
    // Measured (Benchmarks/gemm_threshold.c on AMD Zen 4 with the VBMI row kernels, weights read from
    // memory, one and two threads, 1024 x 4608 and 4608 x 1024 matrices): the smallest activation row
    // count from which the GEMM, packing included, was at least as fast as the row kernels at every
    // larger count up to 12 in all four runs. Rows of 1024 columns (most of LFM2-350M) cross later.
    switch (type) {
    case QT_Q5_0: case QT_IQ4_NL: return 3;
    case QT_Q4_1: case QT_IQ4_XS: return 4;
    case QT_Q5_1: return 5;
    case QT_Q8_0: case QT_Q8_0_X8: return 6;
    case QT_Q4_0: case QT_Q4_0_X8: case QT_Q3_K: return 7;
    case QT_Q2_K: case QT_Q4_K: return 8;
    case QT_Q5_K: return 9;
    case QT_Q6_K: return 12;
    default: return 0;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "internal/prefetch.h"

#define QG_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define QG_INL QG_TARGET __attribute__((always_inline)) static inline

/// Rows per panel (two 512-bit registers of 16 rows).
#define QG_ROWS 32
/// Columns per packed chunk: the packed panel (about 37-42 KB) stays in L1 / L2 while every group of
/// QG_T tokens passes over it (LFM_GEMM_KC_FEW for few tokens).
#define QG_KC 1024
/// Activation rows per micro-kernel call.
#ifndef QG_T
#define QG_T 4
#endif
/// Bytes of the pack buffer: the largest chunk of any type (Q2_K: 4 super-blocks of 11392 bytes).
#define QG_PACK_BYTES (4 * 11392)

/// Layout constants of one type in packed form.
typedef struct {
    int xblock;     // activation block (elements per activation scale): 32 or 256
    int units;      // units per activation block: 1 (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL), 8 (Q4_K, Q5_K,
                    // IQ4_XS), 16 (Q6_K, Q3_K, Q2_K)
    int groups;     // groups of four columns per unit: 8 (32 columns) or 4 (16 columns)
    int unitBytes;  // packed bytes per unit: 128 * groups + 128 (scales)
    int blockBytes; // packed bytes per activation block (units + the mins of Q4_K, Q5_K, Q2_K, Q4_1, Q5_1)
} QGLayout;

QG_INL QGLayout qg_layout(int type) {
    QGLayout l;
    switch (type) {
    case QT_Q4_K: case QT_Q5_K: case QT_IQ4_XS: l.xblock = 256; l.units = 8; l.groups = 8; break;
    case QT_Q6_K: case QT_Q3_K: case QT_Q2_K: l.xblock = 256; l.units = 16; l.groups = 4; break;
    default: l.xblock = 32; l.units = 1; l.groups = 8; break;
    }
    l.unitBytes = 128 * l.groups + 128;
    // Q4_K, Q5_K: + 4 vectors of (mn_2k, mn_2k+1) word pairs per row + dmin per row; Q2_K: 8 vectors.
    // Q4_1, Q5_1: + the min per row.
    l.blockBytes = l.units * l.unitBytes + (type == QT_Q4_K || type == QT_Q5_K ? 4 * 128 + 128 : 0) +
                   (type == QT_Q2_K ? 8 * 128 + 128 : 0) + (type == QT_Q4_1 || type == QT_Q5_1 ? 128 : 0);
    return l;
}

/// Row byte offsets r * rb (r < 16) as a vector, for gathers.
QG_INL __m512i qg_row_offsets(size_t rb) {
    return _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                              _mm512_set1_epi32((int)rb));
}

/// The dword at byte `off` of each of 16 rows (zero for rows outside `mask`).
QG_INL __m512i qg_gather(const uint8_t *base, __m512i rows, __mmask16 mask, size_t off) {
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask, rows, base + off, 1);
}

/// F16 at byte `off` of each of 16 rows, as F32 (zero outside `mask`).
QG_INL __m512 qg_gather_half(const uint8_t *base, __m512i rows, __mmask16 mask, size_t off) {
    const __m512i v = qg_gather(base, rows, mask, off);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

/// The 16 bytes at p, or zeros for a row outside the panel (never read).
QG_INL __m128i qg_row16(const uint8_t *p, int valid) {
    return valid ? _mm_loadu_si128((const __m128i *)p) : _mm_setzero_si128();
}

/// out[g] lane r = the dword at byte off + 4 g of row r (rows rb bytes apart from w; zero for
/// rows outside `mask`), g < 4: sixteen 16-byte row loads and a 4 x 4 dword transpose per
/// 128-bit lane, in place of four vpgatherdd. Packing is what short prompts pay for: replacing the
/// gathers took LFM2-350M pp16 from 310 to 582 tokens/s (Q8_0) and 505 to 702 (Q4_0). z[q] holds
/// rows q, 4 + q, 8 + q, 12 + q in its lanes, so after the transpose dword 4 l + q of out[g] is
/// row 4 l + q.
QG_INL void qg_words16(const uint8_t *w, size_t rb, __mmask16 mask, size_t off, __m512i out[4]) {
    __m512i z[4];
    for (int q = 0; q < 4; q++) {
        __m512i v = _mm512_castsi128_si512(qg_row16(w + (size_t)q * rb + off, (mask >> q) & 1));
        v = _mm512_inserti32x4(v, qg_row16(w + (size_t)(4 + q) * rb + off, (mask >> (4 + q)) & 1), 1);
        v = _mm512_inserti32x4(v, qg_row16(w + (size_t)(8 + q) * rb + off, (mask >> (8 + q)) & 1), 2);
        v = _mm512_inserti32x4(v, qg_row16(w + (size_t)(12 + q) * rb + off, (mask >> (12 + q)) & 1), 3);
        z[q] = v;
    }
    const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    out[0] = _mm512_unpacklo_epi64(t0, t2);
    out[1] = _mm512_unpackhi_epi64(t0, t2);
    out[2] = _mm512_unpacklo_epi64(t1, t3);
    out[3] = _mm512_unpackhi_epi64(t1, t3);
}

/// out[g] for g < 8: qg_words16 at off and off + 16.
QG_INL void qg_words32(const uint8_t *w, size_t rb, __mmask16 mask, size_t off, __m512i out[8]) {
    qg_words16(w, rb, mask, off, out);
    qg_words16(w, rb, mask, off + 16, out + 4);
}

/// Packs the 16 code bytes at byte `off` of 16 rows (byte j: column j in its low nibble, j + 16 in
/// its high one) into the eight groups of one unit at `pu`, half `h`: the 4-bit codes themselves
/// (Q4_0, Q4_1), or with `qh` (lane r: row r's 32 fifth bits, bit j for column j) the 5-bit codes
/// (Q5_0, Q5_1), or with `lookup` the IQ4 levels + 128 they select (unsigned bytes for vpdpbusd).
QG_INL void qg_pack_nibbles(const uint8_t *w, size_t rb, __mmask16 mask, size_t off, int lookup, const __m512i *qh,
                            uint8_t *pu, int h) {
    const __m512i nib = _mm512_set1_epi8(0x0F);
    const __m512i levels = _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lfm_qt_iq4_values)),
                                            _mm512_set1_epi8((char)0x80));
    __m512i words[4];
    qg_words16(w, rb, mask, off, words);
    for (int g = 0; g < 4; g++) {
        __m512i lo = _mm512_and_si512(words[g], nib), hi = _mm512_and_si512(_mm512_srli_epi16(words[g], 4), nib);
        if (lookup) {
            lo = _mm512_shuffle_epi8(levels, lo);
            hi = _mm512_shuffle_epi8(levels, hi);
        }
        if (qh) {
            // Bits 4g ..< 4g + 4 (columns of group g) to bit 4 of the four bytes: the multiply puts
            // bit k at bit 8k (shifts 0, 7, 14, 21 of a 4-bit value never overlap).
            const __m512i spread = _mm512_set1_epi32(0x00204081), ones = _mm512_set1_epi32(0x01010101), f = _mm512_set1_epi32(0xF);
            const __m512i bl = _mm512_and_si512(_mm512_srli_epi32(*qh, 4 * g), f);
            const __m512i bh = _mm512_and_si512(_mm512_srli_epi32(*qh, 16 + 4 * g), f);
            lo = _mm512_or_si512(lo, _mm512_slli_epi32(_mm512_and_si512(_mm512_mullo_epi32(bl, spread), ones), 4));
            hi = _mm512_or_si512(hi, _mm512_slli_epi32(_mm512_and_si512(_mm512_mullo_epi32(bh, spread), ones), 4));
        }
        _mm512_store_si512((void *)(pu + 128 * g + 64 * h), lo);
        _mm512_store_si512((void *)(pu + 128 * (g + 4) + 64 * h), hi);
    }
}

/// Stores the per-row tables of a packed K-quant block with mins (Q4_K, Q5_K, Q2_K; half `h` of the
/// panel): each unit's F32 scales after its codes, then, after the units, `pairs` vectors of
/// (mn_2k, mn_2k+1) word pairs and the rows' dmin.
QG_INL void qg_store_min_tables(uint8_t *pb, QGLayout L, int h, const float sc[][16], const int32_t mp[][16], int pairs,
                                const float dm[16]) {
    const size_t codes = 128 * (size_t)L.groups, tables = (size_t)L.units * (size_t)L.unitBytes;
    for (int u = 0; u < L.units; u++)
        _mm512_store_ps((void *)(pb + (size_t)u * (size_t)L.unitBytes + codes + 64 * h), _mm512_loadu_ps(sc[u]));
    for (int k = 0; k < pairs; k++)
        _mm512_store_si512((void *)(pb + tables + 128 * k + 64 * h), _mm512_loadu_si512((const void *)mp[k]));
    _mm512_store_ps((void *)(pb + tables + 128 * (size_t)pairs + 64 * h), _mm512_loadu_ps(dm));
}

/// Stores the F32 scale of block b (F16 first in each `bytes`-byte GGUF block; `blocks` per row) of 16
/// rows after its packed codes at pb, unless an earlier call stored it (b < *scaled). Regrouped (x8) rows
/// take a whole group starting at b and ending within the chunk (`end`) at once: its eight F16 scales
/// lie together (lfm_x8_scale_offset), so one 16-byte load per row and a transpose replace eight
/// gathers, block b + j's scale going to pb + j * blockBytes.
QG_INL void qg_block_scales(const uint8_t *w, size_t rb, __m512i rows, __mmask16 mask, int x8, size_t bytes, size_t b,
                            size_t blocks, size_t end, uint8_t *pb, int blockBytes, int h, size_t *scaled) {
    if (b < *scaled) return;
    if (x8 && b % 8 == 0 && b + 8 <= end && b + 8 <= blocks) {
        __m512i words[4];
        qg_words16(w, rb, mask, b * bytes, words);
        // Dword k of a row holds words 2 k and 2 k + 1 of the group's scales: blocks 0 and 2 (k = 0), 4 and 6,
        // 1 and 3, 5 and 7.
        static const int first[4] = {0, 4, 1, 5};
        for (int k = 0; k < 4; k++) {
            const __m512 lo = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words[k]));
            const __m512 hi = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words[k], 16)));
            _mm512_store_ps((void *)(pb + (size_t)first[k] * (size_t)blockBytes + 1024 + 64 * h), lo);
            _mm512_store_ps((void *)(pb + (size_t)(first[k] + 2) * (size_t)blockBytes + 1024 + 64 * h), hi);
        }
        *scaled = b + 8;
        return;
    }
    _mm512_store_ps((void *)(pb + 1024 + 64 * h), qg_gather_half(w, rows, mask, x8 ? lfm_x8_scale_offset(bytes, b, blocks) : b * bytes));
}

/// Packs columns [b0 * xblock, (b0 + nb) * xblock) of 16 rows starting at `w` (row stride rb,
/// valid rows in `mask`) into `out`, the half `h` (0: rows 0..15, 1: rows 16..31) of a panel.
/// `x8`: Q4_0 / Q8_0 rows in the regrouped layout (LFM_QT_Q4_0_X8 / LFM_QT_Q8_0_X8; the same packed
/// panel comes out).
QG_INL void qg_pack_half(int type, int x8, const uint8_t *w, size_t rb, __mmask16 mask, size_t b0, size_t nb,
                         uint8_t *out, int h) {
    const QGLayout L = qg_layout(type);
    const __m512i rows = qg_row_offsets(rb);
    const __m512i nib = _mm512_set1_epi8(0x0F);
    // Blocks below `scaled` already have their scales stored (qg_block_scales, x8 groups).
    size_t scaled = b0;
    for (size_t i = 0; i < nb; i++) {
        uint8_t *pb = out + i * (size_t)L.blockBytes;
        const size_t b = b0 + i;
        switch (type) {
        case QT_Q8_0: {
            const size_t blocks = rb / 34;
            __m512i words[8];
            qg_words32(w, rb, mask, x8 ? lfm_x8_code_offset(34, b, blocks) : b * 34 + 2, words);
            for (int g = 0; g < 8; g++)
                _mm512_store_si512((void *)(pb + 128 * g + 64 * h), _mm512_xor_si512(words[g], _mm512_set1_epi8((char)0x80)));
            qg_block_scales(w, rb, rows, mask, x8, 34, b, blocks, b0 + nb, pb, L.blockBytes, h, &scaled);
            break;
        }
        case QT_Q4_0:
        case QT_IQ4_NL: {
            const size_t blocks = rb / 18;
            const size_t codes = x8 ? lfm_x8_code_offset(18, b, blocks) : b * 18 + 2;
            qg_pack_nibbles(w, rb, mask, codes, type == QT_IQ4_NL, NULL, pb, h);
            qg_block_scales(w, rb, rows, mask, x8, 18, b, blocks, b0 + nb, pb, L.blockBytes, h, &scaled);
            break;
        }
        case QT_Q4_1:
        case QT_Q5_0:
        case QT_Q5_1: {
            // Block: d, [m], [qh: 32 fifth bits], 16 code bytes as Q4_0's. The min after the scales.
            const size_t o = b * lfm_qt_block_bytes(type);
            const size_t codes = o + (type == QT_Q4_1 ? 4 : type == QT_Q5_0 ? 6 : 8);
            const __m512i qh = type == QT_Q4_1 ? _mm512_setzero_si512() : qg_gather(w, rows, mask, o + (type == QT_Q5_0 ? 2 : 4));
            qg_pack_nibbles(w, rb, mask, codes, 0, type == QT_Q4_1 ? NULL : &qh, pb, h);
            _mm512_store_ps((void *)(pb + 1024 + 64 * h), qg_gather_half(w, rows, mask, o));
            if (type != QT_Q5_0) _mm512_store_ps((void *)(pb + 1152 + 64 * h), qg_gather_half(w, rows, mask, o + 2));
            break;
        }
        case QT_IQ4_XS: {
            // Unit j = sub-block j: its 16 code bytes at 8 + 16 j, laid out as an IQ4_NL block.
            const size_t o = b * 136;
            for (int j = 0; j < 8; j++) qg_pack_nibbles(w, rb, mask, o + 8 + 16 * (size_t)j, 1, NULL, pb + (size_t)j * 1152, h);
            float sc[8][16];
            for (int r = 0; r < 16; r++) {
                if (!((mask >> r) & 1)) {
                    for (int j = 0; j < 8; j++) sc[j][r] = 0;
                    continue;
                }
                const uint8_t *blk = w + (size_t)r * rb + o;
                const float d = lfm_qt_half(blk);
                for (int j = 0; j < 8; j++) sc[j][r] = d * (float)lfm_qt_iq4xs_scale(blk, j);
            }
            for (int j = 0; j < 8; j++)
                _mm512_store_ps((void *)(pb + (size_t)j * 1152 + 1024 + 64 * h), _mm512_loadu_ps(sc[j]));
            break;
        }
        case QT_Q4_K:
        case QT_Q5_K: {
            // Sub-block 2j: the low nibbles of code bytes 32j ..< 32j + 32, 2j + 1 their high nibbles;
            // Q5_K adds bit 2j (2j + 1) of qh[l] as 16 to element l.
            const int five = type == QT_Q5_K;
            const size_t o = b * (five ? 176 : 144), codes = o + (five ? 48 : 16);
            const __m512i one = _mm512_set1_epi8(1);
            __m512i qh[8];
            if (five) qg_words32(w, rb, mask, o + 16, qh);
            for (int j = 0; j < 4; j++) {
                __m512i words[8];
                qg_words32(w, rb, mask, codes + 32 * (size_t)j, words);
                for (int g = 0; g < 8; g++) {
                    const __m512i v = words[g];
                    __m512i lo = _mm512_and_si512(v, nib), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
                    if (five) {
                        lo = _mm512_or_si512(lo, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh[g], 2 * j), one), 4));
                        hi = _mm512_or_si512(hi, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh[g], 2 * j + 1), one), 4));
                    }
                    _mm512_store_si512((void *)(pb + (size_t)(2 * j) * 1152 + 128 * g + 64 * h), lo);
                    _mm512_store_si512((void *)(pb + (size_t)(2 * j + 1) * 1152 + 128 * g + 64 * h), hi);
                }
            }
            // Per row: d * sc_j per sub-block, the mins as (mn_2k, mn_2k+1) word pairs, dmin.
            float sc[8][16], dm[16];
            int32_t mp[4][16];
            for (int r = 0; r < 16; r++) {
                if (!((mask >> r) & 1)) {
                    for (int j = 0; j < 8; j++) sc[j][r] = 0;
                    for (int k = 0; k < 4; k++) mp[k][r] = 0;
                    dm[r] = 0;
                    continue;
                }
                const uint8_t *blk = w + (size_t)r * rb + o;
                const float d = lfm_qt_half(blk), dmin = lfm_qt_half(blk + 2);
                uint8_t s[8], m[8];
                lfm_qt_scales_k4(blk + 4, s, m);
                for (int j = 0; j < 8; j++) {
                    sc[j][r] = d * (float)s[j];
                    if (j & 1) mp[j / 2][r] = (int32_t)((uint32_t)m[j - 1] | ((uint32_t)m[j] << 16));
                }
                dm[r] = dmin;
            }
            qg_store_min_tables(pb, L, h, sc, mp, 4, dm);
            break;
        }
        case QT_Q2_K:
        case QT_Q3_K: {
            // Q6_K's units: element 128 n + 32 j + l takes bits 2 j of 2-bit code byte 32 n + l. Q3_K
            // adds bit 4 n + j of hmask byte l as 4 and packs q3 + 32 (28..35), so the tile's offset
            // of 32 applies, with F32 scales d * (sc_u - 32); Q2_K packs its codes 0..3 with F32
            // scales d * sc_u and, after the 16 units, the mins as (mn_2k, mn_2k+1) word pairs per row
            // (8 vectors), then dmin per row.
            const int q3 = type == QT_Q3_K;
            const size_t o = b * (q3 ? 110 : 84);
            const __m512i three = _mm512_set1_epi8(3), one = _mm512_set1_epi8(1), base = _mm512_set1_epi8(q3 ? 28 : 0);
            __m512i hw[8];
            if (q3) qg_words32(w, rb, mask, o, hw);
            for (int n = 0; n < 2; n++) {
                __m512i qw[8];
                qg_words32(w, rb, mask, o + (q3 ? 32 : 16) + 32 * (size_t)n, qw);
                for (int g = 0; g < 8; g++)
                    for (int j = 0; j < 4; j++) {
                        __m512i v = _mm512_and_si512(_mm512_srli_epi16(qw[g], 2 * j), three);
                        if (q3) v = _mm512_or_si512(v, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hw[g], 4 * n + j), one), 2));
                        // Element 128 n + 32 j + 4 g: unit 8 n + 2 j + g / 4, group g % 4 (as Q6_K's).
                        const int unit = 8 * n + 2 * j + g / 4;
                        _mm512_store_si512((void *)(pb + (size_t)unit * 640 + 128 * (g % 4) + 64 * h), _mm512_add_epi8(v, base));
                    }
            }
            float sc[16][16], dm[16];
            int32_t mp[8][16];
            for (int r = 0; r < 16; r++) {
                if (!((mask >> r) & 1)) {
                    for (int u = 0; u < 16; u++) sc[u][r] = 0;
                    for (int k = 0; k < 8; k++) mp[k][r] = 0;
                    dm[r] = 0;
                    continue;
                }
                const uint8_t *blk = w + (size_t)r * rb + o;
                if (q3) {
                    const float d = lfm_qt_half(blk + 108);
                    int8_t s3[16];
                    lfm_qt_scales_q3k(blk + 96, s3);
                    for (int u = 0; u < 16; u++) sc[u][r] = d * (float)s3[u];
                } else {
                    const float d = lfm_qt_half(blk + 80);
                    for (int u = 0; u < 16; u++) sc[u][r] = d * (float)(blk[u] & 0xF);
                    for (int k = 0; k < 8; k++)
                        mp[k][r] = (int32_t)((uint32_t)(blk[2 * k] >> 4) | ((uint32_t)(blk[2 * k + 1] >> 4) << 16));
                    dm[r] = lfm_qt_half(blk + 82);
                }
            }
            if (q3)
                for (int u = 0; u < 16; u++)
                    _mm512_store_ps((void *)(pb + (size_t)u * 640 + 512 + 64 * h), _mm512_loadu_ps(sc[u]));
            else
                qg_store_min_tables(pb, L, h, sc, mp, 8, dm);
            break;
        }
        default: { // Q6_K
            const size_t o = b * 210;
            const __m512i three = _mm512_set1_epi8(3);
            for (int hh = 0; hh < 2; hh++) {
                __m512i aw[8], cw[8], qw[8];
                qg_words32(w, rb, mask, o + 64 * (size_t)hh, aw);
                qg_words32(w, rb, mask, o + 64 * (size_t)hh + 32, cw);
                qg_words32(w, rb, mask, o + 128 + 32 * (size_t)hh, qw);
                for (int g = 0; g < 8; g++) {
                    const __m512i a = aw[g], c = cw[g], q = qw[g];
                    __m512i v[4];
                    v[0] = _mm512_or_si512(_mm512_and_si512(a, nib), _mm512_slli_epi16(_mm512_and_si512(q, three), 4));
                    v[1] = _mm512_or_si512(_mm512_and_si512(c, nib),
                                           _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(q, 2), three), 4));
                    v[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(a, 4), nib),
                                           _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(q, 4), three), 4));
                    v[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(c, 4), nib),
                                           _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(q, 6), three), 4));
                    // Element 128 hh + 32 c + 4 g: unit 8 hh + 2 c + g / 4, group g % 4.
                    for (int c4 = 0; c4 < 4; c4++) {
                        const int unit = 8 * hh + 2 * c4 + g / 4;
                        _mm512_store_si512((void *)(pb + (size_t)unit * 640 + 128 * (g % 4) + 64 * h), v[c4]);
                    }
                }
            }
            float sc[16][16];
            for (int r = 0; r < 16; r++) {
                if (!((mask >> r) & 1)) {
                    for (int u = 0; u < 16; u++) sc[u][r] = 0;
                    continue;
                }
                const uint8_t *blk = w + (size_t)r * rb + o;
                const float d = lfm_qt_half(blk + 208);
                for (int u = 0; u < 16; u++) sc[u][r] = d * (float)(int8_t)blk[192 + u];
            }
            for (int u = 0; u < 16; u++)
                _mm512_store_ps((void *)(pb + (size_t)u * 640 + 512 + 64 * h), _mm512_loadu_ps(sc[u]));
            break;
        }
        }
    }
}

/// The 32-bit word at p (any alignment).
QG_INL int32_t qg_word(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/// Activation pointers of one token.
typedef struct {
    const int8_t *q;
    const float *d;
    const int16_t *s;
    const float *ds;
} QGRow;

/// out[t] (16 rows x 2 halves) for T tokens, over the nb packed activation blocks of `pk` that
/// start at activation block b0. Results are stored (first chunk) or added to y.
QG_INL void qg_tile(int type, const uint8_t *pk, size_t b0, size_t nb, const QGRow *xr, int T,
                    float *y, size_t ys, __mmask16 m0, __mmask16 m1, int add) {
    const QGLayout L = qg_layout(type);
    const int S = 4 * L.groups;
    __m512 f[QG_T][2];
    for (int t = 0; t < T; t++) { f[t][0] = _mm512_setzero_ps(); f[t][1] = _mm512_setzero_ps(); }
    // Offset multipliers, as word pairs for vpdpwssd with a pair of activation sums of 16.
    const __m512i offPair = _mm512_set1_epi32(type == QT_Q4_0 ? (int)0xFFF8FFF8u : type == QT_Q5_0 ? (int)0xFFF0FFF0u
                                                                                             : (int)0xFF80FF80u);
    const __m512i offEven = _mm512_set1_epi32((int)0x0000FFE0u), offOdd = _mm512_set1_epi32((int)0xFFE00000u);
    for (size_t i = 0; i < nb; i++) {
        const size_t b = b0 + i;
        const uint8_t *pb = pk + i * (size_t)L.blockBytes;
        // Types with several units per activation block (K-quants, IQ4_XS): the block's unit sums
        // times their weight scales, then one multiply by d(x) per block instead of one per unit.
        __m512 g[QG_T][2];
        for (int t = 0; t < T; t++) { g[t][0] = _mm512_setzero_ps(); g[t][1] = _mm512_setzero_ps(); }
        for (int u = 0; u < L.units; u++) {
            const uint8_t *pu = pb + (size_t)u * (size_t)L.unitBytes;
            __m512i a[QG_T][2];
            for (int t = 0; t < T; t++) {
                __m512i init = _mm512_setzero_si512();
                if (type == QT_Q8_0 || type == QT_Q4_0 || type == QT_Q5_0 || type == QT_IQ4_NL) {
                    const __m512i s = _mm512_set1_epi32(qg_word(xr[t].s + 2 * b));
                    init = _mm512_dpwssd_epi32(init, s, offPair);
                } else if (type == QT_IQ4_XS) {
                    const __m512i s = _mm512_set1_epi32(qg_word(xr[t].s + 16 * b + 2 * u));
                    init = _mm512_dpwssd_epi32(init, s, offPair);
                } else if (type == QT_Q6_K || type == QT_Q3_K) {
                    const __m512i s = _mm512_set1_epi32(qg_word(xr[t].s + 16 * b + (u & ~1)));
                    init = _mm512_dpwssd_epi32(init, s, (u & 1) ? offOdd : offEven);
                }
                a[t][0] = init;
                a[t][1] = init;
            }
            const int8_t *xo[QG_T];
            for (int t = 0; t < T; t++) xo[t] = xr[t].q + b * (size_t)L.xblock + (size_t)u * (size_t)S;
            for (int g = 0; g < L.groups; g++) {
                const __m512i w0 = _mm512_load_si512((const void *)(pu + 128 * g));
                const __m512i w1 = _mm512_load_si512((const void *)(pu + 128 * g + 64));
                for (int t = 0; t < T; t++) {
                    const __m512i xv = _mm512_set1_epi32(qg_word(xo[t] + 4 * g));
                    a[t][0] = _mm512_dpbusd_epi32(a[t][0], w0, xv);
                    a[t][1] = _mm512_dpbusd_epi32(a[t][1], w1, xv);
                }
            }
            const __m512 s0 = _mm512_load_ps((const void *)(pu + 128 * L.groups));
            const __m512 s1 = _mm512_load_ps((const void *)(pu + 128 * L.groups + 64));
            for (int t = 0; t < T; t++) {
                if (L.units == 1) {
                    const __m512 dx = _mm512_set1_ps(xr[t].d[b]);
                    f[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[t][0]), _mm512_mul_ps(s0, dx), f[t][0]);
                    f[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[t][1]), _mm512_mul_ps(s1, dx), f[t][1]);
                    if (type == QT_Q4_1 || type == QT_Q5_1) {
                        // The min times d(x) * (sum of the block's activation codes).
                        const __m512 ds = _mm512_set1_ps(xr[t].ds[b]);
                        f[t][0] = _mm512_fmadd_ps(_mm512_load_ps((const void *)(pb + 1152)), ds, f[t][0]);
                        f[t][1] = _mm512_fmadd_ps(_mm512_load_ps((const void *)(pb + 1216)), ds, f[t][1]);
                    }
                } else {
                    g[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[t][0]), s0, g[t][0]);
                    g[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[t][1]), s1, g[t][1]);
                }
            }
        }
        if (type == QT_Q4_K || type == QT_Q5_K || type == QT_Q2_K) {
            // The mins, dmin * sum_j mn_j * (activation sum of sub-block j), two sub-blocks per
            // vpdpwssd, taken from g before d(x). Q2_K (sub-blocks of 16): the stored pairs of sums of
            // 16; Q4_K / Q5_K (of 32): the sums of 32 (pairs of the sums of 16 by vpmaddwd, packed to
            // words by vpackssdw; at most 32 * 127), dwords 0, 1, 4, 5 holding sub-blocks (0, 1) ..
            // (6, 7).
            const int pairs = type == QT_Q2_K ? 8 : 4;
            const uint8_t *pm = pb + (size_t)L.units * (size_t)L.unitBytes;
            const __m512 dm0 = _mm512_load_ps((const void *)(pm + 128 * pairs));
            const __m512 dm1 = _mm512_load_ps((const void *)(pm + 128 * pairs + 64));
            for (int t = 0; t < T; t++) {
                const int16_t *xs = xr[t].s + 16 * b;
                __m512i sums32 = _mm512_setzero_si512();
                if (pairs == 4) {
                    const __m256i s32 = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)xs), _mm256_set1_epi16(1));
                    sums32 = _mm512_castsi256_si512(_mm256_packs_epi32(s32, s32));
                }
                __m512i m0s = _mm512_setzero_si512(), m1s = _mm512_setzero_si512();
                for (int k = 0; k < pairs; k++) {
                    const __m512i s = pairs == 8 ? _mm512_set1_epi32(qg_word(xs + 2 * k))
                                                 : _mm512_permutexvar_epi32(_mm512_set1_epi32((k & 1) + 4 * (k >> 1)), sums32);
                    m0s = _mm512_dpwssd_epi32(m0s, _mm512_load_si512((const void *)(pm + 128 * k)), s);
                    m1s = _mm512_dpwssd_epi32(m1s, _mm512_load_si512((const void *)(pm + 128 * k + 64)), s);
                }
                g[t][0] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m0s), dm0, g[t][0]);
                g[t][1] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m1s), dm1, g[t][1]);
            }
        }
        for (int t = 0; t < T && L.units > 1; t++) {
            const __m512 dx = _mm512_set1_ps(xr[t].d[b]);
            f[t][0] = _mm512_fmadd_ps(g[t][0], dx, f[t][0]);
            f[t][1] = _mm512_fmadd_ps(g[t][1], dx, f[t][1]);
        }
    }
    for (int t = 0; t < T; t++) {
        float *o = y + (size_t)t * ys;
        if (add) {
            f[t][0] = _mm512_add_ps(f[t][0], _mm512_maskz_loadu_ps(m0, o));
            f[t][1] = _mm512_add_ps(f[t][1], _mm512_maskz_loadu_ps(m1, o + 16));
        }
        _mm512_mask_storeu_ps(o, m0, f[t][0]);
        _mm512_mask_storeu_ps(o + 16, m1, f[t][1]);
    }
}

QG_INL void qg_gemm(int type, int x8, const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                    float *y, size_t ys) {
    const QGLayout L = qg_layout(type);
    const size_t rb = lfm_qt_row_bytes(type, x->cols);
    const size_t kc = m <= LFM_GEMM_FEW_TOKENS ? LFM_GEMM_KC_FEW : QG_KC;
    const size_t nbAll = x->cols / (size_t)L.xblock, kcBlocks = kc / (size_t)L.xblock;
    const size_t xbPerRow = x->cols / x->block;
    _Alignas(64) uint8_t pack[QG_PACK_BYTES];
    for (size_t n = n0; n < n1; n += QG_ROWS) {
        const size_t valid = n1 - n < QG_ROWS ? n1 - n : QG_ROWS;
        const __mmask16 m0 = valid >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1);
        const __mmask16 m1 = valid >= 32 ? (__mmask16)0xFFFF : valid > 16 ? (__mmask16)((1u << (valid - 16)) - 1) : 0;
        for (size_t b0 = 0; b0 < nbAll; b0 += kcBlocks) {
            const size_t nb = nbAll - b0 < kcBlocks ? nbAll - b0 : kcBlocks;
            if (m <= LFM_GEMM_FEW_TOKENS) lfm_prefetch_next_chunk(w, rb, nbAll, n, n1, QG_ROWS, b0 + nb, kcBlocks);
            if (valid == QG_ROWS) {
                // Every panel but a matrix's last: the constant mask takes the per-row tests out of packing.
                qg_pack_half(type, x8, w + n * rb, rb, 0xFFFF, b0, nb, pack, 0);
                qg_pack_half(type, x8, w + (n + 16) * rb, rb, 0xFFFF, b0, nb, pack, 1);
            } else {
                qg_pack_half(type, x8, w + n * rb, rb, m0, b0, nb, pack, 0);
                qg_pack_half(type, x8, w + (n + 16) * rb, rb, m1, b0, nb, pack, 1);
            }
            for (size_t t = 0; t < m; t += QG_T) {
                const int T = m - t < QG_T ? (int)(m - t) : QG_T;
                QGRow xr[QG_T];
                for (int r = 0; r < T; r++) {
                    xr[r].q = x->q + (t + (size_t)r) * x->cols;
                    xr[r].d = x->d + (t + (size_t)r) * xbPerRow;
                    xr[r].s = x->sums + (t + (size_t)r) * (x->cols / 16);
                    xr[r].ds = x->dsums + (t + (size_t)r) * xbPerRow;
                }
                float *yo = y + t * ys + n;
                switch (T) {
#if QG_T >= 6
                case 6: qg_tile(type, pack, b0, nb, xr, 6, yo, ys, m0, m1, b0 > 0); break;
                case 5: qg_tile(type, pack, b0, nb, xr, 5, yo, ys, m0, m1, b0 > 0); break;
#endif
                case 4: qg_tile(type, pack, b0, nb, xr, 4, yo, ys, m0, m1, b0 > 0); break;
                case 3: qg_tile(type, pack, b0, nb, xr, 3, yo, ys, m0, m1, b0 > 0); break;
                case 2: qg_tile(type, pack, b0, nb, xr, 2, yo, ys, m0, m1, b0 > 0); break;
                default: qg_tile(type, pack, b0, nb, xr, 1, yo, ys, m0, m1, b0 > 0); break;
                }
            }
        }
    }
}

QG_TARGET static void qg_gemm_q8_0(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q8_0, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q4_0(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q4_0, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q4_0_x8(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                      float *y, size_t ys) { qg_gemm(QT_Q4_0, 1, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q8_0_x8(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                      float *y, size_t ys) { qg_gemm(QT_Q8_0, 1, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q4_1(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q4_1, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q5_0(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q5_0, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q5_1(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q5_1, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q4_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q4_K, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q5_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q5_K, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q2_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q2_K, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q3_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q3_K, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_q6_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qg_gemm(QT_Q6_K, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_iq4_nl(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                     float *y, size_t ys) { qg_gemm(QT_IQ4_NL, 0, w, n0, n1, x, m, y, ys); }
QG_TARGET static void qg_gemm_iq4_xs(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                     float *y, size_t ys) { qg_gemm(QT_IQ4_XS, 0, w, n0, n1, x, m, y, ys); }

void lfm_qgemm_avx512vnni(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                          float *y, size_t yStride) {
    const uint8_t *wb = (const uint8_t *)w;
    switch (type) {
    case QT_Q8_0: qg_gemm_q8_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_0: qg_gemm_q4_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_0_X8: qg_gemm_q4_0_x8(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q8_0_X8: qg_gemm_q8_0_x8(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_K: qg_gemm_q4_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_K: qg_gemm_q5_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q2_K: qg_gemm_q2_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q3_K: qg_gemm_q3_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q6_K: qg_gemm_q6_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_IQ4_NL: qg_gemm_iq4_nl(wb, n0, n1, x, m, y, yStride); break;
    case QT_IQ4_XS: qg_gemm_iq4_xs(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_1: qg_gemm_q4_1(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_0: qg_gemm_q5_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_1: qg_gemm_q5_1(wb, n0, n1, x, m, y, yStride); break;
    default: lfm_qmatmul_avx512vnni(type, w, n0, n1, x, m, y, yStride); break;
    }
}
#else
void lfm_qgemm_avx512vnni(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                          float *y, size_t yStride) {
    lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride);
}
#endif
