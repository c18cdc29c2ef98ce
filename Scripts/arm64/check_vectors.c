// Runs the C matrix-product kernels of Sources/CLFMKernels on the test vectors of
// Scripts/arm64/vectors (written by the Swift scalar references, see
// Tests/LFMKernelsTests/ARM64Vectors.swift for the format) and compares every output with the
// stored expectation and tolerance. Built by Scripts/arm64/run.sh for ARM64 (run under qemu)
// and for x86-64 (run natively).
//
// Usage: check_vectors VECTOR_DIR
// Prints one line per kernel and type, then "check_vectors: N passed, N failed, N skipped";
// exits 0 when nothing failed, 1 on a mismatch, 2 on a bad or missing vector file.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "CLFMKernels.h"

typedef void (*FloatKernel)(int, const void *, size_t, size_t, size_t, const float *, size_t, size_t, float *, size_t);
typedef void (*QuantKernel)(int, const void *, size_t, size_t, const LFMQuantActivations *, size_t, float *, size_t);

typedef struct {
    const char *name;
    FloatKernel run;
} FloatPath;

typedef struct {
    const char *name;
    QuantKernel run;
} QuantPath;

static int passed = 0, failed = 0, skipped = 0;

// ---- Reading the vector files ----

typedef struct {
    const unsigned char *p, *end;
    const char *file;
} Reader;

static void die(const Reader *r, const char *what) {
    fprintf(stderr, "check_vectors: %s: %s\n", r->file, what);
    exit(2);
}

static const void *take(Reader *r, size_t bytes) {
    if ((size_t)(r->end - r->p) < bytes) die(r, "truncated file");
    const void *at = r->p;
    r->p += bytes;
    return at;
}

static uint32_t u32(Reader *r) {
    const unsigned char *b = take(r, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/// `count` little-endian 4-byte floats, copied into fresh memory (the file gives no alignment).
static float *floats(Reader *r, size_t count) {
    float *out = malloc(count * 4 + 4);
    if (!out) die(r, "out of memory");
    for (size_t i = 0; i < count; i++) {
        uint32_t bits = u32(r);
        memcpy(out + i, &bits, 4);
    }
    return out;
}

static void *copy_bytes(Reader *r, size_t count) {
    void *out = malloc(count + 64);
    if (!out) die(r, "out of memory");
    memcpy(out, take(r, count), count);
    return out;
}

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *grown = realloc(buf, cap *= 2);
            if (!grown) { free(buf); buf = NULL; }
            else buf = grown;
        }
    }
    fclose(f);
    *size = n;
    return buf;
}

// ---- Comparing ----

/// Largest |y - expected| / tolerance over all outputs (padding: tolerance 0, exact sentinel);
/// INFINITY for NaN or any padding write.
static double worst_ratio(const float *y, const float *expected, const float *tolerance, size_t count) {
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        double ratio;
        if (tolerance[i] == 0) ratio = y[i] == expected[i] ? 0 : INFINITY;
        else ratio = fabs((double)y[i] - (double)expected[i]) / (double)tolerance[i];
        if (!(ratio <= worst)) worst = isnan(ratio) ? INFINITY : ratio;
    }
    return worst;
}

/// Per (path, type): the worst ratio over its cases.
typedef struct {
    double worst;
    int cases;
} Tally;

static void report(const char *path, const char *type, Tally t) {
    int ok = t.worst <= 1;
    printf("%-22s %-6s %2d cases  worst error/tolerance %.3g  %s\n", path, type, t.cases, t.worst, ok ? "PASS" : "FAIL");
    if (ok) passed++;
    else failed++;
}

static void report_skip(const char *path, const char *type, const char *why) {
    printf("%-22s %-6s skipped: %s\n", path, type, why);
    skipped++;
}

// ---- The kernels ----

static const FloatPath floatPaths[] = {
    { "matmul_plain", lfm_matmul_plain },
    { "matmul_portable", lfm_matmul_portable },
#if defined(__aarch64__)
    { "matmul_neon", lfm_matmul_neon },
#elif defined(__x86_64__)
    { "matmul_avx2", lfm_matmul_avx2 },
    { "matmul_avx512", lfm_matmul_avx512 },
#endif
};

static const QuantPath quantPaths[] = {
    { "qmatmul_plain", lfm_qmatmul_plain },
    { "qmatmul_portable", lfm_qmatmul_portable },
#if defined(__aarch64__)
    { "qmatmul_neon", lfm_qmatmul_neon },
    { "qmatmul_neon_dotprod", lfm_qmatmul_neon_dotprod },
#elif defined(__x86_64__)
    { "qmatmul_avx2", lfm_qmatmul_avx2 },
    { "qmatmul_avx512vnni", lfm_qmatmul_avx512vnni },
#endif
};

/// Whether this CPU can run the path called `name`, else why not.
static const char *unsupported(const char *name) {
    uint32_t f = lfm_cpu_features();
    if (strstr(name, "dotprod")) return (f & LFM_CPU_DOTPROD) ? NULL : "CPU without the dot-product extension";
    if (strstr(name, "avx512vnni")) {
        uint32_t need = LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512VNNI;
        return (f & need) == need ? NULL : "CPU without AVX-512 VNNI";
    }
    if (strstr(name, "avx512")) {
        uint32_t need = LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512DQ | LFM_CPU_FMA | LFM_CPU_F16C;
        return (f & need) == need ? NULL : "CPU without AVX-512";
    }
    if (strstr(name, "avx2")) {
        uint32_t need = LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C;
        return (f & need) == need ? NULL : "CPU without AVX2 + FMA + F16C";
    }
    return NULL;
}

/// Runs `run` over all rows, and again with the rows split in two ranges (as threads split
/// them); returns the worse of the two ratios.
#define RUN_BOTH_SPLITS(CALL_RANGE)                                                                  \
    do {                                                                                             \
        for (int split = 0; split < 2; split++) {                                                    \
            for (size_t i = 0; i < m * yStride; i++) y[i] = 777.0f;                                   \
            size_t half = split ? rows / 2 : rows;                                                   \
            if (half > 0) { size_t n0 = 0, n1 = half; CALL_RANGE; }                                   \
            if (half < rows) { size_t n0 = half, n1 = rows; CALL_RANGE; }                             \
            double r = worst_ratio(y, expected, tolerance, m * yStride);                             \
            if (!(r <= worst)) worst = r;                                                            \
        }                                                                                            \
    } while (0)

static void check_file(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    size_t size = 0;
    unsigned char *data = read_file(path, &size);
    Reader r = { data, data + size, path };
    if (!data) die(&r, "cannot read");
    if (memcmp(take(&r, 4), "LFMV", 4) != 0) die(&r, "not a vector file (magic)");
    if (u32(&r) != 1) die(&r, "unknown version");
    const uint32_t cases = u32(&r);

    enum { MAX_PATHS = 8 };
    Tally tallies[MAX_PATHS] = { { 0, 0 } };
    Tally quantize = { 0, 0 };
    int quantized = -1;
    for (uint32_t c = 0; c < cases; c++) {
        const uint32_t kind = u32(&r), type = u32(&r);
        const size_t rows = u32(&r), cols = u32(&r), m = u32(&r), xStride = u32(&r), yStride = u32(&r);
        if (kind > 1 || rows == 0 || m == 0 || xStride < cols || yStride < rows) die(&r, "bad case header");
        if (quantized >= 0 && quantized != (int)kind) die(&r, "mixed kinds in one file");
        quantized = (int)kind;
        const size_t weightBytes = u32(&r);
        void *w = copy_bytes(&r, weightBytes);
        float *x = floats(&r, m * xStride);
        int8_t *refQ = NULL, *q = NULL;
        float *refD = NULL, *refDsums = NULL, *d = NULL, *dsums = NULL;
        int16_t *refSums = NULL, *sums = NULL;
        size_t block = 0;
        if (kind == 1) {
            block = u32(&r);
            if ((block != 32 && block != 256) || cols % block != 0 || lfm_qmatmul_block((int)type) != block)
                die(&r, "bad activation block");
            const size_t nq = m * cols, nd = m * cols / block, ns = m * cols / 16;
            refQ = copy_bytes(&r, nq);
            refD = floats(&r, nd);
            refSums = malloc(ns * 2 + 2);
            if (!refSums) die(&r, "out of memory");
            for (size_t i = 0; i < ns; i++) {
                const unsigned char *b = take(&r, 2);
                refSums[i] = (int16_t)(uint16_t)(b[0] | b[1] << 8);
            }
            refDsums = floats(&r, nd);
            q = malloc(nq + 1); d = malloc(nd * 4 + 4); sums = malloc(ns * 2 + 2); dsums = malloc(nd * 4 + 4);
            if (!q || !d || !sums || !dsums) die(&r, "out of memory");
            lfm_quantize_activations_portable(x, xStride, 0, m, cols, block, q, d, sums, dsums);
            // The C quantizer must reproduce the Swift reference bit for bit.
            const int same = memcmp(q, refQ, nq) == 0 && memcmp(d, refD, nd * 4) == 0 &&
                             memcmp(sums, refSums, ns * 2) == 0 && memcmp(dsums, refDsums, nd * 4) == 0;
            quantize.cases++;
            if (!same) quantize.worst = INFINITY;
        }
        float *expected = floats(&r, m * yStride);
        float *tolerance = floats(&r, m * yStride);
        float *y = malloc(m * yStride * 4 + 4);
        if (!y) die(&r, "out of memory");

        if (kind == 0) {
            for (size_t p = 0; p < sizeof floatPaths / sizeof floatPaths[0]; p++) {
                if (unsupported(floatPaths[p].name)) continue;
                double worst = 0;
                RUN_BOTH_SPLITS(floatPaths[p].run((int)type, w, cols, n0, n1, x, xStride, m, y, yStride));
                tallies[p].cases++;
                if (!(worst <= tallies[p].worst)) tallies[p].worst = worst;
            }
        } else {
            const LFMQuantActivations acts = { q, d, sums, dsums, cols, block };
            for (size_t p = 0; p < sizeof quantPaths / sizeof quantPaths[0]; p++) {
                if (unsupported(quantPaths[p].name)) continue;
                double worst = 0;
                RUN_BOTH_SPLITS(quantPaths[p].run((int)type, w, n0, n1, &acts, m, y, yStride));
                tallies[p].cases++;
                if (!(worst <= tallies[p].worst)) tallies[p].worst = worst;
            }
        }
        free(w); free(x); free(refQ); free(refD); free(refSums); free(refDsums);
        free(q); free(d); free(sums); free(dsums); free(expected); free(tolerance); free(y);
    }
    if (r.p != r.end) die(&r, "trailing bytes");
    free(data);

    if (quantized == 1) {
        report("quantize_activations", name, quantize);
        for (size_t p = 0; p < sizeof quantPaths / sizeof quantPaths[0]; p++) {
            const char *why = unsupported(quantPaths[p].name);
            if (why) report_skip(quantPaths[p].name, name, why);
            else report(quantPaths[p].name, name, tallies[p]);
        }
    } else {
        for (size_t p = 0; p < sizeof floatPaths / sizeof floatPaths[0]; p++) {
            const char *why = unsupported(floatPaths[p].name);
            if (why) report_skip(floatPaths[p].name, name, why);
            else report(floatPaths[p].name, name, tallies[p]);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s VECTOR_DIR\n", argv[0]);
        return 2;
    }
    const uint32_t f = lfm_cpu_features();
#if defined(__aarch64__)
    printf("arch aarch64: NEON, dot-product extension %s (lfm_qmatmul_portable uses %s)\n",
           (f & LFM_CPU_DOTPROD) ? "yes" : "no", (f & LFM_CPU_DOTPROD) ? "SDOT" : "widening multiplies");
#elif defined(__x86_64__)
    printf("arch x86_64: features 0x%x (portable = plain C)\n", f);
#else
    printf("arch other: features 0x%x\n", f);
#endif
    const char *names[] = { "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl",
                            "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_xs" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) check_file(argv[1], names[i]);
    printf("check_vectors: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
