// Throughput of ggml's generic dequantize_row_* (the C reference the Swift code mirrors), for bench.sh.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "ggml.h"
#include "ggml-quants.h"

static double now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }

int main(void) {
    const int64_t n = 1 << 22; const int passes = 10;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    unsigned long long seed = 12345;
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((long long)(seed >> 11) % 2000001 - 1000000) * 1e-7f;
    }
    enum ggml_type types[] = { GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_F16, GGML_TYPE_BF16 };
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        enum ggml_type t = types[k];
        void *q = malloc(ggml_row_size(t, n));
        ggml_quantize_chunk(t, x, q, 0, 1, n, NULL);
        const struct ggml_type_traits *tr = ggml_get_type_traits(t);
        double best = 1e30;
        for (int p = 0; p < passes; p++) {
            double s = now_ns();
            tr->to_float(q, y, n);
            double e = now_ns() - s;
            if (e < best) best = e;
        }
        double sum = 0; for (int64_t i = 0; i < n; i++) sum += y[i];
        printf("ggml  %s %.3f ns/element (best of %d passes over %lld elements) checksum %.3f\n",
               ggml_type_name(t), best / n, passes, (long long)n, sum);
        free(q);
    }
    return 0;
}
