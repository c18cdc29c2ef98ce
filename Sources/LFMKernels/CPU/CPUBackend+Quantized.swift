import CLFMKernels
import LFMCore

extension CPUBackend {
    /// Matrix products over block-quantized weights (GGUF block layout, used in place, or Q4_0 / Q8_0
    /// rows regrouped at load, `BlockOrder.groupsOf8`: the same products from plainer loads).
    ///
    /// Types with an integer kernel (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
    /// IQ4_NL, IQ4_XS): the activations are quantized once per call to 8-bit blocks (32 values per F32
    /// scale for the 32-element types, 256 for the K-quants and IQ4_XS, as ggml's Q8_0 / Q8_K; see
    /// `LFMQuantActivations` in CLFMKernels.h), then every weight row is multiplied with integer
    /// dot products (AVX-512 VNNI, AVX2 or portable C) and scaled per block, like llama.cpp.
    /// On the VNNI path, prefill of every one of these types (m ≥
    /// `lfm_qgemm_min_rows`) runs a packed GEMM instead: panels of 32 weight rows are repacked on
    /// the fly into a row-interleaved form (the weights in memory keep the GGUF layout) and each
    /// decoded block serves every activation row; same integer products, only the F32 summation
    /// order differs. The AVX2 path has its own packed GEMM for the same types (`lfm_qgemm_avx2`,
    /// panels of 8 rows, m ≥ `lfm_qgemm_avx2_min_rows`; AVX-VNNI CPUs run it with `vpdpbusd`).
    /// The weight rows are split over the thread pool. Relative to exact float math the error is
    /// that of the activation quantization: at most `Σ_b (d_b / 2) Σ_{k∈b} |w_k|` per output
    /// (d_b = activation block scale), plus F32 rounding.
    ///
    /// The other block type (Q8_K, which GGUF files do not hold as weights) falls back to
    /// dequantizing each weight row with the bit-exact reference dequantizer and the F32 kernel
    /// (exact float math, slow).
    func matmulQuantized(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                         y: UnsafeMutablePointer<Float>, yStride: Int) {
        let type = w.kernelType
        let block = lfm_qmatmul_block(type)
        guard block > 0, w.cols > 0 else {
            matmulDequantizing(w, x: x, xStride: xStride, m: m, y: y, yStride: yStride)
            return
        }
        let cols = w.cols
        let activations = QuantizedActivations(m: m, cols: cols, block: block)
        defer { activations.deallocate() }
        let path = quantKernelPath
        split(m, work: m * cols * 4) { range in
            activations.quantize(x, xStride: xStride, rows: range, path: path)
        }
        // Prefill (several activation rows): the packed GEMM where the type has one (AVX2: panels
        // of 8 weight rows, so thread ranges start at multiples of 8).
        let gemmRows = path.gemmMinimumRows(type)
        let gemm = gemmRows > 0 && m >= gemmRows
        withUnsafePointer(to: activations.descriptor) { descriptor in
            let data = w.data
            splitRows(w.rows, tokens: m, work: m * w.rows * cols, alignment: gemm ? 8 : 4) { range in
                if gemm {
                    path.gemm(type, data, range, descriptor, m, y, yStride)
                } else {
                    path.rows(type, data, range, descriptor, m, y, yStride)
                }
            }
        }
        withExtendedLifetime(w.owner) {}
    }

    /// Q4_0 on the AVX-512, AVX-VNNI and AVX2 paths, Q8_0 on the AVX-512 ones: their row kernels read
    /// `BlockOrder.groupsOf8` with plain loads (Benchmarks/README.md has the speeds). The AVX2 Q8_0
    /// and the portable and NEON kernels read the GGUF layout.
    public func prefersRegrouped(_ dtype: DType) -> Bool {
        switch (dtype, quantKernelPath) {
        case (.q4_0, .avx512vbmi), (.q4_0, .avx512vnni), (.q4_0, .avxvnni), (.q4_0, .avx2): return true
        case (.q8_0, .avx512vbmi), (.q8_0, .avx512vnni): return true
        default: return false
        }
    }

    /// The integer-kernel variant for this backend's ISA: VNNI needs `.avx512(vnni: true)`
    /// (and gets the VBMI variant where the CPU has AVX512_VBMI and GFNI); AVX-512 without VNNI uses the
    /// AVX2 kernels; `.avx2(vnni: true)` the AVX2 kernels compiled for AVX-VNNI.
    var quantKernelPath: QuantKernelPath {
        switch isa {
        case .avx512(_, let vnni): return vnni ? (QuantKernelPath.hasVBMI ? .avx512vbmi : .avx512vnni) : .avx2
        case .avx2(let vnni): return vnni ? .avxvnni : .avx2
        case .portable: return .portable
        }
    }

    /// Each weight row dequantized (bit-exact reference) into an F32 buffer, then the F32 kernel.
    func matmulDequantizing(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                            y: UnsafeMutablePointer<Float>, yStride: Int) {
        let cols = w.cols, kind = self.kind
        let run = { (range: Range<Int>) in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: max(cols, 1))
            defer { row.deallocate() }
            for r in range {
                w.widenRow(r, into: row)
                switch kind {
                case .avx512: lfm_matmul_avx512(LFM_DT_F32, row, cols, 0, 1, x, xStride, m, y + r, yStride)
                case .avx2: lfm_matmul_avx2(LFM_DT_F32, row, cols, 0, 1, x, xStride, m, y + r, yStride)
                case .portable: lfm_matmul_portable(LFM_DT_F32, row, cols, 0, 1, x, xStride, m, y + r, yStride)
                }
            }
        }
        splitRows(w.rows, tokens: m, work: m * w.rows * max(cols, 1), run)
        withExtendedLifetime(w.owner) {}
    }
}

/// Which compiled variant of the integer kernels runs. `avx512vbmi` is the `avx512vnni` source
/// compiled again for CPUs with AVX512_VBMI and GFNI (byte permutes build the K-quant scale vectors,
/// GF(2) affine transforms unpack Q4_K / Q6_K codes), plus its own Q4_0 kernel for one to three
/// activation rows; `avxvnni` is the `avx2` source compiled
/// again for AVX-VNNI (vpdpbusd / vpdpwssd on 256-bit registers). The integer products are the same.
enum QuantKernelPath: Sendable {
    case avx512vbmi, avx512vnni, avxvnni, avx2, portable

    /// Whether this CPU has AVX512_VBMI and GFNI (checked once).
    static let hasVBMI = lfm_cpu_features() & LFM_CPU_AVX512VBMI != 0

    /// Activation rows from which this path's packed prefill GEMM beats its row kernels for
    /// kernel type `type`, or 0 when it has none (portable).
    func gemmMinimumRows(_ type: Int32) -> Int {
        switch self {
        case .avx512vbmi, .avx512vnni: return lfm_qgemm_min_rows(type)
        case .avxvnni, .avx2: return lfm_qgemm_avx2_min_rows(type)
        case .portable: return 0
        }
    }

    /// Weight rows `rows` of `w` times the `m` activation rows of `x` with the row kernels, into
    /// `y` (activation row t at `y + t * yStride`).
    func rows(_ type: Int32, _ w: UnsafeRawPointer, _ rows: Range<Int>, _ x: UnsafePointer<LFMQuantActivations>,
              _ m: Int, _ y: UnsafeMutablePointer<Float>, _ yStride: Int) {
        let (n0, n1) = (rows.lowerBound, rows.upperBound)
        switch self {
        case .avx512vbmi: lfm_qmatmul_avx512vbmi(type, w, n0, n1, x, m, y, yStride)
        case .avx512vnni: lfm_qmatmul_avx512vnni(type, w, n0, n1, x, m, y, yStride)
        case .avxvnni: lfm_qmatmul_avxvnni(type, w, n0, n1, x, m, y, yStride)
        case .avx2: lfm_qmatmul_avx2(type, w, n0, n1, x, m, y, yStride)
        case .portable: lfm_qmatmul_portable(type, w, n0, n1, x, m, y, yStride)
        }
    }

    /// `rows(...)` through the packed prefill GEMM (the row kernels where the path has none).
    func gemm(_ type: Int32, _ w: UnsafeRawPointer, _ rows: Range<Int>, _ x: UnsafePointer<LFMQuantActivations>,
              _ m: Int, _ y: UnsafeMutablePointer<Float>, _ yStride: Int) {
        let (n0, n1) = (rows.lowerBound, rows.upperBound)
        switch self {
        case .avx512vbmi, .avx512vnni: lfm_qgemm_avx512vnni(type, w, n0, n1, x, m, y, yStride)
        case .avxvnni: lfm_qgemm_avxvnni(type, w, n0, n1, x, m, y, yStride)
        case .avx2: lfm_qgemm_avx2(type, w, n0, n1, x, m, y, yStride)
        case .portable: self.rows(type, w, rows, x, m, y, yStride)
        }
    }
}

/// Scratch buffers holding `m` activation rows quantized to 8-bit blocks (see
/// `LFMQuantActivations` in CLFMKernels.h). Owned by one call; `deallocate()` frees them.
struct QuantizedActivations {
    let m: Int
    let cols: Int
    let block: Int
    let q: UnsafeMutablePointer<Int8>
    let d: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Int16>
    let dsums: UnsafeMutablePointer<Float>

    init(m: Int, cols: Int, block: Int) {
        self.m = m
        self.cols = cols
        self.block = block
        q = .allocate(capacity: max(m * cols, 1))
        d = .allocate(capacity: max(m * cols / block, 1))
        sums = .allocate(capacity: max(m * cols / 16, 1))
        dsums = .allocate(capacity: max(m * cols / block, 1))
    }

    func deallocate() {
        q.deallocate()
        d.deallocate()
        sums.deallocate()
        dsums.deallocate()
    }

    var descriptor: LFMQuantActivations {
        LFMQuantActivations(q: q, d: d, sums: sums, dsums: dsums, cols: cols, block: block)
    }

    /// Quantizes activation rows `rows` of `x` (rows `xStride` floats apart).
    func quantize(_ x: UnsafePointer<Float>, xStride: Int, rows: Range<Int>, path: QuantKernelPath) {
        switch path {
        case .avx512vbmi, .avx512vnni:
            lfm_quantize_activations_avx512(x, xStride, rows.lowerBound, rows.upperBound, cols, block, q, d, sums, dsums)
        case .avxvnni, .avx2:
            lfm_quantize_activations_avx2(x, xStride, rows.lowerBound, rows.upperBound, cols, block, q, d, sums, dsums)
        case .portable:
            lfm_quantize_activations_portable(x, xStride, rows.lowerBound, rows.upperBound, cols, block, q, d, sums, dsums)
        }
    }
}
