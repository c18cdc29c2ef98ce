// Row operations, written once with clang vector extensions and compiled once per ISA.
// The including file defines LFM_OPS_SUFFIX (avx512, avx2, portable) and LFM_VW (vector lanes)
// and wraps the include in a `#pragma clang attribute` that sets the target features.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LFM_CAT2(a, b) a##_##b
#define LFM_CAT(a, b) LFM_CAT2(a, b)
#define FN(name) LFM_CAT(name, LFM_OPS_SUFFIX)

#include "vec_basics.h"

void FN(lfm_rmsnorm)(const float *x, size_t xStride, const float *weight, size_t dim, size_t rows,
                     float eps, float *out, size_t outStride) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * xStride;
        float *o = out + r * outStride;
        float inv = 1.0f / sqrtf(dotf(xr, xr, dim) / (float)dim + eps);
        size_t i = 0;
        for (; i + LFM_VW <= dim; i += LFM_VW) vstore(o + i, vload(weight + i) * (vload(xr + i) * inv));
        for (; i < dim; i++) o[i] = weight[i] * (xr[i] * inv);
    }
}

void FN(lfm_rope_neox)(float *x, size_t xStride, size_t rows, size_t heads, size_t headDim,
                       long startPosition, const float *inverseFrequencies) {
    size_t half = headDim / 2;
    if (half == 0) return;
    float *cs = malloc(2 * half * sizeof(float));
    if (!cs) abort();
    float *sn = cs + half;
    for (size_t r = 0; r < rows; r++) {
        float position = (float)(startPosition + (long)r);
        for (size_t j = 0; j < half; j++) {
            float angle = position * inverseFrequencies[j];
            cs[j] = cosf(angle);
            sn[j] = sinf(angle);
        }
        for (size_t h = 0; h < heads; h++) {
            float *a = x + r * xStride + h * headDim, *b = a + half;
            size_t j = 0;
            for (; j + LFM_VW <= half; j += LFM_VW) {
                vf av = vload(a + j), bv = vload(b + j), c = vload(cs + j), s = vload(sn + j);
                vstore(a + j, av * c - bv * s);
                vstore(b + j, bv * c + av * s);
            }
            for (; j < half; j++) {
                float av = a[j], bv = b[j];
                a[j] = av * cs[j] - bv * sn[j];
                b[j] = bv * cs[j] + av * sn[j];
            }
        }
    }
    free(cs);
}

// Softmax of scores[0 ..< visible] in place (scores has room for a whole last vector);
// returns 1 / (sum of the exponentials).
VI float softmax_in_place(float *scores, size_t visible, float maximum) {
    size_t padded = (visible + LFM_VW - 1) / LFM_VW * LFM_VW;
    for (size_t t = visible; t < padded; t++) scores[t] = maximum;
    vf total = vsplat(0);
    for (size_t t = 0; t < padded; t += LFM_VW) vstore(scores + t, vexp(vload(scores + t) - maximum));
    for (size_t t = visible; t < padded; t++) scores[t] = 0;
    for (size_t t = 0; t < padded; t += LFM_VW) total += vload(scores + t);
    return 1.0f / vsum(total);
}

#define LFM_MAXV 8

// One (query row, head): `nv` whole vectors of the head dimension (a compile-time constant
// at every call site, so the query and output accumulators live in registers) plus a scalar
// tail of hd - nv * LFM_VW elements.
VI void attend(const int nv, const float *query, const float *kb, const float *vb, size_t kvStride,
               size_t visible, size_t hd, float scale, float *scores, float *o) {
    vf qv[LFM_MAXV], ov[LFM_MAXV];
    float otail[LFM_VW];
    size_t dv = (size_t)nv * LFM_VW;
    for (int v = 0; v < nv; v++) { qv[v] = vload(query + v * LFM_VW); ov[v] = vsplat(0); }
    for (size_t d = dv; d < hd; d++) otail[d - dv] = 0;
    float maximum = -INFINITY;
    for (size_t t = 0; t < visible; t++) {
        const float *k = kb + t * kvStride;
        vf acc = vsplat(0);
        for (int v = 0; v < nv; v++) acc += qv[v] * vload(k + v * LFM_VW);
        float s = vsum(acc);
        for (size_t d = dv; d < hd; d++) s += query[d] * k[d];
        s *= scale;
        scores[t] = s;
        maximum = s > maximum ? s : maximum;
    }
    float inv = softmax_in_place(scores, visible, maximum);
    for (size_t t = 0; t < visible; t++) {
        const float *v = vb + t * kvStride;
        float p = scores[t];
        for (int j = 0; j < nv; j++) ov[j] += vload(v + j * LFM_VW) * p;
        for (size_t d = dv; d < hd; d++) otail[d - dv] += v[d] * p;
    }
    for (int j = 0; j < nv; j++) vstore(o + j * LFM_VW, ov[j] * inv);
    for (size_t d = dv; d < hd; d++) o[d] = otail[d - dv] * inv;
}

// Two query heads that share a KV head (grouped-query attention): every key and value
// vector is loaded once for both. `nv` as in attend; requires 2 * nv <= LFM_MAXV.
VI void attend2(const int nv, const float *q0, const float *q1, const float *kb, const float *vb,
                size_t kvStride, size_t visible, size_t hd, float scale, float *s0, float *s1,
                float *o0, float *o1) {
    vf qa[LFM_MAXV / 2], qb[LFM_MAXV / 2], oa[LFM_MAXV / 2], ob[LFM_MAXV / 2];
    float ta[LFM_VW], tb[LFM_VW];
    size_t dv = (size_t)nv * LFM_VW;
    for (int v = 0; v < nv; v++) {
        qa[v] = vload(q0 + v * LFM_VW);
        qb[v] = vload(q1 + v * LFM_VW);
        oa[v] = vsplat(0);
        ob[v] = vsplat(0);
    }
    for (size_t d = dv; d < hd; d++) { ta[d - dv] = 0; tb[d - dv] = 0; }
    float ma = -INFINITY, mb = -INFINITY;
    for (size_t t = 0; t < visible; t++) {
        const float *k = kb + t * kvStride;
        vf aa = vsplat(0), ab = vsplat(0);
        for (int v = 0; v < nv; v++) {
            vf kv = vload(k + v * LFM_VW);
            aa += qa[v] * kv;
            ab += qb[v] * kv;
        }
        float sa = vsum(aa), sb = vsum(ab);
        for (size_t d = dv; d < hd; d++) { sa += q0[d] * k[d]; sb += q1[d] * k[d]; }
        sa *= scale;
        sb *= scale;
        s0[t] = sa;
        s1[t] = sb;
        ma = sa > ma ? sa : ma;
        mb = sb > mb ? sb : mb;
    }
    float ia = softmax_in_place(s0, visible, ma), ib = softmax_in_place(s1, visible, mb);
    for (size_t t = 0; t < visible; t++) {
        const float *v = vb + t * kvStride;
        float pa = s0[t], pb = s1[t];
        for (int j = 0; j < nv; j++) {
            vf vv = vload(v + j * LFM_VW);
            oa[j] += vv * pa;
            ob[j] += vv * pb;
        }
        for (size_t d = dv; d < hd; d++) { ta[d - dv] += v[d] * pa; tb[d - dv] += v[d] * pb; }
    }
    for (int j = 0; j < nv; j++) {
        vstore(o0 + j * LFM_VW, oa[j] * ia);
        vstore(o1 + j * LFM_VW, ob[j] * ib);
    }
    for (size_t d = dv; d < hd; d++) { o0[d] = ta[d - dv] * ia; o1[d] = tb[d - dv] * ib; }
}

// Any head dimension: accumulates the output in memory.
static void attend_generic(const float *query, const float *kb, const float *vb, size_t kvStride,
                           size_t visible, size_t hd, float scale, float *scores, float *o) {
    float maximum = -INFINITY;
    for (size_t t = 0; t < visible; t++) {
        float s = dotf(query, kb + t * kvStride, hd) * scale;
        scores[t] = s;
        maximum = s > maximum ? s : maximum;
    }
    float inv = softmax_in_place(scores, visible, maximum);
    memset(o, 0, hd * sizeof(float));
    for (size_t t = 0; t < visible; t++) {
        float p = scores[t];
        const float *v = vb + t * kvStride;
        size_t d = 0;
        for (; d + LFM_VW <= hd; d += LFM_VW) vstore(o + d, vload(o + d) + vload(v + d) * p);
        for (; d < hd; d++) o[d] += v[d] * p;
    }
    for (size_t d = 0; d < hd; d++) o[d] *= inv;
}

void FN(lfm_attention)(const float *q, size_t qStride, size_t rows, size_t startPosition,
                       const float *keys, const float *values, size_t kvStride, size_t heads,
                       size_t kvHeads, size_t headDim, size_t window, float scale, float *out,
                       size_t outStride, size_t item0, size_t item1) {
    size_t group = heads / kvHeads;
    size_t capacity = startPosition + rows + LFM_VW;
    float *scores = malloc(2 * capacity * sizeof(float));
    if (!scores) abort();
    size_t nv = headDim / LFM_VW;
    for (size_t item = item0; item < item1; item++) {
        size_t r = item / heads, h = item % heads, kvh = h / group;
        size_t end = startPosition + r + 1;
        size_t first = (window > 0 && end > window) ? end - window : 0;
        size_t visible = end - first;
        const float *query = q + r * qStride + h * headDim;
        const float *kb = keys + first * kvStride + kvh * headDim, *vb = values + first * kvStride + kvh * headDim;
        float *o = out + r * outStride + h * headDim;
        // Pairs of heads of one KV group share the key/value loads.
        if (group % 2 == 0 && h % 2 == 0 && item + 1 < item1 && nv >= 1 && 2 * nv <= LFM_MAXV) {
            switch (nv) {
#define LFM_ATTEND2_CASE(N) \
            case N: attend2(N, query, query + headDim, kb, vb, kvStride, visible, headDim, scale, scores, \
                            scores + capacity, o, o + headDim); break;
            LFM_ATTEND2_CASE(1) LFM_ATTEND2_CASE(2) LFM_ATTEND2_CASE(3) LFM_ATTEND2_CASE(4)
#undef LFM_ATTEND2_CASE
            }
            item++;
            continue;
        }
        switch (nv) {
#define LFM_ATTEND_CASE(N) \
        case N: attend(N, query, kb, vb, kvStride, visible, headDim, scale, scores, o); break;
        LFM_ATTEND_CASE(0) LFM_ATTEND_CASE(1) LFM_ATTEND_CASE(2) LFM_ATTEND_CASE(3)
        LFM_ATTEND_CASE(4) LFM_ATTEND_CASE(5) LFM_ATTEND_CASE(6) LFM_ATTEND_CASE(7)
        LFM_ATTEND_CASE(8)
#undef LFM_ATTEND_CASE
        default: attend_generic(query, kb, vb, kvStride, visible, headDim, scale, scores, o); break;
        }
    }
    free(scores);
}

void FN(lfm_short_conv)(const float *x, size_t xStride, size_t rows, size_t channels, size_t kernel,
                        float *state, const float *weight, float *out, size_t outStride,
                        size_t c0, size_t c1) {
    if (c1 <= c0 || kernel == 0) return;
    size_t width = c1 - c0, history = kernel - 1;
    // Taps transposed to [kernel][width] so that channels are contiguous.
    float *taps = malloc(kernel * width * sizeof(float));
    if (!taps) abort();
    for (size_t c = 0; c < width; c++)
        for (size_t j = 0; j < kernel; j++) taps[j * width + c] = weight[(c0 + c) * kernel + j];
    for (size_t t = 0; t < rows; t++) {
        float *o = out + t * outStride + c0;
        size_t c = 0;
        for (; c + LFM_VW <= width; c += LFM_VW) {
            vf acc = vsplat(0);
            for (size_t j = 0; j < kernel; j++) {
                size_t tau = t + j;
                const float *src = tau < history ? state + tau * channels + c0 : x + (tau - history) * xStride + c0;
                acc += vload(taps + j * width + c) * vload(src + c);
            }
            vstore(o + c, acc);
        }
        for (; c < width; c++) {
            float acc = 0;
            for (size_t j = 0; j < kernel; j++) {
                size_t tau = t + j;
                const float *src = tau < history ? state + tau * channels + c0 : x + (tau - history) * xStride + c0;
                acc += taps[j * width + c] * src[c];
            }
            o[c] = acc;
        }
    }
    // New state: window rows rows ..< rows + history. Ascending order never overwrites a row
    // that is still to be read (row r reads window row rows + r > r).
    for (size_t r = 0; r < history; r++) {
        size_t tau = rows + r;
        const float *src = tau < history ? state + tau * channels + c0 : x + (tau - history) * xStride + c0;
        memmove(state + r * channels + c0, src, width * sizeof(float));
    }
    free(taps);
}

void FN(lfm_silu_mul)(const float *gate, const float *up, float *out, size_t count) {
    size_t i = 0;
    for (; i + LFM_VW <= count; i += LFM_VW) {
        vf g = vload(gate + i);
        vstore(out + i, g / (1.0f + vexp(-g)) * vload(up + i));
    }
    if (i < count) {
        float gb[LFM_VW] = {0}, ub[LFM_VW] = {0}, ob[LFM_VW];
        memcpy(gb, gate + i, (count - i) * sizeof(float));
        memcpy(ub, up + i, (count - i) * sizeof(float));
        vf g = vload(gb);
        vstore(ob, g / (1.0f + vexp(-g)) * vload(ub));
        memcpy(out + i, ob, (count - i) * sizeof(float));
    }
}

void FN(lfm_mul)(const float *a, const float *b, float *out, size_t count) {
    for (size_t i = 0; i < count; i++) out[i] = a[i] * b[i];
}

void FN(lfm_add)(const float *a, const float *b, float *out, size_t count) {
    for (size_t i = 0; i < count; i++) out[i] = a[i] + b[i];
}
