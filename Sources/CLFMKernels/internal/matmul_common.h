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

#endif
