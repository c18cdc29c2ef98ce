import Foundation

// Small dense kernels over raw pointers for the liquid cells: batched Linear forward and
// backward, activations and their derivatives. Row-major everywhere; a Linear weight is
// [out, in] as in PyTorch.

/// A fixed-size float buffer that never reallocates (scratch and per-step caches).
final class FloatBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    init(copying values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { pointer.update(from: base, count: count) } }
    }

    deinit { pointer.deallocate() }

    func zero() { pointer.update(repeating: 0, count: count) }
    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

enum Kernels {
    /// Σ a[i]·b[i] with eight running lanes.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            acc += va * vb
            i += 8
        }
        var sum = acc.sum()
        while i < n { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    /// y[i] += alpha · x[i].
    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let va = SIMD8<Float>(repeating: alpha)
        while i + 8 <= n {
            let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let vy = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: vy + va * vx, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }

    /// y[b, o] = bias[o] + Σ_i x[b, i] · w[o, i] (x rows have stride `xStride`).
    static func linear(batch: Int, inDim: Int, outDim: Int, x: UnsafePointer<Float>, xStride: Int,
                       w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, yStride: Int) {
        for b in 0..<batch {
            let xr = x + b * xStride
            let yr = y + b * yStride
            for o in 0..<outDim {
                yr[o] = (bias?[o] ?? 0) + dot(xr, w + o * inDim, inDim)
            }
        }
    }

    /// Backward of `linear`: dw += dyᵀx, db += Σ dy, dx (+)= dy·w (dx may be nil).
    static func linearBackward(batch: Int, inDim: Int, outDim: Int, x: UnsafePointer<Float>, xStride: Int,
                               w: UnsafePointer<Float>, dy: UnsafePointer<Float>, dyStride: Int,
                               dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                               dx: UnsafeMutablePointer<Float>?, dxStride: Int) {
        for b in 0..<batch {
            let xr = x + b * xStride
            let dyr = dy + b * dyStride
            for o in 0..<outDim {
                let g = dyr[o]
                if g == 0 { continue }
                axpy(g, xr, dw + o * inDim, inDim)
                db?[o] += g
                if let dx { axpy(g, w + o * inDim, dx + b * dxStride, inDim) }
            }
        }
    }

    @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// PyTorch `Softplus()` (beta 1, threshold 20).
    @inline(__always) static func softplus(_ x: Float) -> Float { x > 20 ? x : log1p(exp(x)) }
    /// d softplus / dx.
    @inline(__always) static func softplusGrad(_ x: Float) -> Float { x > 20 ? 1 : sigmoid(x) }

    /// Applies `activation` to `n` pre-activations.
    static func activate(_ activation: BackboneActivation, _ pre: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        switch activation {
        case .lecunTanh: for i in 0..<n { out[i] = 1.7159 * tanh(0.666 * pre[i]) }
        case .tanh: for i in 0..<n { out[i] = tanh(pre[i]) }
        case .relu: for i in 0..<n { out[i] = max(pre[i], 0) }
        case .silu: for i in 0..<n { out[i] = pre[i] * sigmoid(pre[i]) }
        case .gelu: for i in 0..<n { out[i] = 0.5 * pre[i] * (1 + erf(pre[i] / 2.0.squareRoot().float)) }
        }
    }

    /// d activation / d pre, multiplied into `grad` in place.
    static func activationBackward(_ activation: BackboneActivation, _ pre: UnsafePointer<Float>, _ grad: UnsafeMutablePointer<Float>, _ n: Int) {
        switch activation {
        case .lecunTanh:
            for i in 0..<n { let t = tanh(0.666 * pre[i]); grad[i] *= 1.7159 * 0.666 * (1 - t * t) }
        case .tanh:
            for i in 0..<n { let t = tanh(pre[i]); grad[i] *= 1 - t * t }
        case .relu:
            for i in 0..<n where pre[i] <= 0 { grad[i] = 0 }
        case .silu:
            for i in 0..<n { let s = sigmoid(pre[i]); grad[i] *= s * (1 + pre[i] * (1 - s)) }
        case .gelu:
            let invSqrt2 = Float(1 / 2.0.squareRoot()), invSqrt2Pi = Float(1 / (2 * Double.pi).squareRoot())
            for i in 0..<n {
                let x = pre[i]
                grad[i] *= 0.5 * (1 + erf(x * invSqrt2)) + x * exp(-0.5 * x * x) * invSqrt2Pi
            }
        }
    }
}

extension Double {
    var float: Float { Float(self) }
}
