import CLFMKernels
import LFMCore
import Testing
@testable import LFMKernels

/// `BlockOrder.groupsOf8` (`LFM_QT_Q4_0_X8`, `LFM_QT_Q8_0_X8`): Q4_0 and Q8_0 rows regrouped eight
/// blocks at a time, as the loaders copy them for the x86 kernels. The layout, its round trip, its
/// dequantization, and every kernel path that reads it against the same weights in the GGUF layout.
@Suite struct RegroupedBlockTests {
    static let types: [DType] = [.q4_0, .q8_0]

    /// `matrix` regrouped into new memory.
    private func regrouped(_ matrix: WeightMatrix) -> WeightMatrix {
        let storage = RawStorage(byteCount: matrix.byteCount)
        BlockOrder.regroup(matrix.dtype, from: matrix.data, to: storage.pointer, rows: matrix.rows, cols: matrix.cols)
        return WeightMatrix(rows: matrix.rows, cols: matrix.cols, dtype: matrix.dtype, data: UnsafeRawPointer(storage.pointer),
                            owner: storage, blockOrder: .groupsOf8)
    }

    private func kernelType(_ dtype: DType) -> Int32 { Int32(dtype == .q4_0 ? LFM_QT_Q4_0_X8 : LFM_QT_Q8_0_X8) }

    private func bytes(_ p: UnsafeRawPointer, _ count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: p, count: count))
    }

    /// Where the bytes go (written out by hand for one group), the inverse, and dequantization.
    @Test(arguments: types)
    func layoutRoundTripAndDequantization(dtype: DType) {
        var rng = SplitMix(seed: 71)
        let size = dtype.typeSize, codes = size - 2
        for blocks in [1, 7, 8, 9, 16, 23, 64] {
            let rows = 3, cols = 32 * blocks
            let w = makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
            let r = regrouped(w)
            #expect(r.rowBytes == w.rowBytes)
            for row in 0..<rows {
                let g = w.data + row * w.rowBytes, x = r.data + row * r.rowBytes
                if blocks >= 8 {
                    // Scales of blocks 0, 2, 4, 6, 1, 3, 5, 7, then the code runs in block order.
                    for (position, block) in [0, 2, 4, 6, 1, 3, 5, 7].enumerated() {
                        #expect(bytes(x + 2 * position, 2) == bytes(g + size * block, 2), "scale of block \(block)")
                        #expect(bytes(x + 16 + codes * block, codes) == bytes(g + size * block + 2, codes), "codes of block \(block)")
                    }
                }
                // Blocks past the last whole group keep the GGUF layout.
                let tail = blocks / 8 * 8
                #expect(bytes(x + size * tail, size * (blocks - tail)) == bytes(g + size * tail, size * (blocks - tail)))
                var a = [Float](repeating: 0, count: cols), b = a
                w.widenRow(row, into: &a)
                r.widenRow(row, into: &b)
                #expect(a == b, "\(dtype) dequantized row \(row), \(blocks) blocks")
                #expect(r.element(row, cols - 1) == w.element(row, cols - 1))
                // Single elements dequantize only the groups around them (a slice, in and after the tail).
                #expect((0..<cols).allSatisfy { r.element(row, $0) == a[$0] }, "\(dtype) elements of row \(row), \(blocks) blocks")
            }
            let back = RawStorage(byteCount: w.byteCount)
            lfm_regroup_rows(Int32(bitPattern: dtype.rawValue), r.data, back.pointer, rows, cols, 1)
            #expect(bytes(UnsafeRawPointer(back.pointer), w.byteCount) == bytes(w.data, w.byteCount), "\(dtype) round trip, \(blocks) blocks")
        }
    }

    /// The backend on every ISA path and thread count: the packed GEMM (from its threshold, 6 to 8
    /// rows, and with chunks of 256 or 1024 columns) gives exactly what it gives for the GGUF layout
    /// (the same panels are packed, the x8 scales by a transpose instead of gathers); the row kernels (below it, and the
    /// shared-input products of decode) agree with the integer reference as tightly as for GGUF Q4_0.
    @Test(arguments: types)
    func backendMatchesTheGGUFLayout(dtype: DType) {
        var rng = SplitMix(seed: 72)
        for (rows, blocks) in [(5, 1), (9, 8), (37, 9), (6, 24), (4, 70)] {
            let cols = 32 * blocks
            let w = makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
            let r = regrouped(w)
            let groups = (0..<rows).map { integerGroups(w, row: $0) }
            for m in [1, 2, 3, 4, 5, 8, 17] {
                let x = rng.floats(m * cols, scale: 2)
                let acts = (0..<m).map { ReferenceActivations(x[($0 * cols)..<(($0 + 1) * cols)], block: 32) }
                var exact = [Float](repeating: 0, count: m * rows), tight = exact
                for t in 0..<m {
                    for n in 0..<rows {
                        let (value, magnitude) = referenceIntegerDot(groups[n], acts[t], block: 32)
                        exact[t * rows + n] = Float(value)
                        tight[t * rows + n] = Float(1e-5 * magnitude) + 1e-30
                    }
                }
                for isa in testedISAs {
                    for threads in [1, 2, 3] {
                        let backend = makeBackend(isa: isa, threads: threads)
                        var y = [Float](repeating: .nan, count: m * rows), yGGUF = y
                        backend.matmul(r, x: x, xStride: cols, m: m, y: &y, yStride: rows)
                        backend.matmul(w, x: x, xStride: cols, m: m, y: &yGGUF, yStride: rows)
                        let label = "\(dtype) \(isa) threads \(threads) rows \(rows) blocks \(blocks) m \(m)"
                        #expect(worstRatio(y, exact, tolerance: tight) <= 1, "integer reference: \(label)")
                        #expect(worstRatio(yGGUF, exact, tolerance: tight) <= 1, "integer reference, GGUF: \(label)")
                        let gemm = backend.quantKernelPath.gemmMinimumRows(kernelType(dtype))
                        if isa != .portable && m >= gemm { #expect(y == yGGUF, "packed GEMM: \(label)") }
                    }
                }
            }
            // Decode's shared-input form: both layouts in one call, each equal to its own product.
            let x = rng.floats(cols, scale: 2)
            for isa in testedISAs {
                let backend = makeBackend(isa: isa, threads: 2)
                var alone = [Float](repeating: .nan, count: rows)
                backend.matmul(r, x: x, xStride: cols, m: 1, y: &alone, yStride: rows)
                var shared = [Float](repeating: .nan, count: 2 * rows)
                shared.withUnsafeMutableBufferPointer { out in
                    x.withUnsafeBufferPointer { xp in
                        backend.matmul([MatmulProduct(r, y: out.baseAddress!, yStride: rows),
                                        MatmulProduct(w, y: out.baseAddress! + rows, yStride: rows)],
                                       x: xp.baseAddress!, xStride: cols, m: 1)
                    }
                }
                #expect(Array(shared[0..<rows]) == alone, "shared input, \(dtype) \(isa), \(blocks) blocks")
            }
        }
    }

    /// Every compiled entry point called directly (so the AVX2 and VNNI kernels stay tested where the
    /// backend picks VBMI), one to three activation rows; 200 blocks of Q4_0 with three rows take the
    /// AVX-512 kernel's heap buffer (its stack holds 20 KiB of prepared activations).
    @Test(arguments: types)
    func everyEntryPointMatchesIntegerReference(dtype: DType) {
        var rng = SplitMix(seed: 73)
        for blocks in [1, 3, 8, 9, 15, 16, 17, 200] {
            let rows = 5, cols = 32 * blocks
            let w = makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
            let r = regrouped(w)
            for m in 1...3 {
                let x = rng.floats(m * cols, scale: 2)
                let a = QuantizedActivations(m: m, cols: cols, block: 32)
                defer { a.deallocate() }
                x.withUnsafeBufferPointer { a.quantize($0.baseAddress!, xStride: cols, rows: 0..<m, path: .portable) }
                let type = kernelType(dtype)
                for path in QuantKernelPath.all where pathIsSupported(path) {
                    for plain in path == .portable ? [false, true] : [false] {
                        let y = entryPointProduct(path, plain: plain, type: type, w: r.data, rows: rows, activations: a)
                        for t in 0..<m {
                            let reference = ReferenceActivations(x[(t * cols)..<((t + 1) * cols)], block: 32)
                            for n in 0..<rows {
                                let (value, magnitude) = referenceIntegerDot(integerGroups(w, row: n), reference, block: 32)
                                #expect(abs(Double(y[t * rows + n]) - value) <= 1e-5 * magnitude + 1e-30,
                                        "\(dtype) \(path) plain \(plain) blocks \(blocks) m \(m) t \(t) n \(n)")
                            }
                        }
                    }
                }
            }
        }
    }
}
