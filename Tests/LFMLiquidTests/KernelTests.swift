import Foundation
import LFMCore
import Testing
@testable import LFMLiquid

/// The liquid cells' kernels: the eight-lane exp/tanh/sigmoid against the C library, and the
/// register-blocked Linear forward/backward against plain loops summing in the same order.
@Suite struct LiquidKernelTests {
    /// Arguments over the ranges the cells see, with the edges of each approximation.
    static let arguments: [Float] = {
        var xs: [Float] = [0, -0.0, 1e-30, 1e-8, 0.0625, -0.0625, 0.06249, 0.06251, 9, 10, 44, 87, 88, 89, -87, -88, -89, 200, -200]
        for i in -4000...4000 { xs.append(Float(i) / 200) }          // −20 … 20 in steps of 0.005
        return xs
    }()

    private func lanes(_ xs: [Float], _ f: (SIMD8<Float>) -> SIMD8<Float>) -> [Float] {
        var out: [Float] = []
        var i = 0
        while i < xs.count {
            var v = SIMD8<Float>()
            for k in 0..<8 where i + k < xs.count { v[k] = xs[i + k] }
            let r = f(v)
            for k in 0..<8 where i + k < xs.count { out.append(r[k]) }
            i += 8
        }
        return out
    }

    @Test func tanhIsWithin3e7OfTheCLibrary() {
        let xs = Self.arguments
        let got = lanes(xs, Kernels.tanh8)
        var worst = 0.0
        for (x, y) in zip(xs, got) {
            worst = max(worst, abs(Double(y) - Foundation.tanh(Double(x))))
            #expect(y.sign == x.sign || y == 0, "tanh(\(x)) has the wrong sign")
        }
        #expect(worst < 3e-7, "largest error \(worst)")
    }

    @Test func expHasASmallRelativeErrorAndClamps() {
        let xs = Self.arguments
        let got = lanes(xs, Kernels.exp8)
        for (x, y) in zip(xs, got) {
            let c = Double(min(max(x, -87), 88))
            #expect(abs(Double(y) / Foundation.exp(c) - 1) < 5e-7, "exp(\(x)) = \(y)")
            #expect(y.isFinite && y > 0)
        }
    }

    @Test func sigmoidIsWithin2e7OfTheCLibrary() {
        let xs = Self.arguments
        let got = lanes(xs, Kernels.sigmoid8)
        var worst = 0.0
        for (x, y) in zip(xs, got) { worst = max(worst, abs(Double(y) - 1 / (1 + Foundation.exp(-Double(x))))) }
        #expect(worst < 2e-7, "largest error \(worst)")
    }

    /// The array forms handle tails shorter than eight lanes and scale in and out (lecun_tanh).
    @Test func arrayFormsCoverTails() {
        for n in [1, 7, 8, 9, 23] {
            let x = (0..<n).map { Float($0) * 0.37 - 3 }
            var y = [Float](repeating: .nan, count: n)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                Kernels.tanh(xp.baseAddress!, inScale: 0.666, outScale: 1.7159, into: yp.baseAddress!, n)
            } }
            for i in 0..<n { #expect(abs(Double(y[i]) - 1.7159 * Foundation.tanh(0.666 * Double(x[i]))) < 1e-6) }
            var g = [Float](repeating: 2, count: n)
            x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { gp in
                Kernels.tanhBackward(xp.baseAddress!, inScale: 0.666, outScale: 1.7159, gp.baseAddress!, n)
            } }
            for i in 0..<n {
                let t = Foundation.tanh(0.666 * Double(x[i]))
                #expect(abs(Double(g[i]) - 2 * 1.7159 * 0.666 * (1 - t * t)) < 1e-6)
            }
        }
    }

    /// Blocked Linear forward and backward equal plain loops bit for bit (same summation order),
    /// for batch sizes and widths around the blocks of four rows and eight columns.
    @Test func blockedLinearEqualsPlainLoops() {
        var rng = SplitMix64(seed: 7)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.unit()) * 2 - 1 } }
        for batch in [1, 3, 4, 5, 9] {
            for (inDim, outDim) in [(1, 1), (7, 5), (8, 4), (19, 9), (70, 13)] {
                let xStride = inDim + 2, yStride = outDim + 1
                let x = values(batch * xStride), w = values(outDim * inDim), bias = values(outDim)
                let dy = values(batch * yStride).enumerated().map { $0.offset % 5 == 0 ? 0 : $0.element }
                var y = [Float](repeating: 0, count: batch * yStride)
                var dw = values(outDim * inDim), db = values(outDim), dx = values(batch * xStride)
                var (rdw, rdb, rdx) = (dw, db, dx)
                x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                    dy.withUnsafeBufferPointer { dyp in
                        y.withUnsafeMutableBufferPointer { yp in
                            Kernels.linear(batch: batch, inDim: inDim, outDim: outDim, x: xp.baseAddress!, xStride: xStride,
                                           w: wp.baseAddress!, bias: bp.baseAddress!, y: yp.baseAddress!, yStride: yStride)
                        }
                        dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
                            dx.withUnsafeMutableBufferPointer { dxp in
                                Kernels.linearBackward(batch: batch, inDim: inDim, outDim: outDim, x: xp.baseAddress!, xStride: xStride,
                                                       w: wp.baseAddress!, dy: dyp.baseAddress!, dyStride: yStride,
                                                       dw: dwp.baseAddress!, db: dbp.baseAddress!, dx: dxp.baseAddress!, dxStride: xStride)
                            }
                        } }
                    }
                } } }
                // Plain loops: eight-lane partial sums for full chunks of eight, then the tail.
                let tail = inDim - inDim % 8
                for b in 0..<batch {
                    for o in 0..<outDim {
                        var lanes = SIMD8<Float>()
                        for c in stride(from: 0, to: tail, by: 8) {
                            for k in 0..<8 { lanes[k] += x[b * xStride + c + k] * w[o * inDim + c + k] }
                        }
                        var sum = lanes.sum()
                        for i in tail..<inDim { sum += x[b * xStride + i] * w[o * inDim + i] }
                        #expect(y[b * yStride + o] == bias[o] + sum, "y[\(b), \(o)] batch \(batch) \(inDim)→\(outDim)")
                    }
                }
                for b in 0..<batch {
                    for o in 0..<outDim {
                        let g = dy[b * yStride + o]
                        for i in 0..<inDim {
                            rdw[o * inDim + i] += g * x[b * xStride + i]
                        }
                        rdb[o] += g
                    }
                }
                for b in 0..<batch {
                    for o in 0..<outDim {
                        let g = dy[b * yStride + o]
                        for i in 0..<inDim { rdx[b * xStride + i] += g * w[o * inDim + i] }
                    }
                }
                #expect(dw == rdw, "dw, batch \(batch) \(inDim)→\(outDim)")
                #expect(db == rdb, "db, batch \(batch) \(inDim)→\(outDim)")
                #expect(dx == rdx, "dx, batch \(batch) \(inDim)→\(outDim)")
            }
        }
    }
}
