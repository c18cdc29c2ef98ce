// Prints llama.cpp's logits for a token sequence as JSON, via libllama.
//
//   llama_logits MODEL.gguf IDS(comma-separated) GREEDY_STEPS
//
// Output: {"n_vocab": V, "prompt_logits": [[...] per prompt position], "greedy_tokens": [...],
//          "decode_logits": [[...] per step]} where decode_logits[0] is the last prompt row and each
// later row comes from one single-token llama_decode of the previous greedy token.
// The KV cache is F32 and flash attention is off so F32 models are compared without cache rounding.
// Single thread, so the result does not depend on the thread count.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user) { (void)level; (void)text; (void)user; }

static void print_row(const float *row, int n) {
    putchar('[');
    for (int i = 0; i < n; i++) printf(i ? ", %.9g" : "%.9g", row[i]);
    putchar(']');
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s MODEL.gguf IDS STEPS\n", argv[0]); return 2; }
    int ids[4096], n = 0;
    for (char *p = strtok(argv[2], ","); p && n < 4096; p = strtok(NULL, ",")) ids[n++] = atoi(p);
    int steps = atoi(argv[3]);
    if (!getenv("LLAMA_LOGITS_VERBOSE")) llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "llama.cpp failed to load %s\n", argv[1]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n + steps + 16;
    cp.n_batch = cp.n_ctx;
    cp.n_ubatch = cp.n_ctx;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "llama.cpp failed to create a context\n"); return 1; }
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));

    struct llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = ids[i]; batch.pos[i] = i; batch.n_seq_id[i] = 1; batch.seq_id[i][0] = 0; batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "llama_decode failed\n"); return 1; }
    printf("{\"n_vocab\": %d, \"prompt_logits\": [", nv);
    for (int i = 0; i < n; i++) { if (i) printf(", "); print_row(llama_get_logits_ith(ctx, i), nv); }
    printf("], ");
    float *last = malloc(sizeof(float) * nv);
    memcpy(last, llama_get_logits_ith(ctx, n - 1), sizeof(float) * nv);
    int *tokens = malloc(sizeof(int) * (steps + 1));
    printf("\"decode_logits\": [");
    for (int s = 0; s < steps; s++) {
        int best = 0;
        for (int v = 1; v < nv; v++) if (last[v] > last[best]) best = v;
        tokens[s] = best;
        if (s) printf(", ");
        print_row(last, nv);
        if (s + 1 == steps) break;
        struct llama_batch one = llama_batch_init(1, 0, 1);
        one.token[0] = best; one.pos[0] = n + s; one.n_seq_id[0] = 1; one.seq_id[0][0] = 0; one.logits[0] = 1;
        one.n_tokens = 1;
        if (llama_decode(ctx, one) != 0) { fprintf(stderr, "llama_decode (step %d) failed\n", s); return 1; }
        memcpy(last, llama_get_logits_ith(ctx, 0), sizeof(float) * nv);
        llama_batch_free(one);
    }
    printf("], \"greedy_tokens\": [");
    for (int s = 0; s < steps; s++) printf(s ? ", %d" : "%d", tokens[s]);
    printf("]}\n");
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
