import LFMCore
import Testing
@testable import LFMKernels

/// `CPUBackend.matmul` on block-quantized weights against `ReferenceBackend` (which reads the
/// same blocks through the bit-exact dequantizer), for every ISA path. Integer kernels quantize
/// the activations to 8 bits, so the tolerance includes that rounding (a bound that uses the
/// amax of 32-value blocks, 8x generous to cover the 256-value K-quant activation blocks).
@Suite struct QuantizedMatmulTests {
    static let types: [DType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS]

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
                        // Types with an integer kernel quantize x to 8 bits per block (max abs
                        // error amax/254 per element); the others are exact up to F32 rounding.
                        let xError = integerKernelTypes.contains(dtype) ? 1.0 / 254 : 0
                        for t in 0..<m {
                            for n in 0..<rows {
                                var bound: Float = 0
                                for k in 0..<cols {
                                    let b = (k / 32) * 32
                                    let amax = x[(t * cols + b)..<(t * cols + b + 32)].map { abs($0) }.max() ?? 0
                                    bound += abs(w.element(n, k)) * amax * Float(xError)
                                }
                                let tolerance = bound * 8 + 1e-4 * Float(cols).squareRoot()
                                let error = abs(y[t * rows + n] - expected[t * rows + n])
                                #expect(error <= tolerance, "\(dtype) \(isa) rows \(rows) m \(m): \(error) > \(tolerance)")
                            }
                        }
                    }
                }
            }
        }
    }
}
