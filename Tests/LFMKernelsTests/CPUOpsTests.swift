import Foundation
import Testing
@testable import LFMKernels

/// Row operations of `CPUBackend` against `ReferenceBackend`, for every ISA path and 1–3 threads.
///
/// Tolerances (documented per test) are a few float ulps relative to the magnitude of the
/// terms: these kernels accumulate in F32 in a different order than the Double reference, use
/// a polynomial `exp` (≤ 2 ulp), and may contract `a*b+c` into FMAs.
@Suite struct CPUOpsTests {
    static let threadCounts = [1, 2, 3]

    static func forEachBackend(_ body: (CPUBackend, String) -> Void) {
        for isa in testedISAs {
            for threads in threadCounts { body(makeBackend(isa: isa, threads: threads), "\(isa) threads \(threads)") }
        }
    }

    /// rmsNorm: |error| ≤ 1e-5 · (1 + |ref|).
    @Test func rmsNormMatchesReference() {
        var rng = SplitMix(seed: 11)
        for dim in [1, 7, 33, 100, 257, 1024] {
            for rows in [1, 3, 17] {
                let xStride = dim + 5, outStride = dim + 1
                let x = rng.floats(rows * xStride, scale: 3)
                let weight = rng.floats(dim, scale: 2)
                var reference = [Float](repeating: 0, count: rows * outStride)
                ReferenceBackend().rmsNorm(x: x, xStride: xStride, weight: weight, dim: dim, rows: rows, eps: 1e-5,
                                           out: &reference, outStride: outStride)
                let tolerance = reference.map { 1e-5 * (1 + abs($0)) }
                Self.forEachBackend { backend, label in
                    var out = [Float](repeating: 0, count: rows * outStride)
                    backend.rmsNorm(x: x, xStride: xStride, weight: weight, dim: dim, rows: rows, eps: 1e-5,
                                    out: &out, outStride: outStride)
                    #expect(worstRatio(out, reference, tolerance: tolerance) <= 1, "\(label) dim \(dim) rows \(rows)")
                    // In place (out == x).
                    var inPlace = x
                    inPlace.withUnsafeMutableBufferPointer { p in
                        backend.rmsNorm(x: p.baseAddress!, xStride: xStride, weight: weight, dim: dim, rows: rows,
                                        eps: 1e-5, out: p.baseAddress!, outStride: xStride)
                    }
                    for r in 0..<rows {
                        for i in 0..<dim {
                            let got = inPlace[r * xStride + i], want = reference[r * outStride + i]
                            #expect(abs(got - want) <= 1e-5 * (1 + abs(want)), "\(label) in place dim \(dim)")
                        }
                    }
                }
            }
        }
    }

    /// ropeNeox: |error| ≤ 1e-5 · (1 + |ref|) (same angles and sin/cos; FMA contraction only).
    @Test func ropeMatchesReference() {
        var rng = SplitMix(seed: 12)
        for headDim in [2, 8, 14, 64, 66] {
            for (rows, heads, start) in [(1, 1, 0), (5, 3, 7), (17, 2, 1000), (2, 16, 4095)] {
                let xStride = heads * headDim + 3
                let x = rng.floats(rows * xStride, scale: 2)
                let inverse = (0..<(headDim / 2)).map { Float(pow(1_000_000.0, -2.0 * Double($0) / Double(headDim))) }
                var reference = x
                ReferenceBackend().ropeNeox(x: &reference, xStride: xStride, rows: rows, heads: heads, headDim: headDim,
                                            startPosition: start, inverseFrequencies: inverse)
                let tolerance = reference.map { 1e-5 * (1 + abs($0)) }
                Self.forEachBackend { backend, label in
                    var got = x
                    backend.ropeNeox(x: &got, xStride: xStride, rows: rows, heads: heads, headDim: headDim,
                                     startPosition: start, inverseFrequencies: inverse)
                    #expect(worstRatio(got, reference, tolerance: tolerance) <= 1,
                            "\(label) headDim \(headDim) rows \(rows) heads \(heads) start \(start)")
                }
            }
        }
    }

    /// attention: |error| ≤ 2e-5 · (1 + |ref|) (outputs are convex combinations of values of size ≤ 1).
    @Test func attentionMatchesReference() {
        var rng = SplitMix(seed: 13)
        for headDim in [1, 7, 16, 33, 64] {
            for (heads, kvHeads) in [(4, 2), (3, 3), (2, 1)] {
                for (rows, start) in [(1, 0), (1, 9), (3, 0), (5, 4), (17, 20)] {
                  for window in [0, 1, 4, 9] {
                    let total = start + rows
                    let qStride = heads * headDim + 2, kvStride = kvHeads * headDim + 1
                    let outStride = heads * headDim + 4
                    let q = rng.floats(rows * qStride, scale: 2)
                    let keys = rng.floats(total * kvStride, scale: 2)
                    let values = rng.floats(total * kvStride)
                    let scale = 1 / Float(headDim).squareRoot()
                    var reference = [Float](repeating: 0, count: rows * outStride)
                    ReferenceBackend().attention(q: q, qStride: qStride, rows: rows, startPosition: start, keys: keys,
                                                 values: values, kvStride: kvStride, heads: heads, kvHeads: kvHeads,
                                                 headDim: headDim, window: window, scale: scale, out: &reference,
                                                 outStride: outStride)
                    let tolerance = reference.map { 2e-5 * (1 + abs($0)) }
                    Self.forEachBackend { backend, label in
                        var out = [Float](repeating: 0, count: rows * outStride)
                        backend.attention(q: q, qStride: qStride, rows: rows, startPosition: start, keys: keys,
                                          values: values, kvStride: kvStride, heads: heads, kvHeads: kvHeads,
                                          headDim: headDim, window: window, scale: scale, out: &out, outStride: outStride)
                        #expect(worstRatio(out, reference, tolerance: tolerance) <= 1,
                                "\(label) headDim \(headDim) heads \(heads)/\(kvHeads) rows \(rows) start \(start) window \(window)")
                    }
                  }
                }
            }
        }
    }

    /// A window of W equals full attention over only the last W keys (the query itself included).
    @Test func attentionWindowSeesTheLastWindowKeys() {
        var rng = SplitMix(seed: 15)
        let headDim = 8, heads = 2, kvHeads = 1, start = 11, window = 5
        let q = rng.floats(heads * headDim, scale: 2)
        let keys = rng.floats((start + 1) * kvHeads * headDim, scale: 2)
        let values = rng.floats((start + 1) * kvHeads * headDim)
        var windowed = [Float](repeating: 0, count: heads * headDim)
        var truncated = windowed
        let reference = ReferenceBackend()
        reference.attention(q: q, qStride: heads * headDim, rows: 1, startPosition: start, keys: keys, values: values,
                            kvStride: kvHeads * headDim, heads: heads, kvHeads: kvHeads, headDim: headDim, window: window,
                            scale: 0.3, out: &windowed, outStride: heads * headDim)
        let skip = (start + 1 - window) * kvHeads * headDim
        reference.attention(q: q, qStride: heads * headDim, rows: 1, startPosition: window - 1,
                            keys: Array(keys[skip...]), values: Array(values[skip...]), kvStride: kvHeads * headDim,
                            heads: heads, kvHeads: kvHeads, headDim: headDim, window: 0, scale: 0.3, out: &truncated,
                            outStride: heads * headDim)
        #expect(windowed == truncated)
        var full = windowed
        reference.attention(q: q, qStride: heads * headDim, rows: 1, startPosition: start, keys: keys, values: values,
                            kvStride: kvHeads * headDim, heads: heads, kvHeads: kvHeads, headDim: headDim, window: 0,
                            scale: 0.3, out: &full, outStride: heads * headDim)
        #expect(full != windowed)
    }

    /// shortConv: outputs |error| ≤ 1e-5 · (1 + Σ_j |w·window|); the new state must be exact.
    @Test func shortConvMatchesReference() {
        var rng = SplitMix(seed: 14)
        for kernel in [1, 2, 3, 4] {
            for channels in [1, 7, 33, 100, 300] {
                for rows in [1, 2, 5, 17] {
                    let xStride = channels + 3, outStride = channels + 2
                    let x = rng.floats(rows * xStride, scale: 2)
                    let state = rng.floats((kernel - 1) * channels, scale: 2)
                    let weight = rng.floats(channels * kernel)
                    var refState = state
                    var reference = [Float](repeating: 0, count: rows * outStride)
                    ReferenceBackend().shortConv(x: x, xStride: xStride, rows: rows, channels: channels, kernel: kernel,
                                                 state: &refState, weight: weight, out: &reference, outStride: outStride)
                    let tolerance = reference.map { 1e-5 * (1 + 4 * abs($0)) + 1e-5 * Float(kernel) * 2 }
                    Self.forEachBackend { backend, label in
                        var gotState = state
                        var out = [Float](repeating: 0, count: rows * outStride)
                        backend.shortConv(x: x, xStride: xStride, rows: rows, channels: channels, kernel: kernel,
                                          state: &gotState, weight: weight, out: &out, outStride: outStride)
                        #expect(worstRatio(out, reference, tolerance: tolerance) <= 1,
                                "\(label) kernel \(kernel) channels \(channels) rows \(rows)")
                        #expect(gotState == refState, "\(label) state kernel \(kernel) channels \(channels) rows \(rows)")
                    }
                }
            }
        }
    }

    /// siluMul: |error| ≤ 1e-5 · (1 + |ref|); mul/add are exact (single rounding, same as reference).
    @Test func elementwiseMatchReference() {
        var rng = SplitMix(seed: 15)
        for count in [0, 1, 7, 33, 100, 257, 5000] {
            var gate = rng.floats(count, scale: 10)
            if count > 3 { gate[0] = -100; gate[1] = 100; gate[2] = 0 }
            let up = rng.floats(count, scale: 3)
            var silu = [Float](repeating: 0, count: count), product = silu, sum = silu
            let reference = ReferenceBackend()
            reference.siluMul(gate: gate, up: up, out: &silu, count: count)
            reference.mul(gate, up, out: &product, count: count)
            reference.add(gate, up, out: &sum, count: count)
            let tolerance = silu.map { 1e-5 * (1 + abs($0)) }
            Self.forEachBackend { backend, label in
                var out = [Float](repeating: 0, count: count)
                backend.siluMul(gate: gate, up: up, out: &out, count: count)
                #expect(worstRatio(out, silu, tolerance: tolerance) <= 1, "\(label) siluMul count \(count)")
                backend.mul(gate, up, out: &out, count: count)
                #expect(out == product, "\(label) mul count \(count)")
                backend.add(gate, up, out: &out, count: count)
                #expect(out == sum, "\(label) add count \(count)")
            }
        }
    }

    /// A NaN input must show up as NaN in the outputs, not be clamped into finite values.
    @Test func nanPropagates() {
        let gate: [Float] = [1, .nan, -2, 3, .nan, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        let up = [Float](repeating: 1, count: gate.count)
        var q = [Float](repeating: 0.5, count: 2 * 16)
        q[3] = .nan
        let kv = [Float](repeating: 0.25, count: 3 * 16)
        Self.forEachBackend { backend, label in
            var out = [Float](repeating: 0, count: gate.count)
            backend.siluMul(gate: gate, up: up, out: &out, count: gate.count)
            #expect(out[1].isNaN && out[4].isNaN && !out[0].isNaN, "\(label) siluMul")
            var attended = [Float](repeating: 0, count: 2 * 16)
            backend.attention(q: q, qStride: 32, rows: 1, startPosition: 2, keys: kv, values: kv, kvStride: 16,
                              heads: 2, kvHeads: 1, headDim: 16, window: 0, scale: 0.25, out: &attended, outStride: 32)
            #expect(attended[0..<16].allSatisfy { $0.isNaN }, "\(label) attention head with NaN query")
            #expect(attended[16..<32].allSatisfy { abs($0 - 0.25) < 1e-6 }, "\(label) attention other head")
        }
    }

    @Test func forcedISAIsReportedAndDetectionIsConsistent() {
        #expect(ISA.available.last == .portable)
        #expect(ISA.available.first == ISA.detected)
        for isa in ISA.available {
            #expect(isa.isSupported)
            #expect(CPUBackend(threads: 2, isa: isa).isa == isa)
        }
        #expect(CPUBackend(threads: 3).threads == 3)
        #expect(ISA(name: "portable") == .portable)
        let avx2VNNI = ISA.available.contains(.avx2(vnni: true))
        #expect(ISA(name: "AVX2") == .avx2(vnni: avx2VNNI))
        #expect(ISA.avx2(vnni: true).description == "avx2+vnni" && ISA.avx2(vnni: false).description == "avx2")
        if ISA.available.contains(where: { if case .avx2 = $0 { return true } else { return false } }) {
            #expect(ISA.avx2(vnni: false).isSupported)
            #expect(ISA.avx2(vnni: true).isSupported == avx2VNNI)
        }
        #expect(ISA(name: "sse9") == nil)
        if case .avx512 = ISA.detected { #expect(ISA(name: "avx512") == ISA.detected) }
        #expect(CPUBackend(threads: 2, isa: .portable).description == "CPUBackend(isa: portable, threads: 2)")
    }
}
