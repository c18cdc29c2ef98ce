// Tokenizes texts with libllama's own tokenizer (llama_tokenize / llama_detokenize) on a vocab-only GGUF.
//
//   llama_tokenize VOCAB.gguf < TEXTS
//
// Input: records "<decimal byte count>\n<that many bytes of UTF-8 text>".
// Output: one line per record, four fields separated by '|':
//   ids with add_special=false, parse_special=true | ids with add_special=true, parse_special=true |
//   ids with add_special=false, parse_special=false | hex of llama_detokenize(first ids, remove_special=false,
//   unparse_special=true)
// A first line "add_bos=<0|1> add_eos=<0|1> bos=<id> eos=<id>" gives the vocabulary's flags.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user) { (void)level; (void)text; (void)user; }

static void print_ids(const llama_token *ids, int n) {
    for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
}

static int tokenize(const struct llama_vocab *vocab, const char *text, int len, llama_token **out, int *cap,
                    bool add_special, bool parse_special) {
    int n = llama_tokenize(vocab, text, len, *out, *cap, add_special, parse_special);
    if (n < 0) {
        *cap = -n;
        *out = realloc(*out, sizeof(llama_token) * (size_t)*cap);
        n = llama_tokenize(vocab, text, len, *out, *cap, add_special, parse_special);
    }
    if (n < 0) { fprintf(stderr, "llama_tokenize failed\n"); exit(1); }
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s VOCAB.gguf < TEXTS\n", argv[0]); return 2; }
    if (!getenv("LLAMA_TOKENIZE_VERBOSE")) llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "llama.cpp failed to load %s\n", argv[1]); return 1; }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    printf("add_bos=%d add_eos=%d bos=%d eos=%d\n", llama_vocab_get_add_bos(vocab), llama_vocab_get_add_eos(vocab),
           llama_vocab_bos(vocab), llama_vocab_eos(vocab));
    int cap = 1024;
    llama_token *ids = malloc(sizeof(llama_token) * (size_t)cap);
    long len;
    while (scanf("%ld", &len) == 1) {
        if (getchar() != '\n' || len < 0) { fprintf(stderr, "bad record header\n"); return 1; }
        char *text = malloc((size_t)len + 1);
        if (fread(text, 1, (size_t)len, stdin) != (size_t)len) { fprintf(stderr, "short record\n"); return 1; }
        text[len] = 0;
        int n = tokenize(vocab, text, (int)len, &ids, &cap, false, true);
        print_ids(ids, n);
        putchar('|');
        int m = tokenize(vocab, text, (int)len, &ids, &cap, true, true);
        print_ids(ids, m);
        putchar('|');
        int k = tokenize(vocab, text, (int)len, &ids, &cap, false, false);
        print_ids(ids, k);
        putchar('|');
        n = tokenize(vocab, text, (int)len, &ids, &cap, false, true);
        int size = 4 * (int)len + 64;
        char *back = malloc((size_t)size);
        int got = llama_detokenize(vocab, ids, n, back, size, false, true);
        if (got < 0) { size = -got; back = realloc(back, (size_t)size); got = llama_detokenize(vocab, ids, n, back, size, false, true); }
        if (got < 0) { fprintf(stderr, "llama_detokenize failed\n"); return 1; }
        for (int i = 0; i < got; i++) printf("%02x", (unsigned char)back[i]);
        putchar('\n');
        free(back);
        free(text);
    }
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
