// The AVX-512 VNNI block-quantized kernels of quant_avx512.c compiled again for CPUs that also
// have AVX512_VBMI, GFNI and BMI2 (LFM_CPU_AVX512VBMI): byte permutes for the K-quant scale vectors,
// GF(2) affine byte transforms for the Q4_K high nibbles and the Q6_K code unpack (QS_GFNI), Q4_0
// decode rows through qv_q4_0_row below, and the IQ4 decode rows of internal/quant_iq4_avx512.h with
// vpermb lookups and pdep scale unpacking. Same integer products; only the F32 summation order may
// differ.
#include "CLFMKernels.h"
#include "internal/quant_common.h"
#include <stdlib.h>

#pragma clang fp contract(off)

#if defined(__x86_64__)
#define QS_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,gfni,bmi2,avx2,fma,f16c")))
#define QS_VNNI 1
#define QS_GFNI 1
#include "internal/quant_simd.h"
// (internal/quant_iq4_avx512.h also defines qv_gather4, used below.)
#define QI_VBMI 1
#define QI_ENTRY lfm_iq4_rows_avx512vbmi
#include "internal/quant_iq4_avx512.h"

/// Decode (one activation row) of a Q4_0 row of nb blocks, four blocks (72 bytes) per step: qv_gather4
/// packs the four blocks' nibble bytes and scales, a mask and a shift + mask give the low and high
/// codes, which meet the activations regrouped by qs_q4_0_group_activations (`xg`) in two dot products
/// into one accumulator (each dword stays within one block). Same integer products and offset term
/// as qs_pairs_row. `xq` (as stored) serves the last one to three blocks.
QS_TARGET static float qv_q4_0_row(const uint8_t *w, const int8_t *xq, const int8_t *xg, const float *xd,
                                   const float *xds, size_t nb) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m512i blockLanes = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    __m512 a0 = _mm512_setzero_ps();
    __m128 corr = _mm_setzero_ps();
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const uint8_t *p = w + b * 18;
        lfm_prefetch_ahead(p, 72);
        __m128 dw;
        const __m512i nibbles = qv_gather4(p, &dw);
        const __m512i codesLow = _mm512_and_si512(nibbles, low);
        const __m512i codesHigh = _mm512_and_si512(_mm512_srli_epi16(nibbles, 4), low);
        __m512i dots = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codesLow, _mm512_loadu_si512((const void *)(xg + b * 32)));
        dots = _mm512_dpbusd_epi32(dots, codesHigh, _mm512_loadu_si512((const void *)(xg + b * 32 + 64)));
        corr = _mm_fmadd_ps(dw, _mm_loadu_ps(xds + b), corr);
        const __m512 s4 = _mm512_castps128_ps512(_mm_mul_ps(dw, _mm_loadu_ps(xd + b)));
        a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), _mm512_permutexvar_ps(blockLanes, s4), a0);
    }
    corr = _mm_add_ps(corr, _mm_movehl_ps(corr, corr));
    corr = _mm_add_ss(corr, _mm_movehdup_ps(corr));
    float result = _mm512_reduce_add_ps(a0) - 8.0f * _mm_cvtss_f32(corr);
    return b < nb ? result + qs_q4_0_tail(w, b, nb, xq, xd, xds) : result;
}

/// vpermi2b indices over the two registers loaded at four consecutive Q4_1 / Q5_0 / Q5_1 blocks
/// (`bytes` long, codes at `codes`, the fifth bits at `high`): `nibbles` puts block j's 16 code bytes
/// at bytes 16j ..< 16j + 16; `meta` puts the four F16 scales at bytes 0-7, the four mins (Q4_1,
/// Q5_1) at 8-15, the low 16 fifth bits of each block at 16-23 and the high 16 at 24-31.
typedef struct {
    __m512i nibbles, meta;
} QVSmall4;

QS_TARGET static QVSmall4 qv_small4_indices(size_t bytes, size_t codes, size_t high) {
    _Alignas(64) uint8_t nib[64], meta[64];
    for (int k = 0; k < 64; k++) {
        nib[k] = (uint8_t)((size_t)(k >> 4) * bytes + codes + (size_t)(k & 15));
        const size_t j = (size_t)((k & 7) >> 1), part = (size_t)(k >> 3) & 3;
        const size_t base = part == 0 ? 0 : part == 1 ? 2 : part == 2 ? high : high + 2;
        meta[k] = (uint8_t)(j * bytes + base + (size_t)(k & 1));
    }
    QVSmall4 r = { _mm512_load_si512((const void *)nib), _mm512_load_si512((const void *)meta) };
    return r;
}

/// Decode (one activation row) of a Q4_1 / Q5_0 / Q5_1 row of nb blocks, four blocks per step as
/// qv_q4_0_row: two vpermi2b gather the code bytes and the scales, mins and fifth bits (which join
/// the codes by masked byte adds of 16); Q5_0's offset of 16 and Q4_1 / Q5_1's mins through the
/// activations' d · Σ x. Same integer products as qs_small_block.
QS_TARGET static float qv_small4_row(int type, QVSmall4 ix, const uint8_t *w, const int8_t *xq, const int8_t *xg,
                                     const float *xd, const float *xds, size_t nb) {
    const size_t bytes = lfm_qt_block_bytes(type);
    const __mmask64 tailBytes = ((__mmask64)1 << (4 * bytes - 64)) - 1;
    const int five = type != QT_Q4_1, mins = type != QT_Q5_0;
    const __m512i low = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(0x10);
    const __m512i blockLanes = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    __m512 a0 = _mm512_setzero_ps();
    __m128 corr = _mm_setzero_ps();
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const uint8_t *p = w + b * bytes;
        lfm_prefetch_ahead(p, 4 * bytes);
        const __m512i first = _mm512_loadu_si512((const void *)p), last = _mm512_maskz_loadu_epi8(tailBytes, p + 64);
        const __m512i nibbles = _mm512_permutex2var_epi8(first, ix.nibbles, last);
        const __m512i meta = _mm512_permutex2var_epi8(first, ix.meta, last);
        const __m256 dm = _mm256_cvtph_ps(_mm512_castsi512_si128(meta)); // d0..d3, m0..m3
        __m512i codesLow = _mm512_and_si512(nibbles, low);
        __m512i codesHigh = _mm512_and_si512(_mm512_srli_epi16(nibbles, 4), low);
        if (five) {
            const __m128i bits = _mm512_extracti32x4_epi32(meta, 1);
            codesLow = _mm512_mask_add_epi8(codesLow, (__mmask64)_mm_cvtsi128_si64(bits), codesLow, sixteen);
            codesHigh = _mm512_mask_add_epi8(codesHigh, (__mmask64)_mm_extract_epi64(bits, 1), codesHigh, sixteen);
        }
        __m512i dots = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codesLow, _mm512_loadu_si512((const void *)(xg + b * 32)));
        dots = _mm512_dpbusd_epi32(dots, codesHigh, _mm512_loadu_si512((const void *)(xg + b * 32 + 64)));
        const __m128 dw = _mm256_castps256_ps128(dm);
        corr = _mm_fmadd_ps(mins ? _mm256_extractf128_ps(dm, 1) : dw, _mm_loadu_ps(xds + b), corr);
        const __m512 s4 = _mm512_castps128_ps512(_mm_mul_ps(dw, _mm_loadu_ps(xd + b)));
        a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), _mm512_permutexvar_ps(blockLanes, s4), a0);
    }
    corr = _mm_add_ps(corr, _mm_movehl_ps(corr, corr));
    corr = _mm_add_ss(corr, _mm_movehdup_ps(corr));
    const float c = _mm_cvtss_f32(corr);
    float result = _mm512_reduce_add_ps(a0) + (mins ? c : -16.0f * c);
    if (b < nb) {
        __m256 tail[1] = { _mm256_setzero_ps() };
        float tailMin[1] = { 0 };
        for (; b < nb; b++) qs_small_block(w, b, 1, type, &xq, &xd, &xds, tail, tailMin);
        result += qs_hsum(tail[0]) + tailMin[0];
    }
    return result;
}

QS_TARGET void lfm_qmatmul_avx512vbmi(int type, const void *w, size_t n0, size_t n1,
                                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    if (type == QT_IQ4_NL || type == QT_IQ4_XS) {
        lfm_iq4_rows_avx512vbmi(type, w, n0, n1, x, m, y, yStride);
        return;
    }
    if (type == QT_Q4_0_X8 || type == QT_Q8_0_X8) {
        lfm_x8_rows_avx512(type, w, n0, n1, x, m, y, yStride);
        return;
    }
    if ((type == QT_Q4_K || type == QT_Q5_K) && m < 4 && qs_k45_rows512(w, type == QT_Q5_K, n0, n1, x, m, y, yStride)) return;
    const int small4 = type == QT_Q4_1 || type == QT_Q5_0 || type == QT_Q5_1;
    if ((type == QT_Q4_0 || small4) && m < 4) {
        // Decode, and the 2-3 rows below the packed GEMM's threshold (continuous batching):
        // qv_q4_0_row once per activation row over chunks of weight rows that stay in L1 / L2,
        // so the weights are read from memory once. With two or three rows this is 1.4-1.5x the
        // multi-row 256-bit kernel (8192 x 2048 weights, one thread).
        const size_t nb = x->cols / 32, rb = nb * lfm_qt_block_bytes(type), groups = nb / 4;
        const QVSmall4 ix = small4 ? qv_small4_indices(lfm_qt_block_bytes(type), type == QT_Q4_1 ? 4 : type == QT_Q5_0 ? 6 : 8,
                                                       type == QT_Q5_0 ? 2 : 4)
                                   : (QVSmall4){ _mm512_setzero_si512(), _mm512_setzero_si512() };
        // The activation rows regrouped once per call (m x 128 bytes per four blocks): on the stack
        // up to 16 KiB, else on the heap; without memory, the multi-row kernel below.
        int8_t stackGroups[16384] __attribute__((aligned(64)));
        int8_t *grouped = m * groups * 128 <= sizeof(stackGroups) ? stackGroups : malloc(m * groups * 128);
        if (grouped) {
            for (size_t t = 0; t < m; t++) qs_q4_0_group_activations(x->q + t * x->cols, groups, grouped + t * groups * 128);
            const size_t chunk = m == 1 ? n1 - n0 : lfm_qt_chunk_rows(rb) / 2;
            for (size_t c0 = n0; c0 < n1; c0 += chunk) {
                const size_t c1 = c0 + chunk < n1 ? c0 + chunk : n1;
                for (size_t t = 0; t < m; t++) {
                    const int8_t *xq = x->q + t * x->cols, *xg = grouped + t * groups * 128;
                    const float *xd = x->d + t * nb, *xds = x->dsums + t * nb;
                    for (size_t n = c0; n < c1; n++)
                        y[t * yStride + n] = small4 ? qv_small4_row(type, ix, (const uint8_t *)w + n * rb, xq, xg, xd, xds, nb)
                                                    : qv_q4_0_row((const uint8_t *)w + n * rb, xq, xg, xd, xds, nb);
                }
            }
            if (grouped != stackGroups) free(grouped);
            return;
        }
    }
    QS_DISPATCH(type, w, n0, n1, x, m, y, yStride);
}
#else
void lfm_qmatmul_avx512vbmi(int type, const void *w, size_t n0, size_t n1,
                            const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride);
}
#endif
