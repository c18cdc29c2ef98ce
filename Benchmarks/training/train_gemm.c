// The training matrix product alone (lfm_tr_gemm of the ISA the engine picks, or AVX2 / portable when
// asked), on the six product shapes of the 30m training shape (1024 activation rows: forward x·wᵀ,
// input gradient dy·w, weight gradient dyᵀ·x), against this CPU's FMA peak (12 independent FMA
// chains per core, zmm and ymm). Two threads cut the rows in four chunks, as TrainingKernels.gemm
// does. Prints the best of 7 runs per shape in GFLOP/s.
//
//   clang -O3 -pthread -ISources/CLFMKernels/include Sources/CLFMKernels/*.c Benchmarks/training/train_gemm.c \
//      -o /tmp/train_gemm -lm && /tmp/train_gemm [threads 1|2] [avx512|avx2|portable]
#include "CLFMKernelsTraining.h"
#include "CLFMKernels.h"
#include "../bench_threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef void (*gemm_fn)(int, size_t, size_t, size_t, size_t, const float *, size_t, const float *, size_t, float *,
                        size_t, int);

typedef struct {
    gemm_fn fn;
    int transA;
    size_t m, n, k, chunk;
    const float *A, *B;
    float *C;
    size_t first, step; // chunks first, first + step, ...
} Job;

static void *run(void *p) {
    const Job *j = p;
    for (size_t c = j->first; c * j->chunk < j->m; c += j->step) {
        const size_t r0 = c * j->chunk, r1 = r0 + j->chunk < j->m ? r0 + j->chunk : j->m;
        j->fn(j->transA, r0, r1, j->n, j->k, j->A, j->transA ? j->m : j->k, j->B, j->n, j->C, j->n, 0);
    }
    return NULL;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static double peak512(long iters) {
    __m512 a[12], b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    const double t = bench_now();
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    const double s = bench_now() - t;
    float sum = 0;
    for (int i = 0; i < 12; i++) sum += _mm512_reduce_add_ps(a[i]);
    if (sum == 1.2345f) puts("");
    return iters * 12.0 * 32 / s / 1e9;
}

__attribute__((target("avx2,fma"))) static double peak256(long iters) {
    __m256 a[12], b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    const double t = bench_now();
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    const double s = bench_now() - t;
    float sum = 0, lanes[8];
    for (int i = 0; i < 12; i++) { _mm256_storeu_ps(lanes, a[i]); sum += lanes[0]; }
    if (sum == 1.2345f) puts("");
    return iters * 12.0 * 16 / s / 1e9;
}
#endif

int main(int argc, char **argv) {
    const size_t threads = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
    const char *want = argc > 2 ? argv[2] : NULL;
    if (threads < 1 || threads > 2) {
        fprintf(stderr, "usage: %s [threads 1|2] [avx512|avx2|portable]\n", argv[0]);
        return 2;
    }
    const uint32_t f = lfm_cpu_features();
    gemm_fn fn = lfm_tr_gemm_portable;
    const char *path = "portable";
#if defined(__x86_64__)
    const uint32_t avx512 = LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512DQ;
    const int has512 = (f & avx512) == avx512, has2 = (f & (LFM_CPU_AVX2 | LFM_CPU_FMA)) == (LFM_CPU_AVX2 | LFM_CPU_FMA);
    if (has512 && (!want || !strcmp(want, "avx512"))) { fn = lfm_tr_gemm_avx512; path = "avx512"; }
    else if (has2 && (!want || !strcmp(want, "avx2"))) { fn = lfm_tr_gemm_avx2; path = "avx2"; }
    if (has512) printf("FMA peak, one core: zmm %.1f GFLOP/s\n", peak512(100000000));
    if (has2) printf("FMA peak, one core: ymm %.1f GFLOP/s\n", peak256(100000000));
#endif
    if (want && strcmp(want, path)) {
        fprintf(stderr, "path %s not available on this CPU\n", want);
        return 2;
    }
    printf("path: %s, %zu thread%s\n", path, threads, threads == 1 ? "" : "s");
    // transA, m, n, k: the 30m shape's products over 4 x 256 token rows.
    const size_t shapes[][4] = {{0, 1024, 1536, 512}, {0, 1024, 512, 1536}, {1, 1536, 512, 1024},
                                {0, 1024, 4096, 512}, {0, 1024, 512, 512}, {1, 512, 512, 1024}};
    double seconds = 0, flops = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int transA = (int)shapes[s][0];
        const size_t m = shapes[s][1], n = shapes[s][2], k = shapes[s][3];
        float *A = malloc(sizeof(float) * m * k), *B = malloc(sizeof(float) * k * n), *C = malloc(sizeof(float) * m * n);
        if (!A || !B || !C) return 1;
        for (size_t i = 0; i < m * k; i++) A[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < k * n; i++) B[i] = (float)(i % 5) * 0.1f;
        const size_t chunk = (m / 4 + 5) / 6 * 6; // four chunks of whole 6-row tiles
        Job jobs[2];
        for (size_t t = 0; t < threads; t++) jobs[t] = (Job){fn, transA, m, n, k, chunk, A, B, C, t, threads};
        double best = 1e30;
        for (int r = 0; r < 7; r++) {
            const double t0 = bench_now();
            bench_run_jobs(run, jobs, sizeof jobs[0], threads);
            const double dt = bench_now() - t0;
            if (dt < best) best = dt;
        }
        printf("%s m %zu n %zu k %zu: %.1f GFLOP/s (C[7] = %g)\n", transA ? "Aᵀ·B" : "A·B ", m, n, k,
               2.0 * m * n * k / best / 1e9, C[7]);
        seconds += best;
        flops += 2.0 * m * n * k;
        free(A); free(B); free(C);
    }
    printf("all shapes: %.1f GFLOP/s\n", flops / seconds / 1e9);
    return 0;
}
