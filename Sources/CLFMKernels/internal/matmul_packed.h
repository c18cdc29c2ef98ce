// Layout of the packed prefill GEMM (matmul_packed*.c only; the public parts are in CLFMKernels.h).
//
// Packed activations for m rows, `cols` columns and panel height MR: rows are padded with zeros
// to mp = lfm_packed_rows(m, MR); K is cut into slices of LFM_PACKED_KC columns; slice kc
// (length kl) starts at kc * mp, the panel of rows t .. t+MR-1 at kc * mp + t * kl, and element
// (t + i, kc + k) sits at kc * mp + t * kl + k * MR + i.
#ifndef LFM_MATMUL_PACKED_H
#define LFM_MATMUL_PACKED_H
#include <stddef.h>

static inline size_t lfm_packed_rows(size_t m, size_t mr) { return (m + mr - 1) / mr * mr; }

#endif
