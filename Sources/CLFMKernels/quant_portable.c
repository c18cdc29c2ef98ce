// Portable C block-quantized matmul (any ISA): the integer dot products in plain scalar code.
// On ARM64 the portable entry point runs the NEON kernels of quant_neon.c instead.
#include "CLFMKernels.h"
#include "internal/quant_common.h"

#pragma clang fp contract(off)

#define QP_INLINE __attribute__((always_inline)) static inline

size_t lfm_qmatmul_block(int type) { return lfm_qt_block_elems(type); }

LFM_DEFINE_QUANTIZE_ACTIVATIONS(lfm_quantize_activations_portable, )

void lfm_regroup_rows(int type, const void *src, void *dst, size_t rows, size_t cols, int inverse) {
    const size_t bytes = type == QT_Q4_0 ? 18 : type == QT_Q8_0 ? 34 : 0;
    if (!bytes) return;
    const size_t nb = cols / 32, rb = nb * bytes;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *s = (const uint8_t *)src + r * rb;
        uint8_t *d = (uint8_t *)dst + r * rb;
        for (size_t b = 0; b < nb; b++) {
            const size_t scale = lfm_x8_scale_offset(bytes, b, nb), codes = lfm_x8_code_offset(bytes, b, nb);
            if (inverse) {
                memcpy(d + b * bytes, s + scale, 2);
                memcpy(d + b * bytes + 2, s + codes, bytes - 2);
            } else {
                memcpy(d + scale, s + b * bytes, 2);
                memcpy(d + codes, s + b * bytes + 2, bytes - 2);
            }
        }
    }
}

/// Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 / IQ4_NL: one block of 32 integer weights `wq` (offset already
/// applied for the symmetric types) with scale dw and min mw.
QP_INLINE void qp_small(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, int type, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 32, bytes = lfm_qt_block_bytes(type);
    float acc[4] = { 0, 0, 0, 0 };
    uint8_t copied[34];
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
        if (lfm_x8_block_bytes(type)) {
            lfm_x8_block(w, bytes, nb, b, copied);
            blk = copied;
        }
        int wq[32];
        float dw = lfm_qt_half(blk), mw = 0;
        switch (type) {
        case QT_Q8_0:
        case QT_Q8_0_X8:
            for (int j = 0; j < 32; j++) wq[j] = (int8_t)blk[2 + j];
            break;
        case QT_Q4_0:
        case QT_Q4_0_X8:
            for (int j = 0; j < 16; j++) { wq[j] = (blk[2 + j] & 0xF) - 8; wq[j + 16] = (blk[2 + j] >> 4) - 8; }
            break;
        case QT_IQ4_NL:
            for (int j = 0; j < 16; j++) {
                wq[j] = lfm_qt_iq4_values[blk[2 + j] & 0xF];
                wq[j + 16] = lfm_qt_iq4_values[blk[2 + j] >> 4];
            }
            break;
        case QT_Q4_1:
            mw = lfm_qt_half(blk + 2);
            for (int j = 0; j < 16; j++) { wq[j] = blk[4 + j] & 0xF; wq[j + 16] = blk[4 + j] >> 4; }
            break;
        case QT_Q5_0: {
            uint32_t qh = lfm_qt_u32(blk + 2);
            for (int j = 0; j < 16; j++) {
                wq[j] = (int)((blk[6 + j] & 0xF) | (((qh >> j) & 1) << 4)) - 16;
                wq[j + 16] = (int)((blk[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            }
            break;
        }
        default: { // Q5_1
            uint32_t qh = lfm_qt_u32(blk + 4);
            mw = lfm_qt_half(blk + 2);
            for (int j = 0; j < 16; j++) {
                wq[j] = (int)((blk[8 + j] & 0xF) | (((qh >> j) & 1) << 4));
                wq[j + 16] = (int)((blk[8 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            }
            break;
        }
        }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 32;
            int dot = 0;
            for (int j = 0; j < 32; j++) dot += wq[j] * q[j];
            const float dx = xd[r][b];
            acc[r] += (dw * dx) * (float)dot;
            if (mw != 0) acc[r] += (mw * dx) * (float)(xs[r][2 * b] + xs[r][2 * b + 1]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// Q4_K / Q5_K: per 256, d * dx * sum_j sc_j dot_j - dmin * dx * sum_j mn_j sum32_j.
QP_INLINE void qp_k45(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, int five, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 256, bytes = five ? 176 : 144;
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
        const float d = lfm_qt_half(blk), dmin = lfm_qt_half(blk + 2);
        uint8_t sc[8], mn[8];
        lfm_qt_scales_k4(blk + 4, sc, mn);
        const uint8_t *qh = blk + 16, *qs = blk + (five ? 48 : 16);
        uint8_t wq[256];
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) {
                uint8_t v = qs[32 * j + l];
                wq[64 * j + l] = (uint8_t)((v & 0xF) | (five ? ((qh[l] >> (2 * j)) & 1) << 4 : 0));
                wq[64 * j + 32 + l] = (uint8_t)((v >> 4) | (five ? ((qh[l] >> (2 * j + 1)) & 1) << 4 : 0));
            }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            const int16_t *s = xs[r] + b * 16;
            int sumi = 0, summ = 0;
            for (int j = 0; j < 8; j++) {
                int dot = 0;
                for (int l = 0; l < 32; l++) dot += wq[32 * j + l] * q[32 * j + l];
                sumi += sc[j] * dot;
                summ += mn[j] * (s[2 * j] + s[2 * j + 1]);
            }
            const float dx = xd[r][b];
            acc[r] += (d * dx) * (float)sumi - (dmin * dx) * (float)summ;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// Q6_K: per 256, d * dx * sum_j sc_j (dot_j - 32 sum16_j) over the 16 groups of 16.
QP_INLINE void qp_q6k(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 256;
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 210;
        const float d = lfm_qt_half(blk + 208);
        const int8_t *sc = (const int8_t *)(blk + 192);
        uint8_t wq[256];
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
            uint8_t *o = wq + 128 * h;
            for (int l = 0; l < 32; l++) {
                o[l] = (uint8_t)((ql[l] & 0xF) | ((qh[l] & 3) << 4));
                o[l + 32] = (uint8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
                o[l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                o[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
            }
        }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            const int16_t *s = xs[r] + b * 16;
            int sumi = 0;
            for (int j = 0; j < 16; j++) {
                int dot = 0;
                for (int l = 0; l < 16; l++) dot += wq[16 * j + l] * q[16 * j + l];
                sumi += sc[j] * (dot - 32 * s[j]);
            }
            acc[r] += (d * xd[r][b]) * (float)sumi;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// Q2_K / Q3_K: per 256, over the 16 sub-blocks of 16. Element 128 n + 32 j + l (l < 32) has its two
/// low bits at bits 2 j of code byte 32 n + l. Q2_K: d * dx * sum_u sc_u dot_u - dmin * dx * sum_u
/// mn_u sum16_u (sc_u, mn_u the nibbles of byte u); Q3_K: the third bit (bit 4 n + j of hmask byte
/// l) set means +4: d * dx * sum_u (sc_u - 32) (dot_u - 4 sum16_u), the codes taken as 0..7.
QP_INLINE void qp_k23(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, int three, float *out) {
    LFM_QT_ROWS(x, t, R)
    const size_t nb = x->cols / 256, bytes = three ? 110 : 84;
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * bytes;
        const uint8_t *qs = blk + (three ? 32 : 16);
        int sc[16], mn[16];
        float d, dmin = 0;
        if (three) {
            int8_t s3[16];
            lfm_qt_scales_q3k(blk + 96, s3);
            for (int u = 0; u < 16; u++) { sc[u] = s3[u]; mn[u] = 0; }
            d = lfm_qt_half(blk + 108);
        } else {
            for (int u = 0; u < 16; u++) { sc[u] = blk[u] & 0xF; mn[u] = blk[u] >> 4; }
            d = lfm_qt_half(blk + 80);
            dmin = lfm_qt_half(blk + 82);
        }
        uint8_t wq[256];
        for (int n = 0; n < 2; n++)
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 32; l++) {
                    int v = (qs[32 * n + l] >> (2 * j)) & 3;
                    if (three) v |= ((blk[l] >> (4 * n + j)) & 1) << 2;
                    wq[128 * n + 32 * j + l] = (uint8_t)v;
                }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            const int16_t *s = xs[r] + b * 16;
            int sumi = 0, summ = 0;
            for (int u = 0; u < 16; u++) {
                int dot = 0;
                for (int l = 0; l < 16; l++) dot += wq[16 * u + l] * q[16 * u + l];
                sumi += sc[u] * (three ? dot - 4 * s[u] : dot);
                summ += mn[u] * s[u];
            }
            const float dx = xd[r][b];
            acc[r] += (d * dx) * (float)sumi - (dmin * dx) * (float)summ;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

/// IQ4_XS: per 256, d * dx * sum_j (ls_j - 32) dot_j over the 8 sub-blocks of 32, the weights
/// being the table levels of the codes.
QP_INLINE void qp_iq4xs(const LFMQuantActivations *x, size_t t, int R, const uint8_t *w, float *out) {
    LFM_QT_ROWS(x, t, R)
    (void)xs;
    const size_t nb = x->cols / 256;
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 136;
        const float d = lfm_qt_half(blk);
        int wq[256], sc[8];
        for (int ib = 0; ib < 8; ib++) {
            sc[ib] = lfm_qt_iq4xs_scale(blk, ib);
            const uint8_t *qs = blk + 8 + 16 * ib;
            for (int j = 0; j < 16; j++) {
                wq[32 * ib + j] = lfm_qt_iq4_values[qs[j] & 0xF];
                wq[32 * ib + j + 16] = lfm_qt_iq4_values[qs[j] >> 4];
            }
        }
        for (int r = 0; r < R; r++) {
            const int8_t *q = xq[r] + b * 256;
            int sumi = 0;
            for (int ib = 0; ib < 8; ib++) {
                int dot = 0;
                for (int l = 0; l < 32; l++) dot += wq[32 * ib + l] * q[32 * ib + l];
                sumi += sc[ib] * dot;
            }
            acc[r] += (d * xd[r][b]) * (float)sumi;
        }
    }
    for (int r = 0; r < R; r++) out[r] = acc[r];
}

#define QP_DOT_Q8_0(w, x, t, R, o) qp_small(x, t, R, w, QT_Q8_0, o)
#define QP_DOT_Q4_0(w, x, t, R, o) qp_small(x, t, R, w, QT_Q4_0, o)
#define QP_DOT_Q4_0_X8(w, x, t, R, o) qp_small(x, t, R, w, QT_Q4_0_X8, o)
#define QP_DOT_Q8_0_X8(w, x, t, R, o) qp_small(x, t, R, w, QT_Q8_0_X8, o)
#define QP_DOT_Q4_1(w, x, t, R, o) qp_small(x, t, R, w, QT_Q4_1, o)
#define QP_DOT_Q5_0(w, x, t, R, o) qp_small(x, t, R, w, QT_Q5_0, o)
#define QP_DOT_Q5_1(w, x, t, R, o) qp_small(x, t, R, w, QT_Q5_1, o)
#define QP_DOT_Q2_K(w, x, t, R, o) qp_k23(x, t, R, w, 0, o)
#define QP_DOT_Q3_K(w, x, t, R, o) qp_k23(x, t, R, w, 1, o)
#define QP_DOT_Q4_K(w, x, t, R, o) qp_k45(x, t, R, w, 0, o)
#define QP_DOT_Q5_K(w, x, t, R, o) qp_k45(x, t, R, w, 1, o)
#define QP_DOT_Q6_K(w, x, t, R, o) qp_q6k(x, t, R, w, o)
#define QP_DOT_IQ4_NL(w, x, t, R, o) qp_small(x, t, R, w, QT_IQ4_NL, o)
#define QP_DOT_IQ4_XS(w, x, t, R, o) qp_iq4xs(x, t, R, w, o)

LFM_DEFINE_QLOOP(qp_loop_q8_0, , QP_DOT_Q8_0, QT_Q8_0)
LFM_DEFINE_QLOOP(qp_loop_q4_0, , QP_DOT_Q4_0, QT_Q4_0)
LFM_DEFINE_QLOOP(qp_loop_q4_0_x8, , QP_DOT_Q4_0_X8, QT_Q4_0_X8)
LFM_DEFINE_QLOOP(qp_loop_q8_0_x8, , QP_DOT_Q8_0_X8, QT_Q8_0_X8)
LFM_DEFINE_QLOOP(qp_loop_q4_1, , QP_DOT_Q4_1, QT_Q4_1)
LFM_DEFINE_QLOOP(qp_loop_q5_0, , QP_DOT_Q5_0, QT_Q5_0)
LFM_DEFINE_QLOOP(qp_loop_q5_1, , QP_DOT_Q5_1, QT_Q5_1)
LFM_DEFINE_QLOOP(qp_loop_q2_k, , QP_DOT_Q2_K, QT_Q2_K)
LFM_DEFINE_QLOOP(qp_loop_q3_k, , QP_DOT_Q3_K, QT_Q3_K)
LFM_DEFINE_QLOOP(qp_loop_q4_k, , QP_DOT_Q4_K, QT_Q4_K)
LFM_DEFINE_QLOOP(qp_loop_q5_k, , QP_DOT_Q5_K, QT_Q5_K)
LFM_DEFINE_QLOOP(qp_loop_q6_k, , QP_DOT_Q6_K, QT_Q6_K)
LFM_DEFINE_QLOOP(qp_loop_iq4_nl, , QP_DOT_IQ4_NL, QT_IQ4_NL)
LFM_DEFINE_QLOOP(qp_loop_iq4_xs, , QP_DOT_IQ4_XS, QT_IQ4_XS)

#if defined(__aarch64__)
/// Whether SDOT may be used: 0 unknown, 1 no, 2 yes (asked once; the answer never changes).
static int qp_dotprod_state = 0;
#endif

void lfm_qmatmul_portable(int type, const void *w, size_t n0, size_t n1,
                          const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
#if defined(__aarch64__)
    int state = __atomic_load_n(&qp_dotprod_state, __ATOMIC_RELAXED);
    if (state == 0) {
        state = (lfm_cpu_features() & LFM_CPU_DOTPROD) ? 2 : 1;
        __atomic_store_n(&qp_dotprod_state, state, __ATOMIC_RELAXED);
    }
    if (state == 2)
        lfm_qmatmul_neon_dotprod(type, w, n0, n1, x, m, y, yStride);
    else
        lfm_qmatmul_neon(type, w, n0, n1, x, m, y, yStride);
#else
    lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride);
#endif
}

void lfm_qmatmul_plain(int type, const void *w, size_t n0, size_t n1,
                       const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    const uint8_t *wb = (const uint8_t *)w;
    switch (type) {
    case QT_Q8_0: qp_loop_q8_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_0: qp_loop_q4_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_0_X8: qp_loop_q4_0_x8(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q8_0_X8: qp_loop_q8_0_x8(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_1: qp_loop_q4_1(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_0: qp_loop_q5_0(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_1: qp_loop_q5_1(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q2_K: qp_loop_q2_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q3_K: qp_loop_q3_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q4_K: qp_loop_q4_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q5_K: qp_loop_q5_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_Q6_K: qp_loop_q6_k(wb, n0, n1, x, m, y, yStride); break;
    case QT_IQ4_NL: qp_loop_iq4_nl(wb, n0, n1, x, m, y, yStride); break;
    case QT_IQ4_XS: qp_loop_iq4_xs(wb, n0, n1, x, m, y, yStride); break;
    default: break;
    }
}
