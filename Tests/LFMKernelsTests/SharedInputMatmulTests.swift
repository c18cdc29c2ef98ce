import LFMCore
import Testing
@testable import LFMKernels

/// `matmul(_ products:…)` (several weights on one input, as attention's q/k/v and the FFN's
/// gate/up) gives bit for bit what one `matmul` per weight gives, on every ISA path and thread
/// count, for decode (one shared loop) and prompts (one product at a time), with outputs at
/// their own strides and nothing written outside them.
@Suite struct SharedInputMatmulTests {
    /// Weight sets: float types (mixed), one quantized family (mixed Q4_K/Q6_K, as in Q4_K_M),
    /// 32-element types, the i-quants with their activation-block siblings (IQ4_XS with Q6_K,
    /// IQ4_NL with Q8_0), and a mix the shared loop cannot take (F16 with Q8_0).
    static let sets: [[DType]] = [
        [.f32, .f16, .bf16], [.bf16, .bf16], [.q4_K, .q4_K, .q6_K], [.q4_0, .q8_0], [.q4_0, .q4_0, .q4_0],
        [.f16, .q8_0], [.iq4_XS, .iq4_XS, .q6_K], [.iq4_NL, .q8_0],
    ]

    @Test(arguments: 0..<sets.count)
    func equalsOneMatmulPerWeight(set: Int) {
        let dtypes = Self.sets[set]
        var rng = SplitMix(seed: UInt64(set) * 17 + 9)
        let cols = dtypes.contains { $0.blockSize == 256 } ? 512 : 96
        let rowCounts = [37, 5, 70].prefix(dtypes.count)
        let weights = zip(dtypes, rowCounts).map { dtype, rows in
            dtype.isQuantized
                ? makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
                : makeWeights(rows: rows, cols: cols, dtype: dtype, values: rng.floats(rows * cols))
        }
        for m in [1, 3] {
            let xStride = cols + 4
            let x = rng.floats(m * xStride, scale: 2)
            for isa in testedISAs {
                for threads in [1, 2, 3] {
                    let backend = makeBackend(isa: isa, threads: threads)
                    backend.minimumParallelWork = 1  // split even these small products
                    backend.minimumChunkRows = 2
                    var expected: [[Float]] = [], outputs: [UnsafeMutableBufferPointer<Float>] = []
                    for w in weights {
                        let yStride = w.rows + 2
                        var y = [Float](repeating: -3, count: m * yStride)
                        backend.matmul(w, x: x, xStride: xStride, m: m, y: &y, yStride: yStride)
                        expected.append(y)
                        let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: m * yStride)
                        out.initialize(repeating: -3)
                        outputs.append(out)
                    }
                    defer { outputs.forEach { $0.deallocate() } }
                    let products = zip(weights, outputs).map { w, out in
                        MatmulProduct(w, y: out.baseAddress!, yStride: w.rows + 2)
                    }
                    x.withUnsafeBufferPointer { backend.matmul(products, x: $0.baseAddress!, xStride: xStride, m: m) }
                    for (j, out) in outputs.enumerated() {
                        #expect(Array(out) == expected[j], "\(dtypes) \(isa) threads \(threads) m \(m) product \(j)")
                    }
                }
            }
        }
    }
}
