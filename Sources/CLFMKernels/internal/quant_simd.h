// 256-bit SIMD block-quantized dot products, included by quant_avx2.c and quant_avxvnni.c (through
// internal/quant_avx2_template.h) and quant_avx512.c / quant_avx512vbmi.c. Before including, define
// QS_TARGET (a target attribute) and QS_VNNI: 0 for AVX2 (maddubs + madd), 1 for AVX-512 VNNI
// (vpdpbusd / vpdpwssd on ymm registers, and the 512-bit row kernels below), 2 for AVX-VNNI (the
// VEX-encoded vpdpbusd / vpdpwssd of Intel client cores without AVX-512; 256-bit code only).
// One weight block is loaded once and used for up to four activation rows.
#include <immintrin.h>
#include "prefetch.h"
#include <stdlib.h>

#define QS_INL QS_TARGET __attribute__((always_inline)) static inline

/// QS_AVX512: the 512-bit (AVX-512 VNNI) sections.
#define QS_AVX512 (QS_VNNI == 1)
/// QS_GFNI: the 512-bit sections may use GF(2) affine byte transforms (define to 1 with "gfni" in the target).
#ifndef QS_GFNI
#define QS_GFNI 0
#endif

#if QS_VNNI
#if QS_VNNI == 1
/// acc + sum of u8 * s8 over each group of four bytes.
#define QS_DPBUSD(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#define QS_VEX ""
#else
#define QS_DPBUSD(acc, u, s) _mm256_dpbusd_avx_epi32((acc), (u), (s))
#define QS_VEX "%{vex%} "
#endif
/// acc + sum of s16 * s16 over each pair (EVEX or, for AVX-VNNI, VEX vpdpwssd), written as the
/// instruction: the compiler otherwise splits dependent vpdpwssd into vpmaddwd + vpaddd to shorten
/// the chain, one more micro-op each.
QS_INL __m256i qs_dpwssd256(__m256i acc, __m256i a, __m256i b) {
    __asm__(QS_VEX "vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}
#define QS_DPWSSD(acc, a, b) qs_dpwssd256((acc), (a), (b))
#else
#define QS_DPBUSD(acc, u, s) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#define QS_DPWSSD(acc, a, b) _mm256_add_epi32((acc), _mm256_madd_epi16((a), (b)))
#endif

QS_INL float qs_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The F16 at p as a float. Goes through vmovd (which zeroes the rest of the register) rather
/// than _cvtsh_ss, whose vpinsrw merges into a register the compiler may have written elsewhere in
/// the loop: a false dependency that serializes iterations (a Q4_K row kernel built that way ran at
/// 20.5 instead of 36 GB/s; here it cost a few percent, depending on register allocation).
QS_INL float qs_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/// A vector with `v` in lane 0 and zeros elsewhere.
QS_INL __m256i qs_lane0(int v) { return _mm256_zextsi128_si256(_mm_cvtsi32_si128(v)); }

QS_INL __m256i qs_load(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// 16 packed bytes to 32 nibbles: low nibbles in bytes 0..15, high nibbles in bytes 16..31.
QS_INL __m256i qs_nibbles(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/// Byte j = 0x10 where bit j of `bits` is set, else 0.
QS_INL __m256i qs_high_bits(uint32_t bits) {
#if QS_AVX512
    return _mm256_and_si256(_mm256_movm_epi8((__mmask32)bits), _mm256_set1_epi8(0x10));
#else
    const __m256i shuffle = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                              0x0101010101010101, 0x0000000000000000);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuffle);
    const __m256i select = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    v = _mm256_cmpeq_epi8(_mm256_or_si256(v, select), _mm256_set1_epi64x(-1));
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
#endif
}

/// The activation sums of each sub-block of 32 (n of them) from the sums of 16, as words.
QS_INL void qs_sums32(const int16_t *xs, size_t n, int16_t *s32) {
    for (size_t j = 0; j < n; j++) s32[j] = (int16_t)(xs[2 * j] + xs[2 * j + 1]);
}

/// The 12 packed bytes of Q4_K / Q5_K scales and mins unpacked to bytes: 0..7 the six-bit
/// scales, 8..15 the six-bit mins (see lfm_qt_scales_k4), with 128-bit operations on the three
/// 32-bit words a, b, c (a 16-byte load: the 4 bytes after the scales are the block's codes,
/// ignored). Words of the result: a & 0x3F.., (c & 0x0F..) | high bits of a, b & 0x3F..,
/// (c >> 4 & 0x0F..) | high bits of b. Vector operations instead of scalar ones and four
/// register inserts: measured 4-6 % faster Q4_K decode rows.
QS_INL __m128i qs_scales_k4(const uint8_t *q) {
    const __m128i v = _mm_loadu_si128((const __m128i *)q);
    const __m128i acbc = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0));
    const __m128i aabb = _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0));
    const __m128i lowBits = _mm_and_si128(_mm_srlv_epi32(acbc, _mm_set_epi32(4, 0, 0, 0)),
                                          _mm_set_epi32(0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F));
    const __m128i highBits = _mm_slli_epi32(
        _mm_and_si128(_mm_srli_epi32(aabb, 6), _mm_set_epi32(0x03030303, 0, 0x03030303, 0)), 4);
    return _mm_or_si128(lowBits, highBits);
}

/// The eight sub-block scales ls - 32 of the IQ4_XS super-block at `blk` as dwords, unpacked at once
/// with variable shifts: ls_j = (four low bits at blk[4 + j / 2] >> 4 (j % 2)) | (two high bits at
/// blk[2..3] >> 2 j) << 4 (the scalar form is lfm_qt_iq4xs_scale).
QS_INL __m256i qs_iq4xs_scales(const uint8_t *blk) {
    uint16_t high;
    uint32_t lowBits;
    memcpy(&high, blk + 2, 2);
    memcpy(&lowBits, blk + 4, 4);
    const __m256i l = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)lowBits), _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
                                       _mm256_set1_epi32(0xF));
    const __m256i h = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(high), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)),
                                       _mm256_set1_epi32(3));
    return _mm256_sub_epi32(_mm256_or_si256(l, _mm256_slli_epi32(h, 4)), _mm256_set1_epi32(32));
}

#define QS_ROWS(x, t, R)                                                                   \
    const int8_t *xq[4];                                                                   \
    const float *xd[4];                                                                    \
    const int16_t *xs[4];                                                                  \
    const float *xds[4];                                                                   \
    __m256 acc[4];                                                                         \
    for (int r = 0; r < R; r++) {                                                          \
        xq[r] = (x)->q + ((t) + r) * (x)->cols;                                            \
        xd[r] = (x)->d + ((t) + r) * ((x)->cols / (x)->block);                             \
        xs[r] = (x)->sums + ((t) + r) * ((x)->cols / 16);                                  \
        xds[r] = (x)->dsums + ((t) + r) * ((x)->cols / (x)->block);                        \
        acc[r] = _mm256_setzero_ps();                                                      \
    }

/// Independent accumulator chains per activation row: with few rows, several blocks are in
/// flight at once so the FMA / dot-product latency does not serialize the loop.
#define QS_CHAINS(R) ((R) == 1 ? 4 : (R) == 2 ? 2 : 1)

/// One Q8_0 block b for R activation rows, into acc[r].
QS_INL void qs_q8_0_block(const uint8_t *w, size_t b, int R, const int8_t *const *xq, const float *const *xd,
                          __m256 *acc) {
    const uint8_t *blk = w + b * 34;
    const float dw = qs_half(blk);
    const __m256i wq = qs_load(blk + 2), aw = _mm256_abs_epi8(wq);
    for (int r = 0; r < R; r++) {
        const __m256i sx = _mm256_sign_epi8(qs_load(xq[r] + b * 32), wq);
        const __m256i p = QS_DPBUSD(_mm256_setzero_si256(), aw, sx);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * xd[r][b]), acc[r]);
    }
}

/// One Q4_0 / Q4_1 / Q5_0 / Q5_1 block b for R activation rows, on the unsigned codes; the
/// offset (8 / 16) or the min goes to mins[r] through the activation's d * sum(q).
QS_INL void qs_small_block(const uint8_t *w, size_t b, int R, int type, const int8_t *const *xq,
                           const float *const *xd, const float *const *xds, __m256 *acc, float *mins) {
    const size_t bytes = lfm_qt_block_bytes(type);
    const uint8_t *blk = w + b * bytes;
    const float dw = qs_half(blk);
    __m256i wq;
    int offset = 0;
    float mw = 0;
    switch (type) {
    case QT_Q4_0: wq = qs_nibbles(blk + 2); offset = 8; break;
    case QT_Q4_1: wq = qs_nibbles(blk + 4); mw = qs_half(blk + 2); break;
    case QT_Q5_0: wq = _mm256_or_si256(qs_nibbles(blk + 6), qs_high_bits(lfm_qt_u32(blk + 2))); offset = 16; break;
    default: wq = _mm256_or_si256(qs_nibbles(blk + 8), qs_high_bits(lfm_qt_u32(blk + 4))); mw = qs_half(blk + 2); break;
    }
    const float k = offset ? -(float)offset * dw : mw;
    for (int r = 0; r < R; r++) {
        const __m256i p = QS_DPBUSD(_mm256_setzero_si256(), wq, qs_load(xq[r] + b * 32));
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * xd[r][b]), acc[r]);
        mins[r] += k * xds[r][b];
    }
}

/// Blocks b ..< nb of a Q4_0 row (GGUF layout) for one activation row, one 256-bit block step each:
/// the last blocks the 512-bit Q4_0 row kernels leave.
QS_INL float qs_q4_0_tail(const uint8_t *w, size_t b, size_t nb, const int8_t *xq, const float *xd, const float *xds) {
    __m256 tail[1] = { _mm256_setzero_ps() };
    float tailMin[1] = { 0 };
    for (; b < nb; b++) qs_small_block(w, b, 1, QT_Q4_0, &xq, &xd, &xds, tail, tailMin);
    return qs_hsum(tail[0]) + tailMin[0];
}

/// Copies the activation scales d and d * sum(q) of every whole group of eight blocks into the order
/// 0, 2, 4, 6, 1, 3, 5, 7 within each group: the order of the AVX2 Q4_0 kernel's per-block sums and of
/// the scales in a regrouped row (LFM_QT_Q4_0_X8 / LFM_QT_Q8_0_X8).
QS_INL void qs_permute_scales8(const float *xd, const float *xds, size_t nb, float *xdp, float *xdsp) {
    static const int order[8] = { 0, 2, 4, 6, 1, 3, 5, 7 };
    for (size_t b = 0; b + 8 <= nb; b += 8)
        for (int i = 0; i < 8; i++) {
            xdp[b + i] = xd[b + order[i]];
            xdsp[b + i] = xds[b + order[i]];
        }
}

#if QS_AVX512
/// Activation codes of one row regrouped for the 512-bit Q4_0 row kernels: per four blocks (128
/// values), the first halves of the four blocks (elements 0 ..< 16, which meet the low nibbles), then
/// their second halves (16 ..< 32, the high nibbles). Whole groups of four blocks only.
QS_INL void qs_q4_0_group_activations(const int8_t *xq, size_t groups, int8_t *out) {
    for (size_t g = 0; g < groups; g++) {
        const __m512i x0 = _mm512_loadu_si512((const void *)(xq + g * 128));
        const __m512i x1 = _mm512_loadu_si512((const void *)(xq + g * 128 + 64));
        _mm512_storeu_si512((void *)(out + g * 128), _mm512_shuffle_i64x2(x0, x1, _MM_SHUFFLE(2, 0, 2, 0)));
        _mm512_storeu_si512((void *)(out + g * 128 + 64), _mm512_shuffle_i64x2(x0, x1, _MM_SHUFFLE(3, 1, 3, 1)));
    }
}
#endif

/// All 32-element types (type QT_Q8_0 or one of the qs_small_block types).
#if QS_AVX512
/// The scales of blocks b and b + 1 (F16 at byte 0 of each block, `bytes` apart) times the
/// activation scales dx[b], dx[b + 1]: lanes 0..7 and 8..15.
QS_INL __m512 qs_pair_scale(const uint8_t *blk, size_t bytes, const float *dx, __m128 *dwPair) {
    __m128i h = _mm_insert_epi16(_mm_cvtsi32_si128(*(const uint16_t *)blk), *(const uint16_t *)(blk + bytes), 1);
    const __m128 dw = _mm_cvtph_ps(h);
    *dwPair = dw;
    const __m128 s = _mm_mul_ps(dw, _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)dx)));
    const __m512i index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(index, _mm512_castps128_ps512(s));
}

/// Blocks b and b + 1 of a Q8_0 / Q4_0 row for one activation row, two blocks per 512-bit
/// register, into *acc, and the offset term (Q8_0: 128, Q4_0: 8 times Σ dw · dx · Σ x) into *corr.
QS_INL void qs_pair_step(const uint8_t *w, int type, const int8_t *xq, const float *xd, const float *xds,
                         size_t b, __m512 *acc, __m128 *corr) {
    const size_t bytes = type == QT_Q8_0 ? 34 : 18;
    const uint8_t *blk = w + b * bytes;
    const __m512i xv = _mm512_loadu_si512((const void *)(xq + b * 32));
    __m128 dw;
    const __m512 scale = qs_pair_scale(blk, bytes, xd + b, &dw);
    __m512i p;
    if (type == QT_Q8_0) {
        // Codes + 128 as unsigned bytes (xor of the sign bit); the 128 · Σ x term goes into *corr.
        const __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(qs_load(blk + 2)), qs_load(blk + 36), 1);
        p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(wq, _mm512_set1_epi8((char)0x80)), xv);
    } else {
        const __m256i both = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(blk + 2))),
            _mm_loadu_si128((const __m128i *)(blk + 20)), 1);
        __m512i nib = _mm512_inserti64x4(_mm512_castsi256_si512(both), _mm256_srli_epi16(both, 4), 1);
        // qwords [b lo, b+1 lo, b hi, b+1 hi] -> [b lo, b hi, b+1 lo, b+1 hi]
        nib = _mm512_permutexvar_epi64(_mm512_set_epi64(7, 6, 3, 2, 5, 4, 1, 0),
                                       _mm512_and_si512(nib, _mm512_set1_epi8(0x0F)));
        p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nib, xv);
    }
    const __m128 ds = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(xds + b)));
    *corr = _mm_fmadd_ps(dw, ds, *corr);
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), scale, *acc);
}

/// Decode (one activation row) of Q8_0 / Q4_0 blocks [0, nb): the float dot product.
QS_INL float qs_pairs_row(const uint8_t *w, int type, const int8_t *xq, const float *xd, const float *xds,
                          size_t nb) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m128 c0 = _mm_setzero_ps(), c1 = _mm_setzero_ps();
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        lfm_prefetch_ahead(w + b * (type == QT_Q8_0 ? 34 : 18), 4 * (type == QT_Q8_0 ? 34 : 18));
        qs_pair_step(w, type, xq, xd, xds, b, &a0, &c0);
        qs_pair_step(w, type, xq, xd, xds, b + 2, &a1, &c1);
    }
    if (b + 2 <= nb) {
        qs_pair_step(w, type, xq, xd, xds, b, &a0, &c0);
        b += 2;
    }
    const __m128 cs = _mm_add_ps(c0, c1);
    float result = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    result -= (type == QT_Q8_0 ? 128.0f : 8.0f) * (_mm_cvtss_f32(cs) + _mm_cvtss_f32(_mm_movehdup_ps(cs)));
    return result;
}
#endif

#if !QS_AVX512
/// Decode (one activation row) of Q8_0 on 256 bits, four blocks per step: their integer dot
/// products reduced to one vector by three horizontal adds (lane l holds each block's half-lane
/// sums), converted and scaled once, the four scales d · dx formed together (one F16 conversion,
/// one multiply) instead of one conversion, product and broadcast per block.
QS_INL float qs_q8_0_row256(const uint8_t *w, const int8_t *xq, const float *xd, size_t nb) {
    __m256 acc = _mm256_setzero_ps();
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const uint8_t *blk = w + b * 34;
        lfm_prefetch_ahead(blk, 4 * 34);
        __m256i p[4];
        for (int c = 0; c < 4; c++) {
            const __m256i wq = qs_load(blk + 34 * c + 2);
            const __m256i sx = _mm256_sign_epi8(qs_load(xq + (b + c) * 32), wq);
            p[c] = QS_DPBUSD(_mm256_setzero_si256(), _mm256_abs_epi8(wq), sx);
        }
        const __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
        uint16_t h[4];
        for (int c = 0; c < 4; c++) memcpy(&h[c], blk + 34 * c, 2);
        const __m128i halves = _mm_cvtsi64_si128((long long)((uint64_t)h[0] | (uint64_t)h[1] << 16 |
                                                             (uint64_t)h[2] << 32 | (uint64_t)h[3] << 48));
        const __m128 d4 = _mm_mul_ps(_mm_cvtph_ps(halves), _mm_loadu_ps(xd + b));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set_m128(d4, d4), acc);
    }
    const int8_t *const xqs[1] = { xq };
    const float *const xds[1] = { xd };
    for (; b < nb; b++) qs_q8_0_block(w, b, 1, xqs, xds, &acc);
    return qs_hsum(acc);
}
#endif

QS_INL void qs_blocks32(const uint8_t *w, const LFMQuantActivations *x, size_t t, int R, int type, float *out) {
    QS_ROWS(x, t, R)
    const size_t nb = x->cols / 32;
#if !QS_AVX512
    if (R == 1 && type == QT_Q8_0) {
        out[0] = qs_q8_0_row256(w, xq[0], xd[0], nb);
        return;
    }
#else
    if (R == 1 && (type == QT_Q8_0 || type == QT_Q4_0)) {
        const size_t even = nb & ~(size_t)1;
        float partial = qs_pairs_row(w, type, xq[0], xd[0], xds[0], even);
        if (even < nb) {
            __m256 tail[1] = { _mm256_setzero_ps() };
            float tailMin[1] = { 0 };
            if (type == QT_Q8_0) qs_q8_0_block(w, even, 1, xq, xd, tail);
            else qs_small_block(w, even, 1, type, xq, xd, xds, tail, tailMin);
            partial += qs_hsum(tail[0]) + tailMin[0];
        }
        out[0] = partial;
        return;
    }
#endif
    const int C = QS_CHAINS(R);
    __m256 a[4][4];
    float mins[4][4];
    for (int c = 0; c < C; c++)
        for (int r = 0; r < R; r++) { a[c][r] = _mm256_setzero_ps(); mins[c][r] = 0; }
    size_t b = 0;
    for (; b + C <= nb; b += C) {
#if !QS_AVX512
        // Decode rows on AVX2 prefetch like the AVX-512 row kernels (one row is read once).
        if (R == 1) lfm_prefetch_ahead(w + b * lfm_qt_block_bytes(type), (size_t)C * lfm_qt_block_bytes(type));
#endif
        for (int c = 0; c < C; c++) {
            if (type == QT_Q8_0) qs_q8_0_block(w, b + c, R, xq, xd, a[c]);
            else qs_small_block(w, b + c, R, type, xq, xd, xds, a[c], mins[c]);
        }
    }
    for (; b < nb; b++) {
        if (type == QT_Q8_0) qs_q8_0_block(w, b, R, xq, xd, a[0]);
        else qs_small_block(w, b, R, type, xq, xd, xds, a[0], mins[0]);
    }
    for (int r = 0; r < R; r++) {
        acc[r] = a[0][r];
        float m = mins[0][r];
        for (int c = 1; c < C; c++) { acc[r] = _mm256_add_ps(acc[r], a[c][r]); m += mins[c][r]; }
        out[r] = qs_hsum(acc[r]) + m;
    }
}

#if QS_AVX512
/// acc + the sums of word products in pairs (vpdpwssd on 512 bits). Written as the instruction: the
/// compiler otherwise splits dependent vpdpwssd into vpmaddwd + vpaddd to shorten the chain, one more
/// micro-op each on the two vector ports the 512-bit decode rows are bound by.
QS_INL __m512i qs_dpwssd512(__m512i acc, __m512i a, __m512i b) {
    __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}

/// Decode (one activation row) of Q4_K / Q5_K with 64 codes (two sub-blocks) per 512-bit
/// register: the float dot product over all nb super-blocks. The block scales d · dx and
/// dmin · dx are formed 16 blocks at a time before the blocks' integer work (one F16 conversion
/// and one multiply per 16 blocks; the block loop then reads them as broadcast memory operands),
/// which takes the per-block scalar conversions and broadcasts off the vector ports the integer
/// work is bound by. Same F32 products and sums as one block at a time.
QS_INL float qs_k45_row512(const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs,
                           size_t nb, int five) {
    const size_t bytes = five ? 176 : 144;
    const __m512i low = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
    // Shift counts per word: 0 for the low 256 bits (low nibbles), 4 for the high 256 bits.
    const __m512i nibbleShift = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0x0004000400040004,
                                                 0x0004000400040004, 0, 0, 0, 0);
    // Byte offsets of 16 consecutive blocks, for the gather of their d and dmin.
    const __m512i offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                               _mm512_set1_epi32((int)bytes));
    __m512 acc = _mm512_setzero_ps();
    __m256 mins = _mm256_setzero_ps();
    for (size_t b0 = 0; b0 < nb; b0 += 16) {
        const size_t count = nb - b0 < 16 ? nb - b0 : 16;
        // d and dmin of the next (up to) 16 blocks (one gather of their first words), then both
        // times the activation scales.
        const __mmask16 live = (__mmask16)((1u << count) - 1);
        const __m512i dd = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offsets, w + b0 * bytes, 1);
        const __m512 dx = _mm512_maskz_loadu_ps(live, xd + b0);
        float dxs[16] __attribute__((aligned(64))), mxs[16] __attribute__((aligned(64)));
        _mm512_store_ps(dxs, _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(dd)), dx));
        _mm512_store_ps(mxs, _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))), dx));
        for (size_t i = 0; i < count; i++) {
            const size_t b = b0 + i;
            const uint8_t *blk = w + b * bytes;
            lfm_prefetch_ahead(blk, bytes);
            const __m128i scmn = qs_scales_k4(blk + 4);
            const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(scmn));
            __m256i mn32 = _mm256_cvtepu8_epi32(_mm_srli_si128(scmn, 8));
            mn32 = _mm256_or_si256(mn32, _mm256_slli_epi32(mn32, 16));
            const uint8_t *qs = blk + (five ? 48 : 16);
            const int8_t *x = xq + b * 256;
            // High bits: bytes 0..31 carry sub-block 2j's bit at position 2j, bytes 32..63 (pre-shifted
            // by one) sub-block 2j + 1's.
            __m512i hb = _mm512_setzero_si512();
            if (five) {
                const __m256i h = qs_load(blk + 16);
                hb = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 1), 1);
            }
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
            for (int j = 0; j < 4; j++) {
                // The 32 bytes in both halves (a load, no shuffle), then low / high nibbles.
                const __m512i v = _mm512_broadcast_i64x4(qs_load(qs + 32 * j));
                __m512i q = _mm512_and_si512(_mm512_srlv_epi16(v, nibbleShift), low);
                if (five) {
                    q = _mm512_or_si512(q, _mm512_slli_epi16(_mm512_and_si512(hb, one), 4));
                    hb = _mm512_srli_epi16(hb, 2);
                }
                // Words 0..15 get scale 2j, words 16..31 scale 2j + 1.
                const __m512i index = _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * j)), _mm256_set1_epi16((short)(2 * j + 1)), 1);
                const __m512i scale = _mm512_permutexvar_epi16(index, sc16);
                const __m512i prod = _mm512_maddubs_epi16(q, _mm512_loadu_si512((const void *)(x + 64 * j)));
                if (j & 1) s1 = qs_dpwssd512(s1, prod, scale);
                else s0 = qs_dpwssd512(s0, prod, scale);
            }
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_set1_ps(dxs[i]), acc);
            const __m256i summ = _mm256_madd_epi16(qs_load(xs + b * 16), mn32);
            mins = _mm256_fmadd_ps(_mm256_cvtepi32_ps(summ), _mm256_set1_ps(mxs[i]), mins);
        }
    }
    return _mm512_reduce_add_ps(acc) - qs_hsum(mins);
}
#endif

#if QS_AVX512
/// Longest row whose prepared activations the 512-bit row kernels (Q4_K here; the regrouped Q4_0 /
/// Q8_0 and IQ4 rows of quant_avx512.c) keep on the stack.
#define QS_STACK_COLS 16384

/// The GF(2) affine bit matrix (one per qword lane; result bit i = the parity of byte 7 - i of the
/// matrix and the input byte) that moves a byte's high nibble to its low nibble.
#define QS_GF_NIBBLE_DOWN 0x1020408000000000ll

/// The high nibble of every byte, as a byte: one GF(2) affine transform with GFNI, else a shift
/// and a mask.
QS_INL __m512i qs_high_nibbles512(__m512i v) {
#if QS_GFNI
    return _mm512_gf2p8affine_epi64_epi8(v, _mm512_set1_epi64(QS_GF_NIBBLE_DOWN), 0);
#else
    return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0F));
#endif
}

/// 16 copies of v.
#define K4_R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
/// vpermw indices of block b's four scale vectors (words 8b ..< 8b + 8 of the group's scale words):
/// the low nibbles of code bytes 0 ..< 64 hold sub-blocks 0 and 2, their high nibbles 1 and 3, the
/// low nibbles of bytes 64 ..< 128 sub-blocks 4 and 6, their high nibbles 5 and 7 (16 words each).
#define K4_INDEX(b)                                                                                  \
    { { K4_R16(8 * (b) + 0), K4_R16(8 * (b) + 2) }, { K4_R16(8 * (b) + 1), K4_R16(8 * (b) + 3) },   \
      { K4_R16(8 * (b) + 4), K4_R16(8 * (b) + 6) }, { K4_R16(8 * (b) + 5), K4_R16(8 * (b) + 7) } }
static const int16_t k4_scale_index[4][4][32] __attribute__((aligned(64))) = { K4_INDEX(0), K4_INDEX(1), K4_INDEX(2), K4_INDEX(3) };

/// One activation row prepared for k4_row: per super-block the codes of sub-blocks 0, 2, 1, 3, 4, 6,
/// 5, 7 (the order the 64-byte code loads meet them in), and the sums of each sub-block of 32 as words.
QS_INL void k4_prepare(const int8_t *xq, const int16_t *xs, size_t nb, int8_t *xp, int16_t *s32) {
    for (size_t c = 0; c < 2 * nb; c++) {
        const int8_t *src = xq + 128 * c;
        int8_t *dst = xp + 128 * c;
        _mm256_storeu_si256((__m256i *)dst, qs_load(src));
        _mm256_storeu_si256((__m256i *)(dst + 32), qs_load(src + 64));
        _mm256_storeu_si256((__m256i *)(dst + 64), qs_load(src + 32));
        _mm256_storeu_si256((__m256i *)(dst + 96), qs_load(src + 96));
    }
    qs_sums32(xs, 8 * nb, s32);
}

/// `count` (1 ... 4) Q4_K (`five` 0) or Q5_K (1) super-blocks starting at `w` against prepared
/// activations. The four blocks' first 16 bytes (d, dmin, the 12 packed scale bytes) go to one register,
/// one lane each, and are unpacked together (the 128-bit steps of qs_scales_k4 on 512 bits); per block
/// then two 64-byte code loads, their low and high nibbles (Q5_K: + 16 where the fifth bit is set)
/// against the prepared codes (vpmaddubsw), scaled per sub-block in vpdpwssd, one FMA with d · dx; the
/// mins of the four blocks meet the sub-block sums in one vpmaddwd. Same integer products as
/// qs_k45_row512.
QS_INL void k4_group(const uint8_t *w, int five, int count, const int8_t *xp, const float *xd, const int16_t *s32,
                     __m512 *acc, __m512 *mins) {
    const size_t bytes = five ? 176 : 144;
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512i head = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)w));
    if (count > 1) head = _mm512_inserti32x4(head, _mm_loadu_si128((const __m128i *)(w + bytes)), 1);
    if (count > 2) head = _mm512_inserti32x4(head, _mm_loadu_si128((const __m128i *)(w + 2 * bytes)), 2);
    if (count > 3) head = _mm512_inserti32x4(head, _mm_loadu_si128((const __m128i *)(w + 3 * bytes)), 3);
    if (count < 4) head = _mm512_maskz_mov_epi32((__mmask16)((1u << (4 * count)) - 1), head);
    // Per lane the words (d | dmin, a, b, c): bytes 0..7 of the result the scales, 8..15 the mins.
    const __m512i acbc = _mm512_shuffle_epi32(head, _MM_SHUFFLE(3, 2, 3, 1));
    const __m512i aabb = _mm512_shuffle_epi32(head, _MM_SHUFFLE(2, 2, 1, 1));
    const __m512i lowBits = _mm512_and_si512(_mm512_srlv_epi32(acbc, _mm512_broadcast_i32x4(_mm_set_epi32(4, 0, 0, 0))),
                                             _mm512_broadcast_i32x4(_mm_set_epi32(0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F)));
    const __m512i highBits = _mm512_slli_epi32(
        _mm512_and_si512(_mm512_srli_epi32(aabb, 6), _mm512_broadcast_i32x4(_mm_set_epi32(0x03030303, 0, 0x03030303, 0))), 4);
    const __m512i unpacked = _mm512_or_si512(lowBits, highBits);
    const __m512i z = _mm512_set1_epi8((char)0x80);
    const __m512i scales = _mm512_shuffle_epi8(unpacked, _mm512_unpacklo_epi8(
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0)), z));
    const __m512i minWords = _mm512_shuffle_epi8(unpacked, _mm512_unpacklo_epi8(
        _mm512_broadcast_i32x4(_mm_setr_epi8(8, 9, 10, 11, 12, 13, 14, 15, 0, 0, 0, 0, 0, 0, 0, 0)), z));
    // d0, dmin0, d1, dmin1, ... times dx0, dx0, dx1, dx1, ...
    const __m128i halves = _mm512_castsi512_si128(_mm512_permutexvar_epi32(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0), head));
    const __m128 dx = _mm_maskz_loadu_ps((__mmask8)((1u << count) - 1), xd);
    const __m256 dd = _mm256_mul_ps(_mm256_cvtph_ps(halves),
                                    _mm256_permutevar8x32_ps(_mm256_castps128_ps256(dx), _mm256_set_epi32(3, 3, 2, 2, 1, 1, 0, 0)));
    float f[8] __attribute__((aligned(32)));
    _mm256_store_ps(f, dd);
    const __m512i sums = _mm512_maskz_loadu_epi16((__mmask32)(count == 4 ? 0xFFFFFFFFu : (1u << (8 * count)) - 1), s32);
    const __m512 minTerms = _mm512_cvtepi32_ps(_mm512_madd_epi16(minWords, sums));
    *mins = _mm512_fmadd_ps(minTerms, _mm512_permutexvar_ps(_mm512_set_epi32(7, 7, 7, 7, 5, 5, 5, 5, 3, 3, 3, 3, 1, 1, 1, 1),
                                                             _mm512_castps256_ps512(dd)), *mins);
    for (int i = 0; i < count; i++) {
        const uint8_t *blk = w + bytes * i, *qs = blk + (five ? 48 : 16);
        const int8_t *x = xp + 256 * i;
        const __m512i v0 = _mm512_loadu_si512((const void *)qs), v1 = _mm512_loadu_si512((const void *)(qs + 64));
        __m512i c[4] = { _mm512_and_si512(v0, low), qs_high_nibbles512(v0), _mm512_and_si512(v1, low), qs_high_nibbles512(v1) };
        if (five) {
            // Q5_K: sub-block j's fifth bit is bit j of qh[l] (32 bytes, both halves of the register),
            // register k holding the sub-blocks of k4_scale_index.
            const __m512i qh = _mm512_broadcast_i64x4(qs_load(blk + 16));
            for (int k = 0; k < 4; k++) {
                const int j0 = k == 0 ? 0 : k == 1 ? 1 : k == 2 ? 4 : 5;
#if QS_GFNI
                // One GF(2) affine transform moves bit j of each byte to bit 4 (matrix byte 3 = 1 << j, per
                // 256-bit half), joined by one ternary op that also masks the low nibbles (0xEA: (v & low) | f).
                const __m512i matrix = _mm512_inserti64x4(_mm512_set1_epi64((long long)(1ull << j0) << 24),
                                                          _mm256_set1_epi64x((long long)(1ull << (j0 + 2)) << 24), 1);
                const __m512i fifth = _mm512_gf2p8affine_epi64_epi8(qh, matrix, 0);
                c[k] = k == 0 ? _mm512_ternarylogic_epi32(v0, low, fifth, 0xEA)
                     : k == 2 ? _mm512_ternarylogic_epi32(v1, low, fifth, 0xEA)
                              : _mm512_or_si512(c[k], fifth);
#else
                // + 16 where the bit is set.
                const __m512i bits = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << j0)), _mm256_set1_epi8((char)(1 << (j0 + 2))), 1);
                c[k] = _mm512_mask_add_epi8(c[k], _mm512_test_epi8_mask(qh, bits), c[k], _mm512_set1_epi8(16));
#endif
            }
        }
        const __m512i *index = (const __m512i *)(const void *)k4_scale_index[i];
        __m512i s0 = qs_dpwssd512(_mm512_setzero_si512(), _mm512_maddubs_epi16(c[0], _mm512_loadu_si512((const void *)x)),
                                  _mm512_permutexvar_epi16(_mm512_load_si512(index), scales));
        __m512i s1 = qs_dpwssd512(_mm512_setzero_si512(), _mm512_maddubs_epi16(c[1], _mm512_loadu_si512((const void *)(x + 64))),
                                  _mm512_permutexvar_epi16(_mm512_load_si512(index + 1), scales));
        s0 = qs_dpwssd512(s0, _mm512_maddubs_epi16(c[2], _mm512_loadu_si512((const void *)(x + 128))),
                          _mm512_permutexvar_epi16(_mm512_load_si512(index + 2), scales));
        s1 = qs_dpwssd512(s1, _mm512_maddubs_epi16(c[3], _mm512_loadu_si512((const void *)(x + 192))),
                          _mm512_permutexvar_epi16(_mm512_load_si512(index + 3), scales));
        *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_set1_ps(f[2 * i]), *acc);
    }
}

/// One Q4_K or Q5_K row of nb super-blocks (GGUF layout) times one prepared activation row (k4_prepare),
/// four super-blocks per step (k4_group), the last nb % 4 in one shorter step.
QS_INL float k4_row(const uint8_t *w, int five, const int8_t *xp, const float *xd, const int16_t *s32, size_t nb) {
    const size_t bytes = five ? 176 : 144;
    __m512 acc = _mm512_setzero_ps(), mins = _mm512_setzero_ps();
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        lfm_prefetch_ahead(w + b * bytes, 4 * bytes);
        k4_group(w + b * bytes, five, 4, xp + b * 256, xd + b, s32 + b * 8, &acc, &mins);
    }
    if (b < nb) k4_group(w + b * bytes, five, (int)(nb - b), xp + b * 256, xd + b, s32 + b * 8, &acc, &mins);
    return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(mins);
}

/// Q4_K (`five` 0) or Q5_K (1) rows n0 ..< n1 times m activation rows (the VNNI and VBMI entries use it
/// for m < 4): each activation row prepared once (k4_prepare), then k4_row per activation row over
/// chunks of weight rows that stay in L1 / L2. Returns 0 without running when the prepared rows find no
/// memory.
QS_INL int qs_k45_rows512(const void *w, int five, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                          float *y, size_t yStride) {
    const size_t cols = x->cols, nb = cols / 256, rb = nb * (five ? 176 : 144), per = cols + cols / 16;
    // Prepared activations per row (cols code bytes, then cols / 32 words): on the stack up to
    // QS_STACK_COLS codes in all, else on the heap; without memory the caller's kernels run.
    _Alignas(64) int8_t stack[QS_STACK_COLS + QS_STACK_COLS / 16];
    int8_t *prepared = m * per <= sizeof(stack) ? stack : malloc(m * per);
    if (!prepared) return 0;
    for (size_t t = 0; t < m; t++)
        k4_prepare(x->q + t * cols, x->sums + t * (cols / 16), nb, prepared + t * per,
                   (int16_t *)(void *)(prepared + t * per + cols));
    const size_t chunk = m == 1 ? n1 - n0 : lfm_qt_chunk_rows(rb) / 2;
    for (size_t c0 = n0; c0 < n1; c0 += chunk) {
        const size_t c1 = c0 + chunk < n1 ? c0 + chunk : n1;
        for (size_t t = 0; t < m; t++) {
            const int8_t *xp = prepared + t * per;
            const int16_t *s32 = (const int16_t *)(const void *)(xp + cols);
            const float *xd = x->d + t * nb;
            float *yt = y + t * yStride;
            // A constant `five` in each loop, so each type gets its own inlined row.
            if (five)
                for (size_t n = c0; n < c1; n++) yt[n] = k4_row((const uint8_t *)w + n * rb, 1, xp, xd, s32, nb);
            else
                for (size_t n = c0; n < c1; n++) yt[n] = k4_row((const uint8_t *)w + n * rb, 0, xp, xd, s32, nb);
        }
    }
    if (prepared != stack) free(prepared);
    return 1;
}

#endif

QS_INL void qs_k45(const uint8_t *w, const LFMQuantActivations *x, size_t t, int R, int five, float *out) {
    QS_ROWS(x, t, R)
    const size_t nb = x->cols / 256, bytes = five ? 176 : 144;
#if QS_AVX512
    if (R == 1) {
        out[0] = qs_k45_row512(w, xq[0], xd[0], xs[0], nb, five);
        return;
    }
#endif
    __m256 mins[4];
    for (int r = 0; r < R; r++) mins[r] = _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
#if !QS_AVX512
        if (R == 1) lfm_prefetch_ahead(blk, bytes);
#endif
        const float d = qs_half(blk), dmin = qs_half(blk + 2);
        // Scales as 8 words (both 128-bit lanes), mins as word pairs (m_j, m_j) for madd with
        // the activation sums of 16.
        const __m128i scmn = qs_scales_k4(blk + 4);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scmn));
        __m256i mn32 = _mm256_cvtepu8_epi32(_mm_srli_si128(scmn, 8));
        mn32 = _mm256_or_si256(mn32, _mm256_slli_epi32(mn32, 16));
        const uint8_t *qs = blk + (five ? 48 : 16);
        __m256i hb = five ? qs_load(blk + 16) : _mm256_setzero_si256();
        const int C = QS_CHAINS(R);
        __m256i si[4][4];
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) si[c][r] = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i *sumi = si[j % C];
            const __m256i v = qs_load(qs + 32 * j);
            __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            if (five) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4));
                hb = _mm256_srli_epi16(hb, 2);
            }
            const __m256i s0 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(((4 * j + 1) << 8) | (4 * j))));
            const __m256i s1 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(((4 * j + 3) << 8) | (4 * j + 2))));
            for (int r = 0; r < R; r++) {
                const int8_t *q = xq[r] + b * 256 + 64 * j;
                sumi[r] = QS_DPWSSD(sumi[r], _mm256_maddubs_epi16(lo, qs_load(q)), s0);
                sumi[r] = QS_DPWSSD(sumi[r], _mm256_maddubs_epi16(hi, qs_load(q + 32)), s1);
            }
        }
        for (int r = 0; r < R; r++) {
            __m256i total = si[0][r];
            for (int c = 1; c < C; c++) total = _mm256_add_epi32(total, si[c][r]);
            const __m256i summ = _mm256_madd_epi16(qs_load(xs[r] + b * 16), mn32);
            const float dx = xd[r][b];
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d * dx), acc[r]);
            mins[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(summ), _mm256_set1_ps(dmin * dx), mins[r]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = qs_hsum(_mm256_sub_ps(acc[r], mins[r]));
}

#if QS_AVX512
/// Word i of the scale vector for codes 64 k .. 64 k + 63 of half h (k = 0, 1): scale 8 h + 4 k + i / 8.
static const int16_t qs_q6k_scale_index[4][32] = {
    { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3 },
    { 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7 },
    { 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11 },
    { 12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15 },
};

/// Decode (one activation row) of Q6_K with 64 codes per 512-bit register: the float dot
/// product over nb super-blocks. Codes 0..63 of one half: bytes 0..31 / 32..63 of the low 4
/// bits (ql) with 2 high bits (qh, and qh >> 2 for the upper 32); the upper nibbles with
/// qh >> 4 / qh >> 6 give the next 64 (with GFNI: three GF(2) affine transforms and one ternary
/// logic op per 128 codes). Per super-block, sum_j sc_j dot_j - 32 sum_j sc_j sum16_j in integers,
/// then d * dx, with d · dx of 16 blocks converted at once (one gather of their last four bytes).
QS_INL float qs_q6k_row512(const uint8_t *w, const int8_t *xq, const float *xd, const int16_t *xs, size_t nb) {
    const __m512i low = _mm512_set1_epi8(0x0F);
#if !QS_GFNI
    const __m512i three = _mm512_set1_epi8(3);
#else
    // GF(2) affine bit matrices (one per qword lane; result bit i = parity of byte 7 - i of the matrix
    // with the input byte): high bits 0-1 / 2-3 of qh to bits 4-5 (lanes 0..3 / 4..7), bits 4-5 / 6-7 to
    // bits 4-5, and a byte's high nibble to its low nibble.
    const __m512i highLow = _mm512_set_epi64(0x04080000, 0x04080000, 0x04080000, 0x04080000,
                                             0x01020000, 0x01020000, 0x01020000, 0x01020000);
    const __m512i highHigh = _mm512_set_epi64(0x40800000, 0x40800000, 0x40800000, 0x40800000,
                                              0x10200000, 0x10200000, 0x10200000, 0x10200000);
#endif
    __m512i index[4];
    for (int k = 0; k < 4; k++) index[k] = _mm512_loadu_si512((const void *)qs_q6k_scale_index[k]);
    // Byte offsets of 16 consecutive blocks' last four bytes (two scales, then d), for the gather of d.
    const __m512i offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                               _mm512_set1_epi32(210));
    __m512 acc = _mm512_setzero_ps();
    float dxs[16] __attribute__((aligned(64)));
    for (size_t b = 0; b < nb; b++) {
        if (b % 16 == 0) {
            // d of the next (up to) 16 blocks times their activation scales, converted at once.
            const size_t count = nb - b < 16 ? nb - b : 16;
            const __mmask16 live = (__mmask16)((1u << count) - 1);
            const __m512i dd = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offsets, w + b * 210 + 206, 1);
            _mm512_store_ps(dxs, _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))),
                                               _mm512_maskz_loadu_ps(live, xd + b)));
        }
        const uint8_t *blk = w + b * 210;
        lfm_prefetch_ahead(blk, 210);
        const int8_t *x = xq + b * 256;
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
        const __m512i scz = _mm512_zextsi256_si512(sc16);
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            const __m512i l = _mm512_loadu_si512((const void *)(blk + 64 * h));
#if QS_GFNI
            const __m512i qh = _mm512_broadcast_i64x4(qs_load(blk + 128 + 32 * h));
            const __m512i v0 = _mm512_ternarylogic_epi32(l, _mm512_gf2p8affine_epi64_epi8(qh, highLow, 0), low, 0xEC);
            const __m512i v1 = _mm512_or_si512(qs_high_nibbles512(l),
                                               _mm512_gf2p8affine_epi64_epi8(qh, highHigh, 0));
#else
            const __m256i qh = qs_load(blk + 128 + 32 * h);
            const __m512i hb = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
            const __m512i v0 = _mm512_or_si512(_mm512_and_si512(l, low), _mm512_slli_epi16(_mm512_and_si512(hb, three), 4));
            const __m512i v1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low),
                                               _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hb, 4), three), 4));
#endif
            const __m512i p0 = _mm512_maddubs_epi16(v0, _mm512_loadu_si512((const void *)(x + 128 * h)));
            const __m512i p1 = _mm512_maddubs_epi16(v1, _mm512_loadu_si512((const void *)(x + 128 * h + 64)));
            s0 = qs_dpwssd512(s0, p0, _mm512_permutexvar_epi16(index[2 * h], scz));
            s1 = qs_dpwssd512(s1, p1, _mm512_permutexvar_epi16(index[2 * h + 1], scz));
        }
        const __m256i summ = _mm256_madd_epi16(qs_load(xs + b * 16), sc16);
        const __m512i total = _mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_zextsi256_si512(_mm256_slli_epi32(summ, 5)));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_set1_ps(dxs[b % 16]), acc);
    }
    return _mm512_reduce_add_ps(acc);
}
#endif

/// The scales (16 words, one per sub-block of 16) for the pair sums of chunk k (elements 32 k ..
/// 32 k + 31) of half h of a 256-block: sub-block 8 h + 2 k in the low lane, 8 h + 2 k + 1 in the
/// high lane (Q6_K, Q3_K, Q2_K).
QS_INL __m256i qs_sub16_scales(__m256i scAll, int h, int k) {
    const __m256i half = h ? _mm256_permute4x64_epi64(scAll, 0xEE) : _mm256_permute4x64_epi64(scAll, 0x44);
    return _mm256_shuffle_epi8(half, _mm256_set_m128i(_mm_set1_epi16((short)(((4 * k + 3) << 8) | (4 * k + 2))),
                                                      _mm_set1_epi16((short)(((4 * k + 1) << 8) | (4 * k)))));
}

QS_INL void qs_q6k(const uint8_t *w, const LFMQuantActivations *x, size_t t, int R, float *out) {
    QS_ROWS(x, t, R)
    const size_t nb = x->cols / 256;
#if QS_AVX512
    if (R == 1) {
        out[0] = qs_q6k_row512(w, xq[0], xd[0], xs[0], nb);
        return;
    }
#endif
    const __m256i low = _mm256_set1_epi8(0x0F), high = _mm256_set1_epi8(0x30);
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 210;
#if !QS_AVX512
        if (R == 1) lfm_prefetch_ahead(blk, 210);
#endif
        const float d = qs_half(blk + 208);
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)(blk + 192));
        const __m256i scAll = _mm256_cvtepi8_epi16(sc8);
        const int C = QS_CHAINS(R);
        __m256i si[4][4];
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) si[c][r] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = qs_load(blk + 64 * h), l1 = qs_load(blk + 64 * h + 32);
            const __m256i qh = qs_load(blk + 128 + 32 * h);
            // The two high bits of each code move to bits 4-5 by one 16-bit shift and a mask
            // (bits that cross into the neighbouring byte are masked off).
            __m256i q6[4];
            q6[0] = _mm256_or_si256(_mm256_and_si256(l0, low), _mm256_and_si256(_mm256_slli_epi16(qh, 4), high));
            q6[1] = _mm256_or_si256(_mm256_and_si256(l1, low), _mm256_and_si256(_mm256_slli_epi16(qh, 2), high));
            q6[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low), _mm256_and_si256(qh, high));
            q6[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low),
                                    _mm256_and_si256(_mm256_srli_epi16(qh, 2), high));
            for (int k = 0; k < 4; k++) {
                const __m256i s = qs_sub16_scales(scAll, h, k);
                __m256i *sumi = si[k % C];
                for (int r = 0; r < R; r++) {
                    const __m256i p = _mm256_maddubs_epi16(q6[k], qs_load(xq[r] + b * 256 + 128 * h + 32 * k));
                    sumi[r] = QS_DPWSSD(sumi[r], p, s);
                }
            }
        }
        for (int r = 0; r < R; r++) {
            const __m256i summ = _mm256_madd_epi16(qs_load(xs[r] + b * 16), scAll);
            __m256i total = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(summ, 5));
            for (int c = 0; c < C; c++) total = _mm256_add_epi32(total, si[c][r]);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total),
                                     _mm256_set1_ps(d * xd[r][b]), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = qs_hsum(acc[r]);
}

/// Q2_K / Q3_K (semantics in quant_portable.c's qp_k23): the two low bits of 32 elements come from
/// one 32-byte load shifted by 2 j (Q3_K: the hmask bit joins as 4, codes 0..7, minus 4 times the
/// sums of 16 per sub-block), as Q6_K's codes: per chunk of 32 (sub-blocks 2 j and 2 j + 1 in the
/// low and high lane) vpmaddubsw, then the 16-bit pair sums times the sub-block scales in
/// vpmaddwd / vpdpwssd; Q2_K's mins times the sums of 16 in one vpmaddwd per block.
QS_INL void qs_k23(const uint8_t *w, const LFMQuantActivations *x, size_t t, int R, int three, float *out) {
    QS_ROWS(x, t, R)
    const size_t nb = x->cols / 256, bytes = three ? 110 : 84;
    const __m256i two = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
        if (R == 1) lfm_prefetch_ahead(blk, bytes);
        __m256i scAll, mnAll = _mm256_setzero_si256();
        float d, dmin = 0;
        if (three) {
            int8_t s3[16];
            lfm_qt_scales_q3k(blk + 96, s3);
            scAll = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)s3));
            d = qs_half(blk + 108);
        } else {
            const __m128i raw = _mm_loadu_si128((const __m128i *)blk), nib = _mm_set1_epi8(0x0F);
            scAll = _mm256_cvtepu8_epi16(_mm_and_si128(raw, nib));
            mnAll = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), nib));
            d = qs_half(blk + 80);
            dmin = qs_half(blk + 82);
        }
        const uint8_t *qs = blk + (three ? 32 : 16);
        const __m256i hm = three ? qs_load(blk) : _mm256_setzero_si256();
        const int C = QS_CHAINS(R);
        __m256i si[4][4];
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) si[c][r] = _mm256_setzero_si256();
        for (int n = 0; n < 2; n++) {
            const __m256i q = qs_load(qs + 32 * n);
            for (int j = 0; j < 4; j++) {
                __m256i codes = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), two);
                if (three)
                    codes = _mm256_or_si256(codes, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * n + j), one), 2));
                const __m256i sc = qs_sub16_scales(scAll, n, j);
                __m256i *sumi = si[j % C];
                for (int r = 0; r < R; r++) {
                    const __m256i p = _mm256_maddubs_epi16(codes, qs_load(xq[r] + b * 256 + 128 * n + 32 * j));
                    sumi[r] = QS_DPWSSD(sumi[r], p, sc);
                }
            }
        }
        for (int r = 0; r < R; r++) {
            __m256i total = si[0][r];
            for (int c = 1; c < C; c++) total = _mm256_add_epi32(total, si[c][r]);
            const __m256i sums = qs_load(xs[r] + b * 16);
            if (three) total = _mm256_sub_epi32(total, _mm256_slli_epi32(_mm256_madd_epi16(sums, scAll), 2));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d * xd[r][b]), acc[r]);
            if (!three)
                acc[r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(sums, mnAll)), _mm256_set1_ps(dmin * xd[r][b]), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = qs_hsum(acc[r]);
}

#define QS_DOT_Q8_0(w, x, t, R, o) qs_blocks32(w, x, t, R, QT_Q8_0, o)
#define QS_DOT_Q4_0(w, x, t, R, o) qs_blocks32(w, x, t, R, QT_Q4_0, o)
#define QS_DOT_Q4_1(w, x, t, R, o) qs_blocks32(w, x, t, R, QT_Q4_1, o)
#define QS_DOT_Q5_0(w, x, t, R, o) qs_blocks32(w, x, t, R, QT_Q5_0, o)
#define QS_DOT_Q5_1(w, x, t, R, o) qs_blocks32(w, x, t, R, QT_Q5_1, o)
#define QS_DOT_Q2_K(w, x, t, R, o) qs_k23(w, x, t, R, 0, o)
#define QS_DOT_Q3_K(w, x, t, R, o) qs_k23(w, x, t, R, 1, o)
#define QS_DOT_Q4_K(w, x, t, R, o) qs_k45(w, x, t, R, 0, o)
#define QS_DOT_Q5_K(w, x, t, R, o) qs_k45(w, x, t, R, 1, o)
#define QS_DOT_Q6_K(w, x, t, R, o) qs_q6k(w, x, t, R, o)

LFM_DEFINE_QLOOP(qs_loop_q8_0, QS_TARGET, QS_DOT_Q8_0, QT_Q8_0)
LFM_DEFINE_QLOOP(qs_loop_q4_0, QS_TARGET, QS_DOT_Q4_0, QT_Q4_0)
LFM_DEFINE_QLOOP(qs_loop_q4_1, QS_TARGET, QS_DOT_Q4_1, QT_Q4_1)
LFM_DEFINE_QLOOP(qs_loop_q5_0, QS_TARGET, QS_DOT_Q5_0, QT_Q5_0)
LFM_DEFINE_QLOOP(qs_loop_q5_1, QS_TARGET, QS_DOT_Q5_1, QT_Q5_1)
LFM_DEFINE_QLOOP(qs_loop_q2_k, QS_TARGET, QS_DOT_Q2_K, QT_Q2_K)
LFM_DEFINE_QLOOP(qs_loop_q3_k, QS_TARGET, QS_DOT_Q3_K, QT_Q3_K)
LFM_DEFINE_QLOOP(qs_loop_q4_k, QS_TARGET, QS_DOT_Q4_K, QT_Q4_K)
LFM_DEFINE_QLOOP(qs_loop_q5_k, QS_TARGET, QS_DOT_Q5_K, QT_Q5_K)
LFM_DEFINE_QLOOP(qs_loop_q6_k, QS_TARGET, QS_DOT_Q6_K, QT_Q6_K)

#define QS_DISPATCH(type, w, n0, n1, x, m, y, ys)                               \
    do {                                                                        \
        const uint8_t *wb_ = (const uint8_t *)(w);                              \
        switch (type) {                                                         \
        case QT_Q8_0: qs_loop_q8_0(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q4_0: qs_loop_q4_0(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q4_1: qs_loop_q4_1(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q5_0: qs_loop_q5_0(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q5_1: qs_loop_q5_1(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q2_K: qs_loop_q2_k(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q3_K: qs_loop_q3_k(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q4_K: qs_loop_q4_k(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q5_K: qs_loop_q5_k(wb_, n0, n1, x, m, y, ys); break;            \
        case QT_Q6_K: qs_loop_q6_k(wb_, n0, n1, x, m, y, ys); break;            \
        default: break;                                                         \
        }                                                                       \
    } while (0)
