import LFMCore
import Testing
@testable import LFMKernels

/// `CPUBackend.matmul` on block-quantized weights against `ReferenceBackend` (which reads the
/// same blocks through the bit-exact dequantizer), for every ISA path.
@Suite struct QuantizedMatmulTests {
    static let types: [DType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    @Test(arguments: types)
    func matchesReference(dtype: DType) {
        var rng = SplitMix(seed: UInt64(dtype.rawValue) + 5)
        let cols = dtype.blockSize * 2
        for rows in [1, 5, 19] {
            for m in [1, 3] {
                let w = makeWeights(rows: rows, cols: cols, dtype: dtype, values: rng.floats(rows * cols))
                let x = rng.floats(m * cols)
                var expected = [Float](repeating: 0, count: m * rows)
                ReferenceBackend().matmul(w, x: x, xStride: cols, m: m, y: &expected, yStride: rows)
                for isa in testedISAs {
                    for threads in [1, 2] {
                        var y = [Float](repeating: .nan, count: m * rows)
                        makeBackend(isa: isa, threads: threads).matmul(w, x: x, xStride: cols, m: m, y: &y, yStride: rows)
                        let worst = zip(y, expected).map { abs($0 - $1) }.max() ?? 0
                        #expect(worst <= 1e-4 * Float(cols).squareRoot(), "\(dtype) \(isa) rows \(rows) m \(m): \(worst)")
                    }
                }
            }
        }
    }
}
