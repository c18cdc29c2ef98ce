// The AVX2 block-quantized row kernels (decode, and prefill rows below the packed GEMM's threshold),
// compiled by quant_avx2.c (QS_VNNI 0: vpmaddubsw + vpmaddwd) and quant_avxvnni.c (QS_VNNI 2: the
// VEX-encoded vpdpbusd / vpdpwssd of AVX-VNNI). Before including, define QS_TARGET, QS_VNNI and
// QA2_ENTRY (the name of the lfm_qmatmul_* entry point). Same integer products in both; only the
// F32 summation order may differ from the other paths.
#include "quant_simd.h"
#include <stdlib.h>

/// Largest row length of the Q4_0 decode kernel (its permuted activations live on the stack).
#define QA2_Q4_0_MAX_COLS 16384

/// Copies the activation codes of one row into the order the Q4_0 decode kernel reads them: per
/// pair of blocks (b, b + 1), x_b[0..15], x_b+1[0..15], x_b[16..31], x_b+1[16..31] (an odd last
/// block stays as it is).
QS_INL void qa2_permute_pairs(const int8_t *x, size_t nb, int8_t *out) {
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const __m256i x0 = qs_load(x + 32 * b), x1 = qs_load(x + 32 * b + 32);
        _mm256_storeu_si256((__m256i *)(out + 32 * b), _mm256_permute2x128_si256(x0, x1, 0x20));
        _mm256_storeu_si256((__m256i *)(out + 32 * b + 32), _mm256_permute2x128_si256(x0, x1, 0x31));
    }
    if (b < nb) _mm256_storeu_si256((__m256i *)(out + 32 * b), qs_load(x + 32 * b));
}

/// Blocks b and b + 1 of a Q4_0 row in one register: the 16 code bytes of each block in one
/// 128-bit lane, so one AND and one shift+AND give both blocks' low and high nibbles, matching the
/// permuted activations (xp at block b). Lanes 0..3 of the integer sums belong to block b, 4..7 to
/// b + 1; the scales dw * dx of the pair are spread to match. The offset term 8 * dw * dx * sum(x)
/// goes to *corr (lanes 0 and 1).
QS_INL void qa2_q4_0_pair(const uint8_t *blk, const int8_t *xp, const float *xd, const float *xds,
                          __m256 *acc, __m128 *corr) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i v = _mm256_loadu2_m128i((const __m128i *)(blk + 20), (const __m128i *)(blk + 2));
    const __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
#if QS_VNNI
    const __m256i dot = QS_DPBUSD(QS_DPBUSD(_mm256_setzero_si256(), lo, qs_load(xp)), hi, qs_load(xp + 32));
#else
    const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, qs_load(xp)), _mm256_maddubs_epi16(hi, qs_load(xp + 32)));
    const __m256i dot = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
#endif
    uint16_t h0, h1;
    memcpy(&h0, blk, 2);
    memcpy(&h1, blk + 18, 2);
    const __m128 dw = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h0 | ((uint32_t)h1 << 16))));
    const __m128 s = _mm_mul_ps(dw, _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)xd)));
    const __m256 scale = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, *acc);
    *corr = _mm_fmadd_ps(dw, _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)xds)), *corr);
}

/// The unsigned codes of a pair of blocks (lo: elements 0 ..< 16 of block b and b + 1 in the two
/// lanes, hi: 16 ..< 32) times the activations in pair order at xp: AVX2 16-bit sums of both (at most
/// 2 * 2 * 31 * 127 = 15748 per lane), AVX-VNNI dword sums.
QS_INL __m256i qa2_pair_dots(__m256i lo, __m256i hi, const int8_t *xp) {
#if QS_VNNI
    return QS_DPBUSD(QS_DPBUSD(_mm256_setzero_si256(), lo, qs_load(xp)), hi, qs_load(xp + 32));
#else
    return _mm256_add_epi16(_mm256_maddubs_epi16(lo, qs_load(xp)), _mm256_maddubs_epi16(hi, qs_load(xp + 32)));
#endif
}

/// Blocks b .. b + 7 of a Q4_0 row: four pairs as in qa2_q4_0_pair, reduced to one dword per block
/// in the order 0, 2, 4, 6, 1, 3, 5, 7; v[k] holds the code bytes of blocks 2k (low lane) and 2k + 1
/// (high lane). AVX2: 16-bit sums, two rounds of vphaddw to two lanes per block and one vpmaddwd (no
/// overflow: a pair's lane is at most 2 * 2 * 15 * 127 = 7620, four of them 30480). AVX-VNNI: two
/// vpdpbusd per pair give four dwords per block, two rounds of vphaddd one.
QS_INL __m256i qa2_q4_0_oct_sums(const __m256i v[4], const int8_t *xp) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i P[4];
    for (int k = 0; k < 4; k++)
        P[k] = qa2_pair_dots(_mm256_and_si256(v[k], low), _mm256_and_si256(_mm256_srli_epi16(v[k], 4), low), xp + 64 * k);
#if QS_VNNI
    return _mm256_hadd_epi32(_mm256_hadd_epi32(P[0], P[1]), _mm256_hadd_epi32(P[2], P[3]));
#else
    const __m256i H = _mm256_hadd_epi16(_mm256_hadd_epi16(P[0], P[1]), _mm256_hadd_epi16(P[2], P[3]));
    return _mm256_madd_epi16(H, _mm256_set1_epi16(1));
#endif
}

/// Blocks b .. b + 7 of a GGUF Q4_0 row (qa2_q4_0_oct_sums): the eight F16 scales are gathered with
/// scalar loads straight into the order of the sums, and xd / xds arrive in it too
/// (qs_permute_scales8), so the eight blocks share one scale conversion, one FMA for the products and
/// one for the offset term (*corr), with no lane permute.
QS_INL void qa2_q4_0_oct(const uint8_t *blk, const int8_t *xp, const float *xd, const float *xds,
                         __m256 *acc, __m256 *corr) {
    __m256i v[4];
    for (int k = 0; k < 4; k++) {
        const uint8_t *pair = blk + 36 * k;
        v[k] = _mm256_loadu2_m128i((const __m128i *)(pair + 20), (const __m128i *)(pair + 2));
    }
    const __m256i F = qa2_q4_0_oct_sums(v, xp);
    uint16_t h[8];
    for (int i = 0; i < 8; i++) memcpy(&h[i], blk + 18 * i, 2);
    // Scalar composition keeps the eight scales off the vector pipes (vpinsrw costs two there).
    const uint64_t even = (uint64_t)h[0] | (uint64_t)h[2] << 16 | (uint64_t)h[4] << 32 | (uint64_t)h[6] << 48;
    const uint64_t odd = (uint64_t)h[1] | (uint64_t)h[3] << 16 | (uint64_t)h[5] << 32 | (uint64_t)h[7] << 48;
    const __m256 dw = _mm256_cvtph_ps(_mm_insert_epi64(_mm_cvtsi64_si128((long long)even), (long long)odd, 1));
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(F), _mm256_mul_ps(dw, _mm256_loadu_ps(xd)), *acc);
    *corr = _mm256_fmadd_ps(dw, _mm256_loadu_ps(xds), *corr);
}

/// qa2_q4_0_oct for a group of eight blocks in the LFM_QT_Q4_0_X8 layout: the pairs' code bytes are
/// contiguous (one plain load each) and the scales are stored in the order of the sums (one load and
/// one conversion).
QS_INL void qa2_q4_0x8_oct(const uint8_t *group, const int8_t *xp, const float *xd, const float *xds,
                           __m256 *acc, __m256 *corr) {
    __m256i v[4];
    for (int k = 0; k < 4; k++) v[k] = qs_load(group + 16 + 32 * k);
    const __m256i F = qa2_q4_0_oct_sums(v, xp);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)group));
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(F), _mm256_mul_ps(dw, _mm256_loadu_ps(xd)), *acc);
    *corr = _mm256_fmadd_ps(dw, _mm256_loadu_ps(xds), *corr);
}

/// One activation row prepared for qa2_q4_0_decode: the codes in pair order (qa2_permute_pairs) and
/// the scales of whole groups of eight blocks in the order of the oct sums (qs_permute_scales8).
typedef struct {
    _Alignas(32) int8_t xp[QA2_Q4_0_MAX_COLS];
    float xdp[QA2_Q4_0_MAX_COLS / 32], xdsp[QA2_Q4_0_MAX_COLS / 32];
} QA2Prepared;

QS_INL void qa2_prepare(const int8_t *xq, const float *xd, const float *xds, size_t nb, QA2Prepared *p) {
    qa2_permute_pairs(xq, nb, p->xp);
    qs_permute_scales8(xd, xds, nb, p->xdp, p->xdsp);
}

/// Decode (one activation row, prepared in `p`; xq / xd / xds as stored) of Q4_0 rows n0 ..< n1, in
/// the GGUF layout or (`x8`) LFM_QT_Q4_0_X8: eight blocks per step (qa2_q4_0_oct / qa2_q4_0x8_oct),
/// then pairs (qa2_q4_0_pair) and an odd last block, with software prefetch as the AVX-512 row kernels
/// have. Against the generic AVX2 block loop (about 16 instructions per block, callgrind), this takes
/// about 7: half the nibble unpacking, and the scaling and offset terms once per eight blocks instead
/// of per block.
QS_INL void qa2_q4_0_decode(const uint8_t *w, size_t n0, size_t n1, size_t nb, const int8_t *xq, const float *xd,
                            const float *xds, const QA2Prepared *p, float *y, int x8) {
    const size_t rb = nb * 18;
    const int8_t *xp = p->xp;
    for (size_t n = n0; n < n1; n++) {
        const uint8_t *row = w + n * rb;
        __m256 a8 = _mm256_setzero_ps(), c8 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps();
        __m128 c2 = _mm_setzero_ps();
        size_t b = 0;
        for (; b + 8 <= nb; b += 8) {
            lfm_prefetch_ahead(row + b * 18, 144);
            if (x8)
                qa2_q4_0x8_oct(row + b * 18, xp + 32 * b, p->xdp + b, p->xdsp + b, &a8, &c8);
            else
                qa2_q4_0_oct(row + b * 18, xp + 32 * b, p->xdp + b, p->xdsp + b, &a8, &c8);
        }
        for (; b + 2 <= nb; b += 2) qa2_q4_0_pair(row + b * 18, xp + 32 * b, xd + b, xds + b, &a2, &c2);
        const __m128 cs = _mm_add_ps(c2, _mm_movehl_ps(c2, c2));
        float result = qs_hsum(_mm256_add_ps(a8, a2)) - 8.0f * (qs_hsum(c8) + _mm_cvtss_f32(cs) + _mm_cvtss_f32(_mm_movehdup_ps(cs)));
        // An odd last block: the generic block kernel on the unpermuted activations.
        y[n] = b < nb ? result + qs_q4_0_tail(row, b, nb, xq, xd, xds) : result;
    }
}

/// The F16 at p + i · bytes for blocks i = 0, 2, 4, 6, 1, 3, 5, 7 (the order of the oct sums).
QS_INL __m128i qa2_halves8(const uint8_t *p, size_t bytes) {
    uint16_t h[8];
    for (int i = 0; i < 8; i++) memcpy(&h[i], p + bytes * (size_t)i, 2);
    return _mm_setr_epi16((short)h[0], (short)h[2], (short)h[4], (short)h[6], (short)h[1], (short)h[3], (short)h[5], (short)h[7]);
}

/// Blocks b .. b + 7 of a GGUF Q4_1 / Q5_0 / Q5_1 row, as qa2_q4_0_oct: the code bytes of blocks 2k and
/// 2k + 1 in one register's two lanes; Q5_0 / Q5_1 add each block's fifth bits (elements 0 ..< 16 to
/// the low nibbles, 16 ..< 32 to the high ones) as 16 by byte masks (qs_high_bits). Without VNNI the
/// 5-bit codes' 16-bit sums are widened after one round of vphaddw (2 * 2 * 2 * 31 * 127 = 31496).
/// Q5_0's offset (16 · dw · dx · Σ x) or Q4_1 / Q5_1's min (mw · dx · Σ x) goes to *corr.
QS_INL void qa2_small_oct(int type, const uint8_t *blk, const int8_t *xp, const float *xd, const float *xds,
                          __m256 *acc, __m256 *corr) {
    const size_t bytes = lfm_qt_block_bytes(type), codes = type == QT_Q4_1 ? 4 : type == QT_Q5_0 ? 6 : 8;
    const int five = type != QT_Q4_1;
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i P[4];
    for (int k = 0; k < 4; k++) {
        const uint8_t *pair = blk + 2 * bytes * (size_t)k;
        const __m256i v = _mm256_loadu2_m128i((const __m128i *)(pair + bytes + codes), (const __m128i *)(pair + codes));
        __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
        if (five) {
            // Each lane's block's 32 fifth bits (lane bytes 0-3, loaded with the lane), then byte j of the
            // lane selects bit j of bytes 0-1 (low nibbles) or 2-3 (high nibbles), as qs_high_bits does.
            const size_t hb = type == QT_Q5_0 ? 2 : 4;
            const __m256i bits = _mm256_loadu2_m128i((const __m128i *)(pair + bytes + hb), (const __m128i *)(pair + hb));
            const __m256i select = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe), sixteen = _mm256_set1_epi8(0x10);
            const __m256i bl = _mm256_shuffle_epi8(bits, _mm256_set_epi64x(0x0101010101010101, 0, 0x0101010101010101, 0));
            const __m256i bh = _mm256_shuffle_epi8(bits, _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                                          0x0303030303030303, 0x0202020202020202));
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_or_si256(bl, select), _mm256_set1_epi8(-1)), sixteen));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_or_si256(bh, select), _mm256_set1_epi8(-1)), sixteen));
        }
        P[k] = qa2_pair_dots(lo, hi, xp + 64 * k);
    }
#if QS_VNNI
    const __m256i F = _mm256_hadd_epi32(_mm256_hadd_epi32(P[0], P[1]), _mm256_hadd_epi32(P[2], P[3]));
#else
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i F = five ? _mm256_hadd_epi32(_mm256_madd_epi16(_mm256_hadd_epi16(P[0], P[1]), ones),
                                               _mm256_madd_epi16(_mm256_hadd_epi16(P[2], P[3]), ones))
                           : _mm256_madd_epi16(_mm256_hadd_epi16(_mm256_hadd_epi16(P[0], P[1]), _mm256_hadd_epi16(P[2], P[3])), ones);
#endif
    // The eight F16 scales (and mins, at byte 2) in the order of the sums: 0, 2, 4, 6, 1, 3, 5, 7.
    const __m256 dw = _mm256_cvtph_ps(qa2_halves8(blk, bytes));
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(F), _mm256_mul_ps(dw, _mm256_loadu_ps(xd)), *acc);
    *corr = _mm256_fmadd_ps(type == QT_Q5_0 ? dw : _mm256_cvtph_ps(qa2_halves8(blk + 2, bytes)), _mm256_loadu_ps(xds), *corr);
}

/// Decode (one activation row, prepared in `p`; xq / xd / xds as stored) of Q4_1 / Q5_0 / Q5_1 rows
/// n0 ..< n1: eight blocks per step (qa2_small_oct), the last nb % 8 blocks by the generic block kernel.
QS_INL void qa2_small_decode(int type, const uint8_t *w, size_t n0, size_t n1, size_t nb, const int8_t *xq,
                             const float *xd, const float *xds, const QA2Prepared *p, float *y) {
    const size_t bytes = lfm_qt_block_bytes(type), rb = nb * bytes;
    for (size_t n = n0; n < n1; n++) {
        const uint8_t *row = w + n * rb;
        __m256 a8 = _mm256_setzero_ps(), c8 = _mm256_setzero_ps();
        size_t b = 0;
        for (; b + 8 <= nb; b += 8) {
            lfm_prefetch_ahead(row + b * bytes, 8 * bytes);
            qa2_small_oct(type, row + b * bytes, p->xp + 32 * b, p->xdp + b, p->xdsp + b, &a8, &c8);
        }
        const float c = qs_hsum(c8);
        float result = qs_hsum(a8) + (type == QT_Q5_0 ? -16.0f * c : c);
        if (b < nb) {
            __m256 tail[1] = { _mm256_setzero_ps() };
            float tailMin[1] = { 0 };
            for (; b < nb; b++) qs_small_block(row, b, 1, type, &xq, &xd, &xds, tail, tailMin);
            result += qs_hsum(tail[0]) + tailMin[0];
        }
        y[n] = result;
    }
}

/// The 16 IQ4 levels in both 128-bit lanes (vpshufb looks up within each lane).
QS_INL __m256i qa2_iq4_table(void) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)lfm_qt_iq4_values));
}

/// 16 packed IQ4 code bytes to their 32 signed levels in element order (low nibbles are elements
/// 0..15, high nibbles 16..31): one byte shuffle against the table.
QS_INL __m256i qa2_iq4_levels(const uint8_t *qs, __m256i table) {
    return _mm256_shuffle_epi8(table, qs_nibbles(qs));
}

/// Sums of level * x over adjacent pairs as 16 int16 lanes: vpmaddubsw needs an unsigned operand,
/// so |level| times x carrying the level's sign (a pair is at most 2 * 127 * 127 = 32258: no
/// saturation).
QS_INL __m256i qa2_iq4_pairs(__m256i levels, __m256i absLevels, const int8_t *xq) {
    return _mm256_maddubs_epi16(absLevels, _mm256_sign_epi8(qs_load(xq), levels));
}

/// One IQ4_NL block b for R activation rows (Q8_0 activations), into acc[r].
QS_INL void qa2_iq4nl_block(const uint8_t *w, size_t b, int R, __m256i table, const int8_t *const *xq,
                            const float *const *xd, __m256 *acc) {
    const uint8_t *blk = w + b * 18;
    const float dw = qs_half(blk);
    const __m256i levels = qa2_iq4_levels(blk + 2, table), absLevels = _mm256_abs_epi8(levels);
    for (int r = 0; r < R; r++) {
#if QS_VNNI
        const __m256i dot = QS_DPBUSD(_mm256_setzero_si256(), absLevels, _mm256_sign_epi8(qs_load(xq[r] + b * 32), levels));
#else
        const __m256i dot = _mm256_madd_epi16(qa2_iq4_pairs(levels, absLevels, xq[r] + b * 32), _mm256_set1_epi16(1));
#endif
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * xd[r][b]), acc[r]);
    }
}

/// IQ4_NL rows: per block dw * dx * sum level_j x_j, with QS_CHAINS independent accumulators.
QS_INL void qa2_iq4nl(const uint8_t *w, const LFMQuantActivations *x, size_t t, int R, float *out) {
    QS_ROWS(x, t, R)
    (void)xs;
    (void)xds;
    const int C = QS_CHAINS(R);
    const size_t nb = x->cols / 32;
    const __m256i table = qa2_iq4_table();
    __m256 a[4][4];
    for (int c = 0; c < C; c++)
        for (int r = 0; r < R; r++) a[c][r] = _mm256_setzero_ps();
    size_t b = 0;
    for (; b + C <= nb; b += C) {
        if (R == 1) lfm_prefetch_ahead(w + b * 18, (size_t)C * 18);
        for (int c = 0; c < C; c++) qa2_iq4nl_block(w, b + c, R, table, xq, xd, a[c]);
    }
    for (; b < nb; b++) qa2_iq4nl_block(w, b, R, table, xq, xd, a[0]);
    for (int r = 0; r < R; r++) {
        acc[r] = a[0][r];
        for (int c = 1; c < C; c++) acc[r] = _mm256_add_ps(acc[r], a[c][r]);
        out[r] = qs_hsum(acc[r]);
    }
}

/// IQ4_XS rows (Q8_K activations): per 256, d * dx * sum_j (ls_j - 32) dot_j. The sub-block
/// scale multiplies the int16 pair sums inside vpmaddwd / vpdpwssd (|pair| <= 32258, |scale| <= 32:
/// each int32 lane stays below 2^21), so a sub-block costs one shuffle, two maddubs-side ops and one
/// madd (AVX-VNNI: the madd and the add are one vpdpwssd).
QS_INL void qa2_iq4xs(const uint8_t *w, const LFMQuantActivations *x, size_t t, int R, float *out) {
    QS_ROWS(x, t, R)
    (void)xs;
    (void)xds;
    const size_t nb = x->cols / 256;
    const __m256i table = qa2_iq4_table();
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 136;
        if (R == 1) lfm_prefetch_ahead(blk, 136);
        const float d = qs_half(blk);
        __m256i sumi[4];
        for (int r = 0; r < R; r++) sumi[r] = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            const __m256i levels = qa2_iq4_levels(blk + 8 + 16 * ib, table), absLevels = _mm256_abs_epi8(levels);
            const __m256i scale = _mm256_set1_epi16((short)lfm_qt_iq4xs_scale(blk, ib));
            for (int r = 0; r < R; r++) {
                const __m256i pairs = qa2_iq4_pairs(levels, absLevels, xq[r] + b * 256 + 32 * ib);
                sumi[r] = QS_DPWSSD(sumi[r], pairs, scale);
            }
        }
        for (int r = 0; r < R; r++)
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r]), _mm256_set1_ps(d * xd[r][b]), acc[r]);
    }
    for (int r = 0; r < R; r++) out[r] = qs_hsum(acc[r]);
}

/// The lookup table of the two-blocks-per-register IQ4 decode kernels: the signed levels (AVX2:
/// vpmaddubsw takes |level| and x with the level's sign) or, with AVX-VNNI, levels + 128 as unsigned
/// bytes for vpdpbusd (the 128 · Σ x this adds is taken off through the activation sums).
QS_INL __m256i qa2_iq4_pair_table(void) {
#if QS_VNNI
    return _mm256_xor_si256(qa2_iq4_table(), _mm256_set1_epi8((char)0x80));
#else
    return qa2_iq4_table();
#endif
}

/// Two 32-value blocks (sub-blocks) in one register: the 16 code bytes at q0 in the low lane and at q1
/// in the high lane looked up in `table`; *lo holds elements 0 ..< 16 of both, *hi 16 ..< 32 (they meet
/// activations in pair order, qa2_permute_pairs).
QS_INL void qa2_iq4_pair_levels(const uint8_t *q0, const uint8_t *q1, __m256i table, __m256i *lo, __m256i *hi) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i v = _mm256_loadu2_m128i((const __m128i *)q1, (const __m128i *)q0);
    *lo = _mm256_shuffle_epi8(table, _mm256_and_si256(v, low));
    *hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
}

#if !QS_VNNI
/// AVX2: Σ level · x of both halves per dword, the 16-bit pair sums times the word pairs `sc` (ones
/// for plain sums) in vpmaddwd, each half widened apart (a 16-bit sum of both could overflow).
QS_INL __m256i qa2_iq4_pair_madd(__m256i lo, __m256i hi, const int8_t *x, __m256i sc) {
    const __m256i plo = _mm256_maddubs_epi16(_mm256_abs_epi8(lo), _mm256_sign_epi8(qs_load(x), lo));
    const __m256i phi = _mm256_maddubs_epi16(_mm256_abs_epi8(hi), _mm256_sign_epi8(qs_load(x + 32), hi));
    return _mm256_add_epi32(_mm256_madd_epi16(plo, sc), _mm256_madd_epi16(phi, sc));
}
#else
/// AVX-VNNI: Σ (level + 128) · x of both halves per dword.
QS_INL __m256i qa2_iq4_pair_dots(__m256i lo, __m256i hi, const int8_t *x) {
    return QS_DPBUSD(QS_DPBUSD(_mm256_setzero_si256(), lo, qs_load(x)), hi, qs_load(x + 32));
}
#endif

/// Decode (one activation row, codes in pair order: qa2_permute_pairs) of IQ4_NL rows n0 ..< n1: two
/// blocks per register as in qa2_q4_0_pair (block b's 16 code bytes in the low lane, b + 1's in the
/// high lane), so one lookup per nibble half serves both blocks. AVX2: |level| times x with the level's
/// sign (vpmaddubsw; the two halves widened apart, a 16-bit sum of both could overflow); AVX-VNNI:
/// levels + 128 (unsigned) in vpdpbusd, the 128 · Σ x this adds taken off through d · Σ q. An odd last
/// block takes qa2_iq4nl_block.
QS_INL void qa2_iq4nl_decode(const uint8_t *w, size_t n0, size_t n1, size_t nb, const int8_t *xq, const int8_t *xp,
                             const float *xd, const float *xds, float *y) {
    const __m256i table = qa2_iq4_pair_table();
#if !QS_VNNI
    const __m256i ones = _mm256_set1_epi16(1);
    (void)xds;
#endif
    const size_t rb = nb * 18;
    for (size_t n = n0; n < n1; n++) {
        const uint8_t *row = w + n * rb;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m128 corr = _mm_setzero_ps();
        size_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            const uint8_t *blk = row + b * 18;
            if ((b & 3) == 0) lfm_prefetch_ahead(blk, 72);
            __m256i lo, hi;
            qa2_iq4_pair_levels(blk + 2, blk + 20, table, &lo, &hi);
#if QS_VNNI
            const __m256i dot = qa2_iq4_pair_dots(lo, hi, xp + 32 * b);
#else
            const __m256i dot = qa2_iq4_pair_madd(lo, hi, xp + 32 * b, ones);
#endif
            uint16_t h0, h1;
            memcpy(&h0, blk, 2);
            memcpy(&h1, blk + 18, 2);
            const __m128 dw = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h0 | ((uint32_t)h1 << 16))));
            const __m128 s = _mm_mul_ps(dw, _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(xd + b))));
            const __m256 scale = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
            if (b & 2) a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, a1);
            else a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, a0);
#if QS_VNNI
            corr = _mm_fmadd_ps(dw, _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(xds + b))), corr);
#endif
        }
        corr = _mm_add_ps(corr, _mm_movehdup_ps(corr));
        float result = qs_hsum(_mm256_add_ps(a0, a1)) - 128.0f * _mm_cvtss_f32(corr);
        if (b < nb) {
            __m256 tail[1] = { _mm256_setzero_ps() };
            qa2_iq4nl_block(row, b, 1, qa2_iq4_table(), &xq, &xd, tail);
            result += qs_hsum(tail[0]);
        }
        y[n] = result;
    }
}

/// Decode (one activation row, codes in pair order: qa2_permute_pairs) of IQ4_XS rows n0 ..< n1 of nb
/// super-blocks: two sub-blocks per register as in qa2_iq4nl_decode; the eight scales per super-block
/// from qs_iq4xs_scales. AVX2: the 16-bit pair sums times the
/// sub-blocks' scales (both words of each dword, spread to the two lanes by one permute) in
/// vpmaddwd, one conversion and FMA per super-block; AVX-VNNI: levels + 128 in vpdpbusd, the dword
/// sums times the scales as floats (d · dx · (ls - 32) spread to the lanes), and the 128 · Σ x term
/// from the activation sums of 16.
QS_INL void qa2_iq4xs_decode(const uint8_t *w, size_t n0, size_t n1, size_t nb, const int8_t *xp, const float *xd,
                             const int16_t *xs, float *y) {
    const __m256i table = qa2_iq4_pair_table();
#if !QS_VNNI
    (void)xs;
#endif
    const size_t rb = nb * 136;
    for (size_t n = n0; n < n1; n++) {
        const uint8_t *row = w + n * rb;
        __m256 acc = _mm256_setzero_ps();
#if QS_VNNI
        __m256 corr = _mm256_setzero_ps();
#endif
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 136;
            lfm_prefetch_ahead(blk, 136);
            const __m256i ls = qs_iq4xs_scales(blk);
            const float dd = qs_half(blk) * xd[b];
#if QS_VNNI
            const __m256 scales = _mm256_mul_ps(_mm256_cvtepi32_ps(ls), _mm256_set1_ps(dd));
#else
            // (s, s) word pairs: vpmaddwd multiplies both words of a dword by s.
            const __m256i pairs = _mm256_or_si256(_mm256_and_si256(ls, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(ls, 16));
            __m256i sumi = _mm256_setzero_si256();
#endif
            for (int p = 0; p < 4; p++) {
                __m256i lo, hi;
                qa2_iq4_pair_levels(blk + 8 + 32 * p, blk + 24 + 32 * p, table, &lo, &hi);
                const int8_t *x = xp + 256 * b + 64 * p;
                const __m256i lanes = _mm256_setr_epi32(2 * p, 2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1);
#if QS_VNNI
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(qa2_iq4_pair_dots(lo, hi, x)), _mm256_permutevar8x32_ps(scales, lanes), acc);
#else
                sumi = _mm256_add_epi32(sumi, qa2_iq4_pair_madd(lo, hi, x, _mm256_permutevar8x32_epi32(pairs, lanes)));
#endif
            }
#if QS_VNNI
            // Σ x of each sub-block: the activation sums of 16 added in pairs.
            const __m256i sx = _mm256_madd_epi16(qs_load(xs + b * 16), _mm256_set1_epi16(1));
            corr = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sx), scales, corr);
#else
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(dd), acc);
#endif
        }
#if QS_VNNI
        y[n] = qs_hsum(acc) - 128.0f * qs_hsum(corr);
#else
        y[n] = qs_hsum(acc);
#endif
    }
}

/// The scales and mins of two Q4_K super-blocks whose first 16 bytes (d, dmin, the 12 packed scale
/// bytes) are `head`'s 128-bit lanes: the steps of qs_scales_k4 on both lanes at once. Lane k of the
/// result: bytes 0..7 block k's scales, 8..15 its mins.
QS_INL __m256i qa2_k4_unpack(__m256i head) {
    const __m256i acbc = _mm256_shuffle_epi32(head, _MM_SHUFFLE(3, 2, 3, 1));
    const __m256i aabb = _mm256_shuffle_epi32(head, _MM_SHUFFLE(2, 2, 1, 1));
    const __m256i lowBits = _mm256_and_si256(_mm256_srlv_epi32(acbc, _mm256_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4)),
                                             _mm256_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F,
                                                               0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
    const __m256i highBits = _mm256_slli_epi32(
        _mm256_and_si256(_mm256_srli_epi32(aabb, 6), _mm256_setr_epi32(0, 0x03030303, 0, 0x03030303, 0, 0x03030303, 0, 0x03030303)), 4);
    return _mm256_or_si256(lowBits, highBits);
}

/// The dword at p in every lane, as a broadcast from memory (a load; the compiler would otherwise
/// forward a value it just stored there through two shuffles).
QS_INL __m256i qa2_broadcast32(const int32_t *p) {
    __m256i r;
    __asm__("vpbroadcastd %1, %0" : "=x"(r) : "m"(*p));
    return r;
}

/// One Q4_K super-block's 256 codes against the activations `x`: each sub-block's 16-bit pair sums
/// times its scale (a (s, s) word pair broadcast from memory, a load rather than a shuffle: scales
/// 0..3 at `pairs03`, 4..7 at `pairs47`), into dwords.
QS_INL __m256i qa2_k4_block(const uint8_t *qs, const int8_t *x, const int32_t *pairs03, const int32_t *pairs47) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const int32_t *pairs = c < 2 ? pairs03 + 2 * c : pairs47 + 2 * (c - 2);
        const __m256i v = qs_load(qs + 32 * c);
        const __m256i lo = _mm256_maddubs_epi16(_mm256_and_si256(v, low), qs_load(x + 64 * c));
        const __m256i hi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low), qs_load(x + 64 * c + 32));
        s0 = QS_DPWSSD(s0, lo, qa2_broadcast32(pairs));
        s1 = QS_DPWSSD(s1, hi, qa2_broadcast32(pairs + 1));
    }
    return _mm256_add_epi32(s0, s1);
}

/// Q4_K decode rows n0 ..< n1 (one activation row; `s32`: its sums per sub-block of 32), two
/// super-blocks per step: one 256-bit unpack of both blocks' scales and mins (qa2_k4_unpack), the
/// scales stored as (s, s) word pairs for qa2_k4_block, both blocks' d and dmin converted at once,
/// the mins against the sub-block sums in one vpmaddwd. An odd last block is the pair's first half
/// (the second lane zero). Same integer products as qs_k45.
QS_INL void qa2_q4k_decode(const uint8_t *w, size_t n0, size_t n1, size_t nb, const int8_t *xq, const float *xd,
                           const int16_t *s32, float *y) {
    // Per lane: the (s, s) pairs of scales 0..3 (first shuffle) and 4..7 (second), and the mins as words.
    const __m256i z = _mm256_set1_epi8((char)0x80);
    const __m256i pairLow = _mm256_broadcastsi128_si256(_mm_setr_epi8(0, -128, 0, -128, 1, -128, 1, -128, 2, -128, 2, -128, 3, -128, 3, -128));
    const __m256i pairHigh = _mm256_add_epi8(pairLow, _mm256_andnot_si256(_mm256_cmpeq_epi8(pairLow, z), _mm256_set1_epi8(4)));
    const __m256i minIndex = _mm256_broadcastsi128_si256(_mm_setr_epi8(8, -128, 9, -128, 10, -128, 11, -128, 12, -128, 13, -128, 14, -128, 15, -128));
    const size_t rb = nb * 144;
    for (size_t n = n0; n < n1; n++) {
        const uint8_t *row = w + n * rb;
        __m256 acc = _mm256_setzero_ps(), mins = _mm256_setzero_ps();
        for (size_t b = 0; b < nb; b += 2) {
            const uint8_t *blk = row + b * 144;
            const int two = b + 1 < nb;
            lfm_prefetch_ahead(blk, two ? 288 : 144);
            const __m128i h0 = _mm_loadu_si128((const __m128i *)blk);
            const __m256i head = _mm256_inserti128_si256(_mm256_castsi128_si256(h0),
                                                         two ? _mm_loadu_si128((const __m128i *)(blk + 144)) : _mm_setzero_si128(), 1);
            const __m256i u = qa2_k4_unpack(head);
            _Alignas(32) int32_t pairs[16];
            _mm256_store_si256((__m256i *)pairs, _mm256_shuffle_epi8(u, pairLow));
            _mm256_store_si256((__m256i *)(pairs + 8), _mm256_shuffle_epi8(u, pairHigh));
            // d0, dmin0, d1, dmin1 times dx0, dx0, dx1, dx1.
            const __m128i halves = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(head, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0)));
            const __m128 dx = two ? _mm_castpd_ps(_mm_load1_pd((const double *)(const void *)(xd + b)))
                                  : _mm_set_ps(0, 0, 0, xd[b]);
            _Alignas(16) float f[4];
            _mm_store_ps(f, _mm_mul_ps(_mm_cvtph_ps(halves), _mm_shuffle_ps(dx, dx, _MM_SHUFFLE(1, 1, 0, 0))));
            const __m256i sums = two ? qs_load(s32 + 8 * b) : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)(s32 + 8 * b)));
            const __m256 minTerms = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_shuffle_epi8(u, minIndex), sums));
            mins = _mm256_fmadd_ps(minTerms, _mm256_setr_ps(f[1], f[1], f[1], f[1], f[3], f[3], f[3], f[3]), mins);
            // Block k's scale pairs: 0..3 at pairs[4k], 4..7 at pairs[8 + 4k].
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(qa2_k4_block(blk + 16, xq + 256 * b, pairs, pairs + 8)), _mm256_set1_ps(f[0]), acc);
            if (two)
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(qa2_k4_block(blk + 160, xq + 256 * b + 256, pairs + 4, pairs + 12)),
                                      _mm256_set1_ps(f[2]), acc);
        }
        y[n] = qs_hsum(acc) - qs_hsum(mins);
    }
}

#define QA2_DOT_IQ4_NL(w, x, t, R, o) qa2_iq4nl(w, x, t, R, o)
#define QA2_DOT_IQ4_XS(w, x, t, R, o) qa2_iq4xs(w, x, t, R, o)
LFM_DEFINE_QLOOP(qa2_loop_iq4_nl, QS_TARGET, QA2_DOT_IQ4_NL, QT_IQ4_NL)
LFM_DEFINE_QLOOP(qa2_loop_iq4_xs, QS_TARGET, QA2_DOT_IQ4_XS, QT_IQ4_XS)

/// Q4_0 rows (GGUF layout, or `x8`: LFM_QT_Q4_0_X8) for m activation rows, each prepared once: one
/// row on the stack, more on the heap (without memory, the plain C loop); with m > 1 over chunks of
/// weight rows that stay in L1 / L2.
QS_TARGET static void qa2_q4_0_rows(const uint8_t *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                                    float *y, size_t yStride, int x8) {
    const size_t nb = x->cols / 32, rb = nb * 18;
    QA2Prepared one;
    QA2Prepared *prepared = m == 1 ? &one : malloc(m * sizeof(QA2Prepared));
    if (!prepared) {
        lfm_qmatmul_plain(x8 ? QT_Q4_0_X8 : QT_Q4_0, w, n0, n1, x, m, y, yStride);
        return;
    }
    for (size_t t = 0; t < m; t++) qa2_prepare(x->q + t * x->cols, x->d + t * nb, x->dsums + t * nb, nb, prepared + t);
    const size_t chunk = m == 1 ? n1 - n0 : lfm_qt_chunk_rows(rb);
    for (size_t c0 = n0; c0 < n1; c0 += chunk) {
        const size_t c1 = c0 + chunk < n1 ? c0 + chunk : n1;
        for (size_t t = 0; t < m; t++)
            qa2_q4_0_decode(w, c0, c1, nb, x->q + t * x->cols, x->d + t * nb, x->dsums + t * nb, prepared + t,
                            y + t * yStride, x8);
    }
    if (prepared != &one) free(prepared);
}

QS_TARGET void QA2_ENTRY(int type, const void *w, size_t n0, size_t n1,
                                const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    if (type == QT_Q4_0 && m == 1 && x->cols <= QA2_Q4_0_MAX_COLS) {
        qa2_q4_0_rows((const uint8_t *)w, n0, n1, x, 1, y, yStride, 0);
        return;
    }
    if ((type == QT_Q4_1 || type == QT_Q5_0 || type == QT_Q5_1) && m == 1 && x->cols <= QA2_Q4_0_MAX_COLS) {
        QA2Prepared one;
        const size_t nb = x->cols / 32;
        qa2_prepare(x->q, x->d, x->dsums, nb, &one);
        qa2_small_decode(type, (const uint8_t *)w, n0, n1, nb, x->q, x->d, x->dsums, &one, y);
        return;
    }
    if (type == QT_Q4_0_X8) {
        // Rows longer than the kernel's activation buffers (none in the supported families) take the plain C loop.
        if (x->cols <= QA2_Q4_0_MAX_COLS)
            qa2_q4_0_rows((const uint8_t *)w, n0, n1, x, m, y, yStride, 1);
        else
            lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride);
        return;
    }
    if (type == QT_Q8_0_X8) {
        // Loaders regroup Q8_0 for the AVX-512 kernels only (its AVX2 row kernel reads the GGUF layout).
        lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride);
        return;
    }
    if ((type == QT_IQ4_NL || type == QT_IQ4_XS) && m == 1 && x->cols <= QA2_Q4_0_MAX_COLS) {
        _Alignas(32) int8_t xp[QA2_Q4_0_MAX_COLS];
        qa2_permute_pairs(x->q, x->cols / 32, xp);
        if (type == QT_IQ4_NL)
            qa2_iq4nl_decode((const uint8_t *)w, n0, n1, x->cols / 32, x->q, xp, x->d, x->dsums, y);
        else
            qa2_iq4xs_decode((const uint8_t *)w, n0, n1, x->cols / 256, xp, x->d, x->sums, y);
        return;
    }
    if (type == QT_Q4_K && m == 1 && x->cols <= QA2_Q4_0_MAX_COLS) {
        int16_t s32[QA2_Q4_0_MAX_COLS / 32];
        qs_sums32(x->sums, x->cols / 32, s32);
        qa2_q4k_decode((const uint8_t *)w, n0, n1, x->cols / 256, x->q, x->d, s32, y);
        return;
    }
    if (type == QT_IQ4_NL) {
        qa2_loop_iq4_nl((const uint8_t *)w, n0, n1, x, m, y, yStride);
        return;
    }
    if (type == QT_IQ4_XS) {
        qa2_loop_iq4_xs((const uint8_t *)w, n0, n1, x, m, y, yStride);
        return;
    }
    QS_DISPATCH(type, w, n0, n1, x, m, y, yStride);
}
