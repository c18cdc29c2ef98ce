// Software prefetch of the decode row kernels (x86), shared by the quantized and F32/F16/BF16 ones.
#ifndef LFM_PREFETCH_H
#define LFM_PREFETCH_H
#include <stddef.h>
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>

/// Two distances: into L2 LFM_PREFETCH_L2 bytes ahead and into L1 LFM_PREFETCH_L1 bytes ahead. A
/// decode row is read once from DRAM, and one thread's hardware prefetcher keeps too few lines in
/// flight; a far prefetch into L2 does not hold an L1 fill buffer for the whole DRAM latency, and the
/// near one brings lines to L1 from L2 just before use (Benchmarks/README.md has the distances
/// measured). Rows follow each other in memory, so near a row's end this prefetches the next rows;
/// past the matrix it touches lines that may be unused (prefetches never fault). One exception: the
/// regrouped Q8_0 rows of the AVX-512 kernels skip it on AMD (lfm_x8_rows_avx512), where the hardware
/// prefetchers alone read them faster.
#define LFM_PREFETCH_L2 16384
#define LFM_PREFETCH_L1 1024

/// Prefetches [p + LFM_PREFETCH_L2, + bytes) into L2 and [p + LFM_PREFETCH_L1, + bytes) into L1,
/// line by line. SSE only, so it inlines into every target.
__attribute__((always_inline)) static inline void lfm_prefetch_ahead(const void *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) {
        _mm_prefetch((const char *)p + LFM_PREFETCH_L2 + o, _MM_HINT_T1);
        _mm_prefetch((const char *)p + LFM_PREFETCH_L1 + o, _MM_HINT_T0);
    }
}

/// For the packed prefill GEMMs with few tokens: prefetches into L2 the weight bytes their next chunk packs,
/// blocks `next` ..< `next` + `chunkBlocks` (blocks of rowBytes / rowBlocks bytes) of the panel rows
/// n ..< n + panelRows, or from block 0 of the next panel when `next` is past the row; only rows below n1.
/// One panel's rows are as many streams as the hardware prefetchers follow, and with few tokens packing
/// does not leave them the time (Benchmarks/README.md, "packing for few tokens").
__attribute__((always_inline)) static inline void lfm_prefetch_next_chunk(const uint8_t *w, size_t rowBytes, size_t rowBlocks,
                                                                          size_t n, size_t n1, size_t panelRows,
                                                                          size_t next, size_t chunkBlocks) {
    const size_t blockBytes = rowBytes / rowBlocks;
    if (next >= rowBlocks) {
        n += panelRows;
        next = 0;
    }
    const size_t blocks = rowBlocks - next < chunkBlocks ? rowBlocks - next : chunkBlocks;
    const size_t rows = n + panelRows <= n1 ? panelRows : n < n1 ? n1 - n : 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < blocks * blockBytes; o += 64)
            _mm_prefetch((const char *)(w + (n + r) * rowBytes + next * blockBytes + o), _MM_HINT_T1);
}
#endif
#endif
