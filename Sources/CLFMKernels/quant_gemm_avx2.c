// AVX2 prefill GEMM over block-quantized weights (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
// IQ4_NL, IQ4_XS), for CPUs without AVX-512 VNNI (Zen 2/3, most Intel client chips).
//
// The weights stay in the GGUF block layout. For every panel of 8 weight rows and every chunk of
// QA_KC columns, the panel is repacked once into a small stack buffer, row-interleaved: per
// group of four columns, one 256-bit register holds the four codes of each of the 8 rows
// (dword r = row r), nibbles already unpacked to bytes; per scale unit, the rows' scales follow
// as 8 lanes. The micro-kernel multiplies a packed panel with four activation rows (tokens) at a
// time: every vpmaddubsw takes one register of 8 weight rows and the four activation bytes of one
// token broadcast to all dwords, so each decoded weight serves every token of the call, the
// scaling is one FMA per 8 rows, and no horizontal sums are needed.
//
// Integer semantics are exactly those of the row kernels (quant_simd.h) and of ggml's vec_dot:
//   Q8_0  signed codes; |w| (unsigned) times x with w's sign (vpsignb), as ggml's AVX2 kernel;
//         every group's word sums are widened to dwords (two groups would overflow 16 bits);
//   Q4_0  codes q (0..15); the 8 groups of a block add up in 16 bits (at most 8 * 2 * 15 * 127 =
//         30480), widened once per block, minus 8 * (sum of the block's activation codes);
//   Q5_0  codes q (0..31, the fifth bit joined while packing), groups 0-3 and 4-7 in two 16-bit sums
//         (4 * 2 * 31 * 127 = 31496), minus 16 * that sum;
//   Q4_1, Q5_1  as Q4_0 / Q5_0 without the offset; per block the min m times d(x) * that sum (the
//         activations' dsums), one F32 FMA per token;
//   Q4_K  codes q (0..15) per sub-block of 32 (16-bit sums as Q4_0), times the six-bit scale in
//         vpmaddwd; per super-block the mins term dmin * sum_j mn_j * (activation sum of j);
//   Q5_K  as Q4_K with codes q (0..31), the fifth bit joined while packing; four groups per 16-bit
//         sum (4 * 2 * 31 * 127 = 31496), so each sub-block's scale multiplies two half sums;
//   Q6_K  codes q (0..63) per sub-block of 16, two groups per 16-bit sum (2 * 2 * 63 * 127 =
//         32004), times the signed scale in vpmaddwd, minus 32 * sum_j sc_j * (activation sum
//         of j), then d;
//   Q3_K  packed as Q6_K with codes q3 + 32 (28..35) and the scales sc_j - 32;
//   Q2_K  packed as Q6_K with codes q (0..3), no offset; the mins mn_j in place of Q6_K's offset
//         scales, times dmin;
//   IQ4_NL the codes are looked up (vpshufb against the 16 levels) while packing, which leaves
//         signed 8-bit weights: packed and multiplied exactly as Q8_0;
//   IQ4_XS the looked-up levels times the sub-block scale ls - 32, packed as words (|level| <= 127,
//         |ls - 32| <= 32: at most 4064), two columns per dword, 16 rows per micro-kernel call;
//         the activations of a chunk are widened to words once per call, and vpmaddwd sums their
//         products into dwords (vpsignb, vpmaddubsw and a vpmaddwd by the scale per group were
//         slower: three instructions that issue twice per cycle on Zen 4 per 32 products, where
//         two vpmaddwd do now); then d.
//         The AVX-VNNI build packs the levels and the scales apart (vpdpbusd, vpmulld per sub-block).
// Only the order of the F32 additions differs from the row kernels.
#include "CLFMKernels.h"
#include "internal/quant_common.h"

#pragma clang fp contract(off)

size_t lfm_qgemm_avx2_min_rows(int type) {
    // Measured as lfm_qgemm_min_rows (Benchmarks/gemm_threshold.c with GEMM_THRESHOLD_PATH=avx2: the
    // plain AVX2 GEMM and row kernels on AMD Zen 4); the AVX-VNNI build uses the same counts (not
    // measured: no AVX-VNNI CPU here).
    switch (type) {
    case QT_Q5_1: case QT_IQ4_NL: return 3;
    case QT_Q4_1: case QT_Q5_0: return 4;
    case QT_Q4_K: return 5;
    case QT_Q5_K: return 6;
    case QT_Q4_0: case QT_Q4_0_X8: case QT_Q3_K: case QT_Q6_K: return 7;
    case QT_Q8_0: case QT_Q8_0_X8: case QT_IQ4_XS: return 8;
    case QT_Q2_K: return 12;
    default: return 0;
    }
}

#if defined(__x86_64__)
#define QA_TARGET __attribute__((target("avx2,fma,f16c")))
#define QA_VNNI 0
#define QA_ENTRY lfm_qgemm_avx2
#define QA_ROW_ENTRY lfm_qmatmul_avx2
#include "internal/quant_gemm_avx2_template.h"
#else
void lfm_qgemm_avx2(int type, const void *w, size_t n0, size_t n1, const LFMQuantActivations *x, size_t m,
                    float *y, size_t yStride) {
    lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride);
}
#endif
