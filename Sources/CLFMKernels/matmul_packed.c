// Activation packing for the packed prefill GEMM (layout in internal/matmul_packed.h).
#include "CLFMKernels.h"
#include "internal/matmul_common.h"
#include "internal/matmul_packed.h"

size_t lfm_packed_activation_floats(size_t m, size_t cols, size_t mr) {
    return mr == 0 ? 0 : lfm_packed_rows(m, mr) * cols;
}

void lfm_pack_activations(const float *x, size_t xStride, size_t m, size_t cols, size_t mr,
                          size_t t0, size_t t1, float *out) {
    if (mr == 0) return;
    size_t mp = lfm_packed_rows(m, mr);
    if (t1 > mp) t1 = mp;
    for (size_t kc = 0; kc < cols; kc += LFM_PACKED_KC) {
        size_t kl = lfm_min(LFM_PACKED_KC, cols - kc);
        for (size_t t = t0; t < t1; t += mr) {
            float *panel = out + kc * mp + t * kl;
            for (size_t i = 0; i < mr; i++) {
                if (t + i < m) {
                    const float *src = x + (t + i) * xStride + kc;
                    for (size_t k = 0; k < kl; k++) panel[k * mr + i] = src[k];
                } else {
                    for (size_t k = 0; k < kl; k++) panel[k * mr + i] = 0;
                }
            }
        }
    }
}
