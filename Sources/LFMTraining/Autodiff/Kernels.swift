import CLFMKernels
import LFMKernels

/// The training kernels of one ISA (CLFMKernelsTraining.h) and the threads they are split over.
struct TrainingKernels: Sendable {
    typealias P = UnsafePointer<Float>
    typealias M = UnsafeMutablePointer<Float>

    let pool: ThreadPool
    /// Whether the BF16 dot-product matmul (`vdpbf16ps`) is available.
    let hasBF16Dot: Bool
    let add: @convention(c) (M?, P?, Int) -> Void
    let sum: @convention(c) (P?, P?, M?, Int) -> Void
    let scale: @convention(c) (M?, Float, Int) -> Void
    let sumOfSquares: @convention(c) (P?, Int) -> Double
    let transposeRows: @convention(c) (P?, Int, Int, Int, Int, M?) -> Void
    let rmsNormForward: @convention(c) (P?, P?, Int, Int, Int, Float, M?, M?) -> Void
    let rmsNormBackward: @convention(c) (P?, P?, P?, P?, Int, Int, Int, M?, Int32, M?) -> Void
    let siluMulForward: @convention(c) (P?, P?, M?, Int) -> Void
    let siluMulBackward: @convention(c) (P?, P?, P?, Int, M?, M?, Int32) -> Void
    let gatedConvForward: @convention(c) (P?, Int, Int, Int, Int, P?, Int, Int, M?, M?, M?) -> Void
    let gatedConvBackward: @convention(c) (P?, P?, P?, P?, Int, Int, Int, Int, P?, Int, Int, M?, Int32, M?) -> Void
    let rope: @convention(c) (M?, Int, Int, Int, P?, P?, Float, Int, Int) -> Void
    let attentionForward: @convention(c) (P?, P?, P?, Int, Int, Int, Int, Float, Int, Int, M?, M?, M?) -> Void
    let attentionBackward: @convention(c) (P?, P?, P?, P?, P?, Int, Int, Int, Int, Float, Int, Int, M?, M?, M?, M?) -> Void
    let crossEntropyForward: @convention(c) (P?, Int, UnsafePointer<Int64>?, Int, Int, M?) -> Double
    let crossEntropyBackward: @convention(c) (P?, Int, UnsafePointer<Int64>?, P?, Float, Int, Int, M?) -> Void
    let gemmRows: @convention(c) (Int32, Int, Int, Int, Int, P?, Int, P?, Int, M?, Int, Int32) -> Void
    /// The blocked product in two steps (B packed once, shared by the threads), on the x86 paths.
    let packedGemm: PackedGemm?
    let adamW: @convention(c) (M?, P?, M?, M?, Int, Float, Float, Float, Float, Float, Float, Float) -> Void

    /// A blocked product whose packed B is shared (CLFMKernelsTraining.h, lfm_tr_gemm_packed_*).
    struct PackedGemm: Sendable {
        /// Columns per panel of packed B (pack split points are multiples of it).
        let panelWidth: Int
        let size: @convention(c) (Int, Int) -> Int
        let pack: @convention(c) (Int32, Int, Int, P?, Int, Int, Int, M?) -> Void
        let rows: @convention(c) (Int32, Int, Int, Int, Int, P?, Int, P?, M?, Int, Int32) -> Void
    }

    /// One thread, for backends without a pool.
    static let serialPool = ThreadPool(threads: 1)

    /// Kernels for `backend`'s ISA and threads (`CPUBackend`), or the detected ISA on one thread.
    init(backend: ComputeBackend?) {
        let isa: ISA
        if let cpu = backend as? CPUBackend {
            isa = cpu.isa
            pool = cpu.threadPool
        } else {
            isa = ISA.detected
            pool = TrainingKernels.serialPool
        }
        switch isa {
        case .avx512(let bf16, _):
            hasBF16Dot = bf16
            add = lfm_tr_add_avx512; sum = lfm_tr_sum_avx512; scale = lfm_tr_scale_avx512
            sumOfSquares = lfm_tr_sumsq_avx512; transposeRows = lfm_tr_transpose_avx512
            rmsNormForward = lfm_tr_rmsnorm_fwd_avx512; rmsNormBackward = lfm_tr_rmsnorm_bwd_avx512
            siluMulForward = lfm_tr_silu_mul_fwd_avx512; siluMulBackward = lfm_tr_silu_mul_bwd_avx512
            gatedConvForward = lfm_tr_gated_conv_fwd_avx512; gatedConvBackward = lfm_tr_gated_conv_bwd_avx512
            rope = lfm_tr_rope_avx512
            attentionForward = lfm_tr_attention_fwd_avx512; attentionBackward = lfm_tr_attention_bwd_avx512
            crossEntropyForward = lfm_tr_xent_fwd_avx512; crossEntropyBackward = lfm_tr_xent_bwd_avx512
            adamW = lfm_tr_adamw_avx512; gemmRows = lfm_tr_gemm_avx512
            #if arch(x86_64)
            packedGemm = PackedGemm(panelWidth: lfm_tr_gemm_panel_width_avx512(), size: lfm_tr_gemm_packed_size_avx512,
                                    pack: lfm_tr_gemm_pack_b_avx512, rows: lfm_tr_gemm_packed_avx512)
            #else
            packedGemm = nil
            #endif
        case .avx2:
            hasBF16Dot = false
            add = lfm_tr_add_avx2; sum = lfm_tr_sum_avx2; scale = lfm_tr_scale_avx2
            sumOfSquares = lfm_tr_sumsq_avx2; transposeRows = lfm_tr_transpose_avx2
            rmsNormForward = lfm_tr_rmsnorm_fwd_avx2; rmsNormBackward = lfm_tr_rmsnorm_bwd_avx2
            siluMulForward = lfm_tr_silu_mul_fwd_avx2; siluMulBackward = lfm_tr_silu_mul_bwd_avx2
            gatedConvForward = lfm_tr_gated_conv_fwd_avx2; gatedConvBackward = lfm_tr_gated_conv_bwd_avx2
            rope = lfm_tr_rope_avx2
            attentionForward = lfm_tr_attention_fwd_avx2; attentionBackward = lfm_tr_attention_bwd_avx2
            crossEntropyForward = lfm_tr_xent_fwd_avx2; crossEntropyBackward = lfm_tr_xent_bwd_avx2
            adamW = lfm_tr_adamw_avx2; gemmRows = lfm_tr_gemm_avx2
            #if arch(x86_64)
            packedGemm = PackedGemm(panelWidth: lfm_tr_gemm_panel_width_avx2(), size: lfm_tr_gemm_packed_size_avx2,
                                    pack: lfm_tr_gemm_pack_b_avx2, rows: lfm_tr_gemm_packed_avx2)
            #else
            packedGemm = nil
            #endif
        case .portable:
            hasBF16Dot = false
            add = lfm_tr_add_portable; sum = lfm_tr_sum_portable; scale = lfm_tr_scale_portable
            sumOfSquares = lfm_tr_sumsq_portable; transposeRows = lfm_tr_transpose_portable
            rmsNormForward = lfm_tr_rmsnorm_fwd_portable; rmsNormBackward = lfm_tr_rmsnorm_bwd_portable
            siluMulForward = lfm_tr_silu_mul_fwd_portable; siluMulBackward = lfm_tr_silu_mul_bwd_portable
            gatedConvForward = lfm_tr_gated_conv_fwd_portable; gatedConvBackward = lfm_tr_gated_conv_bwd_portable
            rope = lfm_tr_rope_portable
            attentionForward = lfm_tr_attention_fwd_portable; attentionBackward = lfm_tr_attention_bwd_portable
            crossEntropyForward = lfm_tr_xent_fwd_portable; crossEntropyBackward = lfm_tr_xent_bwd_portable
            adamW = lfm_tr_adamw_portable; gemmRows = lfm_tr_gemm_portable
            packedGemm = nil
        }
    }

    /// Work (in roughly multiply-adds) below which a kernel runs on the calling thread.
    static let minimumParallelWork = 1 << 15

    /// Runs `body` over ranges of `0..<count`, split over the threads when `work` is large.
    /// Chunk bounds depend only on `count` and the thread count, so results are deterministic.
    func parallel(_ count: Int, work: Int, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        if pool.threadCount == 1 || work < TrainingKernels.minimumParallelWork || count < 2 {
            body(0..<count)
            return
        }
        pool.parallelRanges(count, alignment: alignment, chunksPerThread: 2, body)
    }

    /// `dst += src` over `count` values, in parallel.
    func add(into dst: M, _ src: P, count: Int) {
        parallel(count, work: count, alignment: 16) { r in add(dst + r.lowerBound, src + r.lowerBound, r.count) }
    }

    /// `C[i, j] (+)= Σ_p A(i, p) · B(p, j)` for `i < m`, `j < n`, `p < k`, with `A(i, p) =
    /// A[i·lda + p]`, or `A[p·lda + i]` when `transposedA`, and `B(p, j) = B[p·ldb + j]`, or
    /// `B[j·ldb + p]` when `transposedB` (a weight [n, k] used as its transpose). On the blocked
    /// paths B is packed once, its panels split over the threads, then rows of C are split over
    /// them; the portable path transposes a transposed B (rows `ldb` = `k` apart) first.
    func gemm(transposedA: Bool, transposedB: Bool = false, m: Int, n: Int, k: Int, _ a: P, lda: Int, _ b: P,
              ldb: Int, _ c: M, ldc: Int, accumulate: Bool) {
        if m <= 0 || n <= 0 { return }
        let transA: Int32 = transposedA ? 1 : 0, acc: Int32 = accumulate ? 1 : 0
        guard let blocked = packedGemm else {
            if transposedB && k > 0 {
                precondition(ldb == k, "gemm: a transposed B must have rows k = \(k) apart, not \(ldb)")
                let rowMajor = uninitializedFloats(k * n) { transpose(b, rows: n, cols: k, into: $0) }
                rowMajor.withUnsafeBufferPointer { bp in
                    gemm(transposedA: transposedA, m: m, n: n, k: k, a, lda: lda, bp.baseAddress!, ldb: n, c, ldc: ldc,
                         accumulate: accumulate)
                }
                return
            }
            parallel(m, work: m * n * k, alignment: 6) { r in
                gemmRows(transA, r.lowerBound, r.upperBound, n, k, a, lda, b, ldb, c, ldc, acc)
            }
            return
        }
        let width = blocked.panelWidth, panels = (n + width - 1) / width
        let packed = uninitializedFloats(blocked.size(k, n)) { p in
            parallel(panels, work: k * n) { r in
                blocked.pack(transposedB ? 1 : 0, k, n, b, ldb, r.lowerBound * width, min(n, r.upperBound * width), p)
            }
        }
        packed.withUnsafeBufferPointer { bp in
            parallel(m, work: m * n * k, alignment: 6) { r in
                blocked.rows(transA, r.lowerBound, r.upperBound, n, k, a, lda, bp.baseAddress, c, ldc, acc)
            }
        }
    }

    /// Row-major transpose of `rows × cols` into `dst` (`cols × rows`).
    func transpose(_ src: P, rows: Int, cols: Int, into dst: M) {
        parallel(rows, work: rows * cols, alignment: 16) { r in
            transposeRows(src, rows, cols, r.lowerBound, r.upperBound, dst)
        }
    }
}

/// An array of `count` floats whose contents are written by `body` (no zero fill).
@inline(__always)
func uninitializedFloats(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { body(buffer.baseAddress!) }
        initialized = count
    }
}

/// Process-wide allocator tuning for training: freed activation buffers (up to 32 MiB) stay in
/// the heap for the next step instead of being unmapped and page-faulted in again (glibc only;
/// a no-op elsewhere). Call once before training; returns whether it was applied.
@discardableResult
public func keepTrainingBuffersInHeap() -> Bool { lfm_tr_keep_heap() != 0 }
