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
