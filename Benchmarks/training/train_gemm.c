// The training matrix product alone (the kernels TrainingKernels.gemm calls for the ISA the engine
// picks, or AVX2 / portable when asked), on the product shapes of the 30m training shape (1024
// activation rows: forward x·wᵀ with the weight read transposed, input gradient dy·w, weight gradient
// dyᵀ·x), against this CPU's FMA peak (12 independent FMA chains per core, zmm and ymm). As
// TrainingKernels.gemm does, B is packed once (its panels split over the threads), then the threads
// compute four chunks of rows from it; the portable path (no packing) transposes a transposed B first.
// Prints the best of 7 runs per shape in GFLOP/s, packing included.
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
typedef void (*pack_fn)(int, size_t, size_t, const float *, size_t, size_t, size_t, float *);
typedef void (*packed_fn)(int, size_t, size_t, size_t, size_t, const float *, size_t, const float *, float *, size_t,
                          int);

/// One path's product: the one-call kernel, or (pack != NULL) the two-step packed one.
typedef struct {
    gemm_fn gemm;
    pack_fn pack;
    packed_fn packed;
    size_t (*size)(size_t k, size_t n); // floats of packed B
    size_t width;                       // panel width of the packed layout
} Path;

typedef struct {
    const Path *path;
    int transA, transB;
    size_t m, n, k, chunk;
    const float *A, *B; // B as stored: [k, n], or [n, k] when transB
    float *packed;      // packed B, or B made row-major (portable, transB)
    float *C;
    size_t first, step; // threads: this is thread `first` of `step`
} Job;

/// Step 1: this thread's share of B's panels packed (or of B's rows transposed).
static void *prepare(void *p) {
    const Job *j = p;
    if (j->path->pack) {
        const size_t panels = (j->n + j->path->width - 1) / j->path->width, per = (panels + j->step - 1) / j->step;
        const size_t c0 = j->first * per * j->path->width, c1 = (j->first + 1) * per * j->path->width;
        if (c0 < j->n)
            j->path->pack(j->transB, j->k, j->n, j->B, j->transB ? j->k : j->n, c0, c1 < j->n ? c1 : j->n, j->packed);
    } else if (j->transB) {
        const size_t per = (j->n + j->step - 1) / j->step;
        for (size_t r = j->first * per; r < (j->first + 1) * per && r < j->n; r++)
            for (size_t c = 0; c < j->k; c++) j->packed[c * j->n + r] = j->B[r * j->k + c];
    }
    return NULL;
}

/// Step 2: row chunks first, first + step, ... of C.
static void *run(void *p) {
    const Job *j = p;
    for (size_t c = j->first; c * j->chunk < j->m; c += j->step) {
        const size_t r0 = c * j->chunk, r1 = r0 + j->chunk < j->m ? r0 + j->chunk : j->m;
        const size_t lda = j->transA ? j->m : j->k;
        if (j->path->pack)
            j->path->packed(j->transA, r0, r1, j->n, j->k, j->A, lda, j->packed, j->C, j->n, 0);
        else
            j->path->gemm(j->transA, r0, r1, j->n, j->k, j->A, lda, j->transB ? j->packed : j->B, j->n, j->C, j->n, 0);
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
    lfm_tr_keep_heap(); // as `lfm train` does: the GEMM's panels are not mapped and faulted in per call
    Path path = {lfm_tr_gemm_portable, NULL, NULL, NULL, 1};
    const char *name = "portable";
#if defined(__x86_64__)
    const uint32_t f = lfm_cpu_features();
    const uint32_t avx512 = LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512DQ;
    const int has512 = (f & avx512) == avx512, has2 = (f & (LFM_CPU_AVX2 | LFM_CPU_FMA)) == (LFM_CPU_AVX2 | LFM_CPU_FMA);
    if (has512 && (!want || !strcmp(want, "avx512"))) {
        path = (Path){lfm_tr_gemm_avx512, lfm_tr_gemm_pack_b_avx512, lfm_tr_gemm_packed_avx512,
                      lfm_tr_gemm_packed_size_avx512, lfm_tr_gemm_panel_width_avx512()};
        name = "avx512";
    } else if (has2 && (!want || !strcmp(want, "avx2"))) {
        path = (Path){lfm_tr_gemm_avx2, lfm_tr_gemm_pack_b_avx2, lfm_tr_gemm_packed_avx2,
                      lfm_tr_gemm_packed_size_avx2, lfm_tr_gemm_panel_width_avx2()};
        name = "avx2";
    }
    if (has512) printf("FMA peak, one core: zmm %.1f GFLOP/s\n", peak512(100000000));
    if (has2) printf("FMA peak, one core: ymm %.1f GFLOP/s\n", peak256(100000000));
#endif
    if (want && strcmp(want, name)) {
        fprintf(stderr, "path %s not available on this CPU\n", want);
        return 2;
    }
    printf("path: %s, %zu thread%s\n", name, threads, threads == 1 ? "" : "s");
    // transA, transB, m, n, k: the 30m shape's products over 4 x 256 token rows.
    const size_t shapes[][5] = {{0, 1, 1024, 1536, 512}, {0, 0, 1024, 512, 1536}, {1, 0, 1536, 512, 1024},
                                {0, 1, 1024, 4096, 512}, {0, 1, 1024, 512, 512},  {1, 0, 512, 512, 1024}};
    double seconds = 0, flops = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int transA = (int)shapes[s][0], transB = (int)shapes[s][1];
        const size_t m = shapes[s][2], n = shapes[s][3], k = shapes[s][4];
        const size_t packedFloats = path.pack ? path.size(k, n) : k * n;
        float *A = malloc(sizeof(float) * m * k), *B = malloc(sizeof(float) * k * n), *C = malloc(sizeof(float) * m * n);
        float *packed = malloc(sizeof(float) * packedFloats);
        if (!A || !B || !C || !packed) return 1;
        for (size_t i = 0; i < m * k; i++) A[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < k * n; i++) B[i] = (float)(i % 5) * 0.1f;
        const size_t chunk = (m / 4 + 5) / 6 * 6; // four chunks of whole 6-row tiles
        Job jobs[2];
        for (size_t t = 0; t < threads; t++)
            jobs[t] = (Job){&path, transA, transB, m, n, k, chunk, A, B, packed, C, t, threads};
        double best = 1e30;
        for (int r = 0; r < 7; r++) {
            const double t0 = bench_now();
            bench_run_jobs(prepare, jobs, sizeof jobs[0], threads);
            bench_run_jobs(run, jobs, sizeof jobs[0], threads);
            const double dt = bench_now() - t0;
            if (dt < best) best = dt;
        }
        printf("%s m %zu n %zu k %zu: %.1f GFLOP/s (C[7] = %g)\n", transA ? "Aᵀ·B " : transB ? "A·Bᵀ " : "A·B  ", m,
               n, k, 2.0 * m * n * k / best / 1e9, C[7]);
        seconds += best;
        flops += 2.0 * m * n * k;
        free(A); free(B); free(C); free(packed);
    }
    printf("all shapes: %.1f GFLOP/s\n", flops / seconds / 1e9);
    return 0;
}
