// The AVX-512 VNNI decode rows of IQ4_NL and IQ4_XS weights, compiled by quant_avx512.c (QI_VBMI 0)
// and quant_avx512vbmi.c (QI_VBMI 1: vpermb looks the levels up from the raw code bytes, without
// masking the nibbles; IQ4_NL's four blocks are gathered by one vpermi2b and their scales by one
// vpermb; IQ4_XS's eight 6-bit sub-block scales are unpacked by two pdep, which needs BMI2 in the
// target). Before including, define QI_VBMI and QI_ENTRY (the entry point's name) after
// internal/quant_simd.h. Both variants do the same integer products and the same F32 operations in
// the same order, so they return the same bits.
#ifndef QI_ENTRY
#error "define QI_ENTRY and QI_VBMI before including quant_iq4_avx512.h"
#endif
#if QI_VBMI
/// vpermi2b indices over the 72 bytes of four consecutive 18-byte blocks (F16 scale, 16 code bytes:
/// Q4_0 and IQ4_NL): block j's 16 code bytes to bytes 16j ..< 16j + 16. qv_index_scales (vpermb):
/// the four scales.
static const uint8_t qv_index_nibbles[64] = {
    2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
    38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,
    56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71};
static const uint8_t qv_index_scales[64] = { 0, 1, 18, 19, 36, 37, 54, 55 };

/// Four consecutive 18-byte blocks at p (Q4_0, IQ4_NL): one 64-byte and one 8-byte load (no byte past
/// the fourth block), one vpermi2b packs their code bytes (block j's at bytes 16j ..< 16j + 16, returned)
/// and one vpermb their F16 scales (*dw, converted).
QS_INL __m512i qv_gather4(const uint8_t *p, __m128 *dw) {
    const __m512i first = _mm512_loadu_si512((const void *)p), last = _mm512_maskz_loadu_epi8(0xFF, p + 64);
    const __m512i scales = _mm512_permutexvar_epi8(_mm512_loadu_si512((const void *)qv_index_scales), first);
    *dw = _mm_cvtph_ps(_mm512_castsi512_si128(scales));
    return _mm512_permutex2var_epi8(first, _mm512_loadu_si512((const void *)qv_index_nibbles), last);
}
#endif

/// The 16 IQ4 levels + 128 as unsigned bytes in every 128-bit lane (so four times over 64 bytes):
/// vpshufb (vpermb) turns 4-bit codes into operands for vpdpbusd (unsigned times the signed
/// activations); the 128 · Σ x this adds per block is taken off through the activation sums.
QS_INL __m512i iq4_table_plus128(void) {
    return _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lfm_qt_iq4_values)),
                            _mm512_set1_epi8((char)0x80));
}

/// Dword sums of 32-value blocks held four to a register: lane k (128 bits) of `codes` holds block k's
/// 16 code bytes, `xg` the four blocks' activations regrouped (qs_q4_0_group_activations: the first
/// halves, which meet the low nibbles, then the second halves). Dwords 4k ..< 4k + 4 belong to block k.
QS_INL __m512i iq4_quad_dots(__m512i codes, const int8_t *xg, __m512i table) {
#if QI_VBMI
    // vpermb reads the low six bits of each index byte: bits 4-5 (the other nibble, or after the shift
    // the next byte's low bits) select among four copies of the same 16 levels.
    const __m512i lo = _mm512_permutexvar_epi8(codes, table);
    const __m512i hi = _mm512_permutexvar_epi8(_mm512_srli_epi16(codes, 4), table);
#else
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m512i lo = _mm512_shuffle_epi8(table, _mm512_and_si512(codes, low));
    const __m512i hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(codes, 4), low));
#endif
    const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512((const void *)xg));
    return _mm512_dpbusd_epi32(d, hi, _mm512_loadu_si512((const void *)(xg + 64)));
}

/// One IQ4_NL row of nb blocks (GGUF layout) times one activation row (`xg`: regrouped per four blocks).
/// Per four blocks (72 bytes): four 16-byte inserts gather the code bytes (QI_VBMI: one vpermi2b over
/// two loads), iq4_quad_dots, the four F16 scales composed in a scalar register (QI_VBMI: one vpermb)
/// and converted at once, one FMA with them spread to their blocks' lanes; the offset term
/// 128 · dw · dx · Σ q once per four blocks. The last nb % 4 blocks take one 256-bit step each. Same
/// integer products as the AVX2 kernel (levels times codes, per block).
QS_TARGET static float iq4nl_row512(const uint8_t *w, const int8_t *xq, const int8_t *xg, const float *xd,
                                    const float *xds, size_t nb) {
    const __m512i table = iq4_table_plus128();
    const __m512i lanes = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    __m512 acc = _mm512_setzero_ps();
    __m128 corr = _mm_setzero_ps();
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const uint8_t *p = w + b * 18;
        lfm_prefetch_ahead(p, 72);
#if QI_VBMI
        __m128 dw;
        const __m512i dots = iq4_quad_dots(qv_gather4(p, &dw), xg + b * 32, table);
#else
        __m512i codes = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p + 2)));
        codes = _mm512_inserti32x4(codes, _mm_loadu_si128((const __m128i *)(p + 20)), 1);
        codes = _mm512_inserti32x4(codes, _mm_loadu_si128((const __m128i *)(p + 38)), 2);
        codes = _mm512_inserti32x4(codes, _mm_loadu_si128((const __m128i *)(p + 56)), 3);
        const __m512i dots = iq4_quad_dots(codes, xg + b * 32, table);
        uint16_t h[4];
        for (int i = 0; i < 4; i++) memcpy(&h[i], p + 18 * i, 2);
        const uint64_t packed = (uint64_t)h[0] | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 32 | (uint64_t)h[3] << 48;
        const __m128 dw = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)packed));
#endif
        corr = _mm_fmadd_ps(dw, _mm_loadu_ps(xds + b), corr);
        const __m512 scale = _mm512_permutexvar_ps(lanes, _mm512_castps128_ps512(_mm_mul_ps(dw, _mm_loadu_ps(xd + b))));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), scale, acc);
    }
    float result = _mm512_reduce_add_ps(acc) - 128.0f * qs_hsum(_mm256_zextps128_ps256(corr));
    const __m256i table256 = _mm512_castsi512_si256(table);
    for (; b < nb; b++) {
        const uint8_t *p = w + b * 18;
        const __m256i u = _mm256_shuffle_epi8(table256, qs_nibbles(p + 2));
        const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, qs_load(xq + b * 32));
        const float dw = qs_half(p);
        result += dw * xd[b] * qs_hsum(_mm256_cvtepi32_ps(dot)) - 128.0f * dw * xds[b];
    }
    return result;
}

/// The eight sub-block scales of the IQ4_XS super-block at blk as F32, (ls_j - 32) · d · dx.
/// QI_VBMI: two pdep place the low four and high two bits of every ls_j at bits 2-7 of byte j, the
/// top bit flipped makes the byte 4 (ls_j - 32) as int8, and the quarter goes into d · dx (a power of
/// two: exact unless d · dx is below 2^-124), so the products are the bits the vector shifts give.
QS_INL __m256 iq4xs_scales(const uint8_t *blk, float dx) {
#if QI_VBMI
    uint16_t high;
    uint32_t lowBits;
    memcpy(&high, blk + 2, 2);
    memcpy(&lowBits, blk + 4, 4);
    const uint64_t quarter = (_pdep_u64(lowBits, 0x3C3C3C3C3C3C3C3Cull) | _pdep_u64(high, 0xC0C0C0C0C0C0C0C0ull)) ^
                             0x8080808080808080ull;
    const __m256i ls4 = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128((long long)quarter));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(ls4), _mm256_set1_ps(qs_half(blk) * dx * 0.25f));
#else
    const __m256i ls = qs_iq4xs_scales(blk);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(ls), _mm256_set1_ps(qs_half(blk) * dx));
#endif
}

/// One IQ4_XS row of nb super-blocks (136 bytes: d, the high and low scale bits, 128 code bytes) times
/// one activation row (Q8_K blocks of 256; `xg` regrouped per four sub-blocks). Per super-block: the
/// eight sub-block scales (iq4xs_scales); two 64-byte loads of codes, each four sub-blocks for
/// iq4_quad_dots, two FMAs with the scales spread to the sub-blocks' lanes; the offset term
/// 128 · Σ_j scale_j Σ x_j from the activation sums of 16.
QS_TARGET static float iq4xs_row512(const uint8_t *w, const int8_t *xg, const float *xd, const int16_t *xs,
                                    size_t nb) {
    const __m512i table = iq4_table_plus128();
    const __m512i lanes0 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i lanes1 = _mm512_set_epi32(7, 7, 7, 7, 6, 6, 6, 6, 5, 5, 5, 5, 4, 4, 4, 4);
    __m512 acc = _mm512_setzero_ps();
    __m256 corr = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 136;
        lfm_prefetch_ahead(blk, 136);
        const __m256 scales = iq4xs_scales(blk, xd[b]);
        const __m512 s16 = _mm512_castps256_ps512(scales);
        const __m512i d0 = iq4_quad_dots(_mm512_loadu_si512((const void *)(blk + 8)), xg + b * 256, table);
        const __m512i d1 = iq4_quad_dots(_mm512_loadu_si512((const void *)(blk + 72)), xg + b * 256 + 128, table);
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_permutexvar_ps(lanes0, s16), acc);
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d1), _mm512_permutexvar_ps(lanes1, s16), acc);
        // Σ x of each sub-block of 32: the activation sums of 16 added in pairs.
        const __m256i sx = _mm256_madd_epi16(qs_load(xs + b * 16), _mm256_set1_epi16(1));
        corr = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sx), scales, corr);
    }
    return _mm512_reduce_add_ps(acc) - 128.0f * qs_hsum(corr);
}

QS_TARGET void QI_ENTRY(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                        float *y, size_t yStride) {
    const size_t cols = x->cols, rb = lfm_qt_row_bytes(type, cols);
    // The activation codes of each row regrouped per four blocks of 32 (whole groups; an IQ4_XS row is
    // whole groups): on the stack up to QS_STACK_COLS codes in all, else on the heap; without memory,
    // the plain C loop.
    _Alignas(64) int8_t stack[QS_STACK_COLS];
    int8_t *grouped = m * cols <= sizeof(stack) ? stack : malloc(m * cols);
    if (!grouped) {
        lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride);
        return;
    }
    for (size_t t = 0; t < m; t++) qs_q4_0_group_activations(x->q + t * cols, cols / 128, grouped + t * cols);
    const size_t chunk = m == 1 ? n1 - n0 : lfm_qt_chunk_rows(rb) / 2;
    for (size_t c0 = n0; c0 < n1; c0 += chunk) {
        const size_t c1 = c0 + chunk < n1 ? c0 + chunk : n1;
        for (size_t t = 0; t < m; t++) {
            const int8_t *xq = x->q + t * cols, *xg = grouped + t * cols;
            float *yt = y + t * yStride;
            if (type == QT_IQ4_NL) {
                const float *xd = x->d + t * (cols / 32), *xds = x->dsums + t * (cols / 32);
                for (size_t n = c0; n < c1; n++) yt[n] = iq4nl_row512((const uint8_t *)w + n * rb, xq, xg, xd, xds, cols / 32);
            } else {
                const float *xd = x->d + t * (cols / 256);
                const int16_t *xs = x->sums + t * (cols / 16);
                for (size_t n = c0; n < c1; n++) yt[n] = iq4xs_row512((const uint8_t *)w + n * rb, xg, xd, xs, cols / 256);
            }
        }
    }
    if (grouped != stack) free(grouped);
}
