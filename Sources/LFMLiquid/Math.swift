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
            acc += load8(a + i) * load8(b + i)
            i += 8
        }
        var sum = acc.sum()
        while i < n { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    /// y[b, o] = bias[o] + Σ_i x[b, i] · w[o, i] (x rows have stride `xStride`). Four batch rows
    /// share each load of a weight row; every sum is taken in the same order as `dot`.
    static func linear(batch: Int, inDim: Int, outDim: Int, x: UnsafePointer<Float>, xStride: Int,
                       w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, yStride: Int) {
        var b = 0
        while b + 4 <= batch {
            let x0 = x + b * xStride, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride
            let y0 = y + b * yStride
            for o in 0..<outDim {
                let wr = w + o * inDim
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var i = 0
                while i + 8 <= inDim {
                    let wv = load8(wr + i)
                    a0 += load8(x0 + i) * wv
                    a1 += load8(x1 + i) * wv
                    a2 += load8(x2 + i) * wv
                    a3 += load8(x3 + i) * wv
                    i += 8
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                while i < inDim {
                    let wi = wr[i]
                    s0 += x0[i] * wi; s1 += x1[i] * wi; s2 += x2[i] * wi; s3 += x3[i] * wi
                    i += 1
                }
                let bo = bias?[o] ?? 0
                y0[o] = bo + s0
                y0[yStride + o] = bo + s1
                y0[2 * yStride + o] = bo + s2
                y0[3 * yStride + o] = bo + s3
            }
            b += 4
        }
        while b < batch {
            let xr = x + b * xStride
            let yr = y + b * yStride
            for o in 0..<outDim { yr[o] = (bias?[o] ?? 0) + dot(xr, w + o * inDim, inDim) }
            b += 1
        }
    }

    /// Backward of `linear`: dw += dyᵀx, db += Σ dy, dx (+)= dy·w (dx may be nil). Each element
    /// of dw sums over the batch in row order and each element of dx over the outputs in order;
    /// eight columns of four rows are held in registers so that each load of x (for dw) or of w
    /// (for dx) serves four rows.
    static func linearBackward(batch: Int, inDim: Int, outDim: Int, x: UnsafePointer<Float>, xStride: Int,
                               w: UnsafePointer<Float>, dy: UnsafePointer<Float>, dyStride: Int,
                               dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                               dx: UnsafeMutablePointer<Float>?, dxStride: Int) {
        let tail = inDim - inDim % 8
        // dw, four output rows at a time.
        var o = 0
        while o + 4 <= outDim {
            accumulateFourRows(dw + o * inDim, rowStride: inDim, coefficients: dy + o, termStep: dyStride, rowStep: 1,
                               terms: x, termStride: xStride, count: batch, columns: tail)
            o += 4
        }
        while o < outDim {
            let d0 = dw + o * inDim
            var i = 0
            while i < tail {
                var a0 = load8(d0 + i)
                for b in 0..<batch { a0 += dy[b * dyStride + o] * load8(x + b * xStride + i) }
                store8(a0, d0 + i)
                i += 8
            }
            o += 1
        }
        for b in 0..<batch {
            let xr = x + b * xStride
            let dyr = dy + b * dyStride
            for o in 0..<outDim {
                let g = dyr[o]
                for j in tail..<inDim { dw[o * inDim + j] += g * xr[j] }
                db?[o] += g
            }
        }
        guard let dx else { return }
        // dx, four batch rows at a time.
        var b = 0
        while b + 4 <= batch {
            accumulateFourRows(dx + b * dxStride, rowStride: dxStride, coefficients: dy + b * dyStride, termStep: 1, rowStep: dyStride,
                               terms: w, termStride: inDim, count: outDim, columns: tail)
            b += 4
        }
        while b < batch {
            let g0 = dy + b * dyStride, x0 = dx + b * dxStride
            var i = 0
            while i < tail {
                var a0 = load8(x0 + i)
                for o in 0..<outDim { a0 += g0[o] * load8(w + o * inDim + i) }
                store8(a0, x0 + i)
                i += 8
            }
            b += 1
        }
        for b in 0..<batch {
            let dyr = dy + b * dyStride, dxr = dx + b * dxStride
            for o in 0..<outDim {
                let g = dyr[o]
                let wr = w + o * inDim
                for j in tail..<inDim { dxr[j] += g * wr[j] }
            }
        }
    }

    /// Four rows r of `c` (row stride `rowStride`), columns 0..<columns in chunks of eight:
    ///   c[r, i] += Σ_k coefficients[k·termStep + r·rowStep] · terms[k·termStride + i], k = 0..<count in order,
    /// with the four rows' chunks held in registers, so each chunk of a term row is loaded once
    /// for four rows. (dW rows: terms = x over the batch; dX rows: terms = W over the outputs.)
    @inline(__always)
    private static func accumulateFourRows(_ c: UnsafeMutablePointer<Float>, rowStride: Int, coefficients g: UnsafePointer<Float>,
                                           termStep: Int, rowStep: Int, terms: UnsafePointer<Float>, termStride: Int,
                                           count: Int, columns: Int) {
        let c0 = c, c1 = c0 + rowStride, c2 = c1 + rowStride, c3 = c2 + rowStride
        var i = 0
        while i < columns {
            var a0 = load8(c0 + i), a1 = load8(c1 + i), a2 = load8(c2 + i), a3 = load8(c3 + i)
            for k in 0..<count {
                let t = load8(terms + k * termStride + i)
                let gk = g + k * termStep
                a0 += gk[0] * t; a1 += gk[rowStep] * t; a2 += gk[2 * rowStep] * t; a3 += gk[3 * rowStep] * t
            }
            store8(a0, c0 + i); store8(a1, c1 + i); store8(a2, c2 + i); store8(a3, c3 + i)
            i += 8
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
        case .lecunTanh: tanh(pre, inScale: 0.666, outScale: 1.7159, into: out, n)
        case .tanh: tanh(pre, into: out, n)
        case .relu: for i in 0..<n { out[i] = max(pre[i], 0) }
        case .silu: for i in 0..<n { out[i] = pre[i] * sigmoid(pre[i]) }
        case .gelu: for i in 0..<n { out[i] = 0.5 * pre[i] * (1 + erf(pre[i] / 2.0.squareRoot().float)) }
        }
    }

    /// d activation / d pre, multiplied into `grad` in place.
    static func activationBackward(_ activation: BackboneActivation, _ pre: UnsafePointer<Float>, _ grad: UnsafeMutablePointer<Float>, _ n: Int) {
        switch activation {
        case .lecunTanh: tanhBackward(pre, inScale: 0.666, outScale: 1.7159, grad, n)
        case .tanh: tanhBackward(pre, grad, n)
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
