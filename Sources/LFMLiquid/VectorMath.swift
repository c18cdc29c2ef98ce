import Foundation

// Eight-lane exp, tanh and sigmoid for the liquid cells' activations, in plain SIMD arithmetic
// (no FMA, no rounding instructions), so the same code runs on any x86-64 and on ARM64. The
// cells spent most of their training time in the C library's scalar tanhf.
//
// exp: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (n rounded by adding 1.5·2²³), eʳ by Cephes' degree-6
// polynomial, 2ⁿ built in the exponent bits; arguments are clamped to [−87, 88] (results stay
// normal floats). Relative error ≈ 2 ulp.
// tanh: sign(x)·(1 − 2 / (e^{2|x|} + 1)), and the odd series x − x³/3 + 2x⁵/15 − 17x⁷/315 below
// |x| = 1/16, where the first form would cancel; absolute error below 3e-7 (KernelTests).

extension Kernels {
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }

    /// eˣ per lane (arguments clamped to [−87, 88]).
    @inline(__always)
    static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var c = x
        c.replace(with: -87, where: x .< -87)
        c.replace(with: 88, where: x .> 88)
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5·2²³: adding it rounds to an integer
        let shifted = c * 1.442_695_04 + magic
        let n = shifted - magic
        let r = (c - n * 0.693_359_375) + n * 2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        return p * unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
    }

    /// tanh per lane.
    @inline(__always)
    static func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        let sign = bits & 0x8000_0000
        let ax = unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD8<Float>.self)
        var t = 1 - 2 / (exp8(ax + ax) + 1)
        let s = ax * ax
        let c7 = SIMD8<Float>(repeating: -17.0 / 315), c5 = SIMD8<Float>(repeating: 2.0 / 15), c3 = SIMD8<Float>(repeating: -1.0 / 3)
        let inner: SIMD8<Float> = c3 + s * (c5 + s * c7)
        let series: SIMD8<Float> = ax + ax * s * inner
        t.replace(with: series, where: ax .< 0.0625)
        return unsafeBitCast(unsafeBitCast(t, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self)
    }

    /// 1 / (1 + e⁻ˣ) per lane.
    @inline(__always)
    static func sigmoid8(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + exp8(-x)) }

    /// y[i] = outScale · tanh(inScale · x[i]) for i < n (x and y may be the same buffer).
    static func tanh(_ x: UnsafePointer<Float>, inScale: Float = 1, outScale: Float = 1, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            store8(outScale * tanh8(inScale * load8(x + i)), y + i)
            i += 8
        }
        guard i < n else { return }
        var v = SIMD8<Float>()
        for k in 0..<(n - i) { v[k] = x[i + k] }
        let r = outScale * tanh8(inScale * v)
        for k in 0..<(n - i) { y[i + k] = r[k] }
    }

    /// grad[i] *= outScale · inScale · (1 − tanh(inScale · pre[i])²): the derivative of
    /// `outScale · tanh(inScale · x)`.
    static func tanhBackward(_ pre: UnsafePointer<Float>, inScale: Float = 1, outScale: Float = 1,
                             _ grad: UnsafeMutablePointer<Float>, _ n: Int) {
        let c = outScale * inScale
        var i = 0
        while i + 8 <= n {
            let t = tanh8(inScale * load8(pre + i))
            store8(load8(grad + i) * (c * (1 - t * t)), grad + i)
            i += 8
        }
        guard i < n else { return }
        var v = SIMD8<Float>()
        for k in 0..<(n - i) { v[k] = pre[i + k] }
        let t = tanh8(inScale * v)
        let d = c * (1 - t * t)
        for k in 0..<(n - i) { grad[i + k] *= d[k] }
    }

    /// y[i] = σ(a[i] · t + b[i]) for i < n.
    static func sigmoid(_ a: UnsafePointer<Float>, times t: Float, plus b: UnsafePointer<Float>,
                        into y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            store8(sigmoid8(load8(a + i) * t + load8(b + i)), y + i)
            i += 8
        }
        guard i < n else { return }
        var v = SIMD8<Float>()
        for k in 0..<(n - i) { v[k] = a[i + k] * t + b[i + k] }
        let r = sigmoid8(v)
        for k in 0..<(n - i) { y[i + k] = r[k] }
    }
}
