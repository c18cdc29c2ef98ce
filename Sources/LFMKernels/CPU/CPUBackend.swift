import CLFMKernels
import Foundation
import LFMCore

/// The fast CPU implementation of `ComputeBackend`.
///
/// Hot loops are C kernels chosen at run time for the `ISA` (AVX-512, AVX2+FMA+F16C, or portable
/// code for the baseline ISA). Large operations are split over a persistent `ThreadPool`:
/// `matmul` splits the weight rows (output features), so each thread streams its own part of
/// the weights; small operations run on the calling thread.
///
/// Numerics: F32 accumulation everywhere; results differ from `ReferenceBackend` only by
/// floating-point summation order (about `sqrt(K)` ulps of `Σ|x·w|` for a length-`K` dot
/// product), except with `bf16DotPrefill`, which rounds activations to BF16 for BF16 weights.
public final class CPUBackend: ComputeBackend, CustomStringConvertible, @unchecked Sendable {
    // @unchecked: `scratch` and `scratchBytes` are guarded by `scratchLock`; the tuning vars (`minimumParallelWork`, ...) are set before the backend is shared (tests), then only read.
    /// The instruction-set path in use.
    public let isa: ISA
    /// Threads used by parallel operations (the caller included).
    public var threads: Int { pool.threadCount }
    /// Whether prefill (`m > 1`) with BF16 weights uses `vdpbf16ps` on activations rounded to
    /// BF16 (about 2x the compute peak; relative error up to 2^-8 of `Σ|x·w|`).
    public let usesBF16DotPrefill: Bool
    /// Whether single-row products (`m == 1`, decode) are split over the pool; when false they
    /// run on the calling thread (see `init`).
    public let parallelMatvec: Bool

    let pool: ThreadPool
    let kind: Kind
    /// Operations with fewer multiply-adds than this run on the calling thread (tests lower it).
    var minimumParallelWork = 1 << 16
    /// Smallest number of weight rows a matmul chunk gets (tests lower it).
    var minimumChunkRows = 16
    /// Key ranges each attention item is split into (tests set it; nil: chosen per call).
    var attentionKeySplits: Int?
    /// Query rows per attention item in prefill (tests lower it): every widened key / value tile
    /// serves this many rows times the heads of a KV group, so the cache is read once per this many
    /// rows. Benchmarks/kv/README.md has the measurement behind the value.
    var attentionRowsPerItem = 128
    /// KV heads per attention item (tests set it; nil: every head for a single query row over at
    /// least `attentionAllHeadsMinimumTiles` key tiles, so decode walks whole cache rows in
    /// order, one head otherwise).
    var attentionKVHeadsPerItem: Int?
    /// Key tiles from which a single query row's attention takes every head in one item (below it
    /// the heads are the items the threads share).
    static let attentionAllHeadsMinimumTiles = 8
    /// Activation rows from which products use the packed GEMM (`lfm_matmul_packed_avx512`,
    /// `lfm_matmul_packed_avx2`); below them the tile kernels run (tests lower all).
    /// AVX-512, measured on LFM2-350M pp512, one thread, CPU-time samples: F32 -22% GEMM time,
    /// F16 -2%, BF16 +1% against the pair-permuted BF16 kernel, so BF16 keeps that kernel by
    /// default; crossovers in a kernel benchmark: about 14 rows for F32, 64-96 for F16. AVX2: see
    /// `CPUBackend.packedMinimumRowsAVX2`.
    var packedMinimumRows = (f32: 16, f16: 80, bf16: Int.max)

    /// `packedMinimumRows` of the AVX2 path. LFM2-350M prefill of 8 / 16 / 32 tokens, tile kernels
    /// against the packed GEMM (tokens/s, Intel core on the AVX2 path): BF16 103 / 137 / 171 against
    /// 83 / 141 / 184, F32 95 / 140 / 142 against 66 / 118 / 159 (F32 weights are read from memory at
    /// these sizes, where the packing's strided reads cost more).
    static let packedMinimumRowsAVX2 = (f32: 32, f16: 16, bf16: 16)

    enum Kind { case avx512, avx2, portable }

    private let scratchLock = NSLock()
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0

    /// Creates a backend.
    /// - Parameters:
    ///   - threads: threads for parallel operations, the caller included (default: active cores).
    ///   - isa: forces a path; it must be supported by this machine (`ISA.isSupported`).
    ///     `nil` picks `ISA.detected`.
    ///   - bf16DotPrefill: opt in to the BF16-activation prefill path for BF16 weights; it takes
    ///     effect only when the path is `.avx512(bf16: true, ...)` (see `usesBF16DotPrefill`).
    ///   - parallelMatvec: split decode products (`m == 1`) over the threads. One core can nearly
    ///     saturate memory with the prefetching kernels, so on machines whose cores share one
    ///     physical core or are busy, `false` can be faster; measure both.
    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, isa: ISA? = nil,
                bf16DotPrefill: Bool = false, parallelMatvec: Bool = true) {
        let chosen = isa ?? ISA.detected
        precondition(chosen.isSupported, "ISA \(chosen) is not supported by this CPU (available: \(ISA.available))")
        self.isa = chosen
        self.parallelMatvec = parallelMatvec
        pool = ThreadPool(threads: threads)
        switch chosen {
        case .avx512(let bf16, _):
            kind = .avx512
            usesBF16DotPrefill = bf16DotPrefill && bf16
        case .avx2:
            kind = .avx2
            usesBF16DotPrefill = false
            packedMinimumRows = Self.packedMinimumRowsAVX2
        case .portable:
            kind = .portable
            usesBF16DotPrefill = false
        }
    }

    deinit { scratch?.deallocate() }

    /// For logs, e.g. `CPUBackend(isa: avx512+bf16+vnni, threads: 2)`.
    public var description: String {
        var text = "CPUBackend(isa: \(isa), threads: \(threads)"
        if usesBF16DotPrefill { text += ", bf16DotPrefill" }
        if !parallelMatvec { text += ", serial matvec" }
        return text + ")"
    }

    // MARK: - matmul

    public func matmul(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                       y: UnsafeMutablePointer<Float>, yStride: Int) {
        let rows = w.rows, cols = w.cols
        if m <= 0 || rows <= 0 { return }
        if w.dtype.isQuantized {
            matmulQuantized(w, x: x, xStride: xStride, m: m, y: y, yStride: yStride)
            return
        }
        if usesBF16DotPrefill && w.dtype == .bf16 && m > 1 && cols > 0 {
            matmulBF16Dot(w, x: x, xStride: xStride, m: m, y: y, yStride: yStride)
            return
        }
        if kind != .portable && cols > 0 && m >= max(2, packedThreshold(w.dtype)) {
            matmulPacked(w, x: x, xStride: xStride, m: m, y: y, yStride: yStride)
            return
        }
        if kind == .avx512 && w.dtype == .bf16 && m > 1 && cols >= 32 {
            matmulBF16Pairs(w, x: x, xStride: xStride, m: m, y: y, yStride: yStride)
            return
        }
        let dtype = Self.cDType(w.dtype)
        let data = w.data, kind = self.kind
        let run = { (range: Range<Int>) in
            switch kind {
            case .avx512:
                lfm_matmul_avx512(dtype, data, cols, range.lowerBound, range.upperBound, x, xStride, m, y, yStride)
            case .avx2:
                lfm_matmul_avx2(dtype, data, cols, range.lowerBound, range.upperBound, x, xStride, m, y, yStride)
            case .portable:
                lfm_matmul_portable(dtype, data, cols, range.lowerBound, range.upperBound, x, xStride, m, y, yStride)
            }
        }
        splitRows(rows, tokens: m, work: m * rows * max(cols, 1), run)
        withExtendedLifetime(w.owner) {}
    }

    private func matmulBF16Dot(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                               y: UnsafeMutablePointer<Float>, yStride: Int) {
        let cols = w.cols
        withScratch(bytes: m * cols * 2) { raw in
            let xb = raw.assumingMemoryBound(to: UInt16.self)
            split(m, work: m * cols) { r in
                for i in r { lfm_round_bf16_avx512(x + i * xStride, cols, xb + i * cols) }
            }
            let weights = w.data.assumingMemoryBound(to: UInt16.self)
            splitRows(w.rows, tokens: m, work: m * w.rows * cols) { range in
                lfm_matmul_bf16dot_avx512(weights, cols, range.lowerBound, range.upperBound, xb, cols, m, y, yStride)
            }
        }
        withExtendedLifetime(w.owner) {}
    }

    /// Prefill through the packed GEMM: activations are packed once (split over the threads),
    /// then the threads claim chunks of whole weight blocks (AVX-512: 32 rows, AVX2: 16); each
    /// widens every weight once per K slice into its thread's cache-resident F32 panel.
    private func matmulPacked(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                              y: UnsafeMutablePointer<Float>, yStride: Int) {
        let avx512 = kind == .avx512
        let cols = w.cols, rows = w.rows
        let mr = Int(avx512 ? LFM_PACKED_MR_AVX512 : LFM_PACKED_MR_AVX2)
        let nr = Int(avx512 ? LFM_PACKED_NR_AVX512 : LFM_PACKED_NR_AVX2)
        let dtype = Self.cDType(w.dtype), data = w.data
        // Chunks of whole weight blocks, about 16 per thread, claimed dynamically: a chunk
        // costs one atomic claim (every chunk streams the shared packed activations anyway), and
        // small chunks keep threads from idling at the end of the product.
        let parallel = pool.threadCount > 1 && m * rows * cols >= minimumParallelWork && rows >= 2 * minimumChunkRows
        let blocks = (rows + nr - 1) / nr
        let chunkBlocks = parallel ? max(1, blocks / (16 * pool.threadCount)) : blocks
        let chunks = (blocks + chunkBlocks - 1) / chunkBlocks
        // Scratch: one claim flag (own cache line) and one weight panel per thread, then the
        // packed activations. At most `threads` chunks run at once, so a free panel always exists.
        let slots = parallel ? pool.threadCount : 1
        let panelFloats = Int(avx512 ? LFM_PACKED_PANEL_FLOATS_AVX512 : LFM_PACKED_PANEL_FLOATS_AVX2)
        let packedFloats = lfm_packed_activation_floats(m, cols, mr)
        withScratch(bytes: slots * 64 + (slots * panelFloats + packedFloats) * 4) { raw in
            let flags = raw.bindMemory(to: Int.self, capacity: slots * 8)
            for i in 0..<slots { flags[i * 8] = 0 }
            let panels = (raw + slots * 64).bindMemory(to: Float.self, capacity: slots * panelFloats + packedFloats)
            let ap = panels + slots * panelFloats
            let activationPanels = (m + mr - 1) / mr
            split(activationPanels, work: m * cols) { r in
                if avx512 {
                    lfm_pack_activations_avx512(x, xStride, m, cols, r.lowerBound * mr, r.upperBound * mr, ap)
                } else {
                    lfm_pack_activations(x, xStride, m, cols, mr, r.lowerBound * mr, r.upperBound * mr, ap)
                }
            }
            let body = { (c: Int) in
                var slot = 0
                while lfm_atomic_cas(flags + slot * 8, 0, 1) == 0 { slot = (slot + 1) % slots }
                let n0 = c * chunkBlocks * nr, n1 = min(rows, n0 + chunkBlocks * nr)
                if avx512 {
                    lfm_matmul_packed_avx512(dtype, data, cols, n0, n1, ap, m, y, yStride, panels + slot * panelFloats)
                } else {
                    lfm_matmul_packed_avx2(dtype, data, cols, n0, n1, ap, m, y, yStride, panels + slot * panelFloats)
                }
                lfm_atomic_store(flags + slot * 8, 0)
            }
            if parallel { pool.parallelFor(chunks, body) } else { for c in 0..<chunks { body(c) } }
        }
        withExtendedLifetime(w.owner) {}
    }

    private func packedThreshold(_ dtype: DType) -> Int {
        switch dtype {
        case .f32: return packedMinimumRows.f32
        case .f16: return packedMinimumRows.f16
        default: return packedMinimumRows.bf16
        }
    }

    static func cDType(_ dtype: DType) -> Int32 {
        switch dtype {
        case .f32: return LFM_DT_F32
        case .f16: return LFM_DT_F16
        default: return LFM_DT_BF16
        }
    }

    /// Exact BF16 prefill: activations permuted once so that the kernel widens weights without shuffles.
    private func matmulBF16Pairs(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                                 y: UnsafeMutablePointer<Float>, yStride: Int) {
        let cols = w.cols
        withScratch(bytes: m * cols * 4) { raw in
            let xp = raw.assumingMemoryBound(to: Float.self)
            split(m, work: m * cols) { r in
                lfm_permute_pairs_avx512(x + r.lowerBound * xStride, xStride, r.count, cols, xp + r.lowerBound * cols)
            }
            let weights = w.data.assumingMemoryBound(to: UInt16.self)
            splitRows(w.rows, tokens: m, work: m * w.rows * cols) { range in
                lfm_matmul_bf16pairs_avx512(weights, cols, range.lowerBound, range.upperBound, xp, cols, m, y, yStride)
            }
        }
        withExtendedLifetime(w.owner) {}
    }

    /// Runs `body` on a buffer of at least `bytes` bytes: the backend's cached scratch buffer
    /// (grown as needed), or a temporary one when another thread is using it.
    private func withScratch(bytes: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        if scratchLock.try() {
            defer { scratchLock.unlock() }
            if scratchBytes < bytes {
                scratch?.deallocate()
                scratchBytes = max(bytes, scratchBytes * 2)
                scratch = .allocate(byteCount: scratchBytes, alignment: 64)
            }
            if let scratch { body(scratch) }
            return
        }
        let temporary = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        defer { temporary.deallocate() }
        body(temporary)
    }

    /// Runs `body` over contiguous ranges of weight rows of a product with `tokens` activation
    /// rows, in parallel when the work is large (and, for decode, unless `parallelMatvec` is off).
    /// Ranges start at multiples of `alignment`; a decode product (one token) is split guided
    /// (`ThreadPool.parallelRangesGuided`), prefill in four equal ranges per thread.
    func splitRows(_ rows: Int, tokens: Int, work: Int, alignment: Int = 4, _ body: (Range<Int>) -> Void) {
        if pool.threadCount == 1 || work < minimumParallelWork || rows < 2 * minimumChunkRows
            || (tokens == 1 && !parallelMatvec) {
            body(0..<rows)
            return
        }
        if tokens == 1 {
            pool.parallelRangesGuided(rows, alignment: alignment, minimumChunk: minimumChunkRows, body)
        } else {
            pool.parallelRanges(rows, alignment: alignment, minimumChunk: minimumChunkRows, chunksPerThread: 4, body)
        }
    }

    /// Runs `body` over ranges of `0..<count` in parallel when `work` is large.
    func split(_ count: Int, work: Int, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        if pool.threadCount == 1 || work < minimumParallelWork || count < 2 {
            body(0..<count)
            return
        }
        pool.parallelRanges(count, alignment: alignment, chunksPerThread: 4, body)
    }
}
