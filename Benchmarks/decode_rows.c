// Decode row kernels alone: one activation row times Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL or
// IQ4_XS weight rows, read once from memory (24 matrices of 8192 x 2048, ~430 MB at Q8_0, more than any L3
// here) or again and again from L2 (one
// matrix of 512 rows, one thread): the second is the kernel's compute ceiling, the first what it
// reaches from DRAM. Compare with read_bandwidth.c at the same thread count.
//
//   clang -O3 -pthread -ISources/CLFMKernels/include Sources/CLFMKernels/*.c Benchmarks/decode_rows.c \
//      -o /tmp/decode_rows -lm && /tmp/decode_rows q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|q5_k|q6_k|q8_0-x8|q4_0-x8|iq4_nl|iq4_xs dram|l2 [threads]
//
// The kernel entry point is the one the engine picks on this CPU (lfm_cpu_features): AVX-512 VBMI,
// AVX-512 VNNI, AVX-VNNI, AVX2 or portable (the kernels need clang: vector extensions);
// DECODE_ROWS_PATH=avx512vnni|avx2|avxvnni|portable forces a slower path the CPU also has (LFM_ASSUME_AVXVNNI=1 where a
// hypervisor hides the AVX-VNNI bit); DECODE_ROWS_COLS sets the row length (default 2048). The -x8 types are
// the same rows regrouped as the loaders copy them for the x86 kernels (lfm_regroup_rows, LFM_QT_*_X8). Prints
// the path and the best of 10 passes in GB/s of weight bytes.
// Each thread is started once per pass and runs its share of the rows of every matrix in turn, as the
// engine's pool (which spins between products) does; starting threads per matrix cost 12-20 % here.
#include "CLFMKernels.h"
#include "bench_threads.h"
#include "bench_weights.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv) {
    const WeightType *wt = argc > 1 ? bench_weight_type(argv[1]) : NULL;
    if (argc < 3 || !wt || (strcmp(argv[2], "dram") && strcmp(argv[2], "l2"))) {
        fprintf(stderr, "usage: %s q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|q5_k|q6_k|q8_0-x8|q4_0-x8|iq4_nl|iq4_xs dram|l2 [threads]\n", argv[0]);
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
        } else if (strcmp(force, "avx512vnni") == 0 && (f & avx512) == avx512) {
            fn = lfm_qmatmul_avx512vnni;
            path = "avx512vnni";
        } else if (strcmp(force, "avx2") == 0 && (f & (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C)) == (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C)) {
            fn = lfm_qmatmul_avx2;
            path = "avx2";
        } else if (strcmp(force, "avxvnni") == 0 && (f & (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C | LFM_CPU_AVXVNNI)) ==
                                                         (LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C | LFM_CPU_AVXVNNI)) {
            fn = lfm_qmatmul_avxvnni;
            path = "avxvnni";
#endif
        } else {
            fprintf(stderr, "DECODE_ROWS_PATH=%s: not a path this CPU has (avx512vnni, avx2, avxvnni, portable)\n", force);
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
    const size_t matrixBytes = rows * cols / wt->elements * wt->bytes;
    uint8_t **w = malloc(matrices * sizeof *w);
    if (!w) return 1;
    for (size_t i = 0; i < matrices; i++)
        if (!(w[i] = bench_make_weights(wt, rows, cols))) return 1;
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
