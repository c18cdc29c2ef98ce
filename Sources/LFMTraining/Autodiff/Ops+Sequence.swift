import Foundation

extension Ops {
    /// Depthwise causal convolution along the sequence with zero history:
    /// `u[t, c] = Σ_j w[c, j] · v[t − (L − 1) + j, c]`, `v[τ] = 0` for `τ < 0`.
    /// v `[T, C]`, w `[C, L]` → `[T, C]`.
    public func causalConv(_ v: Tensor, weight w: Tensor, kernel: Int) -> Tensor {
        let t = v.rows, c = v.columns
        precondition(w.count == c * kernel, "causalConv: weight \(w.shape) for \(c) channels × \(kernel)")
        var y = [Float](repeating: 0, count: t * c)
        for i in 0..<t {
            for j in 0..<kernel {
                let source = i - (kernel - 1) + j
                guard source >= 0 else { continue }
                for ch in 0..<c { y[i * c + ch] += w.data[ch * kernel + j] * v.data[source * c + ch] }
            }
        }
        let out = Tensor(shape: v.shape, data: y)
        return tape.record(out, inputs: [v, w]) {
            let du = out.grad
            var dv = [Float](repeating: 0, count: v.count)
            var dw = [Float](repeating: 0, count: w.count)
            for i in 0..<t {
                for j in 0..<kernel {
                    let source = i - (kernel - 1) + j
                    guard source >= 0 else { continue }
                    for ch in 0..<c {
                        dv[source * c + ch] += w.data[ch * kernel + j] * du[i * c + ch]
                        dw[ch * kernel + j] += v.data[source * c + ch] * du[i * c + ch]
                    }
                }
            }
            if needsGrad(v) { v.accumulate(dv) }
            if needsGrad(w) { w.accumulate(dw) }
        }
    }

    /// NeoX rotary embedding on rows of `heads · headDim` at positions `0 ..< T`.
    public func rope(_ x: Tensor, heads: Int, headDim: Int, inverseFrequencies: [Float]) -> Tensor {
        let t = x.rows, half = headDim / 2
        precondition(x.columns == heads * headDim, "rope: \(x.shape) for \(heads) × \(headDim)")
        var cosines = [Float](repeating: 0, count: t * half), sines = cosines
        for p in 0..<t {
            for j in 0..<half {
                let angle = Float(p) * inverseFrequencies[j]
                cosines[p * half + j] = cos(angle)
                sines[p * half + j] = sin(angle)
            }
        }
        func rotate(_ input: [Float], direction: Float) -> [Float] {
            var out = input
            for p in 0..<t {
                for h in 0..<heads {
                    let base = p * heads * headDim + h * headDim
                    for j in 0..<half {
                        let cs = cosines[p * half + j], sn = direction * sines[p * half + j]
                        let a = input[base + j], b = input[base + j + half]
                        out[base + j] = a * cs - b * sn
                        out[base + j + half] = b * cs + a * sn
                    }
                }
            }
            return out
        }
        let out = Tensor(shape: x.shape, data: rotate(x.data, direction: 1))
        return tape.record(out, inputs: [x]) { x.accumulate(rotate(out.grad, direction: -1)) }
    }

    /// Causal grouped-query attention over a whole sequence: q `[T, heads·d]`, k and v
    /// `[T, kvHeads·d]` → `[T, heads·d]`, scores scaled by `scale`.
    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, kvHeads: Int, headDim d: Int, scale: Float) -> Tensor {
        let t = q.rows, group = heads / kvHeads
        let qWidth = heads * d, kvWidth = kvHeads * d
        var probabilities = [Float](repeating: 0, count: heads * t * t)
        var y = [Float](repeating: 0, count: t * qWidth)
        for h in 0..<heads {
            let kh = h / group
            for i in 0..<t {
                var maximum = -Float.infinity
                for j in 0...i {
                    var dot: Float = 0
                    for e in 0..<d { dot += q.data[i * qWidth + h * d + e] * k.data[j * kvWidth + kh * d + e] }
                    probabilities[(h * t + i) * t + j] = dot * scale
                    maximum = max(maximum, dot * scale)
                }
                var total: Float = 0
                for j in 0...i {
                    let e = exp(probabilities[(h * t + i) * t + j] - maximum)
                    probabilities[(h * t + i) * t + j] = e
                    total += e
                }
                for j in 0...i {
                    probabilities[(h * t + i) * t + j] /= total
                    let p = probabilities[(h * t + i) * t + j]
                    for e in 0..<d { y[i * qWidth + h * d + e] += p * v.data[j * kvWidth + kh * d + e] }
                }
            }
        }
        let out = Tensor(shape: q.shape, data: y)
        return tape.record(out, inputs: [q, k, v]) {
            let dy = out.grad
            var dq = [Float](repeating: 0, count: q.count)
            var dk = [Float](repeating: 0, count: k.count)
            var dv = [Float](repeating: 0, count: v.count)
            var dp = [Float](repeating: 0, count: t)
            for h in 0..<heads {
                let kh = h / group
                for i in 0..<t {
                    var weighted: Float = 0
                    for j in 0...i {
                        var dot: Float = 0
                        for e in 0..<d { dot += dy[i * qWidth + h * d + e] * v.data[j * kvWidth + kh * d + e] }
                        dp[j] = dot
                        weighted += dot * probabilities[(h * t + i) * t + j]
                    }
                    for j in 0...i {
                        let p = probabilities[(h * t + i) * t + j]
                        let ds = p * (dp[j] - weighted) * scale
                        for e in 0..<d {
                            dq[i * qWidth + h * d + e] += ds * k.data[j * kvWidth + kh * d + e]
                            dk[j * kvWidth + kh * d + e] += ds * q.data[i * qWidth + h * d + e]
                            dv[j * kvWidth + kh * d + e] += p * dy[i * qWidth + h * d + e]
                        }
                    }
                }
            }
            if needsGrad(q) { q.accumulate(dq) }
            if needsGrad(k) { k.accumulate(dk) }
            if needsGrad(v) { v.accumulate(dv) }
        }
    }

    /// Mean softmax cross-entropy of `logits` `[T, V]` against `targets` (ids; negative ids are
    /// ignored, like PyTorch's `ignore_index=-100`). Returns a scalar.
    public func crossEntropy(_ logits: Tensor, targets: [Int]) -> Tensor {
        let t = logits.rows, vocabulary = logits.columns
        precondition(targets.count == t, "crossEntropy: \(targets.count) targets for \(t) rows")
        var softmax = [Float](repeating: 0, count: logits.count)
        var total = 0.0
        let counted = targets.filter { $0 >= 0 }.count
        for i in 0..<t {
            let row = i * vocabulary
            var maximum = -Float.infinity
            for j in 0..<vocabulary { maximum = max(maximum, logits.data[row + j]) }
            var sum = 0.0
            for j in 0..<vocabulary {
                let e = exp(Double(logits.data[row + j] - maximum))
                softmax[row + j] = Float(e)
                sum += e
            }
            for j in 0..<vocabulary { softmax[row + j] = Float(Double(softmax[row + j]) / sum) }
            if targets[i] >= 0 {
                total += -(Double(logits.data[row + targets[i]] - maximum) - log(sum))
            }
        }
        let out = Tensor(shape: [1], data: [Float(total / Double(max(counted, 1)))])
        return tape.record(out, inputs: [logits]) {
            let scale = out.grad[0] / Float(max(counted, 1))
            var d = [Float](repeating: 0, count: logits.count)
            for i in 0..<t where targets[i] >= 0 {
                for j in 0..<vocabulary { d[i * vocabulary + j] = softmax[i * vocabulary + j] * scale }
                d[i * vocabulary + targets[i]] -= scale
            }
            logits.accumulate(d)
        }
    }
}
