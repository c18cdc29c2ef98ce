// NEON block-quantized row kernels for every integer type (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K,
// Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS), instantiated twice by quant_neon.c: once with widening
// multiplies (any ARMv8-A CPU) and once with SDOT (the dot-product extension). The including file
// defines QN_NAME(x) (a suffixed name), QN_ATTR (function attributes) and QN_DOT16(acc, a, b):
// acc (int32x4_t) plus the products of the 16 int8 lanes of a and b, summed in any grouping, and
// the decoding helpers qn_half, qn_bit_lanes, qn_sum4 and qn_iq4xs_scales. Every kernel decodes a
// weight block once into int8 lanes for up to R = 4 activation rows, computes the integer dot
// products of quant_portable.c and scales them in the same order, so the results equal
// lfm_qmatmul_plain's.

#define QN_FN QN_ATTR static inline __attribute__((always_inline))

/// The products of 32 int8 lanes (a0 = lanes 0 ..< 16, a1 = lanes 16 ..< 32) as 4 partial sums.
QN_FN int32x4_t QN_NAME(dot32)(int8x16_t a0, int8x16_t a1, const int8_t *b) {
    const int32x4_t s = QN_DOT16(vdupq_n_s32(0), a0, vld1q_s8(b));
    return QN_DOT16(s, a1, vld1q_s8(b + 16));
}

/// The products of 16 int8 lanes as 4 partial sums.
QN_FN int32x4_t QN_NAME(dot16)(int8x16_t a, const int8_t *b) {
    return QN_DOT16(vdupq_n_s32(0), a, vld1q_s8(b));
}

/// Blocks of 32 (f16 d first; the 32 codes last: 32 int8 for Q8_0, else 16 bytes of nibbles, low
/// nibbles lanes 0 ..< 16). Q4_0: code - 8; Q4_1: code, f16 min m at byte 2; Q5_0 / Q5_1: the
/// 32 bits before the nibbles give each code its bit 4, then code - 16 / code (Q5_1: m at byte 2);
/// IQ4_NL: the table level of the code. Per block d dx dot, plus m dx sum32 when m != 0.
QN_FN void QN_NAME(small)(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, int type, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 32, bytes = lfm_qt_block_bytes(type);
    const int8x16_t levels = vld1q_s8(lfm_qt_iq4_values);
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
        const float dw = qn_half(blk);
        float mw = 0;
        int8x16_t w0, w1;
        if (type == QT_Q8_0) {
            w0 = vld1q_s8((const int8_t *)blk + 2);
            w1 = vld1q_s8((const int8_t *)blk + 18);
        } else {
            const uint8x16_t v = vld1q_u8(blk + bytes - 16);
            uint8x16_t lo = vandq_u8(v, vdupq_n_u8(0xF)), hi = vshrq_n_u8(v, 4);
            if (type == QT_Q5_0 || type == QT_Q5_1) {
                const uint32_t qh = lfm_qt_u32(blk + bytes - 20);
                const uint8x16_t bit4 = vdupq_n_u8(0x10);
                lo = vorrq_u8(lo, vandq_u8(qn_bit_lanes(qh, 0), bit4));
                hi = vorrq_u8(hi, vandq_u8(qn_bit_lanes(qh, 1), bit4));
            }
            if (type == QT_IQ4_NL) {
                w0 = vqtbl1q_s8(levels, lo);
                w1 = vqtbl1q_s8(levels, hi);
            } else {
                w0 = vreinterpretq_s8_u8(lo);
                w1 = vreinterpretq_s8_u8(hi);
                if (type == QT_Q4_0 || type == QT_Q5_0) {
                    const int8x16_t offset = vdupq_n_s8(type == QT_Q4_0 ? 8 : 16);
                    w0 = vsubq_s8(w0, offset);
                    w1 = vsubq_s8(w1, offset);
                }
            }
            if (type == QT_Q4_1 || type == QT_Q5_1) mw = qn_half(blk + 2);
        }
        for (int r = 0; r < R; r++) {
            const int dot = vaddvq_s32(QN_NAME(dot32)(w0, w1, xq[r] + b * 32));
            const float dx = xd[r][b];
            acc[r] += (dw * dx) * (float)dot;
            if (mw != 0) acc[r] += (mw * dx) * (float)(xs[r][2 * b] + xs[r][2 * b + 1]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// Q4_K / Q5_K: per 256, d * dx * sum_j sc_j dot_j - dmin * dx * sum_j mn_j sum32_j. Sub-block 2j
/// holds the low nibbles of code bytes 32j ..< 32j + 32, sub-block 2j + 1 the high; Q5_K adds bit
/// 2j (2j + 1) of qh byte l as bit 4 of lane l.
QN_FN void QN_NAME(k45)(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, int five, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 256, bytes = five ? 176 : 144;
    const uint8x16_t mask = vdupq_n_u8(0xF), bit4 = vdupq_n_u8(0x10);
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
        const float d = qn_half(blk), dmin = qn_half(blk + 2);
        uint8_t sc[8], mn[8];
        lfm_qt_scales_k4(blk + 4, sc, mn);
        const uint16x8_t sc16 = vmovl_u8(vld1_u8(sc));
        const int32x4_t sc0 = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(sc16)));
        const int32x4_t sc1 = vreinterpretq_s32_u32(vmovl_high_u16(sc16));
        const int16x8_t mn16 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn)));
        const uint8_t *qs = blk + (five ? 48 : 16);
        uint8x16_t h0 = vdupq_n_u8(0), h1 = vdupq_n_u8(0);
        if (five) {
            h0 = vld1q_u8(blk + 16);
            h1 = vld1q_u8(blk + 32);
        }
        int8x16_t wv[8][2];
        for (int j = 0; j < 4; j++) {
            const uint8x16_t v0 = vld1q_u8(qs + 32 * j), v1 = vld1q_u8(qs + 32 * j + 16);
            uint8x16_t l0 = vandq_u8(v0, mask), l1 = vandq_u8(v1, mask);
            uint8x16_t u0 = vshrq_n_u8(v0, 4), u1 = vshrq_n_u8(v1, 4);
            if (five) { // h0 / h1 hold bit 2j of qh in bit 0, bit 2j + 1 in bit 1
                l0 = vorrq_u8(l0, vandq_u8(vshlq_n_u8(h0, 4), bit4));
                l1 = vorrq_u8(l1, vandq_u8(vshlq_n_u8(h1, 4), bit4));
                u0 = vorrq_u8(u0, vandq_u8(vshlq_n_u8(h0, 3), bit4));
                u1 = vorrq_u8(u1, vandq_u8(vshlq_n_u8(h1, 3), bit4));
                h0 = vshrq_n_u8(h0, 2);
                h1 = vshrq_n_u8(h1, 2);
            }
            wv[2 * j][0] = vreinterpretq_s8_u8(l0);
            wv[2 * j][1] = vreinterpretq_s8_u8(l1);
            wv[2 * j + 1][0] = vreinterpretq_s8_u8(u0);
            wv[2 * j + 1][1] = vreinterpretq_s8_u8(u1);
        }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            const int16_t *s = xs[r] + b * 16;
            int32x4_t p[8];
            for (int j = 0; j < 8; j++) p[j] = QN_NAME(dot32)(wv[j][0], wv[j][1], q + 32 * j);
            const int sumi = vaddvq_s32(vmlaq_s32(vmulq_s32(qn_sum4(p[0], p[1], p[2], p[3]), sc0),
                                                  qn_sum4(p[4], p[5], p[6], p[7]), sc1));
            const int16x8_t s32 = vpaddq_s16(vld1q_s16(s), vld1q_s16(s + 8)); // sums of 32
            const int summ = vaddvq_s32(vmlal_high_s16(vmull_s16(vget_low_s16(mn16), vget_low_s16(s32)), mn16, s32));
            const float dx = xd[r][b];
            acc[r] += (d * dx) * (float)sumi - (dmin * dx) * (float)summ;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// Q6_K: per 256, d * dx * sum_j sc_j (dot_j - 32 sum16_j) over the 16 groups of 16 unsigned
/// six-bit codes (low four bits from ql, high two from qh).
QN_FN void QN_NAME(q6k)(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 256;
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 210;
        const float d = qn_half(blk + 208);
        const int8_t *sc = (const int8_t *)(blk + 192);
        int8x16_t wv[16];
        const uint8x16_t low = vdupq_n_u8(0xF), high = vdupq_n_u8(0x30);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
            for (int half = 0; half < 2; half++) {
                // Lanes l = 16 * half ..< 16 * half + 16 of the four 32-code runs of this half.
                const uint8x16_t a = vld1q_u8(ql + 16 * half), c = vld1q_u8(ql + 32 + 16 * half);
                const uint8x16_t hb = vld1q_u8(qh + 16 * half);
                int8x16_t *o = wv + 8 * h + half;
                o[0] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(a, low), vandq_u8(vshlq_n_u8(hb, 4), high)));
                o[2] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(c, low), vandq_u8(vshlq_n_u8(hb, 2), high)));
                o[4] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(a, 4), vandq_u8(hb, high)));
                o[6] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(c, 4), vandq_u8(vshrq_n_u8(hb, 2), high)));
            }
        }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            const int16_t *s = xs[r] + b * 16;
            int sumi = 0;
            for (int j = 0; j < 16; j++)
                sumi += sc[j] * (vaddvq_s32(QN_NAME(dot16)(wv[j], q + 16 * j)) - 32 * s[j]);
            acc[r] += (d * xd[r][b]) * (float)sumi;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// Q2_K / Q3_K: per 256, over the 16 sub-blocks of 16 (sub-block u = 8n + 2j + l / 16 takes bits
/// 2j of code bytes 32n + l). Q2_K: d * dx * sum_u sc_u dot_u - dmin * dx * sum_u mn_u sum16_u,
/// the codes (0..3) multiplied by sc_u (0..15) in int8 lanes first, so one accumulator serves all
/// 16. Q3_K: hmask bit 4n + j of byte l set adds 4, lanes hold code - 4 (-4..3), so dot_u is
/// quant_portable.c's dot_u - 4 sum16_u; d * dx * sum_u sc_u dot_u with the dots of four
/// sub-blocks reduced into one vector and multiplied by their four signed scales.
QN_FN void QN_NAME(k23)(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, int three, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 256, bytes = three ? 110 : 84;
    const uint8x16_t two = vdupq_n_u8(3), bit2 = vdupq_n_u8(4);
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
        const uint8_t *qs = blk + (three ? 32 : 16);
        float d, dmin = 0;
        uint8x16_t m0 = vdupq_n_u8(0), m1 = vdupq_n_u8(0), scl = vdupq_n_u8(0);
        int32x4_t sc32[4];
        int16x8_t mn0 = vdupq_n_s16(0), mn1 = vdupq_n_s16(0);
        if (three) {
            int8_t s3[16];
            lfm_qt_scales_q3k(blk + 96, s3);
            const int8x16_t v = vld1q_s8(s3);
            const int16x8_t v0 = vmovl_s8(vget_low_s8(v)), v1 = vmovl_high_s8(v);
            sc32[0] = vmovl_s16(vget_low_s16(v0));
            sc32[1] = vmovl_high_s16(v0);
            sc32[2] = vmovl_s16(vget_low_s16(v1));
            sc32[3] = vmovl_high_s16(v1);
            d = qn_half(blk + 108);
            m0 = vld1q_u8(blk);
            m1 = vld1q_u8(blk + 16);
        } else {
            const uint8x16_t v = vld1q_u8(blk);
            scl = vandq_u8(v, vdupq_n_u8(0xF));
            const uint8x16_t mn = vshrq_n_u8(v, 4);
            mn0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mn)));
            mn1 = vreinterpretq_s16_u16(vmovl_high_u8(mn));
            d = qn_half(blk + 80);
            dmin = qn_half(blk + 82);
        }
        int8x16_t wv[16];
        for (int n = 0; n < 2; n++) {
            uint8x16_t a0 = vld1q_u8(qs + 32 * n), a1 = vld1q_u8(qs + 32 * n + 16);
            for (int j = 0; j < 4; j++) {
                const int u = 8 * n + 2 * j;
                uint8x16_t c0 = vandq_u8(a0, two), c1 = vandq_u8(a1, two);
                a0 = vshrq_n_u8(a0, 2);
                a1 = vshrq_n_u8(a1, 2);
                if (three) { // m0 / m1 hold hmask bit 4n + j in bit 0
                    c0 = vorrq_u8(c0, vandq_u8(vshlq_n_u8(m0, 2), bit2));
                    c1 = vorrq_u8(c1, vandq_u8(vshlq_n_u8(m1, 2), bit2));
                    m0 = vshrq_n_u8(m0, 1);
                    m1 = vshrq_n_u8(m1, 1);
                    wv[u] = vsubq_s8(vreinterpretq_s8_u8(c0), vreinterpretq_s8_u8(bit2));
                    wv[u + 1] = vsubq_s8(vreinterpretq_s8_u8(c1), vreinterpretq_s8_u8(bit2));
                } else {
                    wv[u] = vreinterpretq_s8_u8(vmulq_u8(c0, vqtbl1q_u8(scl, vdupq_n_u8((uint8_t)u))));
                    wv[u + 1] = vreinterpretq_s8_u8(vmulq_u8(c1, vqtbl1q_u8(scl, vdupq_n_u8((uint8_t)(u + 1)))));
                }
            }
        }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            const int16_t *s = xs[r] + b * 16;
            int sumi, summ = 0;
            if (three) {
                int32x4_t p = vdupq_n_s32(0);
                for (int g = 0; g < 4; g++) {
                    const int8x16_t *wg = wv + 4 * g;
                    const int8_t *qg = q + 64 * g;
                    const int32x4_t dots = qn_sum4(QN_NAME(dot16)(wg[0], qg), QN_NAME(dot16)(wg[1], qg + 16),
                                                   QN_NAME(dot16)(wg[2], qg + 32), QN_NAME(dot16)(wg[3], qg + 48));
                    p = vmlaq_s32(p, dots, sc32[g]);
                }
                sumi = vaddvq_s32(p);
            } else {
                int32x4_t p = vdupq_n_s32(0);
                for (int u = 0; u < 16; u++) p = QN_DOT16(p, wv[u], vld1q_s8(q + 16 * u));
                sumi = vaddvq_s32(p);
                const int16x8_t s0 = vld1q_s16(s), s1 = vld1q_s16(s + 8);
                int32x4_t m = vmull_s16(vget_low_s16(mn0), vget_low_s16(s0));
                m = vmlal_high_s16(m, mn0, s0);
                m = vmlal_s16(m, vget_low_s16(mn1), vget_low_s16(s1));
                summ = vaddvq_s32(vmlal_high_s16(m, mn1, s1));
            }
            const float dx = xd[r][b];
            acc[r] += (d * dx) * (float)sumi - (dmin * dx) * (float)summ;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// IQ4_XS: per 256, d * dx * sum_j (ls_j - 32) dot_j over the 8 sub-blocks of 32 (16 code bytes
/// each, low nibbles first), the weights being the table levels of the codes.
QN_FN void QN_NAME(iq4xs)(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, float *out) {
    LFM_QT_ROWS(x, t, R)
    (void)xs;
    const size_t nb = x->cols / 256;
    const int8x16_t levels = vld1q_s8(lfm_qt_iq4_values);
    const uint8x16_t mask = vdupq_n_u8(0xF);
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 136;
        const float d = qn_half(blk);
        const int16x8_t sc = qn_iq4xs_scales(blk);
        const int32x4_t sc0 = vmovl_s16(vget_low_s16(sc)), sc1 = vmovl_high_s16(sc);
        int8x16_t wv[8][2];
        for (int j = 0; j < 8; j++) {
            const uint8x16_t v = vld1q_u8(blk + 8 + 16 * j);
            wv[j][0] = vqtbl1q_s8(levels, vandq_u8(v, mask));
            wv[j][1] = vqtbl1q_s8(levels, vshrq_n_u8(v, 4));
        }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            int32x4_t p[8];
            for (int j = 0; j < 8; j++) p[j] = QN_NAME(dot32)(wv[j][0], wv[j][1], q + 32 * j);
            const int sumi = vaddvq_s32(vmlaq_s32(vmulq_s32(qn_sum4(p[0], p[1], p[2], p[3]), sc0),
                                                  qn_sum4(p[4], p[5], p[6], p[7]), sc1));
            acc[r] += (d * xd[r][b]) * (float)sumi;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

#define QN_DOT_Q8_0(w, x, t, R, o) QN_NAME(small)(x, t, R, w, QT_Q8_0, o)
#define QN_DOT_Q4_0(w, x, t, R, o) QN_NAME(small)(x, t, R, w, QT_Q4_0, o)
#define QN_DOT_Q4_1(w, x, t, R, o) QN_NAME(small)(x, t, R, w, QT_Q4_1, o)
#define QN_DOT_Q5_0(w, x, t, R, o) QN_NAME(small)(x, t, R, w, QT_Q5_0, o)
#define QN_DOT_Q5_1(w, x, t, R, o) QN_NAME(small)(x, t, R, w, QT_Q5_1, o)
#define QN_DOT_IQ4_NL(w, x, t, R, o) QN_NAME(small)(x, t, R, w, QT_IQ4_NL, o)
#define QN_DOT_Q2_K(w, x, t, R, o) QN_NAME(k23)(x, t, R, w, 0, o)
#define QN_DOT_Q3_K(w, x, t, R, o) QN_NAME(k23)(x, t, R, w, 1, o)
#define QN_DOT_Q4_K(w, x, t, R, o) QN_NAME(k45)(x, t, R, w, 0, o)
#define QN_DOT_Q5_K(w, x, t, R, o) QN_NAME(k45)(x, t, R, w, 1, o)
#define QN_DOT_Q6_K(w, x, t, R, o) QN_NAME(q6k)(x, t, R, w, o)
#define QN_DOT_IQ4_XS(w, x, t, R, o) QN_NAME(iq4xs)(x, t, R, w, o)

LFM_DEFINE_QLOOP(QN_NAME(loop_q8_0), QN_ATTR, QN_DOT_Q8_0, QT_Q8_0)
LFM_DEFINE_QLOOP(QN_NAME(loop_q4_0), QN_ATTR, QN_DOT_Q4_0, QT_Q4_0)
LFM_DEFINE_QLOOP(QN_NAME(loop_q4_1), QN_ATTR, QN_DOT_Q4_1, QT_Q4_1)
LFM_DEFINE_QLOOP(QN_NAME(loop_q5_0), QN_ATTR, QN_DOT_Q5_0, QT_Q5_0)
LFM_DEFINE_QLOOP(QN_NAME(loop_q5_1), QN_ATTR, QN_DOT_Q5_1, QT_Q5_1)
LFM_DEFINE_QLOOP(QN_NAME(loop_iq4_nl), QN_ATTR, QN_DOT_IQ4_NL, QT_IQ4_NL)
LFM_DEFINE_QLOOP(QN_NAME(loop_q2_k), QN_ATTR, QN_DOT_Q2_K, QT_Q2_K)
LFM_DEFINE_QLOOP(QN_NAME(loop_q3_k), QN_ATTR, QN_DOT_Q3_K, QT_Q3_K)
LFM_DEFINE_QLOOP(QN_NAME(loop_q4_k), QN_ATTR, QN_DOT_Q4_K, QT_Q4_K)
LFM_DEFINE_QLOOP(QN_NAME(loop_q5_k), QN_ATTR, QN_DOT_Q5_K, QT_Q5_K)
LFM_DEFINE_QLOOP(QN_NAME(loop_q6_k), QN_ATTR, QN_DOT_Q6_K, QT_Q6_K)
LFM_DEFINE_QLOOP(QN_NAME(loop_iq4_xs), QN_ATTR, QN_DOT_IQ4_XS, QT_IQ4_XS)

/// The row kernel of `type` (NULL for a type without one here).
typedef void (*QN_NAME(loop_fn))(const uint8_t *, size_t, size_t, const LFMQuantActivations *, size_t, float *, size_t);
QN_ATTR static QN_NAME(loop_fn) QN_NAME(loop_for)(int type) {
    switch (type) {
    case QT_Q8_0: return QN_NAME(loop_q8_0);
    case QT_Q4_0: return QN_NAME(loop_q4_0);
    case QT_Q4_1: return QN_NAME(loop_q4_1);
    case QT_Q5_0: return QN_NAME(loop_q5_0);
    case QT_Q5_1: return QN_NAME(loop_q5_1);
    case QT_IQ4_NL: return QN_NAME(loop_iq4_nl);
    case QT_Q2_K: return QN_NAME(loop_q2_k);
    case QT_Q3_K: return QN_NAME(loop_q3_k);
    case QT_Q4_K: return QN_NAME(loop_q4_k);
    case QT_Q5_K: return QN_NAME(loop_q5_k);
    case QT_Q6_K: return QN_NAME(loop_q6_k);
    case QT_IQ4_XS: return QN_NAME(loop_iq4_xs);
    default: return NULL;
    }
}

#undef QN_DOT_Q8_0
#undef QN_DOT_Q4_0
#undef QN_DOT_Q4_1
#undef QN_DOT_Q5_0
#undef QN_DOT_Q5_1
#undef QN_DOT_IQ4_NL
#undef QN_DOT_Q2_K
#undef QN_DOT_Q3_K
#undef QN_DOT_Q4_K
#undef QN_DOT_Q5_K
#undef QN_DOT_Q6_K
#undef QN_DOT_IQ4_XS
#undef QN_FN
