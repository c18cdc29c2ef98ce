// AVX-512 VNNI block-quantized matmul: vpdpbusd / vpdpwssd integer dot products (ymm registers,
// one 32-value block per instruction), F32 scaling with FMA.
#include "CLFMKernels.h"
#include "internal/quant_common.h"
#include <stdlib.h>

#pragma clang fp contract(off)

#if defined(__x86_64__)
#define QS_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define QS_VNNI 1
#include "internal/quant_simd.h"

/// The activation quantizer of LFM_DEFINE_QUANTIZE_ACTIVATIONS, 16 values per register: the same
/// F32 operations per element (max, products, the round-half-even constant), so the same bytes.
QS_TARGET void lfm_quantize_activations_avx512(const float *x, size_t xStride, size_t t0, size_t t1, size_t cols,
                                               size_t block, int8_t *q, float *d, int16_t *sums, float *dsums) {
    const size_t nb = cols / block, groups = block / 16;
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    for (size_t t = t0; t < t1; t++) {
        const float *xr = x + t * xStride;
        int8_t *qr = q + t * cols;
        int16_t *sr = sums + t * (cols / 16);
        for (size_t b = 0; b < nb; b++) {
            const float *xb = xr + b * block;
            __m512 mx = _mm512_setzero_ps();
            for (size_t g = 0; g < groups; g++) mx = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xb + 16 * g)), mx);
            const float amax = _mm512_reduce_max_ps(mx);
            const float id = amax >= 1e-30f ? 127.0f / amax : 0.0f;
            const float dv = id != 0.0f ? amax / 127.0f : 0.0f;
            d[t * nb + b] = dv;
            const __m512 vid = _mm512_set1_ps(id);
            int total = 0;
            for (size_t g = 0; g < groups; g++) {
                __m512 v = _mm512_mul_ps(_mm512_loadu_ps(xb + 16 * g), vid);
                v = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
                const __m512i iv = _mm512_cvtps_epi32(v);
                _mm_storeu_si128((__m128i *)(qr + b * block + 16 * g), _mm512_cvtepi32_epi8(iv));
                const int s = _mm512_reduce_add_epi32(iv);
                sr[b * groups + g] = (int16_t)s;
                total += s;
            }
            dsums[t * nb + b] = dv * (float)total;
        }
    }
}

/// One activation row prepared for the regrouped-row kernels: the activation scales of every whole
/// group of eight blocks in the stored scale order 0, 2, 4, 6, 1, 3, 5, 7 and, for Q4_0 (`xg` not
/// NULL), the codes regrouped per four blocks (the first halves of the four blocks, which meet the
/// low nibbles, then their second halves).
QS_TARGET static void x8_prepare(const int8_t *xq, const float *xd, const float *xds, size_t nb, int8_t *xg,
                                 float *xdp, float *xdsp) {
    if (xg) qs_q4_0_group_activations(xq, nb / 4, xg);
    qs_permute_scales8(xd, xds, nb, xdp, xdsp);
}

/// The eight scales at the start of a regrouped group times the prepared activation scales (lanes
/// 0..7 of the result, in stored order); their offset-term products go into *corr.
QS_INL __m512 x8_group_scales(const uint8_t *group, const float *xdp, const float *xdsp, __m256 *corr) {
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)group));
    *corr = _mm256_fmadd_ps(dw, _mm256_loadu_ps(xdsp), *corr);
    return _mm512_castps256_ps512(_mm256_mul_ps(dw, _mm256_loadu_ps(xdp)));
}

/// One LFM_QT_Q4_0_X8 row of nb blocks times one prepared activation row. Per group of eight blocks
/// (144 bytes): one conversion of the eight scales; per four blocks one 64-byte load of codes, a mask
/// and a shift + mask for the low and high codes, two dot products into one accumulator (a dword
/// stays within one block) and one FMA with the scales spread to their blocks' lanes. Same integer
/// products and offset term as the GGUF-layout kernels; the last nb % 8 blocks (GGUF layout) take
/// the 256-bit block step.
QS_TARGET static float q4x8_row(const uint8_t *w, const int8_t *xq, const int8_t *xg, const float *xd,
                                const float *xds, const float *xdp, const float *xdsp, size_t nb) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    // Stored scale positions of blocks 0..3 (0, 4, 1, 5) and 4..7 (2, 6, 3, 7), four lanes each.
    const __m512i lanes0 = _mm512_set_epi32(5, 5, 5, 5, 1, 1, 1, 1, 4, 4, 4, 4, 0, 0, 0, 0);
    const __m512i lanes1 = _mm512_set_epi32(7, 7, 7, 7, 3, 3, 3, 3, 6, 6, 6, 6, 2, 2, 2, 2);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m256 corr = _mm256_setzero_ps();
    size_t b = 0;
    for (; b + 8 <= nb; b += 8) {
        const uint8_t *p = w + b * 18;
        lfm_prefetch_ahead(p, 144);
        const __m512 s8 = x8_group_scales(p, xdp + b, xdsp + b, &corr);
        const __m512i c0 = _mm512_loadu_si512((const void *)(p + 16)), c1 = _mm512_loadu_si512((const void *)(p + 80));
        const int8_t *xb = xg + b * 32;
        __m512i d0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(c0, low), _mm512_loadu_si512((const void *)xb));
        d0 = _mm512_dpbusd_epi32(d0, _mm512_and_si512(_mm512_srli_epi16(c0, 4), low), _mm512_loadu_si512((const void *)(xb + 64)));
        __m512i d1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(c1, low), _mm512_loadu_si512((const void *)(xb + 128)));
        d1 = _mm512_dpbusd_epi32(d1, _mm512_and_si512(_mm512_srli_epi16(c1, 4), low), _mm512_loadu_si512((const void *)(xb + 192)));
        a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_permutexvar_ps(lanes0, s8), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d1), _mm512_permutexvar_ps(lanes1, s8), a1);
    }
    float result = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) - 8.0f * qs_hsum(corr);
    return b < nb ? result + qs_q4_0_tail(w, b, nb, xq, xd, xds) : result;
}

/// One LFM_QT_Q8_0_X8 row of nb blocks times one activation row (scales prepared by x8_prepare). Per
/// group of eight blocks (272 bytes): one conversion of the eight scales; per two blocks one 64-byte
/// load of codes, made unsigned (+ 128) for one dot product, and one FMA with the two blocks' scales
/// spread to their lanes; the 128 · Σ x term is taken off once at the end. The last nb % 8 blocks
/// (GGUF layout) take the 256-bit block step. `prefetch`: software prefetch ahead of the row (see
/// lfm_x8_rows_avx512).
QS_TARGET static float q8x8_row(const uint8_t *w, const int8_t *xq, const float *xd, const float *xdp,
                                const float *xdsp, size_t nb, int prefetch) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    // Blocks 2k and 2k + 1 sit at stored scale positions k and 4 + k: eight lanes each.
    const __m512i lanes[4] = {
        _mm512_set_epi32(4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0),
        _mm512_set_epi32(5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1),
        _mm512_set_epi32(6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2, 2, 2, 2, 2, 2),
        _mm512_set_epi32(7, 7, 7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3, 3, 3, 3),
    };
    __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
    __m256 corr = _mm256_setzero_ps();
    size_t b = 0;
    for (; b + 8 <= nb; b += 8) {
        const uint8_t *p = w + b * 34;
        if (prefetch) lfm_prefetch_ahead(p, 272);
        const __m512 s8 = x8_group_scales(p, xdp + b, xdsp + b, &corr);
        for (int k = 0; k < 4; k++) {
            const __m512i codes = _mm512_xor_si512(_mm512_loadu_si512((const void *)(p + 16 + 64 * k)), flip);
            const __m512i dots = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes,
                                                     _mm512_loadu_si512((const void *)(xq + b * 32 + 64 * k)));
            acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), _mm512_permutexvar_ps(lanes[k], s8), acc[k]);
        }
    }
    float result = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])))
                   - 128.0f * qs_hsum(corr);
    if (b < nb) {
        __m256 tail[1] = { _mm256_setzero_ps() };
        for (; b < nb; b++) qs_q8_0_block(w, b, 1, &xq, &xd, tail);
        result += qs_hsum(tail[0]);
    }
    return result;
}

QS_TARGET void lfm_x8_rows_avx512(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x,
                                  size_t m, float *y, size_t yStride) {
    const int q4 = type == QT_Q4_0_X8;
    const size_t nb = x->cols / 32, rb = nb * lfm_x8_block_bytes(type);
    // Prepared activations per row (Q4_0: cols code bytes; then 2 x nb floats): on the stack for one
    // row of up to QS_STACK_COLS columns, else on the heap; without memory, the plain C loop.
    const size_t codes = q4 ? x->cols : 0, per = codes + 8 * nb;
    _Alignas(64) int8_t stack[QS_STACK_COLS + 8 * (QS_STACK_COLS / 32)];
    int8_t *prepared = m * per <= sizeof(stack) ? stack : malloc(m * per);
    if (!prepared) {
        lfm_qmatmul_plain(type, w, n0, n1, x, m, y, yStride);
        return;
    }
    for (size_t t = 0; t < m; t++) {
        int8_t *row = prepared + t * per;
        float *xdp = (float *)(void *)(row + codes);
        x8_prepare(x->q + t * x->cols, x->d + t * nb, x->dsums + t * nb, nb, q4 ? row : NULL, xdp, xdp + nb);
    }
    // The Q8_0 rows are the fastest consumer of all (60 GB/s from L2 on one Zen 4 core): from DRAM on
    // AMD Zen 4 they read faster on the hardware prefetchers alone, on Intel much slower
    // (Benchmarks/README.md has both).
    const int prefetch = !lfm_cpu_is_amd();
    const size_t chunk = m == 1 ? n1 - n0 : lfm_qt_chunk_rows(rb) / 2;
    for (size_t c0 = n0; c0 < n1; c0 += chunk) {
        const size_t c1 = c0 + chunk < n1 ? c0 + chunk : n1;
        for (size_t t = 0; t < m; t++) {
            const int8_t *row = prepared + t * per;
            const float *xdp = (const float *)(const void *)(row + codes);
            const int8_t *xq = x->q + t * x->cols;
            const float *xd = x->d + t * nb, *xds = x->dsums + t * nb;
            float *yt = y + t * yStride;
            if (q4)
                for (size_t n = c0; n < c1; n++) yt[n] = q4x8_row((const uint8_t *)w + n * rb, xq, row, xd, xds, xdp, xdp + nb, nb);
            else
                for (size_t n = c0; n < c1; n++) yt[n] = q8x8_row((const uint8_t *)w + n * rb, xq, xd, xdp, xdp + nb, nb, prefetch);
        }
    }
    if (prepared != stack) free(prepared);
}

#define QI_VBMI 0
#define QI_ENTRY lfm_iq4_rows_avx512
#include "internal/quant_iq4_avx512.h"

QS_TARGET void lfm_qmatmul_avx512vnni(int type, const void *w, size_t n0, size_t n1,
                                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    if (type == QT_Q4_0_X8 || type == QT_Q8_0_X8) {
        lfm_x8_rows_avx512(type, w, n0, n1, x, m, y, yStride);
        return;
    }
    if (type == QT_IQ4_NL || type == QT_IQ4_XS) {
        lfm_iq4_rows_avx512(type, w, n0, n1, x, m, y, yStride);
        return;
    }
    if ((type == QT_Q4_K || type == QT_Q5_K) && m < 4 && qs_k45_rows512(w, type == QT_Q5_K, n0, n1, x, m, y, yStride)) return;
    QS_DISPATCH(type, w, n0, n1, x, m, y, yStride);
}
#else
void lfm_quantize_activations_avx512(const float *x, size_t xStride, size_t t0, size_t t1, size_t cols,
                                     size_t block, int8_t *q, float *d, int16_t *sums, float *dsums) {
    lfm_quantize_activations_portable(x, xStride, t0, t1, cols, block, q, d, sums, dsums);
}
void lfm_qmatmul_avx512vnni(int type, const void *w, size_t n0, size_t n1,
                            const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride);
}
#endif
