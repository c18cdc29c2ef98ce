// The AVX2 prefill GEMM over block-quantized weights (see quant_gemm_avx2.c for the packed layout
// and the integer semantics), compiled by quant_gemm_avx2.c (QA_VNNI 0: vpmaddubsw with 16-bit
// sums, vpmaddwd) and quant_gemm_avxvnni.c (QA_VNNI 1: vpdpbusd accumulates straight into dwords,
// sub-block scales by vpmulld; Q6_K's pair sums times scales by vpdpwssd). Before including, define
// QA_TARGET, QA_VNNI, QA_ENTRY (this GEMM's entry point) and QA_ROW_ENTRY (the row kernels for
// types without a packed form). The packed panels are the same in both.
#include <immintrin.h>
#include <stdlib.h>
#include "prefetch.h"

#define QA_INL QA_TARGET __attribute__((always_inline)) static inline

#if QA_VNNI
/// s + the byte products u * v summed per dword (Q4_0 / Q4_K codes: unsigned u, signed v).
#define QA_SUM_BYTES(s, u, v) _mm256_dpbusd_avx_epi32((s), (u), (v))
/// The dword sums of QA_SUM_BYTES as dwords.
#define QA_WIDEN_SUMS(s) (s)
/// The sums of QA_SUM_BYTES times the word-pair scales `sc` (both words of a dword hold the scale).
#define QA_SCALE_SUMS(s, sc) _mm256_mullo_epi32((s), _mm256_srai_epi32((sc), 16))
/// acc + sum of s16 * s16 over each pair.
#define QA_DPWSSD(acc, a, b) _mm256_dpwssd_avx_epi32((acc), (a), (b))
#else
/// 16-bit sums of the byte-pair products (up to eight groups fit, see the header comment).
#define QA_SUM_BYTES(s, u, v) _mm256_add_epi16((s), _mm256_maddubs_epi16((u), (v)))
#define QA_WIDEN_SUMS(s) _mm256_madd_epi16((s), _mm256_set1_epi16(1))
#define QA_SCALE_SUMS(s, sc) _mm256_madd_epi16((s), (sc))
#define QA_DPWSSD(acc, a, b) _mm256_add_epi32((acc), _mm256_madd_epi16((a), (b)))
#endif

/// Weight rows per panel (one 256-bit register of dwords).
#define QA_ROWS 8
/// Columns per packed chunk: the packed panel (9-17 KB) stays in L1 (LFM_GEMM_KC_FEW for few tokens).
#define QA_KC 1024
/// Tokens per micro-kernel call.
#define QA_T 4
/// Bytes of the pack buffer: the largest chunk of any type (Q8_0: 32 blocks of 544 bytes).
#define QA_PACK_BYTES (32 * 544)

/// Packed layout of one activation block (32 or 256 columns) of an 8-row panel.
typedef struct {
    int xblock;     // columns per activation block (one activation scale)
    int blockBytes; // packed bytes per activation block
} QALayout;

QA_INL QALayout qa_layout(int type) {
    QALayout l;
    switch (type) {
    case QT_Q4_0: case QT_Q5_0: l.xblock = 32; l.blockBytes = 8 * 32 + 32; break;  // groups, scales
    case QT_Q4_1: case QT_Q5_1: l.xblock = 32; l.blockBytes = 8 * 32 + 64; break;  // groups, scales, mins
    case QT_Q4_K: case QT_Q5_K: l.xblock = 256; l.blockBytes = 2048 + 256 + 256 + 64; break;
    case QT_Q8_0: case QT_IQ4_NL: l.xblock = 32; l.blockBytes = 8 * 64 + 32; break; // groups (w, |w|), scales
#if QA_VNNI
    case QT_IQ4_XS: l.xblock = 256; l.blockBytes = 2048 + 256 + 32; break; // levels, scales, d
#else
    case QT_IQ4_XS: l.xblock = 256; l.blockBytes = 128 * 32 + 32; break; // QA_WIDE: word pairs, d
#endif
    case QT_Q2_K: l.xblock = 256; l.blockBytes = 2048 + 512 + 256 + 64; break; // as Q6_K, + dmin
    default: l.xblock = 256; l.blockBytes = 2048 + 512 + 256 + 32; break; // Q6_K, Q3_K
    }
    return l;
}

/// out[g] (g < 4): dword r = dword g of the 16 bytes at w + r * rb + off, for rows r < valid
/// (zero for the others, which are never read). Eight 16-byte loads and a 4 x 4 dword transpose
/// per 128-bit lane: z[q] holds rows q (low lane) and q + 4 (high lane).
QA_INL void qa_words16(const uint8_t *w, size_t rb, int valid, size_t off, __m256i out[4]) {
    __m256i z[4];
    for (int q = 0; q < 4; q++) {
        const __m128i lo = q < valid ? _mm_loadu_si128((const __m128i *)(w + (size_t)q * rb + off)) : _mm_setzero_si128();
        const __m128i hi = q + 4 < valid ? _mm_loadu_si128((const __m128i *)(w + (size_t)(q + 4) * rb + off))
                                         : _mm_setzero_si128();
        z[q] = _mm256_set_m128i(hi, lo);
    }
    const __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
    out[0] = _mm256_unpacklo_epi64(t0, t2);
    out[1] = _mm256_unpackhi_epi64(t0, t2);
    out[2] = _mm256_unpacklo_epi64(t1, t3);
    out[3] = _mm256_unpackhi_epi64(t1, t3);
}

/// The dword at byte `off` of rows r < valid as 8 lanes (zero for the others).
QA_INL __m256i qa_dwords(const uint8_t *w, size_t rb, int valid, size_t off) {
    int32_t v[8];
    for (int r = 0; r < 8; r++) {
        v[r] = 0;
        if (r < valid) memcpy(&v[r], w + (size_t)r * rb + off, 4);
    }
    return _mm256_loadu_si256((const __m256i *)v);
}

/// The F16 at byte `off` of rows r < valid as 8 F32 lanes (zero for the others).
QA_INL __m256 qa_halves(const uint8_t *w, size_t rb, int valid, size_t off) {
    uint16_t h[8];
    for (int r = 0; r < 8; r++) {
        h[r] = 0;
        if (r < valid) memcpy(&h[r], w + (size_t)r * rb + off, 2);
    }
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}

#if !QA_VNNI
/// Types whose packed panel holds 16-bit weights (pairs of columns per dword) multiplied by
/// vpmaddwd against activations widened to 16 bits: IQ4_XS's signed levels would otherwise take
/// vpsignb and a vpmaddwd by the sub-block scale per vpmaddubsw. (Q8_0 and IQ4_NL measured 7-8 %
/// slower this way: one F32 scale per 32 columns leaves too few registers for 16 rows.)
#define QA_WIDE(type) ((type) == QT_IQ4_XS)

/// v: dword r = four signed bytes (columns c..c+3) of row r; sc: dword r = (s, s), the row's 16-bit
/// scale twice. Out: p[0] dword r = the words (v_c * s, v_c+1 * s) of row r, p[1] the same for
/// columns c+2, c+3.
QA_INL void qa_widen_pairs(__m256i v, __m256i sc, __m256i p[2]) {
    const __m256i sign = _mm256_cmpgt_epi8(_mm256_setzero_si256(), v);
    // Rows 0, 1 | 4, 5 and rows 2, 3 | 6, 7 as four words each, times their scales.
    const __m256i a = _mm256_mullo_epi16(_mm256_unpacklo_epi8(v, sign), _mm256_unpacklo_epi32(sc, sc));
    const __m256i b = _mm256_mullo_epi16(_mm256_unpackhi_epi8(v, sign), _mm256_unpackhi_epi32(sc, sc));
    const __m256i ap = _mm256_shuffle_epi32(a, 0xD8), bp = _mm256_shuffle_epi32(b, 0xD8); // dwords 0, 2, 1, 3
    p[0] = _mm256_unpacklo_epi64(ap, bp);
    p[1] = _mm256_unpackhi_epi64(ap, bp);
}
#endif

/// Packs the 16 code bytes at byte `off` of the rows r < valid (byte j: column j in its low nibble,
/// j + 16 in its high one) into the eight groups of a block at pb: the 4-bit codes (Q4_0, Q4_1), or
/// with `qh` (dword r: row r's 32 fifth bits, bit j for column j) the 5-bit codes (Q5_0, Q5_1).
QA_INL void qa_pack_nibbles(const uint8_t *w, size_t rb, int valid, size_t off, const __m256i *qh, uint8_t *pb) {
    const __m256i nib = _mm256_set1_epi8(0x0F);
    // Bits 4g ..< 4g + 4 of qh (the columns of group g) to bit 4 of the group's four bytes: the
    // multiply puts bit k at bit 8k (shifts 0, 7, 14, 21 of a 4-bit value never overlap).
    const __m256i spread = _mm256_set1_epi32(0x00204081), ones = _mm256_set1_epi32(0x01010101), f = _mm256_set1_epi32(0xF);
    __m256i words[4];
    qa_words16(w, rb, valid, off, words);
    for (int g = 0; g < 4; g++) {
        __m256i lo = _mm256_and_si256(words[g], nib), hi = _mm256_and_si256(_mm256_srli_epi16(words[g], 4), nib);
        if (qh) {
            const __m256i bl = _mm256_and_si256(_mm256_srli_epi32(*qh, 4 * g), f);
            const __m256i bh = _mm256_and_si256(_mm256_srli_epi32(*qh, 16 + 4 * g), f);
            lo = _mm256_or_si256(lo, _mm256_slli_epi32(_mm256_and_si256(_mm256_mullo_epi32(bl, spread), ones), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi32(_mm256_and_si256(_mm256_mullo_epi32(bh, spread), ones), 4));
        }
        _mm256_store_si256((__m256i *)(pb + 32 * g), lo);
        _mm256_store_si256((__m256i *)(pb + 32 * (g + 4)), hi);
    }
}

/// Packs activation blocks [b0, b0 + nb) of the rows r < valid at w (row stride rb) into out.
/// `x8`: Q4_0 / Q8_0 rows in the regrouped layout (LFM_QT_Q4_0_X8 / LFM_QT_Q8_0_X8; the same packed
/// panel comes out).
QA_INL void qa_pack(int type, int x8, const uint8_t *w, size_t rb, int valid, size_t b0, size_t nb, uint8_t *out) {
    const QALayout L = qa_layout(type);
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)lfm_qt_iq4_values));
    for (size_t i = 0; i < nb; i++) {
        uint8_t *pb = out + i * (size_t)L.blockBytes;
        const size_t b = b0 + i;
        switch (type) {
        case QT_Q8_0: {
            const size_t blocks = rb / 34;
            const size_t o = x8 ? lfm_x8_scale_offset(34, b, blocks) : b * 34;
            const size_t codes = x8 ? lfm_x8_code_offset(34, b, blocks) : b * 34 + 2;
            for (int half = 0; half < 2; half++) {
                __m256i words[4];
                qa_words16(w, rb, valid, codes + 16 * (size_t)half, words);
                for (int g = 0; g < 4; g++) {
                    _mm256_store_si256((__m256i *)(pb + 64 * (4 * half + g)), words[g]);
                    _mm256_store_si256((__m256i *)(pb + 64 * (4 * half + g) + 32), _mm256_abs_epi8(words[g]));
                }
            }
            _mm256_store_ps((float *)(pb + 512), qa_halves(w, rb, valid, o));
            break;
        }
        case QT_Q4_0: {
            // Byte j holds column j (low nibble) and column j + 16 (high nibble).
            const size_t blocks = rb / 18;
            const size_t scale = x8 ? lfm_x8_scale_offset(18, b, blocks) : b * 18;
            qa_pack_nibbles(w, rb, valid, x8 ? lfm_x8_code_offset(18, b, blocks) : b * 18 + 2, NULL, pb);
            _mm256_store_ps((float *)(pb + 256), qa_halves(w, rb, valid, scale));
            break;
        }
        case QT_Q4_1:
        case QT_Q5_0:
        case QT_Q5_1: {
            // Block: d, [m], [qh: 32 fifth bits], then 16 code bytes as Q4_0's; the min after the scales.
            const size_t o = b * lfm_qt_block_bytes(type);
            const size_t codes = o + (type == QT_Q4_1 ? 4 : type == QT_Q5_0 ? 6 : 8);
            const __m256i qh = type == QT_Q4_1 ? _mm256_setzero_si256() : qa_dwords(w, rb, valid, o + (type == QT_Q5_0 ? 2 : 4));
            qa_pack_nibbles(w, rb, valid, codes, type == QT_Q4_1 ? NULL : &qh, pb);
            _mm256_store_ps((float *)(pb + 256), qa_halves(w, rb, valid, o));
            if (type != QT_Q5_0) _mm256_store_ps((float *)(pb + 288), qa_halves(w, rb, valid, o + 2));
            break;
        }
        case QT_IQ4_NL: {
            // Byte j holds column j (low nibble) and j + 16 (high nibble); groups as Q8_0's.
            const size_t o = b * 18;
            __m256i words[4];
            qa_words16(w, rb, valid, o + 2, words);
            for (int g = 0; g < 4; g++) {
                const __m256i lo = _mm256_shuffle_epi8(levels, _mm256_and_si256(words[g], nib));
                const __m256i hi = _mm256_shuffle_epi8(levels, _mm256_and_si256(_mm256_srli_epi16(words[g], 4), nib));
                _mm256_store_si256((__m256i *)(pb + 64 * g), lo);
                _mm256_store_si256((__m256i *)(pb + 64 * g + 32), _mm256_abs_epi8(lo));
                _mm256_store_si256((__m256i *)(pb + 64 * (g + 4)), hi);
                _mm256_store_si256((__m256i *)(pb + 64 * (g + 4) + 32), _mm256_abs_epi8(hi));
            }
            _mm256_store_ps((float *)(pb + 512), qa_halves(w, rb, valid, o));
            break;
        }
        case QT_IQ4_XS: {
            const size_t o = b * 136;
            // Sub-block scales ls - 32 as word pairs per row (both words of a dword).
            uint32_t sc[8][8];
            for (int r = 0; r < 8; r++)
                for (int j = 0; j < 8; j++) {
                    const int v = r < valid ? lfm_qt_iq4xs_scale(w + (size_t)r * rb + o, j) : 0;
                    sc[j][r] = (uint32_t)(uint16_t)(int16_t)v * 0x10001u;
                }
            for (int j = 0; j < 8; j++) {
                __m256i words[4];
                qa_words16(w, rb, valid, o + 8 + 16 * (size_t)j, words);
#if QA_VNNI
                // Sub-block j (16 code bytes at 8 + 16 j): its 8 groups of levels at 256 j, then
                // the scales.
                for (int g = 0; g < 4; g++) {
                    _mm256_store_si256((__m256i *)(pb + 256 * j + 32 * g),
                                       _mm256_shuffle_epi8(levels, _mm256_and_si256(words[g], nib)));
                    _mm256_store_si256((__m256i *)(pb + 256 * j + 32 * (g + 4)),
                                       _mm256_shuffle_epi8(levels, _mm256_and_si256(_mm256_srli_epi16(words[g], 4), nib)));
                }
                _mm256_store_si256((__m256i *)(pb + 2048 + 32 * j), _mm256_loadu_si256((const __m256i *)sc[j]));
#else
                // Column pair p of sub-block j (columns 32 j + 2 p, + 1) at 32 (16 j + p): the
                // levels times the sub-block scale as words (|level (ls - 32)| <= 127 * 32).
                const __m256i s = _mm256_loadu_si256((const __m256i *)sc[j]);
                for (int g = 0; g < 4; g++) {
                    __m256i pairs[2];
                    qa_widen_pairs(_mm256_shuffle_epi8(levels, _mm256_and_si256(words[g], nib)), s, pairs);
                    _mm256_store_si256((__m256i *)(pb + 32 * (16 * j + 2 * g)), pairs[0]);
                    _mm256_store_si256((__m256i *)(pb + 32 * (16 * j + 2 * g + 1)), pairs[1]);
                    qa_widen_pairs(_mm256_shuffle_epi8(levels, _mm256_and_si256(_mm256_srli_epi16(words[g], 4), nib)), s,
                                   pairs);
                    _mm256_store_si256((__m256i *)(pb + 32 * (16 * j + 8 + 2 * g)), pairs[0]);
                    _mm256_store_si256((__m256i *)(pb + 32 * (16 * j + 8 + 2 * g + 1)), pairs[1]);
                }
#endif
            }
            _mm256_store_ps((float *)(pb + L.blockBytes - 32), qa_halves(w, rb, valid, o));
            break;
        }
        case QT_Q4_K:
        case QT_Q5_K: {
            // Codes: 32-byte chunk c holds sub-block 2c (low nibbles) and 2c + 1 (high nibbles);
            // Q5_K adds bit 2c (2c + 1) of qh[l] as 16 to element l.
            const int five = type == QT_Q5_K;
            const size_t o = b * (five ? 176 : 144), codes = o + (five ? 48 : 16);
            const __m256i one = _mm256_set1_epi8(1);
            __m256i qh[8];
            if (five) {
                qa_words16(w, rb, valid, o + 16, qh);
                qa_words16(w, rb, valid, o + 32, qh + 4);
            }
            for (int c = 0; c < 4; c++)
                for (int half = 0; half < 2; half++) {
                    __m256i words[4];
                    qa_words16(w, rb, valid, codes + 32 * (size_t)c + 16 * (size_t)half, words);
                    for (int g = 0; g < 4; g++) {
                        const int group = 4 * half + g;
                        __m256i lo = _mm256_and_si256(words[g], nib), hi = _mm256_and_si256(_mm256_srli_epi16(words[g], 4), nib);
                        if (five) {
                            const __m256i bits = qh[group];
                            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bits, 2 * c), one), 4));
                            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bits, 2 * c + 1), one), 4));
                        }
                        _mm256_store_si256((__m256i *)(pb + 256 * (2 * c) + 32 * group), lo);
                        _mm256_store_si256((__m256i *)(pb + 256 * (2 * c + 1) + 32 * group), hi);
                    }
                }
            // Scales and mins as word pairs (s, s) per row (vpmaddwd multiplies both words of a
            // dword by them), then d and dmin per row.
            uint32_t sc[8][8], mn[8][8];
            for (int r = 0; r < 8; r++) {
                uint8_t s[8] = {0}, m[8] = {0};
                if (r < valid) lfm_qt_scales_k4(w + (size_t)r * rb + o + 4, s, m);
                for (int j = 0; j < 8; j++) {
                    sc[j][r] = (uint32_t)s[j] * 0x10001u;
                    mn[j][r] = (uint32_t)m[j] * 0x10001u;
                }
            }
            for (int j = 0; j < 8; j++) {
                _mm256_store_si256((__m256i *)(pb + 2048 + 32 * j), _mm256_loadu_si256((const __m256i *)sc[j]));
                _mm256_store_si256((__m256i *)(pb + 2304 + 32 * j), _mm256_loadu_si256((const __m256i *)mn[j]));
            }
            _mm256_store_ps((float *)(pb + 2560), qa_halves(w, rb, valid, o));
            _mm256_store_ps((float *)(pb + 2592), qa_halves(w, rb, valid, o + 2));
            break;
        }
        default: { // Q6_K; Q3_K as Q6_K with codes q3 + 32 (28..35); Q2_K with codes 0..3 and its mins
            // Every row's 256 six-bit codes as bytes (as the row kernel decodes them), then the
            // transpose per 16 columns (one unit).
            const int q3 = type == QT_Q3_K, q2 = type == QT_Q2_K;
            const size_t o = b * (q3 ? 110 : q2 ? 84 : 210);
            _Alignas(32) uint8_t codes[8][256];
            const __m256i three = _mm256_set1_epi8(3);
            for (int r = 0; r < 8; r++) {
                if (r >= valid) {
                    memset(codes[r], 0, 256);
                    continue;
                }
                const uint8_t *blk = w + (size_t)r * rb + o;
                if (q2 || q3) {
                    // Element 128 n + 32 j + l: bits 2 j of code byte 32 n + l of the 2-bit codes
                    // (Q3_K: and bit 4 n + j of hmask byte l as 4, then + 28).
                    const __m256i hm = q3 ? _mm256_loadu_si256((const __m256i *)blk) : _mm256_setzero_si256();
                    const __m256i one = _mm256_set1_epi8(1), base = _mm256_set1_epi8(q3 ? 28 : 0);
                    for (int n = 0; n < 2; n++) {
                        const __m256i q = _mm256_loadu_si256((const __m256i *)(blk + (q3 ? 32 : 16) + 32 * n));
                        for (int j = 0; j < 4; j++) {
                            __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), three);
                            if (q3) v = _mm256_or_si256(v, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * n + j), one), 2));
                            _mm256_store_si256((__m256i *)(codes[r] + 128 * n + 32 * j), _mm256_add_epi8(v, base));
                        }
                    }
                    continue;
                }
                for (int h = 0; h < 2; h++) {
                    const __m256i l0 = _mm256_loadu_si256((const __m256i *)(blk + 64 * h));
                    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(blk + 64 * h + 32));
                    const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h));
                    uint8_t *c = codes[r] + 128 * h;
                    _mm256_store_si256((__m256i *)c, _mm256_or_si256(_mm256_and_si256(l0, nib),
                                                                     _mm256_slli_epi16(_mm256_and_si256(qh, three), 4)));
                    _mm256_store_si256((__m256i *)(c + 32), _mm256_or_si256(_mm256_and_si256(l1, nib),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), three), 4)));
                    _mm256_store_si256((__m256i *)(c + 64), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), nib),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), three), 4)));
                    _mm256_store_si256((__m256i *)(c + 96), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), nib),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), three), 4)));
                }
            }
            for (int u = 0; u < 16; u++) {
                __m256i words[4];
                qa_words16(&codes[0][0], 256, 8, 16 * (size_t)u, words);
                for (int g = 0; g < 4; g++) _mm256_store_si256((__m256i *)(pb + 128 * u + 32 * g), words[g]);
            }
            // Scales: (sc_u, sc_u) per row for the products, (sc_2k, sc_2k+1) for the offsets
            // (Q2_K: its mins (mn_2k, mn_2k+1)).
            uint32_t same[16][8], adjacent[8][8];
            for (int r = 0; r < 8; r++) {
                int8_t s[16] = {0}, a[16] = {0};
                if (r < valid && q2) {
                    const uint8_t *blk = w + (size_t)r * rb + o;
                    for (int u = 0; u < 16; u++) {
                        s[u] = (int8_t)(blk[u] & 0xF);
                        a[u] = (int8_t)(blk[u] >> 4);
                    }
                } else if (r < valid && q3) {
                    lfm_qt_scales_q3k(w + (size_t)r * rb + o + 96, s);
                } else if (r < valid) {
                    memcpy(s, w + (size_t)r * rb + o + 192, 16);
                }
                if (!q2) memcpy(a, s, 16);
                for (int u = 0; u < 16; u++) same[u][r] = (uint32_t)(uint16_t)(int16_t)s[u] * 0x10001u;
                for (int k = 0; k < 8; k++)
                    adjacent[k][r] = (uint32_t)(uint16_t)(int16_t)a[2 * k] | ((uint32_t)(uint16_t)(int16_t)a[2 * k + 1] << 16);
            }
            for (int u = 0; u < 16; u++)
                _mm256_store_si256((__m256i *)(pb + 2048 + 32 * u), _mm256_loadu_si256((const __m256i *)same[u]));
            for (int k = 0; k < 8; k++)
                _mm256_store_si256((__m256i *)(pb + 2560 + 32 * k), _mm256_loadu_si256((const __m256i *)adjacent[k]));
            _mm256_store_ps((float *)(pb + 2816), qa_halves(w, rb, valid, o + (q3 ? 108 : q2 ? 80 : 208)));
            if (q2) _mm256_store_ps((float *)(pb + 2848), qa_halves(w, rb, valid, o + 82));
            break;
        }
        }
    }
}

/// The 32-bit word at p (any alignment), broadcast to all dwords.
QA_INL __m256i qa_bcast(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/// Activation pointers of one token.
typedef struct {
    const int8_t *q;
    const float *d;
    const int16_t *s;
    const float *ds;
    const int16_t *wide; // QA_WIDE types: the chunk's activation codes as words (block i at 256 i)
} QARow;

/// 8 rows x T tokens over the nb packed activation blocks at pk (activation blocks b0 ..< b0 + nb).
/// Results are stored (add == 0) or added to y (token t at y + t * ys), rows selected by `mask`.
QA_INL void qa_tile(int type, const uint8_t *pk, size_t b0, size_t nb, const QARow *xr, int T,
                    float *y, size_t ys, __m256i mask, int add) {
    const QALayout L = qa_layout(type);
    const __m256i ones = _mm256_set1_epi16(1);
    (void)ones; // unused with AVX-VNNI
    __m256 f[QA_T];
    for (int t = 0; t < T; t++) f[t] = _mm256_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        const size_t b = b0 + i;
        const uint8_t *pb = pk + i * (size_t)L.blockBytes;
        const int8_t *xq[QA_T];
        for (int t = 0; t < T; t++) xq[t] = xr[t].q + b * (size_t)L.xblock;
        switch (type) {
        case QT_Q8_0:
        case QT_IQ4_NL: {
            __m256i a[QA_T];
            for (int t = 0; t < T; t++) a[t] = _mm256_setzero_si256();
            for (int g = 0; g < 8; g++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(pb + 64 * g));
                const __m256i av = _mm256_load_si256((const __m256i *)(pb + 64 * g + 32));
                for (int t = 0; t < T; t++) {
#if QA_VNNI
                    a[t] = _mm256_dpbusd_avx_epi32(a[t], av, _mm256_sign_epi8(qa_bcast(xq[t] + 4 * g), wv));
#else
                    const __m256i p = _mm256_maddubs_epi16(av, _mm256_sign_epi8(qa_bcast(xq[t] + 4 * g), wv));
                    a[t] = _mm256_add_epi32(a[t], _mm256_madd_epi16(p, ones));
#endif
                }
            }
            const __m256 dw = _mm256_load_ps((const float *)(pb + 512));
            for (int t = 0; t < T; t++)
                f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a[t]), _mm256_mul_ps(dw, _mm256_set1_ps(xr[t].d[b])), f[t]);
            break;
        }
        case QT_Q4_0:
        case QT_Q4_1:
        case QT_Q5_0:
        case QT_Q5_1: {
            // 5-bit codes without VNNI: groups 0-3 and 4-7 in two 16-bit sums (4 * 2 * 31 * 127 = 31496).
            const int five = type == QT_Q5_0 || type == QT_Q5_1;
            const int offset = type == QT_Q4_0 ? 8 : type == QT_Q5_0 ? 16 : 0;
            __m256i s[QA_T], s2[QA_T];
            for (int t = 0; t < T; t++) { s[t] = _mm256_setzero_si256(); s2[t] = _mm256_setzero_si256(); }
            for (int g = 0; g < 8; g++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(pb + 32 * g));
                __m256i *sum = five && !QA_VNNI && g >= 4 ? s2 : s;
                for (int t = 0; t < T; t++) sum[t] = QA_SUM_BYTES(sum[t], wv, qa_bcast(xq[t] + 4 * g));
            }
            const __m256 dw = _mm256_load_ps((const float *)(pb + 256));
            for (int t = 0; t < T; t++) {
                __m256i dot = QA_WIDEN_SUMS(s[t]);
                if (five && !QA_VNNI) dot = _mm256_add_epi32(dot, QA_WIDEN_SUMS(s2[t]));
                if (offset) dot = _mm256_sub_epi32(dot, _mm256_set1_epi32(offset * ((int)xr[t].s[2 * b] + (int)xr[t].s[2 * b + 1])));
                f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, _mm256_set1_ps(xr[t].d[b])), f[t]);
                // Q4_1 / Q5_1: the min times d(x) * (sum of the block's activation codes).
                if (type == QT_Q4_1 || type == QT_Q5_1)
                    f[t] = _mm256_fmadd_ps(_mm256_load_ps((const float *)(pb + 288)), _mm256_set1_ps(xr[t].ds[b]), f[t]);
            }
            break;
        }
#if QA_VNNI // (IQ4_XS without VNNI: qa_tile_wide)
        case QT_IQ4_XS: {
            __m256i isum[QA_T];
            for (int t = 0; t < T; t++) isum[t] = _mm256_setzero_si256();
            for (int j = 0; j < 8; j++) {
                const __m256i sc = _mm256_load_si256((const __m256i *)(pb + 2048 + 32 * j));
                // The sub-block's dword sums, then times its scale once (QA_SCALE_SUMS: vpmulld).
                __m256i s[QA_T];
                for (int t = 0; t < T; t++) s[t] = _mm256_setzero_si256();
                for (int g = 0; g < 8; g++) {
                    const __m256i wv = _mm256_load_si256((const __m256i *)(pb + 256 * j + 32 * g));
                    const __m256i av = _mm256_abs_epi8(wv);
                    for (int t = 0; t < T; t++)
                        s[t] = _mm256_dpbusd_avx_epi32(s[t], av, _mm256_sign_epi8(qa_bcast(xq[t] + 32 * j + 4 * g), wv));
                }
                for (int t = 0; t < T; t++) isum[t] = _mm256_add_epi32(isum[t], QA_SCALE_SUMS(s[t], sc));
            }
            const __m256 d8 = _mm256_load_ps((const float *)(pb + 2304));
            for (int t = 0; t < T; t++)
                f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(d8, _mm256_set1_ps(xr[t].d[b])), f[t]);
            break;
        }
#endif
        case QT_Q4_K:
        case QT_Q5_K: {
            // Q5_K codes reach 31: without VNNI's dword sums, four groups at most per 16-bit sum
            // (4 * 2 * 31 * 127 = 31496), so each sub-block is scaled in two halves.
#if QA_VNNI
            const int span = 8;
#else
            const int span = type == QT_Q5_K ? 4 : 8;
#endif
            __m256i isum[QA_T];
            for (int t = 0; t < T; t++) isum[t] = _mm256_setzero_si256();
            for (int j = 0; j < 8; j++) {
                const uint8_t *pu = pb + 256 * j;
                const __m256i sc = _mm256_load_si256((const __m256i *)(pb + 2048 + 32 * j));
                for (int g0 = 0; g0 < 8; g0 += span) {
                    __m256i s[QA_T];
                    for (int t = 0; t < T; t++) s[t] = _mm256_setzero_si256();
                    for (int g = g0; g < g0 + span; g++) {
                        const __m256i wv = _mm256_load_si256((const __m256i *)(pu + 32 * g));
                        for (int t = 0; t < T; t++) s[t] = QA_SUM_BYTES(s[t], wv, qa_bcast(xq[t] + 32 * j + 4 * g));
                    }
                    for (int t = 0; t < T; t++) isum[t] = _mm256_add_epi32(isum[t], QA_SCALE_SUMS(s[t], sc));
                }
            }
            const __m256 d8 = _mm256_load_ps((const float *)(pb + 2560));
            const __m256 dm8 = _mm256_load_ps((const float *)(pb + 2592));
            for (int t = 0; t < T; t++) {
                __m256i ms = _mm256_setzero_si256();
                for (int j = 0; j < 8; j++)
                    ms = _mm256_add_epi32(ms, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)(pb + 2304 + 32 * j)),
                                                                qa_bcast(xr[t].s + 16 * b + 2 * j)));
                const __m256 dx = _mm256_set1_ps(xr[t].d[b]);
                f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(d8, dx), f[t]);
                f[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ms), _mm256_mul_ps(dm8, dx), f[t]);
            }
            break;
        }
        default: { // Q6_K
            __m256i isum[QA_T];
            for (int t = 0; t < T; t++) isum[t] = _mm256_setzero_si256();
            for (int u = 0; u < 16; u++) {
                const uint8_t *pu = pb + 128 * u;
                const __m256i w0 = _mm256_load_si256((const __m256i *)pu);
                const __m256i w1 = _mm256_load_si256((const __m256i *)(pu + 32));
                const __m256i w2 = _mm256_load_si256((const __m256i *)(pu + 64));
                const __m256i w3 = _mm256_load_si256((const __m256i *)(pu + 96));
                const __m256i sc = _mm256_load_si256((const __m256i *)(pb + 2048 + 32 * u));
                for (int t = 0; t < T; t++) {
                    const int8_t *x = xq[t] + 16 * u;
                    const __m256i s0 = _mm256_add_epi16(_mm256_maddubs_epi16(w0, qa_bcast(x)), _mm256_maddubs_epi16(w1, qa_bcast(x + 4)));
                    const __m256i s1 = _mm256_add_epi16(_mm256_maddubs_epi16(w2, qa_bcast(x + 8)), _mm256_maddubs_epi16(w3, qa_bcast(x + 12)));
                    isum[t] = QA_DPWSSD(QA_DPWSSD(isum[t], s0, sc), s1, sc);
                }
            }
            const __m256 d8 = _mm256_load_ps((const float *)(pb + 2816));
            for (int t = 0; t < T; t++) {
                __m256i off = _mm256_setzero_si256();
                for (int k = 0; k < 8; k++)
                    off = _mm256_add_epi32(off, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)(pb + 2560 + 32 * k)),
                                                                  qa_bcast(xr[t].s + 16 * b + 2 * k)));
                const __m256 dx = _mm256_set1_ps(xr[t].d[b]);
                if (type == QT_Q2_K) { // the mins: dmin * sum_u mn_u * (activation sum of 16 of u)
                    f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(d8, dx), f[t]);
                    const __m256 dm8 = _mm256_load_ps((const float *)(pb + 2848));
                    f[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(off), _mm256_mul_ps(dm8, dx), f[t]);
                    continue;
                }
                const __m256i total = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(off, 5));
                f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(d8, dx), f[t]);
            }
            break;
        }
        }
    }
    for (int t = 0; t < T; t++) {
        float *o = y + (size_t)t * ys;
        __m256 v = f[t];
        if (add) v = _mm256_add_ps(v, _mm256_maskload_ps(o, mask));
        _mm256_maskstore_ps(o, mask, v);
    }
}

#if !QA_VNNI
/// Columns per packed chunk of a QA_WIDE type: two panels of words (2 x 8.1 KiB) stay in L1.
#define QA_WIDE_KC 512
/// Tokens per widened activation chunk (QA_WIDE_KC words each: 256 KiB).
#define QA_WIDE_TOKENS 256
/// Tokens per widened chunk on the stack when the heap has no room (16 KiB).
#define QA_WIDE_TOKENS_STACK 16

/// 16 rows (the packed panels p[0], p[1] of rows n, n + 8) x T tokens of a QA_WIDE type: each
/// broadcast column pair of a token meets both panels. Results as qa_tile's.
QA_INL void qa_tile_wide(int type, const uint8_t *const p[2], size_t b0, size_t nb, const QARow *xr, int T, float *y, size_t ys,
                         const __m256i mask[2], int add) {
    const QALayout L = qa_layout(type);
    const int pairs = L.xblock / 2;
    __m256 f[2][QA_T];
    for (int t = 0; t < T; t++) f[0][t] = f[1][t] = _mm256_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *p0 = p[0] + i * (size_t)L.blockBytes, *p1 = p[1] + i * (size_t)L.blockBytes;
        // 16-bit weights against 16-bit activations: one vpmaddwd per column pair, panel and token
        // (at most 256 * 127 * 32 * 127 in a dword: IQ4_XS levels times their scales).
        __m256i s0[QA_T], s1[QA_T];
        for (int t = 0; t < T; t++) s0[t] = s1[t] = _mm256_setzero_si256();
        for (int q = 0; q < pairs; q++) {
            const __m256i w0 = _mm256_load_si256((const __m256i *)(p0 + 32 * q));
            const __m256i w1 = _mm256_load_si256((const __m256i *)(p1 + 32 * q));
            for (int t = 0; t < T; t++) {
                const __m256i xv = _mm256_castps_si256(_mm256_broadcast_ss((const float *)(xr[t].wide + (size_t)L.xblock * i + 2 * q)));
                s0[t] = _mm256_add_epi32(s0[t], _mm256_madd_epi16(w0, xv));
                s1[t] = _mm256_add_epi32(s1[t], _mm256_madd_epi16(w1, xv));
            }
        }
        const __m256 d0 = _mm256_load_ps((const float *)(p0 + L.blockBytes - 32));
        const __m256 d1 = _mm256_load_ps((const float *)(p1 + L.blockBytes - 32));
        for (int t = 0; t < T; t++) {
            const __m256 dx = _mm256_set1_ps(xr[t].d[b0 + i]);
            f[0][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0[t]), _mm256_mul_ps(d0, dx), f[0][t]);
            f[1][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1[t]), _mm256_mul_ps(d1, dx), f[1][t]);
        }
    }
    for (int h = 0; h < 2; h++)
        for (int t = 0; t < T; t++) {
            float *o = y + (size_t)t * ys + 8 * h;
            __m256 v = f[h][t];
            if (add) v = _mm256_add_ps(v, _mm256_maskload_ps(o, mask[h]));
            _mm256_maskstore_ps(o, mask[h], v);
        }
}

/// QA_WIDE types: per chunk of QA_WIDE_KC columns (LFM_GEMM_KC_FEW for few tokens), the activation
/// codes of up to QA_WIDE_TOKENS tokens are widened to words once, then every pair of panels of the
/// rows is packed and multiplied with them.
QA_INL void qa_gemm_wide(int type, const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                         float *y, size_t ys) {
    const QALayout L = qa_layout(type);
    const size_t rb = lfm_qt_row_bytes(type, x->cols);
    const size_t kc = m <= LFM_GEMM_FEW_TOKENS ? LFM_GEMM_KC_FEW : QA_WIDE_KC;
    const size_t nbAll = x->cols / (size_t)L.xblock, kcBlocks = kc / (size_t)L.xblock;
    const size_t xbPerRow = x->cols / x->block;
    _Alignas(32) uint8_t pack[2][QA_PACK_BYTES / 2];
    _Alignas(32) int16_t stackWide[QA_WIDE_TOKENS_STACK * QA_WIDE_KC];
    size_t group = m < QA_WIDE_TOKENS ? m : QA_WIDE_TOKENS;
    int16_t *heap = (int16_t *)malloc(group * QA_WIDE_KC * sizeof(int16_t));
    int16_t *wide = heap;
    if (!heap) {
        wide = stackWide;
        group = QA_WIDE_TOKENS_STACK;
    }
    const uint8_t *const panels[2] = {pack[0], pack[1]};
    for (size_t b0 = 0; b0 < nbAll; b0 += kcBlocks) {
        const size_t nb = nbAll - b0 < kcBlocks ? nbAll - b0 : kcBlocks;
        const size_t c0 = b0 * (size_t)L.xblock, cols = nb * (size_t)L.xblock;
        for (size_t t0 = 0; t0 < m; t0 += group) {
            const size_t t1 = m - t0 < group ? m : t0 + group;
            for (size_t t = t0; t < t1; t++) {
                const int8_t *q = x->q + t * x->cols + c0;
                int16_t *o = wide + (t - t0) * QA_WIDE_KC;
                for (size_t c = 0; c < cols; c += 16)
                    _mm256_storeu_si256((__m256i *)(o + c), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + c))));
            }
            for (size_t n = n0; n < n1; n += 2 * QA_ROWS) {
                // Few tokens: the next pair of panels' bytes of this chunk into L2 (as qa_gemm).
                if (m <= LFM_GEMM_FEW_TOKENS) lfm_prefetch_next_chunk(w, rb, nbAll, n + 2 * QA_ROWS, n1, 2 * QA_ROWS, b0, nb);
                __m256i mask[2];
                for (int h = 0; h < 2; h++) {
                    const size_t r = n + (size_t)h * QA_ROWS;
                    const int valid = r >= n1 ? 0 : n1 - r < QA_ROWS ? (int)(n1 - r) : QA_ROWS;
                    mask[h] = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                    qa_pack(type, 0, w + (valid ? r * rb : 0), rb, valid, b0, nb, pack[h]);
                }
                for (size_t t = t0; t < t1; t += QA_T) {
                    const int T = t1 - t < QA_T ? (int)(t1 - t) : QA_T;
                    QARow xr[QA_T];
                    for (int k = 0; k < T; k++) {
                        xr[k].d = x->d + (t + (size_t)k) * xbPerRow;
                        xr[k].wide = wide + (t - t0 + (size_t)k) * QA_WIDE_KC;
                    }
                    float *yo = y + t * ys + n;
                    switch (T) {
                    case 4: qa_tile_wide(type, panels, b0, nb, xr, 4, yo, ys, mask, b0 > 0); break;
                    case 3: qa_tile_wide(type, panels, b0, nb, xr, 3, yo, ys, mask, b0 > 0); break;
                    case 2: qa_tile_wide(type, panels, b0, nb, xr, 2, yo, ys, mask, b0 > 0); break;
                    default: qa_tile_wide(type, panels, b0, nb, xr, 1, yo, ys, mask, b0 > 0); break;
                    }
                }
            }
        }
    }
    free(heap);
}
#endif

QA_INL void qa_gemm(int type, int x8, const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                    float *y, size_t ys) {
#if !QA_VNNI
    if (QA_WIDE(type)) {
        qa_gemm_wide(type, w, n0, n1, x, m, y, ys);
        return;
    }
#endif
    const QALayout L = qa_layout(type);
    const size_t rb = lfm_qt_row_bytes(type, x->cols);
    const size_t kc = m <= LFM_GEMM_FEW_TOKENS ? LFM_GEMM_KC_FEW : QA_KC;
    const size_t nbAll = x->cols / (size_t)L.xblock, kcBlocks = kc / (size_t)L.xblock;
    const size_t xbPerRow = x->cols / x->block;
    _Alignas(32) uint8_t pack[QA_PACK_BYTES];
    for (size_t n = n0; n < n1; n += QA_ROWS) {
        const int valid = n1 - n < QA_ROWS ? (int)(n1 - n) : QA_ROWS;
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (size_t b0 = 0; b0 < nbAll; b0 += kcBlocks) {
            const size_t nb = nbAll - b0 < kcBlocks ? nbAll - b0 : kcBlocks;
            if (m <= LFM_GEMM_FEW_TOKENS) lfm_prefetch_next_chunk(w, rb, nbAll, n, n1, QA_ROWS, b0 + nb, kcBlocks);
            // Every panel but a matrix's last: the constant row count takes the per-row tests out of packing.
            if (valid == QA_ROWS)
                qa_pack(type, x8, w + n * rb, rb, QA_ROWS, b0, nb, pack);
            else
                qa_pack(type, x8, w + n * rb, rb, valid, b0, nb, pack);
            for (size_t t = 0; t < m; t += QA_T) {
                const int T = m - t < QA_T ? (int)(m - t) : QA_T;
                QARow xr[QA_T];
                for (int r = 0; r < T; r++) {
                    xr[r].q = x->q + (t + (size_t)r) * x->cols;
                    xr[r].d = x->d + (t + (size_t)r) * xbPerRow;
                    xr[r].s = x->sums + (t + (size_t)r) * (x->cols / 16);
                    xr[r].ds = x->dsums + (t + (size_t)r) * xbPerRow;
                }
                float *yo = y + t * ys + n;
                switch (T) {
                case 4: qa_tile(type, pack, b0, nb, xr, 4, yo, ys, mask, b0 > 0); break;
                case 3: qa_tile(type, pack, b0, nb, xr, 3, yo, ys, mask, b0 > 0); break;
                case 2: qa_tile(type, pack, b0, nb, xr, 2, yo, ys, mask, b0 > 0); break;
                default: qa_tile(type, pack, b0, nb, xr, 1, yo, ys, mask, b0 > 0); break;
                }
            }
        }
    }
}

QA_TARGET static void qa_gemm_q8_0(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q8_0, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q4_0(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q4_0, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q4_0_x8(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                      float *y, size_t ys) { qa_gemm(QT_Q4_0, 1, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q8_0_x8(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                      float *y, size_t ys) { qa_gemm(QT_Q8_0, 1, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q4_1(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q4_1, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q5_0(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q5_0, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q5_1(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q5_1, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q4_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q4_K, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q5_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q5_K, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q2_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q2_K, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q3_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q3_K, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_q6_k(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                   float *y, size_t ys) { qa_gemm(QT_Q6_K, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_iq4_nl(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                     float *y, size_t ys) { qa_gemm(QT_IQ4_NL, 0, w, n0, n1, x, m, y, ys); }
QA_TARGET static void qa_gemm_iq4_xs(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                     float *y, size_t ys) { qa_gemm(QT_IQ4_XS, 0, w, n0, n1, x, m, y, ys); }

void QA_ENTRY(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                    float *y, size_t yStride) {
    const uint8_t *wb = (const uint8_t *)w;
    switch (type) {
    case QT_Q8_0: qa_gemm_q8_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_0: qa_gemm_q4_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_0_X8: qa_gemm_q4_0_x8(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q8_0_X8: qa_gemm_q8_0_x8(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_K: qa_gemm_q4_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_K: qa_gemm_q5_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q2_K: qa_gemm_q2_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q3_K: qa_gemm_q3_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q6_K: qa_gemm_q6_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_IQ4_NL: qa_gemm_iq4_nl(wb, n0, n1, x, m, y, yStride); break;
    case QT_IQ4_XS: qa_gemm_iq4_xs(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_1: qa_gemm_q4_1(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_0: qa_gemm_q5_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_1: qa_gemm_q5_1(wb, n0, n1, x, m, y, yStride); break;
    default: QA_ROW_ENTRY(type, w, n0, n1, x, m, y, yStride); break;
    }
}
