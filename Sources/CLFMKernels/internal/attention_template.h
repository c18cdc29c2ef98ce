// KV cache rows in a storage type (F32, F16, BF16, Q8_0, Q4_0) and tiled online-softmax ("flash")
// attention computed on them, written once with clang vector extensions and compiled once per ISA.
// Included by ops_*.c after ops_template.h (FN, LFM_VW, vf/vi, vload/vstore/vexp come from there),
// inside the same target attribute.
//
// Attention never holds more than one tile of LFM_ATTENTION_TILE keys: for each work unit (a block
// of query rows x one KV head, and a contiguous range of key tiles) it widens each key tile into a
// transposed F32 tile and each value tile into an F32 tile, scores every query of the unit against
// the tile, and folds the tile into running (maximum, sum, output) per query, rescaling the running
// values when the maximum grows (Milakov & Gimelshein, "Online normalizer calculation for softmax";
// Dao et al., FlashAttention). The heads of a KV group share every widened tile. A unit of a single
// query row (decode) scores the key rows as stored instead of transposing them.

#define AT_B LFM_ATTENTION_TILE
#define AT_NV (AT_B / LFM_VW)

typedef int8_t at_vs8 __attribute__((ext_vector_type(LFM_VW)));
typedef uint8_t at_vu8 __attribute__((ext_vector_type(LFM_VW)));
typedef uint16_t at_vu16 __attribute__((ext_vector_type(LFM_VW)));
#if defined(LFM_AT_NATIVE_F16)
// The including file's target converts halves in hardware (F16C on x86): exact, as at_f16_vector.
typedef _Float16 at_vf16 __attribute__((ext_vector_type(LFM_VW)));
#endif

// ---- Scalar conversions, identical on every ISA ----

/// IEEE half bits of `value`, round to nearest even (overflow gives +-inf), as F16C's
/// vcvtps2ph with rounding mode 0 and ggml's GGML_FP32_TO_FP16.
static inline uint16_t at_f16_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    int exponent = (int)((bits >> 23) & 0xFF);
    uint32_t mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF) return (uint16_t)(sign | 0x7C00 | (mantissa ? 0x200 : 0));
    int e = exponent - 127 + 15;
    if (e >= 0x1F) return (uint16_t)(sign | 0x7C00);
    if (e <= 0) {
        if (e < -10) return sign;
        mantissa |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mantissa >> shift;
        uint32_t remainder = mantissa & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mantissa >> 13);
    uint32_t remainder = mantissa & 0x1FFF;
    if (remainder > 0x1000 || (remainder == 0x1000 && (half & 1))) half++;
    if ((half >> 10) >= 0x1F) return (uint16_t)(sign | 0x7C00);
    return (uint16_t)(sign | half);
}

/// The float an IEEE half holds (exact).
static inline float at_f16_value(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0) {
        float magnitude = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -magnitude : magnitude;
    }
    bits = exponent == 0x1F ? (sign | 0x7F800000 | (mantissa << 13)) : (sign | ((exponent + 112) << 23) | (mantissa << 13));
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// bfloat16 bits of `value`, round to nearest even; NaN stays a quiet NaN (ggml_compute_fp32_to_bf16).
static inline uint16_t at_bf16_bits(float value) {
    uint32_t u;
    memcpy(&u, &value, 4);
    if ((u & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7FFF + ((u >> 16) & 1))) >> 16);
}

/// Whether the 32 values are all finite (the quantizers' arithmetic is undefined otherwise).
static inline int at_block_finite(const float *x) {
    for (int j = 0; j < 32; j++)
        if (!(x[j] - x[j] == 0.0f)) return 0;
    return 1;
}

/// A block holding NaN: scale NaN, codes 0 (every value dequantizes to NaN).
static inline void at_nan_block(uint8_t *y, size_t bytes) {
    memset(y, 0, bytes);
    const uint16_t nan = 0x7E00;
    memcpy(y, &nan, 2);
}

/// ggml's quantize_row_q8_0_ref for one block of 32: d = amax / 127, q = roundf(x / d).
static void at_quantize_q8_0(const float *x, uint8_t *y) {
#pragma clang fp contract(off)
    if (!at_block_finite(x)) { at_nan_block(y, 34); return; }
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        float v = fabsf(x[j]);
        amax = amax > v ? amax : v;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t h = at_f16_bits(d);
    memcpy(y, &h, 2);
    for (int j = 0; j < 32; j++) y[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

/// ggml's quantize_row_q4_0_ref for one block of 32: d = (value of largest magnitude) / -8,
/// q = min(15, (int8)(x / d + 8.5)); byte j holds element j (low nibble) and j + 16 (high nibble).
static void at_quantize_q4_0(const float *x, uint8_t *y) {
#pragma clang fp contract(off)
    if (!at_block_finite(x)) { at_nan_block(y, 18); return; }
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t h = at_f16_bits(d);
    memcpy(y, &h, 2);
    for (int j = 0; j < 16; j++) {
        int8_t a = (int8_t)(x[j] * id + 8.5f), b = (int8_t)(x[j + 16] * id + 8.5f);
        uint8_t q0 = (uint8_t)(a < 15 ? a : 15), q1 = (uint8_t)(b < 15 ? b : 15);
        y[2 + j] = (uint8_t)(q0 | (q1 << 4));
    }
}

void FN(lfm_kv_store_rows)(const float *x, size_t xStride, size_t rows, size_t width, int type, void *out,
                           size_t outRowBytes) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * xStride;
        uint8_t *o = (uint8_t *)out + r * outRowBytes;
        switch (type) {
        case LFM_KV_F32: memcpy(o, xr, width * sizeof(float)); break;
        case LFM_KV_F16:
            for (size_t i = 0; i < width; i++) {
                uint16_t h = at_f16_bits(xr[i]);
                memcpy(o + 2 * i, &h, 2);
            }
            break;
        case LFM_KV_BF16:
            for (size_t i = 0; i < width; i++) {
                uint16_t h = at_bf16_bits(xr[i]);
                memcpy(o + 2 * i, &h, 2);
            }
            break;
        case LFM_KV_Q8_0:
            for (size_t b = 0; b < width / 32; b++) at_quantize_q8_0(xr + 32 * b, o + 34 * b);
            break;
        case LFM_KV_Q4_0:
            for (size_t b = 0; b < width / 32; b++) at_quantize_q4_0(xr + 32 * b, o + 18 * b);
            break;
        default: abort();
        }
    }
}

// ---- Widening stored rows ----

/// Byte offset of element `e` of a row (for the block types `e` is a multiple of 32).
static inline size_t at_offset(int type, size_t e) {
    switch (type) {
    case LFM_KV_F32: return 4 * e;
    case LFM_KV_F16:
    case LFM_KV_BF16: return 2 * e;
    case LFM_KV_Q8_0: return e / 32 * 34;
    default: return e / 32 * 18;
    }
}

VI vf at_bits_to_float(vi bits) {
    vf f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/// Halves (in the low 16 bits of each lane) to floats, exact (subnormals, infinities and NaN included).
VI vf at_f16_vector(vi h) {
    const vi shiftedExponent = 0x7C00 << 13;
    vi o = (h & 0x7FFF) << 13;
    vi exponent = o & shiftedExponent;
    o += (127 - 15) << 23;
    vi isSpecial = exponent == shiftedExponent, isSmall = exponent == 0;
    o += isSpecial & ((128 - 16) << 23);
    // Zero / subnormal: add one to the exponent and subtract 2^-14 as a float (renormalises).
    vf small = at_bits_to_float(o + (1 << 23)) - 6.103515625e-05f;
    vi smallBits;
    memcpy(&smallBits, &small, sizeof smallBits);
    o = (isSmall & smallBits) | (~isSmall & o);
    o |= (h & 0x8000) << 16;
    return at_bits_to_float(o);
}

/// Widens `n` values of a row of `type` starting at `p` (a head's first byte) into `dst`.
VI void at_widen(int type, const uint8_t *p, size_t n, float *dst) {
    size_t i = 0;
    switch (type) {
    case LFM_KV_F32: memcpy(dst, p, n * sizeof(float)); return;
    case LFM_KV_F16:
        for (; i + LFM_VW <= n; i += LFM_VW) {
#if defined(LFM_AT_NATIVE_F16)
            at_vf16 h;
            memcpy(&h, p + 2 * i, sizeof h);
            vstore(dst + i, __builtin_convertvector(h, vf));
#else
            at_vu16 h;
            memcpy(&h, p + 2 * i, sizeof h);
            vstore(dst + i, at_f16_vector(__builtin_convertvector(h, vi)));
#endif
        }
        for (; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = at_f16_value(h);
        }
        return;
    case LFM_KV_BF16:
        for (; i + LFM_VW <= n; i += LFM_VW) {
            at_vu16 h;
            memcpy(&h, p + 2 * i, sizeof h);
            vstore(dst + i, at_bits_to_float(__builtin_convertvector(h, vi) << 16));
        }
        for (; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(dst + i, &bits, 4);
        }
        return;
    case LFM_KV_Q8_0:
        for (size_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = p + 34 * b;
            uint16_t h;
            memcpy(&h, blk, 2);
            const float d = at_f16_value(h);
            for (int j = 0; j < 32; j += LFM_VW) {
                at_vs8 q;
                memcpy(&q, blk + 2 + j, sizeof q);
                vstore(dst + 32 * b + j, __builtin_convertvector(q, vf) * d);
            }
        }
        return;
    default:
        for (size_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = p + 18 * b;
            uint16_t h;
            memcpy(&h, blk, 2);
            const float d = at_f16_value(h);
            for (int j = 0; j < 16; j += LFM_VW) {
                at_vu8 q;
                memcpy(&q, blk + 2 + j, sizeof q);
                vi w = __builtin_convertvector(q, vi);
                vstore(dst + 32 * b + j, __builtin_convertvector((w & 15) - 8, vf) * d);
                vstore(dst + 32 * b + 16 + j, __builtin_convertvector((w >> 4) - 8, vf) * d);
            }
        }
        return;
    }
}

void FN(lfm_kv_widen_rows)(const void *rows, size_t count, size_t rowBytes, size_t width, int type, float *out,
                           size_t outStride) {
    for (size_t r = 0; r < count; r++) at_widen(type, (const uint8_t *)rows + r * rowBytes, width, out + r * outStride);
}

// ---- Tiled attention ----

/// Scores of two queries against a transposed key tile (kt[d * AT_B + t]): s[t] = q . k_t.
VI void at_scores2(const float *qa, const float *qb, const float *kt, size_t hd, float *sa, float *sb) {
    vf a[AT_NV], b[AT_NV];
    for (int j = 0; j < AT_NV; j++) { a[j] = vsplat(0); b[j] = vsplat(0); }
    for (size_t d = 0; d < hd; d++) {
        const vf x = vsplat(qa[d]), y = vsplat(qb[d]);
        const float *k = kt + d * AT_B;
        for (int j = 0; j < AT_NV; j++) {
            const vf kv = vload(k + j * LFM_VW);
            a[j] += x * kv;
            b[j] += y * kv;
        }
    }
    for (int j = 0; j < AT_NV; j++) { vstore(sa + j * LFM_VW, a[j]); vstore(sb + j * LFM_VW, b[j]); }
}

VI void at_scores1(const float *qa, const float *kt, size_t hd, float *sa) {
    vf a[AT_NV];
    for (int j = 0; j < AT_NV; j++) a[j] = vsplat(0);
    for (size_t d = 0; d < hd; d++) {
        const vf x = vsplat(qa[d]);
        const float *k = kt + d * AT_B;
        for (int j = 0; j < AT_NV; j++) a[j] += x * vload(k + j * LFM_VW);
    }
    for (int j = 0; j < AT_NV; j++) vstore(sa + j * LFM_VW, a[j]);
}

/// Lane j of the result is the sum of the lanes of x[j], j < LFM_VW: a halving tree that keeps
/// the keys in lane order (each step adds the two halves of every key's partial sums).
VI vf at_sum_lanes(const vf *x) {
#if LFM_VW == 16
    vf b[8], c[4], d[2];
    for (int j = 0; j < 8; j++)
        b[j] = __builtin_shufflevector(x[2 * j], x[2 * j + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
               __builtin_shufflevector(x[2 * j], x[2 * j + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    for (int j = 0; j < 4; j++)
        c[j] = __builtin_shufflevector(b[2 * j], b[2 * j + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
               __builtin_shufflevector(b[2 * j], b[2 * j + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    for (int j = 0; j < 2; j++)
        d[j] = __builtin_shufflevector(c[2 * j], c[2 * j + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +
               __builtin_shufflevector(c[2 * j], c[2 * j + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    return __builtin_shufflevector(d[0], d[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) +
           __builtin_shufflevector(d[0], d[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#elif LFM_VW == 8
    vf b[4], c[2];
    for (int j = 0; j < 4; j++)
        b[j] = __builtin_shufflevector(x[2 * j], x[2 * j + 1], 0, 1, 2, 3, 8, 9, 10, 11) +
               __builtin_shufflevector(x[2 * j], x[2 * j + 1], 4, 5, 6, 7, 12, 13, 14, 15);
    for (int j = 0; j < 2; j++)
        c[j] = __builtin_shufflevector(b[2 * j], b[2 * j + 1], 0, 1, 4, 5, 8, 9, 12, 13) +
               __builtin_shufflevector(b[2 * j], b[2 * j + 1], 2, 3, 6, 7, 10, 11, 14, 15);
    return __builtin_shufflevector(c[0], c[1], 0, 2, 4, 6, 8, 10, 12, 14) +
           __builtin_shufflevector(c[0], c[1], 1, 3, 5, 7, 9, 11, 13, 15);
#else
    vf b[2];
    for (int j = 0; j < 2; j++)
        b[j] = __builtin_shufflevector(x[2 * j], x[2 * j + 1], 0, 1, 4, 5) +
               __builtin_shufflevector(x[2 * j], x[2 * j + 1], 2, 3, 6, 7);
    return __builtin_shufflevector(b[0], b[1], 0, 2, 4, 6) + __builtin_shufflevector(b[0], b[1], 1, 3, 5, 7);
#endif
}

/// Scores of one query against a tile of key rows (krows[t], AT_B of them, rows past the tile's
/// end pointing at zeros): s[t] = q . k_t. Used when a tile serves a single query row (decode),
/// where transposing the tile would cost more than the scores: each key row is read once, as
/// stored, and LFM_VW keys' lane sums are folded together by at_sum_lanes.
VI void at_scores_rows(const float *q, const float *const *krows, size_t hd, float *s) {
    const size_t hv = hd / LFM_VW * LFM_VW;
    for (int c = 0; c < AT_NV; c++) {
        const float *const *k = krows + c * LFM_VW;
        vf acc[LFM_VW];
        for (int j = 0; j < LFM_VW; j++) {
            vf a = vsplat(0);
            for (size_t d = 0; d < hv; d += LFM_VW) a += vload(q + d) * vload(k[j] + d);
            acc[j] = a;
        }
        vstore(s + c * LFM_VW, at_sum_lanes(acc));
        for (size_t d = hv; d < hd; d++)
            for (int j = 0; j < LFM_VW; j++) s[c * LFM_VW + j] += q[d] * k[j][d];
    }
}

/// Folds one tile's scores s[t0 ..< t1] into a query's running maximum *m and sum *l: turns s
/// into the weights p (zero outside the range) and returns the factor the running output must be
/// multiplied by before the tile's weighted values are added.
VI float at_fold(float *s, size_t t0, size_t t1, float *m, float *l) {
    float tileMax = -INFINITY;
    if (t0 == 0 && t1 == AT_B) {
        vf v = vload(s);
        for (int j = 1; j < AT_NV; j++) v = __builtin_elementwise_max(v, vload(s + j * LFM_VW));
        tileMax = vmax(v);
    } else {
        for (size_t t = t0; t < t1; t++) tileMax = s[t] > tileMax ? s[t] : tileMax;
    }
    const float old = *m, next = tileMax > old ? tileMax : old;
    const float correction = old == -INFINITY ? 0.0f : expf(old - next);
    vf total = vsplat(0);
    for (int j = 0; j < AT_NV; j++) vstore(s + j * LFM_VW, vexp(vload(s + j * LFM_VW) - next));
    for (size_t t = 0; t < t0; t++) s[t] = 0;
    for (size_t t = t1; t < AT_B; t++) s[t] = 0;
    for (int j = 0; j < AT_NV; j++) total += vload(s + j * LFM_VW);
    *m = next;
    *l = *l * correction + vsum(total);
    return correction;
}

/// o = o * ca + sum_t pa[t] v_t and the same for a second query (pb, cb, ob) sharing the value
/// loads, for t in [t0, t1) (v_t = vrows[t]).
VI void at_accumulate2(float *oa, float *ob, float ca, float cb, const float *pa, const float *pb,
                       const float *const *vrows, size_t t0, size_t t1, size_t hd) {
    size_t d = 0;
    for (; d + 2 * LFM_VW <= hd; d += 2 * LFM_VW) {
        vf a0 = vload(oa + d) * ca, a1 = vload(oa + d + LFM_VW) * ca;
        vf b0 = vload(ob + d) * cb, b1 = vload(ob + d + LFM_VW) * cb;
        for (size_t t = t0; t < t1; t++) {
            const float *v = vrows[t] + d;
            const vf v0 = vload(v), v1 = vload(v + LFM_VW), x = vsplat(pa[t]), y = vsplat(pb[t]);
            a0 += x * v0;
            a1 += x * v1;
            b0 += y * v0;
            b1 += y * v1;
        }
        vstore(oa + d, a0);
        vstore(oa + d + LFM_VW, a1);
        vstore(ob + d, b0);
        vstore(ob + d + LFM_VW, b1);
    }
    for (; d + LFM_VW <= hd; d += LFM_VW) {
        vf a0 = vload(oa + d) * ca, b0 = vload(ob + d) * cb;
        for (size_t t = t0; t < t1; t++) {
            const vf v0 = vload(vrows[t] + d);
            a0 += vsplat(pa[t]) * v0;
            b0 += vsplat(pb[t]) * v0;
        }
        vstore(oa + d, a0);
        vstore(ob + d, b0);
    }
    for (; d < hd; d++) {
        float a0 = oa[d] * ca, b0 = ob[d] * cb;
        for (size_t t = t0; t < t1; t++) {
            a0 += pa[t] * vrows[t][d];
            b0 += pb[t] * vrows[t][d];
        }
        oa[d] = a0;
        ob[d] = b0;
    }
}

VI void at_accumulate1(float *oa, float ca, const float *pa, const float *const *vrows, size_t t0, size_t t1,
                       size_t hd) {
    size_t d = 0;
    for (; d + 2 * LFM_VW <= hd; d += 2 * LFM_VW) {
        vf a0 = vload(oa + d) * ca, a1 = vload(oa + d + LFM_VW) * ca;
        for (size_t t = t0; t < t1; t++) {
            const float *v = vrows[t] + d;
            const vf x = vsplat(pa[t]);
            a0 += x * vload(v);
            a1 += x * vload(v + LFM_VW);
        }
        vstore(oa + d, a0);
        vstore(oa + d + LFM_VW, a1);
    }
    for (; d + LFM_VW <= hd; d += LFM_VW) {
        vf a0 = vload(oa + d) * ca;
        for (size_t t = t0; t < t1; t++) a0 += vsplat(pa[t]) * vload(vrows[t] + d);
        vstore(oa + d, a0);
    }
    for (; d < hd; d++) {
        float a0 = oa[d] * ca;
        for (size_t t = t0; t < t1; t++) a0 += pa[t] * vrows[t][d];
        oa[d] = a0;
    }
}

/// First key position query row r sees (its window) and one past the last.
static inline void at_visible(const LFMAttention *a, size_t r, size_t *lo, size_t *hi) {
    size_t end = a->startPosition + r + 1;
    *lo = (a->window > 0 && end > a->window) ? end - a->window : 0;
    *hi = end;
}

/// Folds one key tile [k0, k1) of one KV head into the running state of the head's queries in
/// rows [r0, r1): query index (r - r0) * rowQueries + first + j for j < group. Keys are `kt`
/// (transposed) or, for a single query row, `krows`; values are `vrows`.
VI void at_tile_rows(const LFMAttention *a, size_t r0, size_t r1, size_t first, size_t rowQueries, size_t group,
                     size_t k0, size_t k1, int singleRow, const float *qs, float *os, float *ms, float *ls, float *sa,
                     float *sb, const float *kt, const float *const *krows, const float *const *vrows, size_t hd) {
    for (size_t r = r0; r < r1; r++) {
        size_t qlo, qhi;
        at_visible(a, r, &qlo, &qhi);
        if (qlo >= k1 || qhi <= k0) continue;
        const size_t t0 = (qlo > k0 ? qlo : k0) - k0, t1 = (qhi < k1 ? qhi : k1) - k0;
        size_t i = (r - r0) * rowQueries + first;
        const size_t iEnd = i + group;
        for (; i + 2 <= iEnd; i += 2) {
            if (singleRow) {
                at_scores_rows(qs + i * hd, krows, hd, sa);
                at_scores_rows(qs + (i + 1) * hd, krows, hd, sb);
            } else {
                at_scores2(qs + i * hd, qs + (i + 1) * hd, kt, hd, sa, sb);
            }
            const float ca = at_fold(sa, t0, t1, ms + i, ls + i);
            const float cb = at_fold(sb, t0, t1, ms + i + 1, ls + i + 1);
            at_accumulate2(os + i * hd, os + (i + 1) * hd, ca, cb, sa, sb, vrows, t0, t1, hd);
        }
        if (i < iEnd) {
            if (singleRow) at_scores_rows(qs + i * hd, krows, hd, sa);
            else at_scores1(qs + i * hd, kt, hd, sa);
            const float ca = at_fold(sa, t0, t1, ms + i, ls + i);
            at_accumulate1(os + i * hd, ca, sa, vrows, t0, t1, hd);
        }
    }
}

/// F32 views of `n` stored head slices (the first at `first`, rows `rowBytes` apart): F32 rows in
/// place, other types widened into `buffer` (n x hd floats).
VI void at_row_pointers(int type, const uint8_t *first, size_t n, size_t rowBytes, size_t hd, float *buffer,
                        const float **rows) {
    for (size_t t = 0; t < n; t++) {
        const uint8_t *src = first + t * rowBytes;
        if (type == LFM_KV_F32) {
            rows[t] = (const float *)(const void *)src;
        } else {
            at_widen(type, src, hd, buffer + t * hd);
            rows[t] = buffer + t * hd;
        }
    }
}

/// An item's query rows [r0, r1) and KV heads [g0, g1); item = rowBlock * headBlocks + headBlock.
static inline void at_item(const LFMAttention *a, size_t item, size_t *r0, size_t *r1, size_t *g0, size_t *g1) {
    const size_t H = a->kvHeadsPerItem, blocks = (a->kvHeads + H - 1) / H;
    *r0 = item / blocks * a->rowsPerItem;
    *r1 = *r0 + a->rowsPerItem < a->rows ? *r0 + a->rowsPerItem : a->rows;
    *g0 = item % blocks * H;
    *g1 = *g0 + H < a->kvHeads ? *g0 + H : a->kvHeads;
}

void FN(lfm_flash_attention)(const LFMAttention *a, size_t unit0, size_t unit1, float *partials) {
    if (unit1 <= unit0) return;
    const size_t hd = a->headDim, group = a->heads / a->kvHeads, S = a->splits;
    const size_t maxQueries = a->rowsPerItem * a->kvHeadsPerItem * group, rowBytes = a->kvRowBytes;
    const int type = a->kvType;
    // Work area: scaled queries, outputs, maxima, sums, two score rows, the key tile (transposed, or
    // widened rows for a single query row), the value tile, one widened row, one row of zeros.
    const size_t floats = 2 * maxQueries * hd + 2 * maxQueries + 2 * AT_B + hd * AT_B + AT_B * hd + 2 * hd + LFM_VW;
    float *work = malloc(floats * sizeof(float));
    if (!work) abort();
    float *qs = work, *os = qs + maxQueries * hd, *ms = os + maxQueries * hd, *ls = ms + maxQueries;
    float *sa = ls + maxQueries, *sb = sa + AT_B, *kt = sb + AT_B, *vt = kt + hd * AT_B, *row = vt + AT_B * hd;
    float *zeros = row + hd + LFM_VW;
    memset(zeros, 0, hd * sizeof(float));
    const float *vrows[AT_B], *krows[AT_B];
    const uint8_t *keys = (const uint8_t *)a->keys, *values = (const uint8_t *)a->values;

    for (size_t unit = unit0; unit < unit1; unit++) {
        const size_t item = unit / S, split = unit % S;
        size_t r0, r1, g0, g1;
        at_item(a, item, &r0, &r1, &g0, &g1);
        // Query i of the unit: row r0 + i / (nh * group), KV head g0 + i / group % nh.
        const size_t nh = g1 - g0, nq = (r1 - r0) * nh * group;
        const int singleRow = r1 - r0 == 1;
        size_t lo, hi, unused;
        at_visible(a, r0, &lo, &unused);
        at_visible(a, r1 - 1, &unused, &hi);
        const size_t tiles = (hi - lo + AT_B - 1) / AT_B;
        const size_t tile0 = tiles * split / S, tile1 = tiles * (split + 1) / S;
        const size_t unitEnd = lo + tile1 * AT_B < hi ? lo + tile1 * AT_B : hi;
        // The bytes of a row the unit reads: its heads' slices, one contiguous range.
        const size_t sliceOffset = at_offset(type, g0 * hd), sliceBytes = at_offset(type, nh * hd);
        for (size_t i = 0; i < nq; i++) {
            const size_t r = r0 + i / (nh * group), h = (g0 + i / group % nh) * group + i % group;
            const float *query = a->q + r * a->qStride + h * hd;
            for (size_t d = 0; d < hd; d++) qs[i * hd + d] = query[d] * a->scale;
            memset(os + i * hd, 0, hd * sizeof(float));
            ms[i] = -INFINITY;
            ls[i] = 0;
        }
        for (size_t tile = tile0; tile < tile1; tile++) {
            const size_t k0 = lo + tile * AT_B, k1 = k0 + AT_B < hi ? k0 + AT_B : hi, n = k1 - k0;
            // The next tile's slices: a unit's heads are a slice of every cache row, a stride the
            // hardware prefetchers do not run far enough ahead on when a tile serves only a few
            // query rows (decode). Every cache line the slice touches, once. Whole rows are one
            // contiguous stream, which the hardware follows on its own.
            const size_t p1 = sliceBytes == rowBytes ? k1 : (k1 + AT_B < unitEnd ? k1 + AT_B : unitEnd);
            for (size_t t = k1; t < p1; t++) {
                const uintptr_t kp = (uintptr_t)(keys + t * rowBytes + sliceOffset);
                const uintptr_t vp = (uintptr_t)(values + t * rowBytes + sliceOffset);
                for (uintptr_t line = kp & ~(uintptr_t)63; line < kp + sliceBytes; line += 64)
                    __builtin_prefetch((const void *)line);
                for (uintptr_t line = vp & ~(uintptr_t)63; line < vp + sliceBytes; line += 64)
                    __builtin_prefetch((const void *)line);
            }
            for (size_t g = g0; g < g1; g++) {
                const size_t headOffset = at_offset(type, g * hd);
                if (singleRow) {
                    // Keys as rows, rows past the tile's end at zeros.
                    at_row_pointers(type, keys + k0 * rowBytes + headOffset, n, rowBytes, hd, kt, krows);
                    for (size_t t = n; t < AT_B; t++) krows[t] = zeros;
                } else {
                    // Keys: transposed so that a query's scores against the tile are AT_NV vector
                    // FMAs per dimension; unused columns are zero.
                    for (size_t t = 0; t < n; t++) {
                        const uint8_t *src = keys + (k0 + t) * rowBytes + headOffset;
                        const float *k = (const float *)(const void *)src;
                        if (type != LFM_KV_F32) { at_widen(type, src, hd, row); k = row; }
                        for (size_t d = 0; d < hd; d++) kt[d * AT_B + t] = k[d];
                    }
                    if (n < AT_B)
                        for (size_t d = 0; d < hd; d++)
                            for (size_t t = n; t < AT_B; t++) kt[d * AT_B + t] = 0;
                }
                at_row_pointers(type, values + k0 * rowBytes + headOffset, n, rowBytes, hd, vt, vrows);
                // Head dimensions 64 and 128 get their own copy of the loops (constant trip counts:
                // unrolled, the query held in registers while a tile's keys stream past).
                if (hd == 64)
                    at_tile_rows(a, r0, r1, ((g - g0) * group), nh * group, group, k0, k1, singleRow, qs, os, ms, ls,
                                 sa, sb, kt, krows, vrows, 64);
                else if (hd == 128)
                    at_tile_rows(a, r0, r1, ((g - g0) * group), nh * group, group, k0, k1, singleRow, qs, os, ms, ls,
                                 sa, sb, kt, krows, vrows, 128);
                else
                    at_tile_rows(a, r0, r1, ((g - g0) * group), nh * group, group, k0, k1, singleRow, qs, os, ms, ls,
                                 sa, sb, kt, krows, vrows, hd);
            }
        }
        for (size_t i = 0; i < nq; i++) {
            const size_t r = r0 + i / (nh * group), h = (g0 + i / group % nh) * group + i % group;
            if (partials) {
                float *p = partials + (unit * maxQueries + i) * (hd + 2);
                p[0] = ms[i];
                p[1] = ls[i];
                memcpy(p + 2, os + i * hd, hd * sizeof(float));
            } else {
                float *o = a->out + r * a->outStride + h * hd;
                const float inverse = 1.0f / ls[i];
                for (size_t d = 0; d < hd; d++) o[d] = os[i * hd + d] * inverse;
            }
        }
    }
    free(work);
}

void FN(lfm_flash_attention_merge)(const LFMAttention *a, size_t item0, size_t item1, const float *partials) {
    const size_t hd = a->headDim, group = a->heads / a->kvHeads, S = a->splits;
    const size_t maxQueries = a->rowsPerItem * a->kvHeadsPerItem * group;
    for (size_t item = item0; item < item1; item++) {
        size_t r0, r1, g0, g1;
        at_item(a, item, &r0, &r1, &g0, &g1);
        const size_t nh = g1 - g0, nq = (r1 - r0) * nh * group;
        for (size_t i = 0; i < nq; i++) {
            const size_t r = r0 + i / (nh * group), h = (g0 + i / group % nh) * group + i % group;
            float m = -INFINITY;
            for (size_t s = 0; s < S; s++) {
                const float ms = partials[((item * S + s) * maxQueries + i) * (hd + 2)];
                m = ms > m ? ms : m;
            }
            float *o = a->out + r * a->outStride + h * hd;
            memset(o, 0, hd * sizeof(float));
            float total = 0;
            for (size_t s = 0; s < S; s++) {
                const float *p = partials + ((item * S + s) * maxQueries + i) * (hd + 2);
                const float w = p[0] == -INFINITY ? 0.0f : expf(p[0] - m);
                total += p[1] * w;
                for (size_t d = 0; d < hd; d++) o[d] += p[2 + d] * w;
            }
            const float inverse = 1.0f / total;
            for (size_t d = 0; d < hd; d++) o[d] *= inverse;
        }
    }
}
