// Prefill GEMM alone: 512 activation rows (tokens) times one Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL or
// IQ4_XS matrix of 2048 x 2048 (2 to 8.5 MB: it streams from L3 as the engine's do), through the packed GEMM
// entry point the engine picks on this CPU. Prints the path and the best of 20 passes in G multiply-adds per
// second, the figure to compare kernel variants on one machine without the rest of the model.
//
//   clang -O3 -pthread -ISources/CLFMKernels/include Sources/CLFMKernels/*.c Benchmarks/prefill_gemm.c \
//      -o /tmp/prefill_gemm -lm && /tmp/prefill_gemm q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|q5_k|q6_k|q8_0-x8|q4_0-x8|iq4_nl|iq4_xs [threads]
//
// PREFILL_GEMM_PATH=avx2|avxvnni forces the AVX2 GEMM (or its AVX-VNNI build) on a CPU with AVX-512;
// PREFILL_GEMM_COLS sets the row length (default 2048, rows 2048), PREFILL_GEMM_TOKENS the activation rows
// (default 512). Threads take contiguous row ranges of
// whole 32-row panels, as the engine's pool does.
#include "CLFMKernels.h"
#include "bench_threads.h"
#include "bench_weights.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*qgemm_fn)(int, const void *, size_t, size_t, const LFMQuantActivations *, size_t, float *, size_t);

typedef struct {
    qgemm_fn fn;
    int type;
    const uint8_t *w;
    size_t n0, n1, m, rows;
    const LFMQuantActivations *x;
    float *y;
} Job;

static void *run(void *p) {
    Job *j = p;
    j->fn(j->type, j->w, j->n0, j->n1, j->x, j->m, j->y, j->rows);
    return NULL;
}

int main(int argc, char **argv) {
    const WeightType *wt = argc > 1 ? bench_weight_type(argv[1]) : NULL;
    if (!wt) {
        fprintf(stderr, "usage: %s q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|q5_k|q6_k|q8_0-x8|q4_0-x8|iq4_nl|iq4_xs [threads]\n", argv[0]);
        return 2;
    }
    const int type = wt->regrouped ? wt->regrouped : wt->type;
    const int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > 16) {
        fprintf(stderr, "threads: 1 to 16\n");
        return 2;
    }
    const uint32_t f = lfm_cpu_features();
    qgemm_fn fn = NULL;
    const char *path = "none";
#if defined(__x86_64__)
    const uint32_t avx2 = LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C;
    const uint32_t avx512 = LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512DQ | LFM_CPU_AVX512VNNI;
    if ((f & avx512) == avx512) {
        fn = lfm_qgemm_avx512vnni;
        path = "avx512vnni";
    } else if ((f & avx2) == avx2) {
        fn = f & LFM_CPU_AVXVNNI ? lfm_qgemm_avxvnni : lfm_qgemm_avx2;
        path = f & LFM_CPU_AVXVNNI ? "avxvnni" : "avx2";
    }
    const char *force = getenv("PREFILL_GEMM_PATH");
    if (force && *force) {
        if (strcmp(force, "avx2") == 0 && (f & avx2) == avx2) {
            fn = lfm_qgemm_avx2;
            path = "avx2";
        } else if (strcmp(force, "avxvnni") == 0 && (f & (avx2 | LFM_CPU_AVXVNNI)) == (avx2 | LFM_CPU_AVXVNNI)) {
            fn = lfm_qgemm_avxvnni;
            path = "avxvnni";
        } else {
            fprintf(stderr, "PREFILL_GEMM_PATH=%s: not a path this CPU has (avx2, avxvnni)\n", force);
            return 2;
        }
    }
#endif
    if (!fn) {
        fprintf(stderr, "no packed prefill GEMM on this CPU\n");
        return 2;
    }
    const char *colsText = getenv("PREFILL_GEMM_COLS");
    const size_t cols = colsText && *colsText ? (size_t)strtoul(colsText, NULL, 10) : 2048;
    if (cols < 256 || cols > 16384 || cols % 256) {
        fprintf(stderr, "PREFILL_GEMM_COLS=%s: a multiple of 256 from 256 to 16384\n", colsText);
        return 2;
    }
    const char *tokensText = getenv("PREFILL_GEMM_TOKENS");
    const size_t m = tokensText && *tokensText ? (size_t)strtoul(tokensText, NULL, 10) : 512;
    if (m < 1 || m > 4096) {
        fprintf(stderr, "PREFILL_GEMM_TOKENS=%s: 1 to 4096\n", tokensText);
        return 2;
    }
    const size_t rows = 2048;
    uint8_t *w = bench_make_weights(wt, rows, cols);
    const size_t actBlock = (size_t)lfm_qmatmul_block(type);
    float *x = malloc(m * cols * sizeof *x), *y = malloc(m * rows * sizeof *y), *d = malloc(m * cols / actBlock * sizeof *d);
    float *dsums = malloc(m * cols / actBlock * sizeof *dsums);
    int8_t *q = malloc(m * cols);
    int16_t *sums = malloc(m * cols / 16 * sizeof *sums);
    if (!w || !x || !y || !d || !dsums || !q || !sums) return 1;
    for (size_t k = 0; k < m * cols; k++) x[k] = (float)((k * 7) % 13) - 6.0f;
    lfm_quantize_activations_portable(x, cols, 0, m, cols, actBlock, q, d, sums, dsums);
    const LFMQuantActivations a = {q, d, sums, dsums, cols, actBlock};
    double best = 1e30;
    for (int pass = 0; pass < 20; pass++) {
        Job jobs[BENCH_MAX_THREADS];
        const size_t panels = rows / 32;
        for (int t = 0; t < threads; t++)
            jobs[t] = (Job){fn, type, w, 32 * (panels * (size_t)t / (size_t)threads),
                            32 * (panels * (size_t)(t + 1) / (size_t)threads), m, rows, &a, y};
        const double t0 = bench_now();
        bench_run_jobs(run, jobs, sizeof jobs[0], (size_t)threads);
        const double seconds = bench_now() - t0;
        if (seconds < best) best = seconds;
    }
    printf("path: %s\n", path);
    printf("%s %zu x %zu x %zu tokens, %d thread%s: %.1f G multiply-adds/s (y[7] = %g)\n", argv[1], rows, cols, m,
           threads, threads == 1 ? "" : "s", (double)rows * (double)cols * (double)m / best / 1e9, y[7]);
    return 0;
}
