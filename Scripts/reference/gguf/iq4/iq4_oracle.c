// IQ4_NL / IQ4_XS reference oracle: ggml-quants.c of the pinned llama.cpp (the llama-cpp-python 0.3.36
// sdist's vendor/llama.cpp), compiled alone without FMA contraction (build_iq4_oracle.sh). Dev-only.
//
//   iq4_oracle quantize TYPE COLS in.f32 out.bin   quantize_iq4_nl / quantize_iq4_xs (no imatrix, as
//                                                  llama-quantize calls them) on rows of COLS floats
//   iq4_oracle dequantize TYPE in.bin out.f32      dequantize_row_iq4_nl / dequantize_row_iq4_xs
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"
#include "ggml-quants.h"

// ggml-quants.c refers to these ggml.c functions; the IQ4 paths used here never call them.
void ggml_abort(const char *file, int line, const char *fmt, ...) {
    fprintf(stderr, "ggml_abort at %s:%d (%s)\n", file, line, fmt);
    abort();
}
size_t ggml_row_size(enum ggml_type type, int64_t ne) { (void)type; (void)ne; abort(); }
const char *ggml_type_name(enum ggml_type type) { (void)type; abort(); }
size_t ggml_type_size(enum ggml_type type) { (void)type; abort(); }

static void *read_all(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END); *size = ftell(f); fseek(f, 0, SEEK_SET);
    void *buf = malloc(*size > 0 ? *size : 1);
    if (fread(buf, 1, *size, f) != (size_t)*size) { perror(path); exit(1); }
    fclose(f);
    return buf;
}

static void write_all(const char *path, const void *data, size_t bytes) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) { perror(path); exit(1); }
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc == 6 && !strcmp(argv[1], "quantize")) {
        const int xs = !strcmp(argv[2], "IQ4_XS");
        if (!xs && strcmp(argv[2], "IQ4_NL")) { fprintf(stderr, "unknown type %s\n", argv[2]); return 2; }
        const int64_t cols = atoll(argv[3]), block = xs ? 256 : 32, bytes = xs ? 136 : 18;
        long size;
        float *x = read_all(argv[4], &size);
        const int64_t n = size / 4;
        if (cols <= 0 || cols % block || n % cols) { fprintf(stderr, "bad shape\n"); return 2; }
        void *y = calloc(1, (size_t)(n / block * bytes));
        const size_t written = xs ? quantize_iq4_xs(x, y, n / cols, cols, NULL) : quantize_iq4_nl(x, y, n / cols, cols, NULL);
        write_all(argv[5], y, written);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "dequantize")) {
        const int xs = !strcmp(argv[2], "IQ4_XS");
        if (!xs && strcmp(argv[2], "IQ4_NL")) { fprintf(stderr, "unknown type %s\n", argv[2]); return 2; }
        long size;
        void *q = read_all(argv[3], &size);
        const int64_t blocks = size / (xs ? 136 : 18), n = blocks * (xs ? 256 : 32);
        float *y = malloc((size_t)(n > 0 ? n : 1) * 4);
        if (xs) dequantize_row_iq4_xs(q, y, n); else dequantize_row_iq4_nl(q, y, n);
        write_all(argv[4], y, (size_t)n * 4);
        return 0;
    }
    fprintf(stderr, "usage: iq4_oracle quantize IQ4_NL|IQ4_XS COLS in.f32 out.bin | dequantize IQ4_NL|IQ4_XS in.bin out.f32\n");
    return 2;
}
