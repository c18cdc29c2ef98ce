#ifndef CLFMKERNELS_H
#define CLFMKERNELS_H
// ISA-specific inner loops for swift-lfm. x86 variants use per-function target attributes and
// are selected at run time (see lfm_cpu_features), so the binary runs on any x86-64; the
// `_portable` variants build everywhere: plain C (SSE2 on x86-64), and on ARM64 the NEON
// intrinsics of matmul_neon.c / quant_neon.c for the products (plain C, NEON, for the rest).
#include <stddef.h>
#include <stdint.h>

// ---- CPU features, pause, atomics (cpu.c) ----

/// Bits of lfm_cpu_features().
#define LFM_CPU_AVX2 0x1u
#define LFM_CPU_FMA 0x2u
#define LFM_CPU_F16C 0x4u
#define LFM_CPU_AVX512F 0x8u
#define LFM_CPU_AVX512BW 0x10u
#define LFM_CPU_AVX512VL 0x20u
#define LFM_CPU_AVX512BF16 0x40u
#define LFM_CPU_AVX512VNNI 0x80u
#define LFM_CPU_AVX512DQ 0x100u
/// AVX512_VBMI together with GFNI and BMI2 (every VBMI core but Cannon Lake has all three): the
/// variant of the AVX-512 VNNI integer kernels that uses byte permutes, GF(2) affine byte transforms
/// and pdep.
#define LFM_CPU_AVX512VBMI 0x200u
/// ARM64: Advanced SIMD (always set on ARM64).
#define LFM_CPU_NEON 0x400u
/// ARM64: the dot-product extension (SDOT / UDOT, FEAT_DotProd).
#define LFM_CPU_DOTPROD 0x800u
/// AVX-VNNI: VEX-encoded vpdpbusd / vpdpwssd on 256-bit registers (Intel client cores since Alder
/// Lake, AMD Zen 5). Also set when the environment has LFM_ASSUME_AVXVNNI=1 and the CPU has AVX2:
/// for virtual machines whose hypervisor hides the CPUID bit of a CPU that executes the
/// instructions (asserting it on a CPU without them ends in SIGILL). LFM_ASSUME_AVXVNNI=0 clears
/// it, so the plain AVX2 kernels (those of AMD Zen 2 / 3) run and can be measured on such a CPU.
#define LFM_CPU_AVXVNNI 0x1000u

/// Instruction-set features of this CPU that the OS also enables (the x86 bits on x86-64, the
/// NEON and dot-product bits on ARM64, 0 elsewhere).
uint32_t lfm_cpu_features(void);
/// Whether this is an AMD x86-64 CPU (0 elsewhere): the Q8_0 decode rows of the AVX-512 kernels read
/// faster from DRAM without software prefetch on AMD Zen 4 and much slower without it on Intel.
int lfm_cpu_is_amd(void);
/// A spin-wait hint (`pause` on x86, `yield` on ARM64).
void lfm_cpu_pause(void);

long lfm_atomic_load(const long *p);
void lfm_atomic_store(long *p, long v);
long lfm_atomic_fetch_add(long *p, long v);
/// Sequentially consistent exchange-if-equal; returns 1 on success.
int lfm_atomic_cas(long *p, long expected, long desired);

// ---- Matrix multiplication (matmul_*.c) ----
// y[t * yStride + n] = sum_k x[t * xStride + k] * W[n, k] for t < m, n0 <= n < n1.
// W is row-major [rows, cols] of `dtype` (0 = F32, 1 = F16, 2 = BF16), starting at `w`.
// lfm_matmul_portable runs lfm_matmul_neon on ARM64 and lfm_matmul_plain everywhere else.

#define LFM_DT_F32 0
#define LFM_DT_F16 1
#define LFM_DT_BF16 2

void lfm_matmul_avx512(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                       const float *x, size_t xStride, size_t m, float *y, size_t yStride);
void lfm_matmul_avx2(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                     const float *x, size_t xStride, size_t m, float *y, size_t yStride);
void lfm_matmul_portable(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                         const float *x, size_t xStride, size_t m, float *y, size_t yStride);
/// The plain-C product the compiler vectorizes for the baseline ISA (SSE2 / NEON).
void lfm_matmul_plain(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                      const float *x, size_t xStride, size_t m, float *y, size_t yStride);
#if defined(__aarch64__)
/// NEON intrinsics (4 x 4 tiles of F32 FMA lanes; F16 widened with fcvtl, BF16 by a shift).
void lfm_matmul_neon(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                     const float *x, size_t xStride, size_t m, float *y, size_t yStride);
#endif

/// Exact BF16-weight product on activations permuted by lfm_permute_pairs (`xp`, rows
/// `xpStride` floats apart). Requires AVX-512.
void lfm_matmul_bf16pairs_avx512(const uint16_t *w, size_t cols, size_t n0, size_t n1,
                                 const float *xp, size_t xpStride, size_t m, float *y, size_t yStride);
/// Copies `m` rows of `cols` floats into `out` (rows `cols` apart), storing every full block
/// of 32 as its 16 even-index then its 16 odd-index elements; the tail keeps its order.
void lfm_permute_pairs(const float *x, size_t xStride, size_t m, size_t cols, float *out);
/// lfm_permute_pairs with AVX-512 permutes (identical output). Requires AVX-512.
void lfm_permute_pairs_avx512(const float *x, size_t xStride, size_t m, size_t cols, float *out);

/// BF16 weights times activations already rounded to BF16 (`xb`, rows `xbStride` elements
/// apart), accumulated in F32 with vdpbf16ps. Requires AVX512_BF16.
void lfm_matmul_bf16dot_avx512(const uint16_t *w, size_t cols, size_t n0, size_t n1,
                               const uint16_t *xb, size_t xbStride, size_t m, float *y, size_t yStride);
/// Rounds `count` floats to BF16 (round to nearest even). Requires AVX512_BF16.
void lfm_round_bf16_avx512(const float *x, size_t count, uint16_t *out);

// Packed prefill GEMM (matmul_packed*.c): activations are packed once per product into panels
// of `mr` rows (lfm_pack_activations), then each thread multiplies its weight rows n0 ..< n1,
// widening every weight once per LFM_PACKED_KC-column slice into a cache-resident F32 panel.

/// Columns per K slice of the packed GEMM.
#define LFM_PACKED_KC 1024
/// Activation panel height (`mr`) and weight panel width of lfm_matmul_packed_avx512.
#define LFM_PACKED_MR_AVX512 14
#define LFM_PACKED_NR_AVX512 32
/// Floats of the work area of one lfm_matmul_packed_avx512 call (two weight panels of
/// LFM_PACKED_KC x LFM_PACKED_NR_AVX512).
#define LFM_PACKED_PANEL_FLOATS_AVX512 65536

/// Floats needed for `m` packed activation rows of `cols` columns in panels of `mr` rows.
size_t lfm_packed_activation_floats(size_t m, size_t cols, size_t mr);
/// Packs rows t0 ..< t1 of x (rows xStride floats apart; t0 a multiple of `mr`; rows at or past
/// `m` up to the next multiple of `mr` are written as zeros) into `out`, which holds the whole
/// packed product (lfm_packed_activation_floats(m, cols, mr) floats). Threads may pack disjoint
/// panel ranges concurrently.
void lfm_pack_activations(const float *x, size_t xStride, size_t m, size_t cols, size_t mr,
                          size_t t0, size_t t1, float *out);
/// lfm_pack_activations with mr = LFM_PACKED_MR_AVX512, same arguments and result. Requires AVX-512.
void lfm_pack_activations_avx512(const float *x, size_t xStride, size_t m, size_t cols,
                                 size_t t0, size_t t1, float *out);
/// y[t * yStride + n] = sum_k x[t, k] * W[n, k] for t < m, n0 <= n < n1, with x packed by
/// lfm_pack_activations(mr: LFM_PACKED_MR_AVX512) into `ap`. `panel` is the caller's work area
/// of LFM_PACKED_PANEL_FLOATS_AVX512 floats, 64-byte aligned, one per concurrent call.
/// Requires AVX-512 (F, BW, VL, DQ).
void lfm_matmul_packed_avx512(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                              const float *ap, size_t m, float *y, size_t yStride, float *panel);
/// Activation panel height (`mr`) and weight panel width of lfm_matmul_packed_avx2.
#define LFM_PACKED_MR_AVX2 6
#define LFM_PACKED_NR_AVX2 16
/// Floats of the work area of one lfm_matmul_packed_avx2 call (two weight panels of
/// LFM_PACKED_KC x LFM_PACKED_NR_AVX2).
#define LFM_PACKED_PANEL_FLOATS_AVX2 32768
/// lfm_matmul_packed_avx512 for AVX2 + FMA + F16C: activations packed by
/// lfm_pack_activations(mr: LFM_PACKED_MR_AVX2), `panel` of LFM_PACKED_PANEL_FLOATS_AVX2 floats,
/// 32-byte aligned, one per concurrent call.
void lfm_matmul_packed_avx2(int dtype, const void *w, size_t cols, size_t n0, size_t n1,
                            const float *ap, size_t m, float *y, size_t yStride, float *panel);

// ---- Row operations (ops_*.c, one copy per ISA: _avx512, _avx2, _portable) ----
// Same semantics as the ComputeBackend methods of the same names, with one addition:
// lfm_short_conv_* computes (and updates the state of) channels c0 ..< c1 only, so callers can
// split the work over threads without overlapping writes.

#define LFM_DECLARE_OPS(S) \
    void lfm_rmsnorm_##S(const float *x, size_t xStride, const float *weight, size_t dim, size_t rows, \
                         float eps, float *out, size_t outStride); \
    void lfm_rope_neox_##S(float *x, size_t xStride, size_t rows, size_t heads, size_t headDim, \
                           long startPosition, const float *inverseFrequencies); \
    void lfm_short_conv_##S(const float *x, size_t xStride, size_t rows, size_t channels, size_t kernel, \
                            float *state, const float *weight, float *out, size_t outStride, \
                            size_t c0, size_t c1); \
    void lfm_silu_mul_##S(const float *gate, const float *up, float *out, size_t count); \
    void lfm_mul_##S(const float *a, const float *b, float *out, size_t count); \
    void lfm_add_##S(const float *a, const float *b, float *out, size_t count);

LFM_DECLARE_OPS(avx512)
LFM_DECLARE_OPS(avx2)
LFM_DECLARE_OPS(portable)

// ---- KV cache rows and tiled attention (attention_template.h, compiled into ops_*.c) ----
// A KV cache row is one position's kvHeads * headDim values in a storage type, rows `rowBytes`
// apart; head h starts at element h * headDim. Block types (Q8_0, Q4_0) are GGUF's blocks of 32
// (head dimensions a multiple of 32): Q8_0 = f16 d + 32 int8 (x = d * q), Q4_0 = f16 d + 16 bytes
// (low nibbles elements 0..15, high 16..31, x = d * (q - 8)).

#define LFM_KV_F32 0
#define LFM_KV_F16 1
#define LFM_KV_BF16 2
#define LFM_KV_Q8_0 3
#define LFM_KV_Q4_0 4

/// Keys per tile of lfm_flash_attention (a multiple of every vector width).
#define LFM_ATTENTION_TILE 32

/// One causal grouped-query attention call over stored KV rows (see ComputeBackend.attention):
/// `rows` queries at positions startPosition ..< startPosition + rows over keys / values rows
/// 0 ..< startPosition + rows; a query at position p sees keys max(0, p + 1 - window) ... p
/// (window 0: all). Work is cut into items (a block of `rowsPerItem` query rows
/// x a block of `kvHeadsPerItem` KV heads; item = rowBlock * headBlocks + headBlock,
/// ceil(rows / rowsPerItem) * ceil(kvHeads / kvHeadsPerItem) items) and each item's key tiles into
/// `splits` contiguous ranges: unit = item * splits + split. An item's heads share its walk through
/// the key tiles (decode reads whole cache rows in order when one item holds every head).
typedef struct {
    const float *q;
    size_t qStride;
    size_t rows;
    size_t startPosition;
    const void *keys;
    const void *values;
    size_t kvRowBytes;
    int kvType;
    size_t heads;
    size_t kvHeads;
    size_t headDim;
    size_t window;
    float scale;
    float *out;
    size_t outStride;
    size_t rowsPerItem;
    size_t kvHeadsPerItem;
    size_t splits;
} LFMAttention;

#define LFM_DECLARE_ATTENTION(S) \
    /** Stores `rows` rows of `width` floats (x, xStride apart) as `type` rows (outRowBytes apart); \
        block types quantize exactly as ggml's quantize_row_q8_0_ref / q4_0_ref (a block with a \
        non-finite value is stored as scale NaN, codes 0), F16 / BF16 round to nearest even. */ \
    void lfm_kv_store_rows_##S(const float *x, size_t xStride, size_t rows, size_t width, int type, void *out, \
                               size_t outRowBytes); \
    /** Widens `count` stored rows of `width` values to floats (rows outStride apart). */ \
    void lfm_kv_widen_rows_##S(const void *rows, size_t count, size_t rowBytes, size_t width, int type, \
                               float *out, size_t outStride); \
    /** Units unit0 ..< unit1. With splits == 1 and partials NULL the outputs are written to out; \
        otherwise unit u writes, per query i of its item (i = (row in block * heads in block + KV head \
        in block) * group + head in group, group = heads / kvHeads; Q = rowsPerItem * kvHeadsPerItem * \
        group), (running maximum, running sum, unnormalised output[headDim]) at \
        partials + (u * Q + i) * (headDim + 2), and \
        lfm_flash_attention_merge combines an item's splits into out. */ \
    void lfm_flash_attention_##S(const LFMAttention *a, size_t unit0, size_t unit1, float *partials); \
    void lfm_flash_attention_merge_##S(const LFMAttention *a, size_t item0, size_t item1, const float *partials);

LFM_DECLARE_ATTENTION(avx512)
LFM_DECLARE_ATTENTION(avx2)
LFM_DECLARE_ATTENTION(portable)


// ==== Block-quantized matrix products (quant_*.c; section owned by the quantized kernels) ====
// y[t * yStride + n] = sum_k x[t, k] * W[n, k] for t < m, n0 <= n < n1, where W is row-major
// [rows, cols] in a ggml block type (`type` = ggml type id, GGUF block layout, rows
// contiguous) and x has been quantized by lfm_quantize_activations_* into LFMQuantActivations:
// blocks of `block` values (32 for the 32-element types, 256 for the K-quants and IQ4_XS) with one F32
// scale d = amax / 127 each, q = round-half-even(x * 127 / amax) in [-127, 127] (all zero when
// amax < 1e-30), the sum of every 16 consecutive q, and per block d * (sum of its q). Products are integer dot products
// scaled per block, as in ggml's vec_dot with Q8_0 / Q8_K activations.

/// Not ggml types: Q4_0 / Q8_0 rows whose blocks are regrouped eight at a time into 16 bytes of the
/// eight F16 scales (blocks 0, 2, 4, 6, 1, 3, 5, 7 of the group, the order the AVX2 Q4_0 pair sums come
/// out in) followed by the eight blocks' code bytes in block order (16 or 32 each: 144 or 272 bytes, as
/// eight GGUF blocks); the last `blocks % 8` blocks of a row keep the GGUF layout. Same row bytes as the
/// ggml type. The x86 row kernels read a group with plain loads and convert its scales with one
/// instruction; the GGUF layout needs byte permutes or inserts for both. Every lfm_qmatmul_* and
/// lfm_qgemm_* entry point takes them (where a path has no kernel of its own for one, through the plain
/// C loop, which copies each block out); lfm_regroup_rows writes them.
#define LFM_QT_Q4_0_X8 1002
#define LFM_QT_Q8_0_X8 1008

/// Rewrites `rows` rows of `cols` columns of ggml type `type` (2 = Q4_0 or 8 = Q8_0; rows contiguous)
/// from the GGUF layout at `src` into the regrouped layout at `dst` (`inverse`: back). The regions
/// must not overlap.
void lfm_regroup_rows(int type, const void *src, void *dst, size_t rows, size_t cols, int inverse);

/// Quantized activations: `m` rows; row t holds q[t * cols ..< (t + 1) * cols],
/// d[t * (cols / block) ..< ...], sums[t * (cols / 16) ..< ...] and dsums like d.
typedef struct {
    const int8_t *q;
    const float *d;
    const int16_t *sums;
    const float *dsums;
    size_t cols;
    size_t block;
} LFMQuantActivations;

/// Activation block size the kernels need for ggml type `type` (32 or 256), or 0 when the
/// type has no integer kernel (callers fall back to dequantization).
size_t lfm_qmatmul_block(int type);

/// Quantizes rows t0 <= t < t1 of x (rows xStride floats apart, `cols` a multiple of `block`,
/// `block` 32 or 256) into q/d/sums/dsums laid out as in LFMQuantActivations. The three variants
/// give bit-identical results.
void lfm_quantize_activations_portable(const float *x, size_t xStride, size_t t0, size_t t1, size_t cols,
                                       size_t block, int8_t *q, float *d, int16_t *sums, float *dsums);
void lfm_quantize_activations_avx2(const float *x, size_t xStride, size_t t0, size_t t1, size_t cols,
                                   size_t block, int8_t *q, float *d, int16_t *sums, float *dsums);
void lfm_quantize_activations_avx512(const float *x, size_t xStride, size_t t0, size_t t1, size_t cols,
                                     size_t block, int8_t *q, float *d, int16_t *sums, float *dsums);

/// Weight rows n0 <= n < n1 of `w` (ggml type `type`, lfm_qmatmul_block(type) != 0) times the
/// m activation rows. `_avx512vnni` needs AVX512F/BW/VL + VNNI, `_avx2` AVX2 + FMA + F16C.
/// `_portable` runs the NEON kernels on ARM64 (with SDOT when lfm_cpu_features() has
/// LFM_CPU_DOTPROD) and `_plain` everywhere else.
/// IQ4_NL / IQ4_XS (codes looked up in a 16-level table) have AVX-512 (both AVX-512 entry points),
/// AVX2 and portable row kernels, and a place in both packed GEMMs. Q2_K / Q3_K (16 sub-blocks of
/// 16, 2-bit codes; Q3_K's third bit in hmask) have one 256-bit row kernel for the x86 paths and the
/// portable one (NEON: its own, as every integer type), and a place in both packed GEMMs.
void lfm_qmatmul_portable(int type, const void *w, size_t n0, size_t n1,
                          const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
/// The integer dot products in plain scalar C (every type; any ISA).
void lfm_qmatmul_plain(int type, const void *w, size_t n0, size_t n1,
                       const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
#if defined(__aarch64__)
/// NEON kernels for Q8_0, Q4_0, Q4_K and Q6_K (other types run lfm_qmatmul_plain); the
/// integer dot products use widening multiplies (smull / sadalp): any ARMv8-A CPU.
void lfm_qmatmul_neon(int type, const void *w, size_t n0, size_t n1,
                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
/// lfm_qmatmul_neon with SDOT (vdotq_s32) for the integer dot products; same results.
/// Requires LFM_CPU_DOTPROD.
void lfm_qmatmul_neon_dotprod(int type, const void *w, size_t n0, size_t n1,
                              const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
#endif
void lfm_qmatmul_avx2(int type, const void *w, size_t n0, size_t n1,
                      const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
/// lfm_qmatmul_avx2 compiled for AVX-VNNI (requires LFM_CPU_AVXVNNI as well): vpdpbusd / vpdpwssd
/// instead of vpmaddubsw + vpmaddwd. Same integer products; results equal up to F32 summation order.
void lfm_qmatmul_avxvnni(int type, const void *w, size_t n0, size_t n1,
                         const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
void lfm_qmatmul_avx512vnni(int type, const void *w, size_t n0, size_t n1,
                            const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
/// lfm_qmatmul_avx512vnni compiled for CPUs that also have AVX512_VBMI and GFNI (byte permutes:
/// faster K-quant scale vectors; one GF(2) affine transform per nibble or bit-field unpack in the
/// Q4_K / Q6_K decode rows), with its own GGUF-layout Q4_0 row kernel for m < 4. Same results up to
/// F32 summation order.
void lfm_qmatmul_avx512vbmi(int type, const void *w, size_t n0, size_t n1,
                            const LFMQuantActivations *x, size_t m, float *y, size_t yStride);

/// Activation rows from which lfm_qgemm_avx512vnni beats lfm_qmatmul_avx512vnni for ggml type
/// `type` (every integer type: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K … Q6_K, IQ4_NL, IQ4_XS), or 0 when it has no packed
/// GEMM for the type (other types
/// go to lfm_qmatmul_avx512vnni).
size_t lfm_qgemm_min_rows(int type);
/// Prefill form of lfm_qmatmul_avx512vnni (same arguments and results up to F32 summation
/// order): panels of 32 weight rows are repacked on the fly into a row-interleaved block form
/// and multiplied with four activation rows at a time. Worth it for m >= lfm_qgemm_min_rows(type).
void lfm_qgemm_avx512vnni(int type, const void *w, size_t n0, size_t n1,
                          const LFMQuantActivations *x, size_t m, float *y, size_t yStride);

/// Activation rows from which lfm_qgemm_avx2 beats lfm_qmatmul_avx2 for ggml type `type`
/// (every integer type, as lfm_qgemm_min_rows), or 0 when it has no packed GEMM for the type.
size_t lfm_qgemm_avx2_min_rows(int type);
/// Prefill form of lfm_qmatmul_avx2 (same arguments and results up to F32 summation order) for
/// CPUs with AVX2 + FMA + F16C: panels of 8 weight rows are repacked on the fly into a
/// row-interleaved form with unpacked codes and multiplied with four activation rows at a time
/// (vpmaddubsw / vpmaddwd). Types without a packed form go to lfm_qmatmul_avx2.
void lfm_qgemm_avx2(int type, const void *w, size_t n0, size_t n1,
                    const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
/// lfm_qgemm_avx2 compiled for AVX-VNNI (same packed panels; vpdpbusd accumulates the byte products
/// straight into dwords). Types without a packed form go to lfm_qmatmul_avxvnni. Same thresholds
/// (lfm_qgemm_avx2_min_rows).
void lfm_qgemm_avxvnni(int type, const void *w, size_t n0, size_t n1,
                       const LFMQuantActivations *x, size_t m, float *y, size_t yStride);
// ==== end of block-quantized matrix products ====

// Training kernels (LFMTraining), declared in their own header.
#include "CLFMKernelsTraining.h"

#endif
