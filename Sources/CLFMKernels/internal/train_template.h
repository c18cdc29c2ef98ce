// Training kernels (see include/CLFMKernelsTraining.h), written once with clang vector
// extensions and plain loops, compiled once per ISA. The including file defines LFM_TR_SUFFIX
// and LFM_TR_VW (vector lanes) inside a `#pragma clang attribute` that sets the target features.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TR_CAT2(a, b) a##_##b
#define TR_CAT(a, b) TR_CAT2(a, b)
#define TFN(name) TR_CAT(name, LFM_TR_SUFFIX)
#define LFM_VW LFM_TR_VW
#include "vec_basics.h"
typedef double tvd __attribute__((ext_vector_type(LFM_TR_VW)));
VI float vexp1(float x) { return vexp(vsplat(x))[0]; }

// y += a · x
VI void taxpy(float *restrict y, float a, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

void TFN(lfm_tr_add)(float *restrict dst, const float *restrict src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void TFN(lfm_tr_sum)(const float *a, const float *b, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = a[i] + b[i];
}

void TFN(lfm_tr_scale)(float *x, float s, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

double TFN(lfm_tr_sumsq)(const float *x, size_t n) {
    tvd acc = 0;
    size_t i = 0;
    for (; i + LFM_TR_VW <= n; i += LFM_TR_VW) {
        tvd v = __builtin_convertvector(vload(x + i), tvd);
        acc += v * v;
    }
    double s = 0;
    for (int l = 0; l < LFM_TR_VW; l++) s += acc[l];
    for (; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

void TFN(lfm_tr_transpose)(const float *src, size_t rows, size_t cols, size_t r0, size_t r1, float *dst) {
    const size_t B = 16;
    for (size_t rb = r0; rb < r1; rb += B) {
        size_t re = rb + B < r1 ? rb + B : r1;
        for (size_t cb = 0; cb < cols; cb += B) {
            size_t ce = cb + B < cols ? cb + B : cols;
            for (size_t c = cb; c < ce; c++)
                for (size_t r = rb; r < re; r++) dst[c * rows + r] = src[r * cols + c];
        }
    }
}

void TFN(lfm_tr_rmsnorm_fwd)(const float *x, const float *g, size_t dim, size_t r0, size_t r1, float eps,
                             float *y, float *inv) {
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        float s = dotf(xr, xr, dim);
        float iv = 1.0f / sqrtf(s / (float)dim + eps);
        inv[r] = iv;
        for (size_t i = 0; i < dim; i++) yr[i] = g[i] * (xr[i] * iv);
    }
}

void TFN(lfm_tr_rmsnorm_bwd)(const float *x, const float *g, const float *inv, const float *dy, size_t dim,
                             size_t r0, size_t r1, float *dx, int accumulate, float *dg) {
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * dim, *dyr = dy + r * dim;
        float iv = inv[r];
        if (dg)
            for (size_t i = 0; i < dim; i++) dg[i] += dyr[i] * xr[i] * iv;
        if (!dx) continue;
        vf acc = vsplat(0);
        size_t i = 0;
        for (; i + LFM_TR_VW <= dim; i += LFM_TR_VW) acc += vload(dyr + i) * vload(g + i) * vload(xr + i);
        float dot = vsum(acc);
        for (; i < dim; i++) dot += dyr[i] * g[i] * xr[i];
        float coefficient = iv * iv * iv * dot / (float)dim;
        float *dxr = dx + r * dim;
        if (accumulate)
            for (size_t j = 0; j < dim; j++) dxr[j] += iv * g[j] * dyr[j] - coefficient * xr[j];
        else
            for (size_t j = 0; j < dim; j++) dxr[j] = iv * g[j] * dyr[j] - coefficient * xr[j];
    }
}

void TFN(lfm_tr_silu_mul_fwd)(const float *gate, const float *up, float *out, size_t n) {
    size_t i = 0;
    for (; i + LFM_TR_VW <= n; i += LFM_TR_VW) {
        vf g = vload(gate + i);
        vstore(out + i, g / (1.0f + vexp(-g)) * vload(up + i));
    }
    for (; i < n; i++) out[i] = gate[i] / (1.0f + vexp1(-gate[i])) * up[i];
}

void TFN(lfm_tr_silu_mul_bwd)(const float *gate, const float *up, const float *dy, size_t n, float *dgate,
                              float *dup, int accumulate) {
    size_t i = 0;
    for (; i + LFM_TR_VW <= n; i += LFM_TR_VW) {
        vf g = vload(gate + i), u = vload(up + i), d = vload(dy + i);
        vf s = 1.0f / (1.0f + vexp(-g));
        if (dgate) {
            vf v = d * u * s * (1.0f + g * (1.0f - s));
            vstore(dgate + i, accumulate ? vload(dgate + i) + v : v);
        }
        if (dup) {
            vf v = d * g * s;
            vstore(dup + i, accumulate ? vload(dup + i) + v : v);
        }
    }
    for (; i < n; i++) {
        float g = gate[i], s = 1.0f / (1.0f + vexp1(-g));
        if (dgate) {
            float v = dy[i] * up[i] * s * (1.0f + g * (1.0f - s));
            dgate[i] = accumulate ? dgate[i] + v : v;
        }
        if (dup) {
            float v = dy[i] * g * s;
            dup[i] = accumulate ? dup[i] + v : v;
        }
    }
}

void TFN(lfm_tr_gated_conv_fwd)(const float *bcx, size_t rows, size_t seqLen, size_t h, size_t kernel,
                                const float *w, size_t c0, size_t c1, float *bx, float *u, float *y) {
    size_t width = 3 * h, nc = c1 - c0;
    float *taps = malloc(sizeof(float) * kernel * (nc ? nc : 1)); // taps[j * nc + c]
    for (size_t c = 0; c < nc; c++)
        for (size_t j = 0; j < kernel; j++) taps[j * nc + c] = w[(c0 + c) * kernel + j];
    for (size_t t = 0; t < rows; t++) {
        const float *b = bcx + t * width + c0, *x = b + 2 * h;
        float *bxr = bx + t * h + c0;
        for (size_t c = 0; c < nc; c++) bxr[c] = b[c] * x[c];
    }
    for (size_t t = 0; t < rows; t++) {
        size_t pos = t % seqLen;
        float *ur = u + t * h + c0;
        for (size_t c = 0; c < nc; c++) ur[c] = 0;
        for (size_t j = 0; j < kernel; j++) {
            if (pos + j < kernel - 1) continue;
            const float *src = bx + (t + j - (kernel - 1)) * h + c0, *tp = taps + j * nc;
            for (size_t c = 0; c < nc; c++) ur[c] += tp[c] * src[c];
        }
        const float *cg = bcx + t * width + h + c0;
        float *yr = y + t * h + c0;
        for (size_t c = 0; c < nc; c++) yr[c] = cg[c] * ur[c];
    }
    free(taps);
}

void TFN(lfm_tr_gated_conv_bwd)(const float *bcx, const float *bx, const float *u, const float *dy,
                                size_t rows, size_t seqLen, size_t h, size_t kernel, const float *w,
                                size_t c0, size_t c1, float *dbcx, int accumulate, float *dw) {
    size_t width = 3 * h, nc = c1 - c0;
    float *taps = malloc(sizeof(float) * (2 * kernel * (nc ? nc : 1) + (nc ? nc : 1)));
    float *dtaps = taps + kernel * nc, *dbx = dtaps + kernel * nc;
    for (size_t c = 0; c < nc; c++)
        for (size_t j = 0; j < kernel; j++) {
            taps[j * nc + c] = w[(c0 + c) * kernel + j];
            dtaps[j * nc + c] = 0;
        }
    for (size_t t = 0; t < rows; t++) {
        size_t pos = t % seqLen;
        const float *row = bcx + t * width;
        const float *b = row + c0, *x = row + 2 * h + c0;
        const float *dyr = dy + t * h + c0, *ur = u + t * h + c0;
        float *db = dbcx + t * width + c0, *dc = db + h, *dx = db + 2 * h;
        // dC = dy · u;  du[t] = dy · C feeds the taps: dbx[t] = Σ_j w[j] du[t + (kernel−1) − j].
        for (size_t c = 0; c < nc; c++) dbx[c] = 0;
        for (size_t j = 0; j < kernel; j++) {
            size_t ahead = kernel - 1 - j; // the output row that reads bx[t] through tap j
            if (pos + ahead >= seqLen) continue;
            const float *dyo = dy + (t + ahead) * h + c0, *co = bcx + (t + ahead) * width + h + c0;
            const float *tp = taps + j * nc;
            float *dtp = dtaps + j * nc;
            const float *bxr = bx + t * h + c0;
            for (size_t c = 0; c < nc; c++) {
                float d = dyo[c] * co[c];
                dbx[c] += tp[c] * d;
                dtp[c] += bxr[c] * d;
            }
        }
        if (accumulate) {
            for (size_t c = 0; c < nc; c++) {
                dc[c] += dyr[c] * ur[c];
                db[c] += dbx[c] * x[c];
                dx[c] += dbx[c] * b[c];
            }
        } else {
            for (size_t c = 0; c < nc; c++) {
                dc[c] = dyr[c] * ur[c];
                db[c] = dbx[c] * x[c];
                dx[c] = dbx[c] * b[c];
            }
        }
    }
    for (size_t c = 0; c < nc; c++)
        for (size_t j = 0; j < kernel; j++) dw[(c0 + c) * kernel + j] += dtaps[j * nc + c];
    free(taps);
}

void TFN(lfm_tr_rope)(float *x, size_t heads, size_t headDim, size_t seqLen, const float *cs, const float *sn,
                      float direction, size_t r0, size_t r1) {
    size_t half = headDim / 2;
    for (size_t r = r0; r < r1; r++) {
        size_t pos = r % seqLen;
        const float *c = cs + pos * half, *s = sn + pos * half;
        for (size_t hd = 0; hd < heads; hd++) {
            float *a = x + r * heads * headDim + hd * headDim, *b = a + half;
            for (size_t j = 0; j < half; j++) {
                float av = a[j], bv = b[j], sj = direction * s[j];
                a[j] = av * c[j] - bv * sj;
                b[j] = bv * c[j] + av * sj;
            }
        }
    }
}

// Causal attention of the training ops. Each (sequence, head) item runs in blocks of TR_AT query
// rows: the scores of a block against every key it sees are a small product with the keys stored
// transposed (TR_AT x VW accumulators, no horizontal sums), and the weighted sums of value rows
// keep TR_AT x TR_AC vectors of the output in registers over all keys. The backward does the same
// for dP = dY·Vᵀ and dQ = dS·K per block of query rows, then for dK = dSᵀ·Q and dV = Pᵀ·dY per
// block of keys. The caller's scratch holds the transposed head, a block's scores and (backward)
// one head's dS, rows TR_LD(seqLen) apart (lfm_tr_attention_scratch_floats).

/// Query rows (or keys) per register tile of the attention kernels, and vectors of the output row
/// per tile: 4 x 4 accumulators with 32 registers (AVX-512), 4 x 2 with 16 (AVX2, SSE).
#define TR_AT 4
#define TR_AC (LFM_TR_VW >= 16 ? 4 : 2)
/// Row length of the attention scratch: seqLen rounded up to whole vectors of every ISA (4, 8, 16).
#define TR_LD(seqLen) (((seqLen) + 15) / 16 * 16)

/// dst[e · ld + j] = src[j · stride + e] for j < rows, e < d; columns rows ..< ld zero.
static void TFN(tr_transpose_head)(const float *src, size_t stride, size_t rows, size_t d, size_t ld, float *dst) {
    for (size_t e = 0; e < d; e++) {
        float *o = dst + e * ld;
        for (size_t j = 0; j < rows; j++) o[j] = src[j * stride + e];
        for (size_t j = rows; j < ld; j++) o[j] = 0;
    }
}

/// out[r · ld + j] = Σ_e a[r' · as + e] · bt[e · ld + j] for r < TR_AT (r' = min(r, rows − 1)) and
/// j < jEnd rounded up to the vector width (bt has ld >= that columns).
VI void tr_scores(const float *a, size_t as, size_t rows, const float *bt, size_t ld, size_t d, size_t jEnd,
                  float *out) {
    const float *ar[TR_AT];
    for (size_t r = 0; r < TR_AT; r++) ar[r] = a + (r < rows ? r : rows - 1) * as;
    for (size_t j0 = 0; j0 < jEnd; j0 += LFM_TR_VW) {
        vf acc[TR_AT];
        for (int r = 0; r < TR_AT; r++) acc[r] = vsplat(0);
        for (size_t e = 0; e < d; e++) {
            const vf b = vload(bt + e * ld + j0);
            for (int r = 0; r < TR_AT; r++) acc[r] += vsplat(ar[r][e]) * b;
        }
        for (int r = 0; r < TR_AT; r++) vstore(out + r * ld + j0, acc[r]);
    }
}

/// o[r · os + e] (+)= Σ_{j0 <= j < j1} w[r · wr + j · wj] · x[j · xs + e] for r < rows, e < d: the
/// weights of output row r are row r of a matrix (wj = 1) or its column r (wr = 1).
VI void tr_weighted_sum(const float *w, size_t wr, size_t wj, size_t rows, const float *x, size_t xs, size_t j0,
                        size_t j1, size_t d, float *o, size_t os, int add) {
    const float *wp[TR_AT];
    for (size_t r = 0; r < TR_AT; r++) wp[r] = w + (r < rows ? r : rows - 1) * wr;
    size_t e0 = 0;
    for (; e0 + TR_AC * LFM_TR_VW <= d; e0 += TR_AC * LFM_TR_VW) {
        vf acc[TR_AT][TR_AC];
        for (int r = 0; r < TR_AT; r++)
            for (int c = 0; c < TR_AC; c++) acc[r][c] = vsplat(0);
        for (size_t j = j0; j < j1; j++) {
            const float *xj = x + j * xs + e0;
            vf xv[TR_AC];
            for (int c = 0; c < TR_AC; c++) xv[c] = vload(xj + c * LFM_TR_VW);
            for (int r = 0; r < TR_AT; r++) {
                const vf wv = vsplat(wp[r][j * wj]);
                for (int c = 0; c < TR_AC; c++) acc[r][c] += wv * xv[c];
            }
        }
        for (size_t r = 0; r < rows; r++)
            for (int c = 0; c < TR_AC; c++) {
                float *oc = o + r * os + e0 + (size_t)c * LFM_TR_VW;
                vstore(oc, add ? vload(oc) + acc[r][c] : acc[r][c]);
            }
    }
    for (; e0 + LFM_TR_VW <= d; e0 += LFM_TR_VW) {
        vf acc[TR_AT];
        for (int r = 0; r < TR_AT; r++) acc[r] = vsplat(0);
        for (size_t j = j0; j < j1; j++) {
            const vf xv = vload(x + j * xs + e0);
            for (int r = 0; r < TR_AT; r++) acc[r] += vsplat(wp[r][j * wj]) * xv;
        }
        for (size_t r = 0; r < rows; r++) {
            float *oc = o + r * os + e0;
            vstore(oc, add ? vload(oc) + acc[r] : acc[r]);
        }
    }
    for (; e0 < d; e0++)
        for (size_t r = 0; r < rows; r++) {
            float sum = 0;
            for (size_t j = j0; j < j1; j++) sum += wp[r][j * wj] * x[j * xs + e0];
            o[r * os + e0] = add ? o[r * os + e0] + sum : sum;
        }
}

void TFN(lfm_tr_attention_fwd)(const float *q, const float *k, const float *v, size_t seqLen, size_t heads,
                               size_t kvHeads, size_t d, float scale, size_t item0, size_t item1, float *p,
                               float *out, float *scratch) {
    const size_t group = heads / kvHeads, qw = heads * d, kw = kvHeads * d, ld = TR_LD(seqLen);
    float *kt = scratch, *sc = kt + d * ld; // the keys transposed; scores of one block of query rows
    size_t transposed = (size_t)-1; // the key/value item whose keys kt holds
    for (size_t item = item0; item < item1; item++) {
        const size_t seq = item / heads, hd = item % heads, kh = hd / group;
        const float *qs = q + seq * seqLen * qw + hd * d;
        const float *ks = k + seq * seqLen * kw + kh * d, *vs = v + seq * seqLen * kw + kh * d;
        float *os = out + seq * seqLen * qw + hd * d;
        float *ps = p + item * seqLen * seqLen;
        if (transposed != seq * kvHeads + kh) {
            TFN(tr_transpose_head)(ks, kw, seqLen, d, ld, kt);
            transposed = seq * kvHeads + kh;
        }
        for (size_t i0 = 0; i0 < seqLen; i0 += TR_AT) {
            const size_t rows = seqLen - i0 < TR_AT ? seqLen - i0 : TR_AT, jEnd = i0 + rows;
            tr_scores(qs + i0 * qw, qw, rows, kt, ld, d, jEnd, sc);
            for (size_t r = 0; r < rows; r++) {
                const size_t i = i0 + r;
                const float *s = sc + r * ld;
                float *pr = ps + i * seqLen;
                float maximum = -INFINITY;
                for (size_t j = 0; j <= i; j++) {
                    pr[j] = s[j] * scale;
                    maximum = pr[j] > maximum ? pr[j] : maximum;
                }
                vf total = vsplat(0);
                size_t j = 0;
                for (; j + LFM_TR_VW <= i + 1; j += LFM_TR_VW) {
                    vf e = vexp(vload(pr + j) - maximum);
                    vstore(pr + j, e);
                    total += e;
                }
                float sum = vsum(total);
                for (; j <= i; j++) {
                    float e = vexp1(pr[j] - maximum);
                    pr[j] = e;
                    sum += e;
                }
                const float invSum = 1.0f / sum;
                for (j = 0; j <= i; j++) pr[j] *= invSum;
                for (j = i + 1; j < seqLen; j++) pr[j] = 0;
            }
            // out_i = Σ_{j <= i} p_ij v_j (p_ij = 0 past i).
            tr_weighted_sum(ps + i0 * seqLen, seqLen, 1, rows, vs, kw, 0, jEnd, d, os + i0 * qw, qw, 0);
        }
    }
}

void TFN(lfm_tr_attention_bwd)(const float *q, const float *k, const float *v, const float *p,
                               const float *dy, size_t seqLen, size_t heads, size_t kvHeads, size_t d,
                               float scale, size_t kv0, size_t kv1, float *dq, float *dk, float *dv,
                               float *scratch) {
    const size_t group = heads / kvHeads, qw = heads * d, kw = kvHeads * d, ld = TR_LD(seqLen);
    // vt: the item's values transposed; dps: dP of one block of query rows; ds: dS of one head.
    float *vt = scratch, *dps = vt + d * ld, *ds = dps + TR_AT * ld;
    for (size_t item = kv0; item < kv1; item++) {
        const size_t seq = item / kvHeads, kh = item % kvHeads;
        const float *ks = k + seq * seqLen * kw + kh * d, *vs = v + seq * seqLen * kw + kh * d;
        float *dks = dk + seq * seqLen * kw + kh * d, *dvs = dv + seq * seqLen * kw + kh * d;
        for (size_t j = 0; j < seqLen; j++)
            for (size_t e = 0; e < d; e++) dks[j * kw + e] = dvs[j * kw + e] = 0;
        TFN(tr_transpose_head)(vs, kw, seqLen, d, ld, vt);
        for (size_t hd = kh * group; hd < (kh + 1) * group; hd++) {
            const float *qs = q + seq * seqLen * qw + hd * d, *dys = dy + seq * seqLen * qw + hd * d;
            float *dqs = dq + seq * seqLen * qw + hd * d;
            const float *ps = p + (seq * heads + hd) * seqLen * seqLen;
            // Blocks of query rows: dP = dY·Vᵀ, dS = P ⊙ (dP − Σ_j P dP) · scale, dQ = dS·K.
            for (size_t i0 = 0; i0 < seqLen; i0 += TR_AT) {
                const size_t rows = seqLen - i0 < TR_AT ? seqLen - i0 : TR_AT, jEnd = i0 + rows;
                tr_scores(dys + i0 * qw, qw, rows, vt, ld, d, jEnd, dps);
                for (size_t r = 0; r < rows; r++) {
                    const size_t i = i0 + r;
                    const float *pr = ps + i * seqLen, *dpr = dps + r * ld;
                    float *dsr = ds + i * ld;
                    float weighted = 0;
                    for (size_t j = 0; j <= i; j++) weighted += dpr[j] * pr[j];
                    for (size_t j = 0; j <= i; j++) dsr[j] = pr[j] * (dpr[j] - weighted) * scale;
                    // Zeros past the diagonal: the rows of this block read up to i0 + rows − 1, the
                    // key blocks below up to TR_AT − 1 past a row's own position.
                    for (size_t j = i + 1; j < ld && j <= i + TR_AT; j++) dsr[j] = 0;
                }
                tr_weighted_sum(ds + i0 * ld, ld, 1, rows, ks, kw, 0, jEnd, d, dqs + i0 * qw, qw, 0);
            }
            // Blocks of keys: dK_j += Σ_{i >= j} dS_ij q_i, dV_j += Σ_{i >= j} P_ij dy_i.
            for (size_t j0 = 0; j0 < seqLen; j0 += TR_AT) {
                const size_t keys = seqLen - j0 < TR_AT ? seqLen - j0 : TR_AT;
                tr_weighted_sum(ds + j0, 1, ld, keys, qs, qw, j0, seqLen, d, dks + j0 * kw, kw, 1);
                tr_weighted_sum(ps + j0, 1, seqLen, keys, dys, qw, j0, seqLen, d, dvs + j0 * kw, kw, 1);
            }
        }
    }
}

double TFN(lfm_tr_xent_fwd)(const float *logits, size_t vocab, const int64_t *targets, size_t r0, size_t r1,
                            float *lse) {
    double total = 0;
    for (size_t r = r0; r < r1; r++) {
        const float *row = logits + r * vocab;
        vf mv = vsplat(-INFINITY);
        size_t j = 0;
        for (; j + LFM_TR_VW <= vocab; j += LFM_TR_VW) mv = __builtin_elementwise_max(mv, vload(row + j));
        float maximum = vmax(mv);
        for (; j < vocab; j++) maximum = row[j] > maximum ? row[j] : maximum;
        vf acc = vsplat(0);
        for (j = 0; j + LFM_TR_VW <= vocab; j += LFM_TR_VW) acc += vexp(vload(row + j) - maximum);
        float sum = vsum(acc);
        for (; j < vocab; j++) sum += vexp1(row[j] - maximum);
        float l = maximum + logf(sum);
        lse[r] = l;
        if (targets[r] >= 0) total += (double)l - (double)row[targets[r]];
    }
    return total;
}

void TFN(lfm_tr_xent_bwd)(const float *logits, size_t vocab, const int64_t *targets, const float *lse,
                          float scale, size_t r0, size_t r1, float *dlogits) {
    for (size_t r = r0; r < r1; r++) {
        const float *row = logits + r * vocab;
        float *d = dlogits + r * vocab;
        if (targets[r] < 0) {
            memset(d, 0, sizeof(float) * vocab);
            continue;
        }
        float l = lse[r];
        size_t j = 0;
        for (; j + LFM_TR_VW <= vocab; j += LFM_TR_VW) vstore(d + j, vexp(vload(row + j) - l) * scale);
        for (; j < vocab; j++) d[j] = vexp1(row[j] - l) * scale;
        d[targets[r]] -= scale;
    }
}

void TFN(lfm_tr_adamw)(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                       float lr, float weightDecay, float beta1, float beta2, float eps, float stepSize,
                       float correction2Root) {
    float decay = 1 - lr * weightDecay, a1 = 1 - beta1, a2 = 1 - beta2;
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * decay, gi = g ? g[i] : 0;
        float mi = beta1 * m[i] + a1 * gi;
        float vi = beta2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - stepSize * mi / (sqrtf(vi) / correction2Root + eps);
    }
}

#ifndef LFM_TR_HAS_GEMM
// Generic product (the AVX-512 and AVX2 builds have their own kernels in train_gemm_avx512.c and
// train_gemm_avx2.c): the inner
// loop runs along B's rows, which the compiler vectorizes.
void TFN(lfm_tr_gemm)(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda,
                      const float *B, size_t ldb, float *C, size_t ldc, int accumulate) {
    for (size_t i = m0; i < m1; i++) {
        float *restrict c = C + i * ldc;
        if (!accumulate)
            for (size_t j = 0; j < n; j++) c[j] = 0;
        for (size_t p = 0; p < k; p++) {
            float a = transA ? A[p * lda + i] : A[i * lda + p];
            const float *restrict b = B + p * ldb;
            for (size_t j = 0; j < n; j++) c[j] += a * b[j];
        }
    }
}
#endif
