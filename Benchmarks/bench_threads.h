// Timing and threading shared by the one-file kernel drivers (decode_rows.c, kv/decode_attention.c).
#ifndef LFM_BENCH_THREADS_H
#define LFM_BENCH_THREADS_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

/// Most threads bench_run_jobs takes; drivers reject larger counts.
enum { BENCH_MAX_THREADS = 64 };

/// Monotonic seconds.
static double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// Runs `fn` on `count` jobs (1 ... BENCH_MAX_THREADS, job i at `jobs + i * size` bytes) at once: job 0 on
/// the calling thread, each other on a thread of its own; returns when all are done.
static void bench_run_jobs(void *(*fn)(void *), void *jobs, size_t size, size_t count) {
    pthread_t threads[BENCH_MAX_THREADS];
    for (size_t i = 1; i < count; i++) pthread_create(&threads[i], NULL, fn, (char *)jobs + i * size);
    fn(jobs);
    for (size_t i = 1; i < count; i++) pthread_join(threads[i], NULL);
}

#endif
