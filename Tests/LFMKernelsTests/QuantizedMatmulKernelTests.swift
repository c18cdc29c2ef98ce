import CLFMKernels
import LFMCore
import Testing
@testable import LFMKernels

/// The integer quantized-matmul kernels (every type × ISA path × thread count × shape) against
/// the scalar integer reference (tight) and the float `ReferenceBackend` (bounded by the
/// activation quantization error).
@Suite struct QuantizedMatmulKernelTests {
    /// Activation quantization is bit-identical on every path and to the Swift reference.
    @Test func activationQuantizationMatchesReference() {
        var rng = SplitMix(seed: 11)
        for block in [32, 256] {
            let m = 3, cols = 2 * 256
            var x = rng.floats(m * cols, scale: 3)
            for k in 0..<cols { x[cols + k] = 0 } // an all-zero row
            x[5] = 1e-35                            // a tiny block (treated as zero)
            for path in QuantKernelPath.all where pathIsSupported(path) {
                let a = QuantizedActivations(m: m, cols: cols, block: block)
                defer { a.deallocate() }
                x.withUnsafeBufferPointer { a.quantize($0.baseAddress!, xStride: cols, rows: 0..<m, path: path) }
                for t in 0..<m {
                    let ref = ReferenceActivations(x[(t * cols)..<((t + 1) * cols)], block: block)
                    #expect(Array(UnsafeBufferPointer(start: a.q + t * cols, count: cols)) == ref.q, "\(path) q row \(t)")
                    #expect(Array(UnsafeBufferPointer(start: a.d + t * cols / block, count: cols / block)) == ref.d, "\(path) d row \(t)")
                    #expect(Array(UnsafeBufferPointer(start: a.sums + t * cols / 16, count: cols / 16)) == ref.sums, "\(path) sums row \(t)")
                    #expect(Array(UnsafeBufferPointer(start: a.dsums + t * cols / block, count: cols / block)) == ref.dsums, "\(path) dsums row \(t)")
                }
            }
        }
    }

    @Test(arguments: integerKernelTypes)
    func matchesIntegerAndFloatReferences(dtype: DType) {
        var rng = SplitMix(seed: UInt64(dtype.rawValue) * 7 + 1)
        let block = dtype.blockSize == 256 ? 256 : 32
        // 35 blocks: rows longer than the 16 super-blocks the AVX-512 K-quant decode row takes per step.
        for (rows, blocks) in [(1, 1), (7, 3), (37, 2), (5, 7), (3, 35), (2, 8)] {
            let cols = blocks * dtype.blockSize
            for randomBytes in [false, true] {
                let w = randomBytes
                    ? makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
                    : makeWeights(rows: rows, cols: cols, dtype: dtype, values: rng.floats(rows * cols))
                let groups = (0..<rows).map { integerGroups(w, row: $0) }
                for m in [1, 2, 5, 17] {
                    var x = rng.floats(m * cols, scale: 2)
                    if m == 5 { for k in 0..<cols { x[2 * cols + k] = 0 } }
                    let acts = (0..<m).map { ReferenceActivations(x[($0 * cols)..<(($0 + 1) * cols)], block: block) }
                    var exact = [Float](repeating: 0, count: m * rows), tight = exact, loose = exact
                    var float = [Float](repeating: 0, count: m * rows)
                    ReferenceBackend().matmul(w, x: x, xStride: cols, m: m, y: &float, yStride: rows)
                    for t in 0..<m {
                        for n in 0..<rows {
                            let (value, magnitude) = referenceIntegerDot(groups[n], acts[t], block: block)
                            exact[t * rows + n] = Float(value)
                            tight[t * rows + n] = Float(1e-5 * magnitude) + 1e-30
                            // Activation rounding error ≤ d_b / 2 per element, times Σ|w| of the block.
                            var bound = 0.0, scale = 0.0
                            for k in 0..<cols {
                                let wk = Double(w.element(n, k))
                                bound += Double(acts[t].d[k / block]) / 2 * abs(wk)
                                scale += abs(wk * Double(x[t * cols + k]))
                            }
                            loose[t * rows + n] = Float(bound * 1.001 + 1e-5 * scale) + 1e-30
                        }
                    }
                    for isa in testedISAs {
                        for threads in [1, 2, 3] {
                            var y = [Float](repeating: .nan, count: m * rows)
                            makeBackend(isa: isa, threads: threads).matmul(w, x: x, xStride: cols, m: m, y: &y, yStride: rows)
                            let label = "\(dtype) \(isa) threads \(threads) rows \(rows) cols \(cols) m \(m) random bytes \(randomBytes)"
                            #expect(worstRatio(y, exact, tolerance: tight) <= 1, "integer reference: \(label)")
                            #expect(worstRatio(y, float, tolerance: loose) <= 1, "float reference: \(label)")
                        }
                    }
                }
            }
        }
    }

    /// Output rows `yStride` apart with padding, and activations with a row stride > cols.
    @Test func stridedInputsAndOutputs() {
        var rng = SplitMix(seed: 99)
        for dtype in [DType.q8_0, .q4_K] {
            let rows = 9, cols = dtype.blockSize * 2, m = 6, xStride = cols + 5, yStride = rows + 3
            let w = makeWeights(rows: rows, cols: cols, dtype: dtype, values: rng.floats(rows * cols))
            let x = rng.floats(m * xStride)
            for isa in testedISAs {
                var y = [Float](repeating: -7, count: m * yStride)
                makeBackend(isa: isa, threads: 2).matmul(w, x: x, xStride: xStride, m: m, y: &y, yStride: yStride)
                let block = dtype.blockSize
                for t in 0..<m {
                    let a = ReferenceActivations(x[(t * xStride)..<(t * xStride + cols)], block: block)
                    for n in 0..<rows {
                        let (value, magnitude) = referenceIntegerDot(integerGroups(w, row: n), a, block: block)
                        #expect(abs(Double(y[t * yStride + n]) - value) <= 1e-5 * magnitude, "\(dtype) \(isa) t \(t) n \(n)")
                    }
                    for n in rows..<yStride { #expect(y[t * yStride + n] == -7, "padding written: \(dtype) \(isa)") }
                }
            }
        }
    }
}

/// Every compiled variant of the row kernels, called directly, so the VNNI kernels stay tested on
/// machines whose backend picks the VBMI variant: rows of 1 to 13 blocks (the VBMI Q4_0 kernel
/// takes four blocks per step and finishes one to three in the block step) and one to three
/// activation rows (the backends take the packed GEMM from 3 rows for some types, the row kernels
/// still serve the rest and the GEMM-less paths; the VBMI Q4_0 kernel runs one row kernel
/// per activation row over chunks of weight rows, on activations regrouped per four blocks in a
/// 16 KiB stack buffer: 200 blocks with three rows need 19,200 bytes, its heap path).
@Suite struct QuantizedDecodeKernelVariantTests {
    @Test(arguments: integerKernelTypes)
    func everyVariantMatchesIntegerReference(dtype: DType) {
        var rng = SplitMix(seed: UInt64(dtype.rawValue) * 31 + 3)
        let block = dtype.blockSize == 256 ? 256 : 32
        let type = Int32(bitPattern: dtype.rawValue)
        // 256-element types: one to three super-blocks (the AVX-512 Q4_K row's short step alone), four and
        // nine (whole steps of four, then one left), 23 with three rows (its heap path: 18,768 bytes of
        // prepared activations).
        let blockCounts = dtype.blockSize == 256 ? [1, 2, 3, 4, 9, 23] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 200]
        for blocks in blockCounts {
            let rows = 5, cols = blocks * dtype.blockSize
            let w = makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
            for m in 1...3 {
                let x = rng.floats(m * cols, scale: 2)
                let a = QuantizedActivations(m: m, cols: cols, block: block)
                defer { a.deallocate() }
                x.withUnsafeBufferPointer { a.quantize($0.baseAddress!, xStride: cols, rows: 0..<m, path: .portable) }
                for path in QuantKernelPath.all where pathIsSupported(path) {
                    let y = entryPointProduct(path, type: type, w: w.data, rows: rows, activations: a)
                    for t in 0..<m {
                        let reference = ReferenceActivations(x[(t * cols)..<((t + 1) * cols)], block: block)
                        for n in 0..<rows {
                            let (value, magnitude) = referenceIntegerDot(integerGroups(w, row: n), reference, block: block)
                            #expect(abs(Double(y[t * rows + n]) - value) <= 1e-5 * magnitude + 1e-30,
                                    "\(dtype) \(path) blocks \(blocks) m \(m) t \(t) row \(n): \(y[t * rows + n]) vs \(value)")
                        }
                    }
                }
            }
            withExtendedLifetime(w.owner) {}
        }
    }
}

extension QuantizedDecodeKernelVariantTests {
    /// The IQ4 decode rows of the VBMI build (vpermb lookups on the raw code bytes, IQ4_XS scales
    /// unpacked by pdep as 4 (ls - 32)) return the bits of the VNNI build's (vpshufb on masked nibbles,
    /// vector shifts): random blocks hold every scale and code value.
    @Test(arguments: [DType.iq4_NL, .iq4_XS])
    func iq4VariantsAgreeBitwise(dtype: DType) {
        guard pathIsSupported(.avx512vbmi) else { return }
        var rng = SplitMix(seed: UInt64(dtype.rawValue) * 17 + 5)
        let block = dtype.blockSize == 256 ? 256 : 32
        let type = Int32(bitPattern: dtype.rawValue)
        for blocks in [1, 3, 8, 33] {
            let rows = 64, cols = blocks * dtype.blockSize
            let w = makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
            for m in 1...2 {
                let x = rng.floats(m * cols, scale: 2)
                let a = QuantizedActivations(m: m, cols: cols, block: block)
                defer { a.deallocate() }
                x.withUnsafeBufferPointer { a.quantize($0.baseAddress!, xStride: cols, rows: 0..<m, path: .portable) }
                let vbmi = entryPointProduct(.avx512vbmi, type: type, w: w.data, rows: rows, activations: a)
                let vnni = entryPointProduct(.avx512vnni, type: type, w: w.data, rows: rows, activations: a)
                #expect(vbmi.map(\.bitPattern) == vnni.map(\.bitPattern), "\(dtype) blocks \(blocks) m \(m)")
            }
            withExtendedLifetime(w.owner) {}
        }
    }
}

/// Rows 0 ..< rows of `w` (kernel type `type`) times every row of `activations`, through one C entry
/// point (`plain`: `lfm_qmatmul_plain` instead of the portable one); rows `rows` apart.
func entryPointProduct(_ path: QuantKernelPath, plain: Bool = false, type: Int32, w: UnsafeRawPointer, rows: Int,
                       activations a: QuantizedActivations) -> [Float] {
    let m = a.m
    var y = [Float](repeating: .nan, count: m * rows)
    withUnsafePointer(to: a.descriptor) { descriptor in
        y.withUnsafeMutableBufferPointer { out in
            let yp = out.baseAddress!
            if plain {
                lfm_qmatmul_plain(type, w, 0, rows, descriptor, m, yp, rows)
            } else {
                path.rows(type, w, 0..<rows, descriptor, m, yp, rows)
            }
        }
    }
    return y
}

/// Whether this machine can run the integer-kernel variant.
func pathIsSupported(_ path: QuantKernelPath) -> Bool {
    switch path {
    case .avx512vbmi: return ISA.avx512(bf16: false, vnni: true).isSupported && QuantKernelPath.hasVBMI
    case .avx512vnni: return ISA.avx512(bf16: false, vnni: true).isSupported
    case .avxvnni: return ISA.avx2(vnni: true).isSupported
    case .avx2: return ISA.avx2(vnni: false).isSupported
    case .portable: return true
    }
}

extension QuantKernelPath {
    /// Every variant, fastest first.
    static let all: [QuantKernelPath] = [.avx512vbmi, .avx512vnni, .avxvnni, .avx2, .portable]
}

/// The packed prefill GEMM (`lfm_qgemm_avx512vnni`, used for m ≥ `lfm_qgemm_min_rows(type)`
/// (3 to 12) on the VNNI path) on shapes that hit its edges: row panels of 32 with a partial last panel, column
/// chunks of 256 (up to 16 tokens) and 1024 (21 tokens) with a partial last chunk, token tiles of 4 with
/// 1–3 left over, row ranges split over 1–3 threads. Every ISA path runs the same shapes (the AVX2
/// path its own GEMM from its thresholds, the portable one the row kernels).
@Suite struct QuantizedPrefillGEMMTests {
    @Test(arguments: [DType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS])
    func matchesIntegerReference(dtype: DType) {
        var rng = SplitMix(seed: UInt64(dtype.rawValue) * 13 + 5)
        let block = dtype.blockSize == 256 ? 256 : 32
        // (rows, cols): 32-element types cross the 1024-column chunk at 33 and 65 blocks.
        let shapes = dtype.blockSize == 256
            ? [(70, 1280), (33, 2304), (16, 256)]
            : [(70, 1056), (33, 2080), (16, 64)]
        #expect(lfm_qgemm_min_rows(Int32(bitPattern: dtype.rawValue)) <= 13, "the shapes below must reach the GEMM")
        #expect(lfm_qgemm_avx2_min_rows(Int32(bitPattern: dtype.rawValue)) <= 13, "the shapes below must reach the AVX2 GEMM")
        for (rows, cols) in shapes {
            let w = makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
            let groups = (0..<rows).map { integerGroups(w, row: $0) }
            for m in [2, 3, 4, 9, 13, 21] {
                let x = rng.floats(m * cols, scale: 2)
                let acts = (0..<m).map { ReferenceActivations(x[($0 * cols)..<(($0 + 1) * cols)], block: block) }
                var exact = [Float](repeating: 0, count: m * rows), tight = exact
                for t in 0..<m {
                    for n in 0..<rows {
                        let (value, magnitude) = referenceIntegerDot(groups[n], acts[t], block: block)
                        exact[t * rows + n] = Float(value)
                        tight[t * rows + n] = Float(1e-5 * magnitude) + 1e-30
                    }
                }
                for isa in testedISAs {
                    for threads in [1, 2, 3] {
                        var y = [Float](repeating: .nan, count: m * rows)
                        makeBackend(isa: isa, threads: threads).matmul(w, x: x, xStride: cols, m: m, y: &y, yStride: rows)
                        #expect(worstRatio(y, exact, tolerance: tight) <= 1,
                                "\(dtype) \(isa) threads \(threads) rows \(rows) cols \(cols) m \(m)")
                    }
                }
            }
        }
    }
}

/// The packed GEMMs called directly: the AVX2 one (`lfm_qgemm_avx2`, and `lfm_qgemm_avxvnni` where the CPU
/// has AVX-VNNI), so it is tested wherever the CPU has AVX2 (the AVX-512 machines' backends pick the VNNI
/// GEMM), and `lfm_qgemm_avx512vnni` where the CPU has it, below its thresholds too: every token count from 1 to 13
/// (tiles of 4 with 1–3 left over, including counts below its threshold), 21 and 261, row ranges that
/// start and end inside 8-row panels (as uneven thread splits give), partial last panels, and column
/// chunks of 256 (up to 16 tokens) or 1024 (512 for IQ4_XS without VNNI) with a partial last chunk. Rows
/// outside the range must stay untouched.
@Suite struct DirectPrefillGEMMTests {
    @Test(arguments: [DType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS])
    func matchesIntegerReference(dtype: DType) {
        let paths = [QuantKernelPath.avx512vnni, .avxvnni, .avx2].filter(pathIsSupported)
        guard !paths.isEmpty else { return }
        var rng = SplitMix(seed: UInt64(dtype.rawValue) * 29 + 7)
        let block = dtype.blockSize == 256 ? 256 : 32
        let type = Int32(bitPattern: dtype.rawValue)
        let shapes = dtype.blockSize == 256 ? [(21, 1280), (9, 256)] : [(21, 1056), (9, 64), (12, 2080)]
        for (rows, cols) in shapes {
            let w = makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
            let groups = (0..<rows).map { integerGroups(w, row: $0) }
            // 261 tokens: more than one widened activation chunk of 256 tokens (IQ4_XS without VNNI).
            for m in Array(1...13) + [21] + (cols == 256 ? [261] : []) {
                let x = rng.floats(m * cols, scale: 2)
                let a = QuantizedActivations(m: m, cols: cols, block: block)
                defer { a.deallocate() }
                x.withUnsafeBufferPointer { a.quantize($0.baseAddress!, xStride: cols, rows: 0..<m, path: .portable) }
                let refs = (0..<m).map { ReferenceActivations(x[($0 * cols)..<(($0 + 1) * cols)], block: block) }
                for path in paths {
                    for (n0, n1) in [(0, rows), (3, rows - 2), (5, 6)] {
                        var y = [Float](repeating: -7, count: m * rows)
                        withUnsafePointer(to: a.descriptor) { descriptor in
                            y.withUnsafeMutableBufferPointer { out in
                                path.gemm(type, w.data, n0..<n1, descriptor, m, out.baseAddress!, rows)
                            }
                        }
                        for t in 0..<m {
                            for n in 0..<rows {
                                let got = y[t * rows + n]
                                guard (n0..<n1).contains(n) else {
                                    #expect(got == -7, "\(dtype) \(path) wrote row \(n) outside \(n0)..<\(n1), m \(m)")
                                    continue
                                }
                                let (value, magnitude) = referenceIntegerDot(groups[n], refs[t], block: block)
                                #expect(abs(Double(got) - value) <= 1e-5 * magnitude + 1e-30,
                                        "\(dtype) \(path) rows \(rows) cols \(cols) range \(n0)..<\(n1) m \(m) t \(t) n \(n): \(got) vs \(value)")
                            }
                        }
                    }
                }
            }
            withExtendedLifetime(w.owner) {}
        }
    }

    /// The largest codes against the largest activations (every code byte 0xFF, every activation
    /// +127), on every packed GEMM and every row-kernel path of the machine: the 16-bit partial sums
    /// of the non-VNNI AVX2 kernels must not wrap (Q5_K's and Q5_0 / Q5_1's codes reach 31), nor the
    /// AVX-512 GEMM's 16-bit activation sums of 32.
    @Test(arguments: [DType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS])
    func extremeCodesDoNotOverflow(dtype: DType) {
        let paths = [QuantKernelPath.avx512vnni, .avxvnni, .avx2].filter(pathIsSupported)
        guard !paths.isEmpty else { return }
        var rng = SplitMix(seed: UInt64(dtype.rawValue) * 31 + 3)
        let (rows, cols, m) = (9, 512, 5)
        let block = dtype.blockSize == 256 ? 256 : 32
        let type = Int32(bitPattern: dtype.rawValue)
        let w = makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
        // Every byte but the F16 scale fields.
        let halves = Set(halfFieldOffsets(dtype).flatMap { [$0, $0 + 1] })
        let raw = UnsafeMutableRawPointer(mutating: w.data)
        for block in 0..<(rows * cols / dtype.blockSize) {
            for offset in 0..<dtype.typeSize where !halves.contains(offset) {
                raw.storeBytes(of: UInt8(0xFF), toByteOffset: block * dtype.typeSize + offset, as: UInt8.self)
            }
        }
        let groups = (0..<rows).map { integerGroups(w, row: $0) }
        let x = [Float](repeating: 0.5, count: m * cols)
        let a = QuantizedActivations(m: m, cols: cols, block: block)
        defer { a.deallocate() }
        x.withUnsafeBufferPointer { a.quantize($0.baseAddress!, xStride: cols, rows: 0..<m, path: .portable) }
        let refs = (0..<m).map { ReferenceActivations(x[($0 * cols)..<(($0 + 1) * cols)], block: block) }
        /// Runs `kernel` over all rows for `tokens` activation rows and checks every output.
        func check(_ label: String, tokens: Int,
                   _ kernel: (UnsafePointer<LFMQuantActivations>, UnsafeMutablePointer<Float>) -> Void) {
            var y = [Float](repeating: .nan, count: tokens * rows)
            withUnsafePointer(to: a.descriptor) { descriptor in y.withUnsafeMutableBufferPointer { kernel(descriptor, $0.baseAddress!) } }
            for t in 0..<tokens {
                for n in 0..<rows {
                    let (value, magnitude) = referenceIntegerDot(groups[n], refs[t], block: block)
                    #expect(abs(Double(y[t * rows + n]) - value) <= 1e-5 * magnitude + 1e-30,
                            "\(dtype) \(label), \(tokens) tokens, t \(t) n \(n): \(y[t * rows + n]) vs \(value)")
                }
            }
        }
        for path in paths {
            check("\(path) GEMM", tokens: m) { path.gemm(type, w.data, 0..<rows, $0, m, $1, rows) }
        }
        // The row kernels of every path too: decode (one activation row, where several kernels add
        // 16-bit partial sums of eight blocks) and the multi-token tiles.
        for path in QuantKernelPath.all.filter(pathIsSupported) {
            for tokens in [1, m] {
                check("\(path) rows", tokens: tokens) { path.rows(type, w.data, 0..<rows, $0, tokens, $1, rows) }
            }
        }
        withExtendedLifetime(w.owner) {}
    }
}
