import LFMCore
import Testing
@testable import LFMKernels

/// `CPUBackend.matmul` against `ReferenceBackend` for every ISA path, dtype and thread count.
///
/// Tolerance per output: `4 · 2^-24 · sqrt(K + 1) · Σ_k |x_k · w_k| + 1e-30` — a few ulps of
/// the absolute sum scaled by the expected (random-walk) growth of rounding error in a
/// length-K float sum. The BF16-activation path rounds every x to BF16 (relative error ≤ 2^-9),
/// so its tolerance is `2^-8 · Σ|x·w|` plus the above.
@Suite struct CPUMatmulTests {
    static let colsList = [1, 7, 16, 33, 100, 257]
    static let rowsList = [1, 3, 4, 5, 17, 37]
    static let mList = [1, 2, 5, 17]

    struct Case {
        let rows, cols, m, xStride, yStride: Int
        let w: WeightMatrix
        let x: [Float]
        let reference: [Float]
        let tolerance: [Float]
        let bf16Tolerance: [Float]
    }

    static func makeCase(rows: Int, cols: Int, m: Int, dtype: DType, seed: UInt64) -> Case {
        var rng = SplitMix(seed: seed)
        let w = makeWeights(rows: rows, cols: cols, dtype: dtype, values: rng.floats(rows * cols))
        let xStride = cols + 3, yStride = rows + 2
        let x = rng.floats(m * xStride, scale: 2)
        var reference = [Float](repeating: 0, count: m * yStride)
        ReferenceBackend().matmul(w, x: x, xStride: xStride, m: m, y: &reference, yStride: yStride)
        var tolerance = [Float](repeating: 0, count: m * yStride)
        var bf16Tolerance = tolerance
        for i in 0..<m {
            for n in 0..<rows {
                var absSum = 0.0
                for k in 0..<cols { absSum += abs(Double(x[i * xStride + k]) * Double(w.element(n, k))) }
                let base = 4 * 0x1p-24 * (Double(cols) + 1).squareRoot() * absSum + 1e-30
                tolerance[i * yStride + n] = Float(base)
                bf16Tolerance[i * yStride + n] = Float(base + 0x1p-8 * absSum)
            }
        }
        return Case(rows: rows, cols: cols, m: m, xStride: xStride, yStride: yStride, w: w, x: x,
                    reference: reference, tolerance: tolerance, bf16Tolerance: bf16Tolerance)
    }

    /// Runs `backend` on `c`; padding columns of y must stay untouched (sentinel 777).
    static func check(_ backend: CPUBackend, _ c: Case, tolerance: [Float]) -> (ratio: Float, padOK: Bool) {
        var y = [Float](repeating: 777, count: c.m * c.yStride)
        backend.matmul(c.w, x: c.x, xStride: c.xStride, m: c.m, y: &y, yStride: c.yStride)
        var padOK = true
        var got = c.reference, tol = tolerance
        for i in 0..<c.m {
            for n in 0..<c.yStride {
                let index = i * c.yStride + n
                if n >= c.rows {
                    padOK = padOK && y[index] == 777
                    got[index] = c.reference[index]
                    tol[index] = 1
                } else {
                    got[index] = y[index]
                }
            }
        }
        return (worstRatio(got, c.reference, tolerance: tol), padOK)
    }

    @Test(arguments: [DType.f32, .f16, .bf16])
    func matchesReferenceOnAllShapes(dtype: DType) {
        var seed: UInt64 = 1
        for rows in Self.rowsList {
            for cols in Self.colsList {
                for m in Self.mList {
                    seed += 1
                    let c = Self.makeCase(rows: rows, cols: cols, m: m, dtype: dtype, seed: seed)
                    for isa in testedISAs {
                        for threads in [1, 2, 3] {
                            let result = Self.check(makeBackend(isa: isa, threads: threads), c, tolerance: c.tolerance)
                            #expect(result.ratio <= 1, "\(isa) \(dtype) rows \(rows) cols \(cols) m \(m) threads \(threads): error/tolerance \(result.ratio)")
                            #expect(result.padOK, "\(isa) \(dtype) rows \(rows) cols \(cols) m \(m): wrote outside the rows")
                        }
                    }
                }
            }
        }
    }

    /// Sizes above the default fan-out threshold and cache-block size, with default settings
    /// (8230 columns: rows longer than the AVX-512 BF16 decode kernel's stack buffer).
    @Test(arguments: [DType.f32, .f16, .bf16])
    func matchesReferenceOnLargerShapes(dtype: DType) {
        for (rows, cols, m) in [(301, 1030, 1), (290, 700, 9), (37, 8230, 1)] {
            let c = Self.makeCase(rows: rows, cols: cols, m: m, dtype: dtype, seed: UInt64(rows * cols + m))
            for isa in testedISAs {
                for threads in [1, 2] {
                    let result = Self.check(CPUBackend(threads: threads, isa: isa), c, tolerance: c.tolerance)
                    #expect(result.ratio <= 1, "\(isa) \(dtype) \(rows)x\(cols) m \(m) threads \(threads): \(result.ratio)")
                    #expect(result.padOK)
                }
            }
        }
    }

    @Test func bf16DotPrefillStaysWithinItsBound() {
        let bf16ISAs = testedISAs.filter { if case .avx512(true, _) = $0 { return true } else { return false } }
        var seed: UInt64 = 900
        for rows in Self.rowsList {
            for cols in Self.colsList + [64, 1030] {
                for m in Self.mList {
                    seed += 1
                    let c = Self.makeCase(rows: rows, cols: cols, m: m, dtype: .bf16, seed: seed)
                    for isa in bf16ISAs {
                        for threads in [1, 3] {
                            let backend = makeBackend(isa: isa, threads: threads, bf16DotPrefill: true)
                            #expect(backend.usesBF16DotPrefill)
                            let result = Self.check(backend, c, tolerance: c.bf16Tolerance)
                            #expect(result.ratio <= 1, "rows \(rows) cols \(cols) m \(m): \(result.ratio)")
                            #expect(result.padOK)
                        }
                    }
                }
            }
        }
    }

    @Test func serialMatvecOptionMatchesReference() {
        for dtype in [DType.f32, .f16, .bf16] {
            let c = Self.makeCase(rows: 37, cols: 257, m: 1, dtype: dtype, seed: 77)
            for isa in testedISAs {
                let backend = CPUBackend(threads: 2, isa: isa, parallelMatvec: false)
                backend.minimumParallelWork = 0
                #expect(!backend.parallelMatvec)
                let result = Self.check(backend, c, tolerance: c.tolerance)
                #expect(result.ratio <= 1, "\(isa) \(dtype): \(result.ratio)")
                #expect(result.padOK)
            }
        }
    }

    @Test func bf16DotPrefillIsOffUnlessSupportedAndRequested() {
        #expect(!CPUBackend(threads: 1, isa: .portable, bf16DotPrefill: true).usesBF16DotPrefill)
        #expect(!CPUBackend(threads: 1).usesBF16DotPrefill)
    }

    @Test func emptyInputsDoNothing() {
        let w = makeWeights(rows: 3, cols: 0, dtype: .f32, values: [])
        for isa in testedISAs {
            var y = [Float](repeating: 5, count: 3)
            let x: [Float] = [0]
            let backend = makeBackend(isa: isa, threads: 2)
            backend.matmul(w, x: x, xStride: 0, m: 1, y: &y, yStride: 3)
            #expect(y == [0, 0, 0], "\(isa): K = 0 gives zeros")
            var untouched = [Float](repeating: 5, count: 3)
            backend.matmul(w, x: x, xStride: 0, m: 0, y: &untouched, yStride: 3)
            #expect(untouched == [5, 5, 5])
        }
    }
}
