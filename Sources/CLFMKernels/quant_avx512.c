// AVX-512 VNNI block-quantized matmul: vpdpbusd / vpdpwssd integer dot products (ymm registers,
// one 32-value block per instruction), F32 scaling with FMA.
#include "CLFMKernels.h"
#include "internal/quant_common.h"

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

QS_TARGET void lfm_qmatmul_avx512vnni(int type, const void *w, size_t n0, size_t n1,
                                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride) {
    // IQ4_NL / IQ4_XS rows run the AVX2 kernels (their prefill has the VNNI GEMM of
    // quant_gemm_avx512.c; Benchmarks/README.md has both paths' decode speed).
    if (type == QT_IQ4_NL || type == QT_IQ4_XS) {
        lfm_qmatmul_avx2(type, w, n0, n1, x, m, y, yStride);
        return;
    }
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
