// Reference oracle linked against ggml's own C sources (ggml 0.15.3 as vendored in the
// ggml-python==0.0.45 sdist; see build_ggml_oracle.sh). Not part of the package or CI.
//
//   ggml_oracle quantize TYPE in.f32 out.bin   quantize_row_<type>_ref on a whole float32 file
//   ggml_oracle check FILE.gguf                read FILE.gguf with ggml's gguf reader (loading the
//                                              tensor data) and print what it found; exit 1 on failure
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"
#include "gguf.h"
#include "ggml-quants.h"

static void *read_all(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END); *size = ftell(f); fseek(f, 0, SEEK_SET);
    void *buf = malloc(*size > 0 ? *size : 1);
    if (fread(buf, 1, *size, f) != (size_t)*size) { perror(path); exit(1); }
    fclose(f);
    return buf;
}

static int quantize(const char *type, const char *in, const char *out) {
    long size; float *x = read_all(in, &size);
    int64_t n = size / 4;
    enum ggml_type t;
    if (!strcmp(type, "Q2_K")) t = GGML_TYPE_Q2_K;
    else if (!strcmp(type, "Q3_K")) t = GGML_TYPE_Q3_K;
    else if (!strcmp(type, "Q4_K")) t = GGML_TYPE_Q4_K;
    else if (!strcmp(type, "Q5_K")) t = GGML_TYPE_Q5_K;
    else if (!strcmp(type, "Q6_K")) t = GGML_TYPE_Q6_K;
    else if (!strcmp(type, "Q8_K")) t = GGML_TYPE_Q8_K;
    else if (!strcmp(type, "Q8_0")) t = GGML_TYPE_Q8_0;
    else if (!strcmp(type, "Q4_0")) t = GGML_TYPE_Q4_0;
    else if (!strcmp(type, "Q4_1")) t = GGML_TYPE_Q4_1;
    else if (!strcmp(type, "Q5_0")) t = GGML_TYPE_Q5_0;
    else if (!strcmp(type, "Q5_1")) t = GGML_TYPE_Q5_1;
    else { fprintf(stderr, "unknown type %s\n", type); return 1; }
    size_t bytes = ggml_row_size(t, n);
    void *y = calloc(1, bytes);
    switch (t) {
    case GGML_TYPE_Q2_K: quantize_row_q2_K_ref(x, y, n); break;
    case GGML_TYPE_Q3_K: quantize_row_q3_K_ref(x, y, n); break;
    case GGML_TYPE_Q4_K: quantize_row_q4_K_ref(x, y, n); break;
    case GGML_TYPE_Q5_K: quantize_row_q5_K_ref(x, y, n); break;
    case GGML_TYPE_Q6_K: quantize_row_q6_K_ref(x, y, n); break;
    case GGML_TYPE_Q8_K: quantize_row_q8_K_ref(x, y, n); break;
    case GGML_TYPE_Q8_0: quantize_row_q8_0_ref(x, y, n); break;
    case GGML_TYPE_Q4_0: quantize_row_q4_0_ref(x, y, n); break;
    case GGML_TYPE_Q4_1: quantize_row_q4_1_ref(x, y, n); break;
    case GGML_TYPE_Q5_0: quantize_row_q5_0_ref(x, y, n); break;
    case GGML_TYPE_Q5_1: quantize_row_q5_1_ref(x, y, n); break;
    default: return 1;
    }
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(y, 1, bytes, f) != bytes) { perror(out); return 1; }
    fclose(f);
    return 0;
}

static int check(const char *path) {
    struct ggml_context *data = NULL;
    struct gguf_init_params params = { .no_alloc = false, .ctx = &data };
    struct gguf_context *ctx = gguf_init_from_file(path, params);
    if (!ctx) { printf("FAIL %s\n", path); return 1; }
    printf("version %u alignment %zu data_offset %zu n_kv %lld n_tensors %lld\n",
           gguf_get_version(ctx), gguf_get_alignment(ctx), gguf_get_data_offset(ctx),
           (long long)gguf_get_n_kv(ctx), (long long)gguf_get_n_tensors(ctx));
    for (int64_t i = 0; i < gguf_get_n_kv(ctx); i++) {
        printf("kv %s type %d\n", gguf_get_key(ctx, i), (int)gguf_get_kv_type(ctx, i));
    }
    for (int64_t i = 0; i < gguf_get_n_tensors(ctx); i++) {
        const char *name = gguf_get_tensor_name(ctx, i);
        struct ggml_tensor *t = ggml_get_tensor(data, name);
        printf("tensor %s type %s offset %zu ne %lld %lld %lld %lld nbytes %zu\n", name,
               ggml_type_name(gguf_get_tensor_type(ctx, i)), gguf_get_tensor_offset(ctx, i),
               (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], ggml_nbytes(t));
    }
    printf("OK %s\n", path);
    gguf_free(ctx);
    ggml_free(data);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "quantize")) return quantize(argv[2], argv[3], argv[4]);
    if (argc == 3 && !strcmp(argv[1], "check")) return check(argv[2]);
    fprintf(stderr, "usage: ggml_oracle quantize TYPE in.f32 out.bin | ggml_oracle check FILE.gguf\n");
    return 2;
}
