// Read bandwidth of this machine: T threads XOR-reduce 1 GiB of (MADV_HUGEPAGE) memory, 8 times;
// prints each pass and the best in GB/s. Used for the roofline remarks in Benchmarks/README.md.
//
//   cc -O2 -pthread Benchmarks/read_bandwidth.c -o /tmp/read_bandwidth && /tmp/read_bandwidth 2 [MiB]
//
// The reduction loop is chosen at run time, like the engine's kernels: AVX-512 where the CPU
// (and OS) has it, else AVX2, else plain C (64-bit words; any CPU, any compiler). The x86 loops
// use per-function target attributes, so no -m flag is needed. READ_BW_LOOP=avx512|avx2|portable
// forces a loop (it must be supported). Output (parsed by compare_llamacpp.sh):
//   loop: <avx512|avx2|portable>
//   <GB/s of each pass>
//   best <GB/s> GB/s with <T> threads
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static char *buf;
static size_t bytes;
static int threads;
typedef uint64_t (*reduce_fn)(const char *p, size_t n);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// XOR of the n bytes at p (n a multiple of 256), four independent 64-byte streams per step.
static uint64_t reduce_portable(const char *p, size_t n) {
    const uint64_t *q = (const uint64_t *)p;
    uint64_t a[8] = {0};
    for (size_t i = 0; i < n / 8; i += 32)
        for (int j = 0; j < 8; j++) a[j] ^= q[i + j] ^ q[i + 8 + j] ^ q[i + 16 + j] ^ q[i + 24 + j];
    return a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static uint64_t reduce_avx2(const char *p, size_t n) {
    const __m256i *q = (const __m256i *)p;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0;
    for (size_t i = 0; i < n / 32; i += 8) {
        a0 = _mm256_xor_si256(a0, _mm256_xor_si256(_mm256_xor_si256(q[i], q[i + 1]), _mm256_xor_si256(q[i + 2], q[i + 3])));
        a1 = _mm256_xor_si256(a1, _mm256_xor_si256(_mm256_xor_si256(q[i + 4], q[i + 5]), _mm256_xor_si256(q[i + 6], q[i + 7])));
    }
    uint64_t r[4];
    _mm256_storeu_si256((__m256i *)r, _mm256_xor_si256(a0, a1));
    return r[0] ^ r[1] ^ r[2] ^ r[3];
}

__attribute__((target("avx512f"))) static uint64_t reduce_avx512(const char *p, size_t n) {
    const __m512i *q = (const __m512i *)p;
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i < n / 64; i += 4)
        acc = _mm512_xor_si512(acc, _mm512_xor_si512(_mm512_xor_si512(q[i], q[i + 1]), _mm512_xor_si512(q[i + 2], q[i + 3])));
    uint64_t r[8];
    _mm512_storeu_si512(r, acc);
    return r[0] ^ r[7];
}
#endif

static int supported(const char *loop) {
    if (strcmp(loop, "portable") == 0) return 1;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (strcmp(loop, "avx2") == 0) return __builtin_cpu_supports("avx2");
    if (strcmp(loop, "avx512") == 0) return __builtin_cpu_supports("avx512f");
#endif
    return 0;
}

static reduce_fn pick(const char *loop) {
#if defined(__x86_64__)
    if (strcmp(loop, "avx512") == 0) return reduce_avx512;
    if (strcmp(loop, "avx2") == 0) return reduce_avx2;
#endif
    return reduce_portable;
}

static reduce_fn reduce;
static volatile uint64_t sink;

static void *run(void *arg) {
    long id = (long)arg;
    size_t per = bytes / (size_t)threads;
    sink ^= reduce(buf + (size_t)id * per, per);
    return NULL;
}

int main(int argc, char **argv) {
    threads = argc > 1 ? atoi(argv[1]) : 2;
    long mib = argc > 2 ? atol(argv[2]) : 1024;
    if (threads < 1 || threads > 256 || mib < 1) {
        fprintf(stderr, "usage: %s [threads 1-256] [MiB, default 1024]\n", argv[0]);
        return 2;
    }
    const char *loop = getenv("READ_BW_LOOP");
    if (loop && *loop) {
        if (!supported(loop)) {
            fprintf(stderr, "READ_BW_LOOP=%s: not a loop this CPU supports (avx512, avx2, portable)\n", loop);
            return 2;
        }
    } else {
        loop = supported("avx512") ? "avx512" : supported("avx2") ? "avx2" : "portable";
    }
    reduce = pick(loop);
    // Every thread gets a whole number of 256-byte steps.
    bytes = (size_t)mib << 20;
    bytes -= bytes % ((size_t)threads * 256);
    const size_t huge = (size_t)1 << 21; // aligned_alloc wants a multiple of the alignment
    buf = aligned_alloc(huge, (((size_t)mib << 20) + huge - 1) / huge * huge);
    if (!buf) {
        fprintf(stderr, "could not allocate %ld MiB\n", mib);
        return 1;
    }
#ifdef MADV_HUGEPAGE
    madvise(buf, bytes, MADV_HUGEPAGE);
#endif
    memset(buf, 1, bytes);
    printf("loop: %s\n", loop);
    double best = 0;
    pthread_t th[256];
    for (int rep = 0; rep < 8; rep++) {
        double t0 = now();
        for (long i = 0; i < threads; i++) pthread_create(&th[i], 0, run, (void *)i);
        for (int i = 0; i < threads; i++) pthread_join(th[i], 0);
        double gb = bytes / 1e9 / (now() - t0);
        if (gb > best) best = gb;
        printf("%.1f ", gb);
    }
    printf("\nbest %.1f GB/s with %d threads\n", best, threads);
    return 0;
}
