// Decode attention alone: one query row of the LFM2-350M attention shape (16 query heads, 8 KV heads,
// head dimension 64, F32 keys and values) over D cached positions, for L layers' caches in turn (12 by
// default: more than any L3 here at D = 8192), the work split the way CPUBackend splits it. Prints the
// best of 20 passes as GB/s of key and value bytes read; compare with read_bandwidth.c.
//
//   clang -O3 -pthread -ISources/CLFMKernels/include Sources/CLFMKernels/*.c Benchmarks/kv/decode_attention.c \
//      -o /tmp/decode_attention -lm && /tmp/decode_attention [D] [KV heads per item] [key splits] [threads] [L]
//
// Defaults: D 8192, every KV head in one item (8), 4 key splits, 2 threads, 12 layers: the engine's choice
// for a decode step over 8 or more tiles on 2 threads. "8192 1 1 2" is the layout before: one item per head.
// The kernel is the one the engine picks on this CPU (lfm_cpu_features): AVX-512, AVX2 or portable.
#include "CLFMKernels.h"
#include "../bench_threads.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*attention_fn)(const LFMAttention *, size_t, size_t, float *);
typedef void (*merge_fn)(const LFMAttention *, size_t, size_t, const float *);

typedef struct {
    attention_fn fn;
    const LFMAttention *a;
    size_t u0, u1;
    float *partials;
} Job;

static void *run(void *p) {
    Job *j = p;
    j->fn(j->a, j->u0, j->u1, j->partials);
    return NULL;
}

int main(int argc, char **argv) {
    const size_t D = argc > 1 ? strtoul(argv[1], NULL, 10) : 8192, H = argc > 2 ? strtoul(argv[2], NULL, 10) : 8;
    const size_t S = argc > 3 ? strtoul(argv[3], NULL, 10) : 4, T = argc > 4 ? strtoul(argv[4], NULL, 10) : 2;
    const size_t L = argc > 5 ? strtoul(argv[5], NULL, 10) : 12;
    const size_t heads = 16, kvHeads = 8, hd = 64, rowBytes = kvHeads * hd * sizeof(float);
    if (D < 1 || H < 1 || H > kvHeads || S < 1 || T < 1 || T > 16 || L < 1) {
        fprintf(stderr, "usage: %s [D >= 1] [KV heads per item 1-8] [key splits >= 1] [threads 1-16] [layers >= 1]\n", argv[0]);
        return 2;
    }
    attention_fn fn = lfm_flash_attention_portable;
    merge_fn merge = lfm_flash_attention_merge_portable;
    const char *path = "portable";
#if defined(__x86_64__)
    const uint32_t f = lfm_cpu_features(), avx512 = LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512DQ;
    const uint32_t avx2 = LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C;
    if ((f & (avx512 | avx2)) == (avx512 | avx2)) {
        fn = lfm_flash_attention_avx512;
        merge = lfm_flash_attention_merge_avx512;
        path = "avx512";
    } else if ((f & avx2) == avx2) {
        fn = lfm_flash_attention_avx2;
        merge = lfm_flash_attention_merge_avx2;
        path = "avx2";
    }
#endif
    float **keys = malloc(L * sizeof *keys), **values = malloc(L * sizeof *values);
    if (!keys || !values) return 1;
    for (size_t l = 0; l < L; l++) {
        keys[l] = malloc(D * rowBytes);
        values[l] = malloc(D * rowBytes);
        if (!keys[l] || !values[l]) return 1;
        for (size_t i = 0; i < D * kvHeads * hd; i++) {
            keys[l][i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
            values[l][i] = (float)((i * 40503u) % 1000) * 1e-3f;
        }
    }
    float q[16 * 64], out[16 * 64];
    for (size_t i = 0; i < heads * hd; i++) q[i] = (float)(i % 7) * 0.1f;
    const size_t items = (kvHeads + H - 1) / H, units = items * S;
    float *partials = malloc(units * H * (heads / kvHeads) * (hd + 2) * sizeof(float));
    if (!partials) return 1;
    double best = 1e30;
    for (int pass = 0; pass < 20; pass++) {
        const double t0 = bench_now();
        for (size_t l = 0; l < L; l++) {
            const LFMAttention a = {q, heads * hd, 1, D - 1, keys[l], values[l], rowBytes, LFM_KV_F32, heads, kvHeads, hd,
                                    0, 0.125f, out, heads * hd, 1, H, S};
            Job jobs[BENCH_MAX_THREADS];
            for (size_t t = 0; t < T; t++) jobs[t] = (Job){fn, &a, units * t / T, units * (t + 1) / T, S == 1 ? NULL : partials};
            bench_run_jobs(run, jobs, sizeof jobs[0], T);
            if (S > 1) merge(&a, 0, items, partials);
        }
        const double seconds = bench_now() - t0;
        if (seconds < best) best = seconds;
    }
    printf("path: %s\n", path);
    printf("D %zu, KV heads per item %zu, splits %zu, threads %zu, %zu layers: %.2f ms, %.1f GB/s (out[5] = %.4f)\n", D, H,
           S, T, L, best * 1e3, 2.0 * (double)(L * D * rowBytes) / best / 1e9, out[5]);
    return 0;
}
