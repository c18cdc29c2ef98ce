// Decode row kernels alone: one activation row times Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, IQ4_NL or IQ4_XS weight rows, read once from memory
// (24 matrices of 8192 x 2048, ~430 MB at Q8_0, more than any L3 here) or again and again from L2 (one
// matrix of 512 rows, one thread): the second is the kernel's compute ceiling, the first what it
// reaches from DRAM. Compare with read_bandwidth.c at the same thread count.
//
//   clang -O3 -pthread -ISources/CLFMKernels/include Sources/CLFMKernels/*.c Benchmarks/decode_rows.c \
//      -o /tmp/decode_rows -lm && /tmp/decode_rows q8_0|q4_0|q4_k|q5_k|q6_k|q8_0-x8|q4_0-x8|iq4_nl|iq4_xs dram|l2 [threads]
//
// The kernel entry point is the one the engine picks on this CPU (lfm_cpu_features): AVX-512 VBMI,
// AVX-512 VNNI, AVX-VNNI, AVX2 or portable (the kernels need clang: vector extensions);
// DECODE_ROWS_PATH=avx2|avxvnni|portable forces a slower path the CPU also has (LFM_ASSUME_AVXVNNI=1 where a
// hypervisor hides the AVX-VNNI bit); DECODE_ROWS_COLS sets the row length (default 2048). The -x8 types are
// the same rows regrouped as the loaders copy them for the x86 kernels (lfm_regroup_rows, LFM_QT_*_X8). Prints
// the path and the best of 10 passes in GB/s of weight bytes.
// Each thread is started once per pass and runs its share of the rows of every matrix in turn, as the
// engine's pool (which spins between products) does; starting threads per matrix cost 12-20 % here.
#include "CLFMKernels.h"
#include "bench_threads.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

typedef void (*qmatmul_fn)(int, const void *, size_t, size_t, const LFMQuantActivations *, size_t, float *, size_t);

typedef struct {
    qmatmul_fn fn;
    int type;
    uint8_t *const *w;
    size_t matrices, repeats;
    size_t n0, n1;
    const LFMQuantActivations *x;
    float *y;
} Job;

/// Rows n0 ..< n1 of every matrix, `repeats` times.
static void *run(void *p) {
    Job *j = p;
    for (size_t r = 0; r < j->repeats; r++)
        for (size_t i = 0; i < j->matrices; i++) j->fn(j->type, j->w[i], j->n0, j->n1, j->x, 1, j->y, 0);
    return NULL;
}

/// The weight types the driver knows: GGML type id, elements and bytes per block, and the byte
/// offsets of the block's F16 scales (set to small normal halves; the other bytes are patterned).
typedef struct {
    const char *name;
    int type;
    size_t elements, bytes, scales[2];
    int regrouped; // the kernel type id of the regrouped layout (0: GGUF layout)
} WeightType;

static const WeightType types[] = {
    {"q8_0", 8, 32, 34, {0, 0}, 0},      {"q4_0", 2, 32, 18, {0, 0}, 0},
    {"q4_k", 12, 256, 144, {0, 2}, 0},   {"q5_k", 13, 256, 176, {0, 2}, 0},
    {"q6_k", 14, 256, 210, {208, 208}, 0},
    {"q8_0-x8", 8, 32, 34, {0, 0}, LFM_QT_Q8_0_X8}, {"q4_0-x8", 2, 32, 18, {0, 0}, LFM_QT_Q4_0_X8},
    {"iq4_nl", 20, 32, 18, {0, 0}, 0},   {"iq4_xs", 23, 256, 136, {0, 0}, 0},
};

int main(int argc, char **argv) {
    const WeightType *wt = NULL;
    for (size_t i = 0; argc > 1 && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(argv[1], types[i].name) == 0) wt = &types[i];
    if (argc < 3 || !wt || (strcmp(argv[2], "dram") && strcmp(argv[2], "l2"))) {
        fprintf(stderr, "usage: %s q8_0|q4_0|q4_k|q5_k|q6_k|q8_0-x8|q4_0-x8|iq4_nl|iq4_xs dram|l2 [threads]\n", argv[0]);
        return 2;
    }
    const int type = wt->regrouped ? wt->regrouped : wt->type, dram = strcmp(argv[2], "dram") == 0;
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    if (threads < 1 || threads > 16 || (!dram && threads != 1)) {
        fprintf(stderr, "threads: 1 to 16 (l2: 1)\n");
        return 2;
    }
    const uint32_t f = lfm_cpu_features();
    qmatmul_fn fn = lfm_qmatmul_portable;
    const char *path = "portable";
#if defined(__x86_64__)
    const uint32_t avx512 = LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512DQ | LFM_CPU_AVX512VNNI;
    if ((f & (avx512 | LFM_CPU_AVX512VBMI)) == (avx512 | LFM_CPU_AVX512VBMI)) {
        fn = lfm_qmatmul_avx512vbmi;
        path = "avx512vbmi";
    } else if ((f & avx512) == avx512) {
        fn = lfm_qmatmul_avx512vnni;
        path = "avx512vnni";
    } else if ((f & (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C)) == (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C)) {
        fn = f & LFM_CPU_AVXVNNI ? lfm_qmatmul_avxvnni : lfm_qmatmul_avx2;
        path = f & LFM_CPU_AVXVNNI ? "avxvnni" : "avx2";
    }
#endif
    const char *force = getenv("DECODE_ROWS_PATH");
    if (force && *force) {
        if (strcmp(force, "portable") == 0) {
            fn = lfm_qmatmul_portable;
            path = "portable";
#if defined(__x86_64__)
        } else if (strcmp(force, "avx2") == 0 && (f & (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C)) == (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C)) {
            fn = lfm_qmatmul_avx2;
            path = "avx2";
        } else if (strcmp(force, "avxvnni") == 0 && (f & (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C | LFM_CPU_AVXVNNI)) ==
                                                         (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C | LFM_CPU_AVXVNNI)) {
            fn = lfm_qmatmul_avxvnni;
            path = "avxvnni";
#endif
        } else {
            fprintf(stderr, "DECODE_ROWS_PATH=%s: not a path this CPU has (avx2, avxvnni, portable)\n", force);
            return 2;
        }
    }
    // DECODE_ROWS_COLS: row length (default 2048; the row count shrinks or grows to keep the bytes).
    const char *colsText = getenv("DECODE_ROWS_COLS");
    const size_t cols = colsText && *colsText ? (size_t)strtoul(colsText, NULL, 10) : 2048;
    if (cols < 256 || cols > 16384 || cols % 256) {
        fprintf(stderr, "DECODE_ROWS_COLS=%s: a multiple of 256 from 256 to 16384\n", colsText);
        return 2;
    }
    const size_t rows = (dram ? 8192 : 512) * 2048 / cols, matrices = dram ? 24 : 1, repeats = dram ? 1 : 400;
    const size_t blockBytes = wt->bytes, block = wt->elements, matrixBytes = rows * cols / block * blockBytes;
    const size_t huge = 2 << 20, allocated = (matrixBytes + huge - 1) / huge * huge;
    uint8_t **w = malloc(matrices * sizeof *w);
    if (!w) return 1;
    for (size_t i = 0; i < matrices; i++) {
        w[i] = aligned_alloc(huge, allocated);
        if (!w[i]) return 1;
#if defined(__linux__)
        madvise(w[i], allocated, 14 /* MADV_HUGEPAGE */);
#endif
        for (size_t b = 0; b < matrixBytes / blockBytes; b++) {
            uint8_t *p = w[i] + b * blockBytes;
            for (size_t k = 0; k < blockBytes; k++) p[k] = (uint8_t)((b * 131 + k * 7) & 0x7F);
            const uint16_t scale = 0x2000 + (uint16_t)(b % 64); // small normal halves
            memcpy(p + wt->scales[0], &scale, 2);
            memcpy(p + wt->scales[1], &scale, 2);
        }
        if (wt->regrouped) { // regrouped row by row through a copy of the row
            const size_t rowBytes = cols / block * blockBytes;
            uint8_t *row = malloc(rowBytes);
            if (!row) return 1;
            for (size_t r = 0; r < rows; r++) {
                memcpy(row, w[i] + r * rowBytes, rowBytes);
                lfm_regroup_rows(wt->type, row, w[i] + r * rowBytes, 1, cols, 0);
            }
            free(row);
        }
    }
    const size_t actBlock = (size_t)lfm_qmatmul_block(type);
    float *x = malloc(cols * sizeof *x), *y = malloc(rows * sizeof *y), *d = malloc(cols / actBlock * sizeof *d);
    float *dsums = malloc(cols / actBlock * sizeof *dsums);
    int8_t *q = malloc(cols);
    int16_t *sums = malloc(cols / 16 * sizeof *sums);
    if (!x || !y || !d || !dsums || !q || !sums) return 1;
    for (size_t k = 0; k < cols; k++) x[k] = (float)(k % 13) - 6.0f;
    lfm_quantize_activations_portable(x, cols, 0, 1, cols, actBlock, q, d, sums, dsums);
    const LFMQuantActivations a = {q, d, sums, dsums, cols, actBlock};
    double best = 1e30;
    for (int pass = 0; pass < 10; pass++) {
        Job jobs[BENCH_MAX_THREADS];
        for (int t = 0; t < threads; t++)
            jobs[t] = (Job){fn, type, w, matrices, repeats, rows * (size_t)t / (size_t)threads,
                            rows * (size_t)(t + 1) / (size_t)threads, &a, y};
        const double t0 = bench_now();
        bench_run_jobs(run, jobs, sizeof jobs[0], (size_t)threads);
        const double seconds = bench_now() - t0;
        if (seconds < best) best = seconds;
    }
    printf("path: %s\n", path);
    printf("%s %s %d thread%s: %.1f GB/s (y[7] = %g)\n", argv[1], argv[2], threads, threads == 1 ? "" : "s",
           (double)(matrices * repeats * matrixBytes) / best / 1e9, y[7]);
    return 0;
}
