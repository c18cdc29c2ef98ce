// Where the packed prefill GEMM starts to beat the row kernels: one weight type, m = 1 ..< max activation
// rows (tokens, or sequences decoding together under continuous batching), the same product through both
// entry points the engine chooses between (lfm_qgemm_* packs 32-row panels in every call; the row kernels
// take up to four activation rows per weight load). The weights are 1024 x 4608 matrices by default (the
// 350M feed-forward down projection), as many as make 96 MB, more than any L3 here, so both read them from
// memory as the engine does. Each m times both, alternated, best of the passes.
//
//   clang -O3 -pthread -ISources/CLFMKernels/include -IBenchmarks Sources/CLFMKernels/*.c \
//      Benchmarks/gemm_threshold.c -o /tmp/gemm_threshold -lm
//   /tmp/gemm_threshold q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|q5_k|q6_k|q8_0-x8|q4_0-x8|iq4_nl|iq4_xs \
//      [threads (1)] [max tokens (16)] [ROWSxCOLS (1024x4608)]
//
// GEMM_THRESHOLD_PATH=avx2|avxvnni forces the 256-bit GEMM and row kernels on a CPU with AVX-512 (by
// default the engine's choice: AVX-512 GEMM with the VBMI or VNNI row kernels, else AVX-VNNI, else AVX2).
// Prints one line per m (microseconds per matrix, and the GEMM's time over the rows'), then the smallest m
// from which the GEMM is faster at every m measured, next to the threshold the engine uses on this path.
#include "CLFMKernels.h"
#include "bench_threads.h"
#include "bench_weights.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*product_fn)(int, const void *, size_t, size_t, const LFMQuantActivations *, size_t, float *, size_t);

typedef struct {
    product_fn fn;
    int type;
    uint8_t *const *w;
    size_t matrices, n0, n1, m, rows;
    const LFMQuantActivations *x;
    float *y;
} Job;

static void *run(void *p) {
    const Job *j = p;
    for (size_t i = 0; i < j->matrices; i++) j->fn(j->type, j->w[i], j->n0, j->n1, j->x, j->m, j->y, j->rows);
    return NULL;
}

/// Seconds for one pass of `fn` over every matrix with m activation rows, rows split between the threads
/// in whole 32-row panels (as the engine's pool splits them).
static double timed_pass(product_fn fn, int type, uint8_t *const *w, size_t matrices, size_t rows, size_t m,
                         const LFMQuantActivations *x, float *y, int threads) {
    Job jobs[BENCH_MAX_THREADS];
    const size_t panels = rows / 32;
    for (int t = 0; t < threads; t++)
        jobs[t] = (Job){fn, type, w, matrices, 32 * (panels * (size_t)t / (size_t)threads),
                        32 * (panels * (size_t)(t + 1) / (size_t)threads), m, rows, x, y};
    const double t0 = bench_now();
    bench_run_jobs(run, jobs, sizeof jobs[0], (size_t)threads);
    return bench_now() - t0;
}

int main(int argc, char **argv) {
    const WeightType *wt = argc > 1 ? bench_weight_type(argv[1]) : NULL;
    const int threads = argc > 2 ? atoi(argv[2]) : 1;
    const int maxTokens = argc > 3 ? atoi(argv[3]) : 16;
    size_t rows = 1024, cols = 4608;
    if (argc > 4 && sscanf(argv[4], "%zux%zu", &rows, &cols) != 2) rows = 0;
    if (!wt || threads < 1 || threads > 16 || maxTokens < 2 || maxTokens > 64 || rows < 32 || rows % 32 ||
        rows > 65536 || cols < 256 || cols % 256 || cols > 16384) {
        fprintf(stderr, "usage: %s q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|q5_k|q6_k|q8_0-x8|q4_0-x8|iq4_nl|iq4_xs "
                        "[threads 1-16] [max tokens 2-64] [ROWSxCOLS: rows a multiple of 32, cols of 256]\n", argv[0]);
        return 2;
    }
    const int type = wt->regrouped ? wt->regrouped : wt->type;
    product_fn gemm = NULL, rowKernels = NULL;
    const char *path = "none";
    size_t threshold = 0;
#if defined(__x86_64__)
    const uint32_t f = lfm_cpu_features();
    const uint32_t avx2 = LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C;
    const uint32_t avx512 = LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512DQ | LFM_CPU_AVX512VNNI;
    const char *force = getenv("GEMM_THRESHOLD_PATH");
    if (force && *force) {
        if (strcmp(force, "avx2") == 0 && (f & avx2) == avx2) {
            gemm = lfm_qgemm_avx2, rowKernels = lfm_qmatmul_avx2, path = "avx2";
        } else if (strcmp(force, "avxvnni") == 0 && (f & (avx2 | LFM_CPU_AVXVNNI)) == (avx2 | LFM_CPU_AVXVNNI)) {
            gemm = lfm_qgemm_avxvnni, rowKernels = lfm_qmatmul_avxvnni, path = "avxvnni";
        } else {
            fprintf(stderr, "GEMM_THRESHOLD_PATH=%s: not a path this CPU has (avx2, avxvnni)\n", force);
            return 2;
        }
        threshold = lfm_qgemm_avx2_min_rows(type);
    } else if ((f & avx512) == avx512) {
        const int vbmi = (f & LFM_CPU_AVX512VBMI) != 0;
        gemm = lfm_qgemm_avx512vnni, rowKernels = vbmi ? lfm_qmatmul_avx512vbmi : lfm_qmatmul_avx512vnni;
        path = vbmi ? "avx512vbmi" : "avx512vnni";
        threshold = lfm_qgemm_min_rows(type);
    } else if ((f & avx2) == avx2) {
        const int vnni = (f & LFM_CPU_AVXVNNI) != 0;
        gemm = vnni ? lfm_qgemm_avxvnni : lfm_qgemm_avx2, rowKernels = vnni ? lfm_qmatmul_avxvnni : lfm_qmatmul_avx2;
        path = vnni ? "avxvnni" : "avx2";
        threshold = lfm_qgemm_avx2_min_rows(type);
    }
#endif
    if (!gemm || threshold == 0) {
        fprintf(stderr, "no packed prefill GEMM for %s on this CPU\n", argv[1]);
        return 2;
    }
    const size_t matrixBytes = rows * cols / wt->elements * wt->bytes;
    size_t matrices = (96u << 20) / matrixBytes + 1;
    uint8_t **w = malloc(matrices * sizeof *w);
    if (!w) return 1;
    for (size_t i = 0; i < matrices; i++)
        if (!(w[i] = bench_make_weights(wt, rows, cols))) return 1;
    const size_t m = (size_t)maxTokens, actBlock = (size_t)lfm_qmatmul_block(type);
    float *x = malloc(m * cols * sizeof *x), *y = malloc(m * rows * sizeof *y), *d = malloc(m * cols / actBlock * sizeof *d);
    float *dsums = malloc(m * cols / actBlock * sizeof *dsums);
    int8_t *q = malloc(m * cols);
    int16_t *sums = malloc(m * cols / 16 * sizeof *sums);
    if (!x || !y || !d || !dsums || !q || !sums) return 1;
    for (size_t k = 0; k < m * cols; k++) x[k] = (float)((k * 7) % 13) - 6.0f;
    lfm_quantize_activations_portable(x, cols, 0, m, cols, actBlock, q, d, sums, dsums);
    const LFMQuantActivations a = {q, d, sums, dsums, cols, actBlock};
    printf("path: %s, %s %zu x %zu, %zu matrices (%.0f MB), %d thread%s\n", path, argv[1], rows, cols, matrices,
           (double)(matrices * matrixBytes) / 1e6, threads, threads == 1 ? "" : "s");
    printf("tokens  rows us  gemm us  gemm/rows\n");
    int crossover = 0;
    for (size_t t = 1; t <= m; t++) {
        double bestRows = 1e30, bestGemm = 1e30;
        for (int pass = 0; pass < 7; pass++) {
            const double r = timed_pass(rowKernels, type, w, matrices, rows, t, &a, y, threads);
            const double g = timed_pass(gemm, type, w, matrices, rows, t, &a, y, threads);
            if (r < bestRows) bestRows = r;
            if (g < bestGemm) bestGemm = g;
        }
        printf("%6zu %8.1f %8.1f %10.2f\n", t, bestRows / (double)matrices * 1e6, bestGemm / (double)matrices * 1e6,
               bestGemm / bestRows);
        if (bestGemm < bestRows) {
            if (!crossover) crossover = (int)t;
        } else {
            crossover = 0;
        }
    }
    if (crossover)
        printf("crossover: the GEMM is faster from %d tokens on (threshold on this path: %zu)\n", crossover, threshold);
    else
        printf("crossover: the GEMM is not faster at %zu tokens (threshold on this path: %zu)\n", m, threshold);
    return 0;
}
