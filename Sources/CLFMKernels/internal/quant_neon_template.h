// NEON block-quantized row kernels, instantiated twice by quant_neon.c: once with widening
// multiplies (any ARMv8-A CPU) and once with SDOT (the dot-product extension). The including
// file defines QN_NAME(x) (a suffixed name), QN_ATTR (function attributes) and
// QN_DOT16(acc, a, b): acc (int32x4_t) plus the products of the 16 int8 lanes of a and b,
// summed in any grouping. Every kernel computes the integer dot products of quant_portable.c
// and scales them in the same order, so the results equal lfm_qmatmul_plain's.

#define QN_FN QN_ATTR static inline __attribute__((always_inline))

/// Sum of the products of 16 int8 lanes.
QN_FN int QN_NAME(dot16)(int8x16_t a, const int8_t *b) {
    return vaddvq_s32(QN_DOT16(vdupq_n_s32(0), a, vld1q_s8(b)));
}

/// Sum of the products of 32 int8 lanes (a0 = lanes 0 ..< 16, a1 = lanes 16 ..< 32).
QN_FN int QN_NAME(dot32)(int8x16_t a0, int8x16_t a1, const int8_t *b) {
    int32x4_t s = QN_DOT16(vdupq_n_s32(0), a0, vld1q_s8(b));
    s = QN_DOT16(s, a1, vld1q_s8(b + 16));
    return vaddvq_s32(s);
}

/// Q8_0 (one block: f16 d, 32 int8) and Q4_0 (f16 d, 16 bytes of nibbles, weights q - 8).
QN_FN void QN_NAME(small)(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, int four, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 32, bytes = four ? 18 : 34;
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
        const float dw = qn_half(blk);
        int8x16_t w0, w1;
        if (four) {
            const uint8x16_t v = vld1q_u8(blk + 2);
            const int8x16_t eight = vdupq_n_s8(8);
            w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0xF))), eight);
            w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), eight);
        } else {
            w0 = vld1q_s8((const int8_t *)blk + 2);
            w1 = vld1q_s8((const int8_t *)blk + 18);
        }
        for (int r = 0; r < R; r++) {
            const int dot = QN_NAME(dot32)(w0, w1, xq[r] + b * 32);
            acc[r] += (dw * xd[r][b]) * (float)dot;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// Q4_K: per 256, d * dx * sum_j sc_j dot_j - dmin * dx * sum_j mn_j sum32_j.
QN_FN void QN_NAME(q4k)(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 256;
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 144;
        const float d = qn_half(blk), dmin = qn_half(blk + 2);
        uint8_t sc[8], mn[8];
        lfm_qt_scales_k4(blk + 4, sc, mn);
        // Sub-block 2j holds the low nibbles of bytes 32j ..< 32j + 32, sub-block 2j + 1 the high.
        int8x16_t wv[8][2];
        for (int j = 0; j < 4; j++) {
            const uint8x16_t v0 = vld1q_u8(blk + 16 + 32 * j), v1 = vld1q_u8(blk + 16 + 32 * j + 16);
            const uint8x16_t mask = vdupq_n_u8(0xF);
            wv[2 * j][0] = vreinterpretq_s8_u8(vandq_u8(v0, mask));
            wv[2 * j][1] = vreinterpretq_s8_u8(vandq_u8(v1, mask));
            wv[2 * j + 1][0] = vreinterpretq_s8_u8(vshrq_n_u8(v0, 4));
            wv[2 * j + 1][1] = vreinterpretq_s8_u8(vshrq_n_u8(v1, 4));
        }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            const int16_t *s = xs[r] + b * 16;
            int sumi = 0, summ = 0;
            for (int j = 0; j < 8; j++) {
                sumi += sc[j] * QN_NAME(dot32)(wv[j][0], wv[j][1], q + 32 * j);
                summ += mn[j] * (s[2 * j] + s[2 * j + 1]);
            }
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
            for (int j = 0; j < 16; j++) sumi += sc[j] * (QN_NAME(dot16)(wv[j], q + 16 * j) - 32 * s[j]);
            acc[r] += (d * xd[r][b]) * (float)sumi;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

#define QN_DOT_Q8_0(w, x, t, R, o) QN_NAME(small)(x, t, R, w, 0, o)
#define QN_DOT_Q4_0(w, x, t, R, o) QN_NAME(small)(x, t, R, w, 1, o)
#define QN_DOT_Q4_K(w, x, t, R, o) QN_NAME(q4k)(x, t, R, w, o)
#define QN_DOT_Q6_K(w, x, t, R, o) QN_NAME(q6k)(x, t, R, w, o)

LFM_DEFINE_QLOOP(QN_NAME(loop_q8_0), QN_ATTR, QN_DOT_Q8_0, QT_Q8_0)
LFM_DEFINE_QLOOP(QN_NAME(loop_q4_0), QN_ATTR, QN_DOT_Q4_0, QT_Q4_0)
LFM_DEFINE_QLOOP(QN_NAME(loop_q4_k), QN_ATTR, QN_DOT_Q4_K, QT_Q4_K)
LFM_DEFINE_QLOOP(QN_NAME(loop_q6_k), QN_ATTR, QN_DOT_Q6_K, QT_Q6_K)

#undef QN_DOT_Q8_0
#undef QN_DOT_Q4_0
#undef QN_DOT_Q4_K
#undef QN_DOT_Q6_K
#undef QN_FN
