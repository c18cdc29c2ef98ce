#ifndef CLFMKERNELS_TRAINING_H
#define CLFMKERNELS_TRAINING_H
// Forward and backward kernels of the training ops (LFMTraining), one copy per ISA
// (_avx512, _avx2, _portable; train_*.c from internal/train_template.h). Row-major F32.
// Every kernel works on a sub-range (rows, channels or items) so that callers can split the
// work over threads without overlapping writes. `accumulate` = add into the output instead of
// overwriting it.
#include <stddef.h>
#include <stdint.h>

#define LFM_DECLARE_TRAIN(S) \
    /* dst[i] += src[i] */ \
    void lfm_tr_add_##S(float *dst, const float *src, size_t n); \
    /* dst[i] = a[i] + b[i] */ \
    void lfm_tr_sum_##S(const float *a, const float *b, float *dst, size_t n); \
    /* x[i] *= s */ \
    void lfm_tr_scale_##S(float *x, float s, size_t n); \
    /* Σ x[i]² in double */ \
    double lfm_tr_sumsq_##S(const float *x, size_t n); \
    /* dst[c * rows + r] = src[r * cols + c] for r0 <= r < r1 */ \
    void lfm_tr_transpose_##S(const float *src, size_t rows, size_t cols, size_t r0, size_t r1, float *dst); \
    /* y = g ⊙ x · inv, inv[r] = 1 / sqrt(mean(x²) + eps), groups r0 ..< r1 of `dim` values */ \
    void lfm_tr_rmsnorm_fwd_##S(const float *x, const float *g, size_t dim, size_t r0, size_t r1, float eps, \
                                float *y, float *inv); \
    /* dx (+)= inv g dy − inv³ (Σ dy g x / dim) x;  dg += Σ_r dy x inv (dg may be NULL) */ \
    void lfm_tr_rmsnorm_bwd_##S(const float *x, const float *g, const float *inv, const float *dy, size_t dim, \
                                size_t r0, size_t r1, float *dx, int accumulate, float *dg); \
    /* out = silu(gate) · up */ \
    void lfm_tr_silu_mul_fwd_##S(const float *gate, const float *up, float *out, size_t n); \
    /* dgate (+)= dy · up · σ(g)(1 + g(1 − σ(g))), dup (+)= dy · silu(g) (either may be NULL) */ \
    void lfm_tr_silu_mul_bwd_##S(const float *gate, const float *up, const float *dy, size_t n, float *dgate, \
                                 float *dup, int accumulate); \
    /* Gated short conv of LFM2 on bcx [rows, 3h] (B | C | X), sequences of seqLen rows, zero history: \
       bx = B ⊙ X, u[t] = Σ_j w[c, j] bx[t − (kernel − 1) + j], y = C ⊙ u; channels c0 ..< c1. */ \
    void lfm_tr_gated_conv_fwd_##S(const float *bcx, size_t rows, size_t seqLen, size_t h, size_t kernel, \
                                   const float *w, size_t c0, size_t c1, float *bx, float *u, float *y); \
    /* Its backward: dbcx (+)= d/d(B | C | X), dw[c, j] += Σ bx · du, channels c0 ..< c1. */ \
    void lfm_tr_gated_conv_bwd_##S(const float *bcx, const float *bx, const float *u, const float *dy, \
                                   size_t rows, size_t seqLen, size_t h, size_t kernel, const float *w, \
                                   size_t c0, size_t c1, float *dbcx, int accumulate, float *dw); \
    /* NeoX RoPE on rows r0 ..< r1 of heads · headDim, position = row % seqLen; cs/sn [seqLen, headDim/2]; \
       direction −1 applies the inverse rotation (the backward). In place. */ \
    void lfm_tr_rope_##S(float *x, size_t heads, size_t headDim, size_t seqLen, const float *cs, const float *sn, \
                         float direction, size_t r0, size_t r1); \
    /* Causal GQA attention, items (sequence · heads + head) item0 ..< item1; p [items, seqLen, seqLen] \
       keeps the probabilities (row i: columns 0 ... i); `scratch` holds \
       lfm_tr_attention_scratch_floats(seqLen, d, 0) floats (one per concurrent call). */ \
    void lfm_tr_attention_fwd_##S(const float *q, const float *k, const float *v, size_t seqLen, size_t heads, \
                                  size_t kvHeads, size_t d, float scale, size_t item0, size_t item1, float *p, \
                                  float *out, float *scratch); \
    /* Its backward for key/value items (sequence · kvHeads + kvHead) kv0 ..< kv1: overwrites those \
       items' dq (their query heads), dk and dv; `scratch`: lfm_tr_attention_scratch_floats(seqLen, d, 1). */ \
    void lfm_tr_attention_bwd_##S(const float *q, const float *k, const float *v, const float *p, \
                                  const float *dy, size_t seqLen, size_t heads, size_t kvHeads, size_t d, \
                                  float scale, size_t kv0, size_t kv1, float *dq, float *dk, float *dv, \
                                  float *scratch); \
    /* Rows r0 ..< r1 of logits [*, vocab]: lse[r] = log Σ e^logit; returns Σ (lse − logit[target]) over \
       rows with target >= 0. */ \
    double lfm_tr_xent_fwd_##S(const float *logits, size_t vocab, const int64_t *targets, size_t r0, size_t r1, \
                               float *lse); \
    /* d logits = scale · (softmax − onehot(target)), 0 for rows with target < 0 (overwrites). */ \
    void lfm_tr_xent_bwd_##S(const float *logits, size_t vocab, const int64_t *targets, const float *lse, \
                             float scale, size_t r0, size_t r1, float *dlogits); \
    /* C[i, j] (+)= Σ_p A(i, p) · B[p, j] for m0 <= i < m1, j < n, p < k; A(i, p) = A[i·lda + p], or \
       A[p·lda + i] when transA (A stored transposed). B rows ldb apart, C rows ldc apart. */ \
    void lfm_tr_gemm_##S(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda, \
                         const float *B, size_t ldb, float *C, size_t ldc, int accumulate); \
    /* One AdamW update of n values (torch.optim.AdamW order: decay, moments, step). */ \
    void lfm_tr_adamw_##S(float *p, const float *g, float *m, float *v, size_t n, float lr, float weightDecay, \
                          float beta1, float beta2, float eps, float stepSize, float correction2Root);

/// Floats of scratch memory one call of lfm_tr_attention_fwd_* (backward 0) or _bwd_* (backward 1)
/// needs for sequences of seqLen positions and heads of d values (any ISA).
size_t lfm_tr_attention_scratch_floats(size_t seqLen, size_t d, int backward);

/// Makes glibc's malloc keep freed buffers of up to 32 MiB in the heap instead of returning them
/// to the OS (training frees and reallocates the same activation buffers every step; fresh pages
/// cost page faults and zeroing), also in the heaps of thread arenas. Process-wide; returns 1 when
/// applied, 0 elsewhere.
int lfm_tr_keep_heap(void);

LFM_DECLARE_TRAIN(avx512)
LFM_DECLARE_TRAIN(avx2)
LFM_DECLARE_TRAIN(portable)

// The blocked x86 products in two steps, so that threads computing different rows share one packed B:
// pack B's column panels (split over threads at multiples of the panel width), then compute rows of C
// from the packed B. The layout is the ISA's own (its panel width and K blocks).
#define LFM_DECLARE_TRAIN_PACKED_GEMM(S) \
    /* Columns per panel of packed B. */ \
    size_t lfm_tr_gemm_panel_width_##S(void); \
    /* Floats of B packed for a product over k values into n columns. */ \
    size_t lfm_tr_gemm_packed_size_##S(size_t k, size_t n); \
    /* Packs columns j0 ..< j1 of B (j0 a multiple of the panel width, j1 one too or n) into `packed`; \
       B(p, j) = B[p·ldb + j], or B[j·ldb + p] when transB (a weight [n, k] used as its transpose). */ \
    void lfm_tr_gemm_pack_b_##S(int transB, size_t k, size_t n, const float *B, size_t ldb, size_t j0, size_t j1, \
                                float *packed); \
    /* lfm_tr_gemm with B packed by lfm_tr_gemm_pack_b (every column). */ \
    void lfm_tr_gemm_packed_##S(int transA, size_t m0, size_t m1, size_t n, size_t k, const float *A, size_t lda, \
                                const float *packed, float *C, size_t ldc, int accumulate);

#if defined(__x86_64__)
LFM_DECLARE_TRAIN_PACKED_GEMM(avx512)
LFM_DECLARE_TRAIN_PACKED_GEMM(avx2)
#endif

#endif
