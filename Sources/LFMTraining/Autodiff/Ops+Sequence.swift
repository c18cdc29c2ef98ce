import CLFMKernels
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

    /// Gated short convolution of an LFM2 conv block on `bcx` `[R, 3H]` (B | C | X thirds of
    /// `in_proj`), rows in sequences of `sequenceLength` with zero history:
    /// `y = C ⊙ causalConv(B ⊙ X)` → `[R, H]` (one fused op: same values as columns, mul,
    /// causalConv, mul).
    public func gatedConv(_ bcx: Tensor, weight w: Tensor, kernel: Int, sequenceLength: Int) -> Tensor {
        let rows = bcx.rows, h = bcx.columns / 3
        precondition(bcx.columns == 3 * h && w.count == h * kernel && rows % sequenceLength == 0,
                     "gatedConv: \(bcx.shape), weight \(w.shape), sequences of \(sequenceLength)")
        var bx = [Float](repeating: 0, count: rows * h), u = bx
        let y = uninitializedFloats(rows * h) { yp in
            bcx.data.withUnsafeBufferPointer { a in
                w.data.withUnsafeBufferPointer { wp in
                    bx.withUnsafeMutableBufferPointer { bxp in
                        u.withUnsafeMutableBufferPointer { up in
                            kernels.parallel(h, work: rows * h * (kernel + 2), alignment: 16) { c in
                                kernels.gatedConvForward(a.baseAddress!, rows, sequenceLength, h, kernel, wp.baseAddress!,
                                                         c.lowerBound, c.upperBound, bxp.baseAddress!, up.baseAddress!, yp)
                            }
                        }
                    }
                }
            }
        }
        let out = Tensor(shape: Array(bcx.shape.dropLast()) + [h], data: y)
        return tape.record(out, inputs: [bcx, w]) { [kernels] in
            var dw = [Float](repeating: 0, count: w.count)
            let compute = { (dbcx: UnsafeMutablePointer<Float>, accumulate: Bool) in
                bcx.data.withUnsafeBufferPointer { a in
                    w.data.withUnsafeBufferPointer { wp in
                        bx.withUnsafeBufferPointer { bxp in
                            u.withUnsafeBufferPointer { up in
                                out.grad.withUnsafeBufferPointer { dy in
                                    dw.withUnsafeMutableBufferPointer { dwp in
                                        kernels.parallel(h, work: rows * h * (2 * kernel + 3), alignment: 16) { c in
                                            kernels.gatedConvBackward(a.baseAddress!, bxp.baseAddress!, up.baseAddress!, dy.baseAddress!,
                                                                      rows, sequenceLength, h, kernel, wp.baseAddress!,
                                                                      c.lowerBound, c.upperBound, dbcx, accumulate ? 1 : 0, dwp.baseAddress!)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if needsGrad(bcx) {
                bcx.writeGrad { compute($0, $1) }
            } else {
                var scratch = [Float](repeating: 0, count: bcx.count)
                scratch.withUnsafeMutableBufferPointer { compute($0.baseAddress!, false) }
            }
            if needsGrad(w) { w.accumulate(dw) }
        }
    }

    /// NeoX rotary embedding on rows of `heads · headDim`; row `r` is at position
    /// `r % sequenceLength` (rows are whole sequences back to back; default: one sequence).
    public func rope(_ x: Tensor, heads: Int, headDim: Int, inverseFrequencies: [Float], sequenceLength: Int? = nil) -> Tensor {
        let t = x.rows, half = headDim / 2, length = sequenceLength ?? t
        precondition(x.columns == heads * headDim && t % length == 0, "rope: \(x.shape) for \(heads) × \(headDim)")
        var cosines = [Float](repeating: 0, count: length * half), sines = cosines
        for p in 0..<length {
            for j in 0..<half {
                let angle = Float(p) * inverseFrequencies[j]
                cosines[p * half + j] = cos(angle)
                sines[p * half + j] = sin(angle)
            }
        }
        let kernels = self.kernels
        func rotate(_ values: inout [Float], direction: Float) {
            values.withUnsafeMutableBufferPointer { v in
                cosines.withUnsafeBufferPointer { c in
                    sines.withUnsafeBufferPointer { s in
                        kernels.parallel(t, work: t * heads * headDim * 2) { r in
                            kernels.rope(v.baseAddress!, heads, headDim, length, c.baseAddress!, s.baseAddress!, direction,
                                         r.lowerBound, r.upperBound)
                        }
                    }
                }
            }
        }
        var y = x.data
        rotate(&y, direction: 1)
        let out = Tensor(shape: x.shape, data: y)
        return tape.record(out, inputs: [x]) {
            var d = out.grad
            rotate(&d, direction: -1)
            x.accumulate(d)
        }
    }

    /// Causal grouped-query attention over whole sequences: q `[R, heads·d]`, k and v
    /// `[R, kvHeads·d]` → `[R, heads·d]`, scores scaled by `scale`; rows are sequences of
    /// `sequenceLength` back to back (default: one sequence), each attending only to itself.
    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, kvHeads: Int, headDim d: Int, scale: Float,
                          sequenceLength: Int? = nil) -> Tensor {
        let rows = q.rows, length = sequenceLength ?? rows
        precondition(rows % length == 0 && heads % kvHeads == 0, "attention: \(rows) rows in sequences of \(length)")
        let sequences = rows / length
        // The kernels write every probability (zeros past the diagonal) and every output value.
        var y = [Float]()
        let probabilities = uninitializedFloats(sequences * heads * length * length) { pp in
            y = uninitializedFloats(rows * heads * d) { yp in
                q.data.withUnsafeBufferPointer { qp in
                    k.data.withUnsafeBufferPointer { kp in
                        v.data.withUnsafeBufferPointer { vp in
                            let scratch = lfm_tr_attention_scratch_floats(length, d, 0)
                            kernels.parallel(sequences * heads, work: sequences * heads * length * length * d) { items in
                                withUnsafeTemporaryAllocation(of: Float.self, capacity: scratch) { sp in
                                    kernels.attentionForward(qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, length, heads, kvHeads, d,
                                                             scale, items.lowerBound, items.upperBound, pp, yp, sp.baseAddress)
                                }
                            }
                        }
                    }
                }
            }
        }
        let out = Tensor(shape: q.shape, data: y)
        return tape.record(out, inputs: [q, k, v]) { [kernels] in
            // The kernel overwrites every value of dq and zeroes dk and dv before adding into them.
            var dk = [Float](), dv = [Float]()
            let dq = uninitializedFloats(q.count) { dqp in
                dk = uninitializedFloats(k.count) { dkp in
                    dv = uninitializedFloats(v.count) { dvp in
                        q.data.withUnsafeBufferPointer { qp in
                            k.data.withUnsafeBufferPointer { kp in
                                v.data.withUnsafeBufferPointer { vp in
                                    probabilities.withUnsafeBufferPointer { pp in
                                        out.grad.withUnsafeBufferPointer { dy in
                                            let scratch = lfm_tr_attention_scratch_floats(length, d, 1)
                                            kernels.parallel(sequences * kvHeads, work: sequences * heads * length * length * d * 3) { items in
                                                withUnsafeTemporaryAllocation(of: Float.self, capacity: scratch) { sp in
                                                    kernels.attentionBackward(qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, pp.baseAddress!,
                                                                              dy.baseAddress!, length, heads, kvHeads, d, scale,
                                                                              items.lowerBound, items.upperBound, dqp, dkp, dvp,
                                                                              sp.baseAddress)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
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
        let ids = targets.map { Int64($0) }
        let counted = targets.filter { $0 >= 0 }.count
        var logSumExp = [Float](repeating: 0, count: t)
        // Per-chunk sums in chunk order: deterministic for a given thread count.
        let chunks = max(1, min(t, kernels.pool.threadCount * 2))
        let chunkSize = (t + chunks - 1) / chunks
        var partial = [Double](repeating: 0, count: chunks)
        logits.data.withUnsafeBufferPointer { lp in
            ids.withUnsafeBufferPointer { ip in
                logSumExp.withUnsafeMutableBufferPointer { sp in
                    partial.withUnsafeMutableBufferPointer { pp in
                        let partialBase = pp.baseAddress!, sums = sp.baseAddress!
                        let body = { (c: Int) in
                            let r0 = c * chunkSize, r1 = min(t, r0 + chunkSize)
                            guard r0 < r1 else { return }
                            partialBase[c] = kernels.crossEntropyForward(lp.baseAddress!, vocabulary, ip.baseAddress!, r0, r1, sums)
                        }
                        if t * vocabulary >= TrainingKernels.minimumParallelWork { kernels.pool.parallelFor(chunks, body) } else { for c in 0..<chunks { body(c) } }
                    }
                }
            }
        }
        let total = partial.reduce(0, +)
        let out = Tensor(shape: [1], data: [Float(total / Double(max(counted, 1)))])
        return tape.record(out, inputs: [logits]) { [kernels] in
            let scale = out.grad[0] / Float(max(counted, 1))
            let compute = { (d: UnsafeMutablePointer<Float>) in
                logits.data.withUnsafeBufferPointer { lp in
                    ids.withUnsafeBufferPointer { ip in
                        logSumExp.withUnsafeBufferPointer { sp in
                            kernels.parallel(t, work: t * vocabulary * 4) { r in
                                kernels.crossEntropyBackward(lp.baseAddress!, vocabulary, ip.baseAddress!, sp.baseAddress!, scale,
                                                             r.lowerBound, r.upperBound, d)
                            }
                        }
                    }
                }
            }
            logits.writeGrad { g, accumulate in
                guard accumulate else { compute(g); return }
                let d = uninitializedFloats(t * vocabulary, compute)
                d.withUnsafeBufferPointer { kernels.add(into: g, $0.baseAddress!, count: t * vocabulary) }
            }
        }
    }
}
