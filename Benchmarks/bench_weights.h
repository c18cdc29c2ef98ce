// Weight matrices for the one-file kernel drivers (decode_rows.c, prefill_gemm.c): the block types
// they know and patterned matrices of them in huge-page memory.
#ifndef LFM_BENCH_WEIGHTS_H
#define LFM_BENCH_WEIGHTS_H

#include "CLFMKernels.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/// The weight types the driver knows: GGML type id, elements and bytes per block, and the byte
/// offsets of the block's F16 scales (set to small normal halves; the other bytes are patterned).
typedef struct {
    const char *name;
    int type;
    size_t elements, bytes, scales[2];
    int regrouped; // the kernel type id of the regrouped layout (0: GGUF layout)
} WeightType;

static const WeightType bench_weight_types[] = {
    {"q8_0", 8, 32, 34, {0, 0}, 0},      {"q4_0", 2, 32, 18, {0, 0}, 0},
    {"q4_1", 3, 32, 20, {0, 2}, 0},      {"q5_0", 6, 32, 22, {0, 0}, 0},
    {"q5_1", 7, 32, 24, {0, 2}, 0},
    {"q2_k", 10, 256, 84, {80, 82}, 0},  {"q3_k", 11, 256, 110, {108, 108}, 0},
    {"q4_k", 12, 256, 144, {0, 2}, 0},   {"q5_k", 13, 256, 176, {0, 2}, 0},
    {"q6_k", 14, 256, 210, {208, 208}, 0},
    {"q8_0-x8", 8, 32, 34, {0, 0}, LFM_QT_Q8_0_X8}, {"q4_0-x8", 2, 32, 18, {0, 0}, LFM_QT_Q4_0_X8},
    {"iq4_nl", 20, 32, 18, {0, 0}, 0},   {"iq4_xs", 23, 256, 136, {0, 0}, 0},
};

/// The type called `name` (as in the table), or NULL.
static const WeightType *bench_weight_type(const char *name) {
    for (size_t i = 0; i < sizeof bench_weight_types / sizeof bench_weight_types[0]; i++)
        if (strcmp(name, bench_weight_types[i].name) == 0) return &bench_weight_types[i];
    return NULL;
}

/// A rows x cols matrix of `wt` (cols a multiple of its block) in 2 MiB-aligned memory advised for
/// huge pages, regrouped where the type is: patterned code bytes, small normal F16 scales. NULL when
/// out of memory.
static uint8_t *bench_make_weights(const WeightType *wt, size_t rows, size_t cols) {
    const size_t blockBytes = wt->bytes, block = wt->elements, matrixBytes = rows * cols / block * blockBytes;
    const size_t huge = 2 << 20, allocated = (matrixBytes + huge - 1) / huge * huge;
    uint8_t *w = aligned_alloc(huge, allocated);
    if (!w) return NULL;
#if defined(__linux__)
    madvise(w, allocated, 14 /* MADV_HUGEPAGE */);
#endif
    for (size_t b = 0; b < matrixBytes / blockBytes; b++) {
        uint8_t *p = w + b * blockBytes;
        for (size_t k = 0; k < blockBytes; k++) p[k] = (uint8_t)((b * 131 + k * 7) & 0x7F);
        const uint16_t scale = 0x2000 + (uint16_t)(b % 64); // small normal halves
        memcpy(p + wt->scales[0], &scale, 2);
        memcpy(p + wt->scales[1], &scale, 2);
    }
    if (wt->regrouped) { // regrouped row by row through a copy of the row
        const size_t rowBytes = cols / block * blockBytes;
        uint8_t *row = malloc(rowBytes);
        if (!row) {
            free(w);
            return NULL;
        }
        for (size_t r = 0; r < rows; r++) {
            memcpy(row, w + r * rowBytes, rowBytes);
            lfm_regroup_rows(wt->type, row, w + r * rowBytes, 1, cols, 0);
        }
        free(row);
    }
    return w;
}

#endif
