// Shared helpers of the matmul kernels (included by the matmul_*.c files only).
#ifndef LFM_MATMUL_COMMON_H
#define LFM_MATMUL_COMMON_H
#include <stddef.h>
#include <stdint.h>

static inline size_t lfm_dtype_size(int dtype) { return dtype == 0 ? 4 : 2; }

/// Rows of W per cache block in the prefill loops: about 192 KiB of weights, a multiple of 4.
static inline size_t lfm_block_rows(size_t rowBytes) {
    size_t nb = (192u * 1024u) / (rowBytes ? rowBytes : 1);
    nb &= ~(size_t)3;
    return nb < 4 ? 4 : nb;
}

static inline size_t lfm_min(size_t a, size_t b) { return a < b ? a : b; }

/// Whether a product of rows n0 ..< n1 over `cols` columns with m activation rows has nothing to
/// compute: no rows or no tokens (nothing written), or no columns (the outputs set to zero).
static inline int lfm_matmul_trivial(size_t cols, size_t n0, size_t n1, size_t m, float *y, size_t yStride) {
    if (n1 <= n0 || m == 0) return 1;
    if (cols != 0) return 0;
    for (size_t t = 0; t < m; t++)
        for (size_t n = n0; n < n1; n++) y[t * yStride + n] = 0;
    return 1;
}

#endif
