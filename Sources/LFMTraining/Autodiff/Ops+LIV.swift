import Foundation

// The token-mixing ops the LIV classes add to LFM2's: banded (sliding-window) attention, LFM3's
// per-head output gate, and the gated diagonal linear recurrence. Plain Swift loops over
// unsafe buffers, split over the kernels' threads where the work is independent.

extension Ops {
    /// Causal grouped-query attention in which the query at position t sees only the keys at
    /// t - window + 1 … t (itself included); shapes as `attention`. A window covering the whole
    /// sequence is ordinary causal attention (and runs its kernel).
    public func slidingAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, kvHeads: Int, headDim d: Int, scale: Float,
                                 window: Int, sequenceLength: Int? = nil) -> Tensor {
        let rows = q.rows, length = sequenceLength ?? rows
        precondition(window >= 1 && rows % length == 0 && heads % kvHeads == 0 && q.columns == heads * d
                     && k.columns == kvHeads * d && v.columns == kvHeads * d,
                     "slidingAttention: q \(q.shape), k \(k.shape), v \(v.shape), window \(window)")
        if window >= length {
            return attention(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: d, scale: scale, sequenceLength: length)
        }
        let sequences = rows / length, w = window, group = heads / kvHeads
        let qStride = heads * d, kvStride = kvHeads * d
        // probabilities[((s · heads + h) · length + t) · w + (j - first)] for the keys j ≥ first = t - w + 1.
        var probabilities = [Float](repeating: 0, count: sequences * heads * length * w)
        var y = [Float](repeating: 0, count: rows * qStride)
        q.data.withUnsafeBufferPointer { qb in
            k.data.withUnsafeBufferPointer { kb in
                v.data.withUnsafeBufferPointer { vb in
                    probabilities.withUnsafeMutableBufferPointer { pb in
                        y.withUnsafeMutableBufferPointer { yb in
                            let qp = qb.baseAddress!, kp = kb.baseAddress!, vp = vb.baseAddress!
                            let pp = pb.baseAddress!, yp = yb.baseAddress!
                            kernels.parallel(sequences * heads, work: sequences * heads * length * w * d * 2) { items in
                                for item in items {
                                    let s = item / heads, h = item % heads, kvh = h / group
                                    for t in 0..<length {
                                        let first = max(0, t - w + 1)
                                        let qRow = qp + (s * length + t) * qStride + h * d
                                        let probs = pp + ((s * heads + h) * length + t) * w
                                        var largest = -Float.infinity
                                        for j in first...t {
                                            let kRow = kp + (s * length + j) * kvStride + kvh * d
                                            var dot: Float = 0
                                            for i in 0..<d { dot += qRow[i] * kRow[i] }
                                            probs[j - first] = dot * scale
                                            largest = max(largest, dot * scale)
                                        }
                                        var total: Float = 0
                                        for j in first...t {
                                            let e = expf(probs[j - first] - largest)
                                            probs[j - first] = e
                                            total += e
                                        }
                                        let out = yp + (s * length + t) * qStride + h * d
                                        for j in first...t {
                                            let p = probs[j - first] / total
                                            probs[j - first] = p
                                            let vRow = vp + (s * length + j) * kvStride + kvh * d
                                            for i in 0..<d { out[i] += p * vRow[i] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let out = Tensor(shape: q.shape, data: y)
        return tape.record(out, inputs: [q, k, v]) { [kernels] in
            var dq = [Float](repeating: 0, count: q.count)
            var dk = [Float](repeating: 0, count: k.count)
            var dv = [Float](repeating: 0, count: v.count)
            q.data.withUnsafeBufferPointer { qb in
                k.data.withUnsafeBufferPointer { kb in
                    v.data.withUnsafeBufferPointer { vb in
                        probabilities.withUnsafeBufferPointer { pb in
                            out.grad.withUnsafeBufferPointer { gb in
                                dq.withUnsafeMutableBufferPointer { dqb in
                                    dk.withUnsafeMutableBufferPointer { dkb in
                                        dv.withUnsafeMutableBufferPointer { dvb in
                                            let qp = qb.baseAddress!, kp = kb.baseAddress!, vp = vb.baseAddress!
                                            let pp = pb.baseAddress!, dy = gb.baseAddress!
                                            let dqp = dqb.baseAddress!, dkp = dkb.baseAddress!, dvp = dvb.baseAddress!
                                            // One item per (sequence, kv head): its dk, dv rows are written by it alone.
                                            kernels.parallel(sequences * kvHeads, work: sequences * heads * length * w * d * 4) { items in
                                                var dp = [Float](repeating: 0, count: w)
                                                for item in items {
                                                    let s = item / kvHeads, kvh = item % kvHeads
                                                    for h in (kvh * group)..<((kvh + 1) * group) {
                                                        for t in 0..<length {
                                                            let first = max(0, t - w + 1)
                                                            let probs = pp + ((s * heads + h) * length + t) * w
                                                            let gRow = dy + (s * length + t) * qStride + h * d
                                                            var weighted: Float = 0
                                                            for j in first...t {
                                                                let vRow = vp + (s * length + j) * kvStride + kvh * d
                                                                var dot: Float = 0
                                                                for i in 0..<d { dot += gRow[i] * vRow[i] }
                                                                dp[j - first] = dot
                                                                weighted += probs[j - first] * dot
                                                            }
                                                            let qRow = qp + (s * length + t) * qStride + h * d
                                                            let dqRow = dqp + (s * length + t) * qStride + h * d
                                                            for j in first...t {
                                                                let p = probs[j - first]
                                                                let ds = p * (dp[j - first] - weighted) * scale
                                                                let row = (s * length + j) * kvStride + kvh * d
                                                                for i in 0..<d {
                                                                    dqRow[i] += ds * kp[row + i]
                                                                    dkp[row + i] += ds * qRow[i]
                                                                    dvp[row + i] += p * gRow[i]
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
                        }
                    }
                }
            }
            if needsGrad(q) { q.accumulate(dq) }
            if needsGrad(k) { k.accumulate(dk) }
            if needsGrad(v) { v.accumulate(dv) }
        }
    }

    /// LFM3's attention output gate: each head's `headDim` values of `x` `[R, heads·headDim]`
    /// times `sigmoid(logits[r, head])` (`logits` `[R, heads]`, the gate projection of the mixer's input).
    public func headGate(_ x: Tensor, logits: Tensor, heads: Int, headDim d: Int) -> Tensor {
        let rows = x.rows
        precondition(x.columns == heads * d && logits.rows == rows && logits.columns == heads,
                     "headGate: x \(x.shape), logits \(logits.shape), \(heads) heads of \(d)")
        let gates = logits.data.map { 1 / (1 + expf(-$0)) }
        var y = x.data
        for r in 0..<rows {
            for h in 0..<heads {
                let g = gates[r * heads + h], base = r * heads * d + h * d
                for i in 0..<d { y[base + i] *= g }
            }
        }
        let out = Tensor(shape: x.shape, data: y)
        return tape.record(out, inputs: [x, logits]) {
            var dx = [Float](repeating: 0, count: needsGrad(x) ? x.count : 0)
            var dl = [Float](repeating: 0, count: needsGrad(logits) ? logits.count : 0)
            for r in 0..<rows {
                for h in 0..<heads {
                    let g = gates[r * heads + h], base = r * heads * d + h * d
                    var dot: Float = 0
                    for i in 0..<d {
                        let dy = out.grad[base + i]
                        dot += dy * x.data[base + i]
                        if !dx.isEmpty { dx[base + i] = dy * g }
                    }
                    if !dl.isEmpty { dl[r * heads + h] = dot * g * (1 - g) }
                }
            }
            if !dx.isEmpty { x.accumulate(dx) }
            if !dl.isEmpty { logits.accumulate(dl) }
        }
    }

    /// The gated diagonal linear recurrence of the LIV recurrence class on `uzf` `[R, 2H + groups]`
    /// (columns u, z, decay logits f), rows in sequences of `sequenceLength`, zero initial state:
    /// `a_t = sigmoid(f_t + decayBias)` per group (channel c in group `c / (H / groups)`),
    /// `h_t = a_t ⊙ h_{t-1} + (1 - a_t) ⊙ u_t`, output `h_t ⊙ silu(z_t)` `[R, H]`.
    public func recurrence(_ uzf: Tensor, decayBias: Tensor, hidden h: Int, sequenceLength: Int) -> Tensor {
        let rows = uzf.rows, groups = decayBias.count, width = 2 * h + groups
        precondition(groups >= 1 && h % groups == 0 && uzf.columns == width && rows % sequenceLength == 0,
                     "recurrence: uzf \(uzf.shape), \(groups) groups, hidden \(h), sequences of \(sequenceLength)")
        let perGroup = h / groups, sequences = rows / sequenceLength
        var decays = [Float](repeating: 0, count: rows * groups)
        var states = [Float](repeating: 0, count: rows * h)
        var y = [Float](repeating: 0, count: rows * h)
        for r in 0..<rows {
            for g in 0..<groups { decays[r * groups + g] = 1 / (1 + expf(-(uzf.data[r * width + 2 * h + g] + decayBias.data[g]))) }
        }
        uzf.data.withUnsafeBufferPointer { xb in
            decays.withUnsafeBufferPointer { ab in
                states.withUnsafeMutableBufferPointer { sb in
                    y.withUnsafeMutableBufferPointer { yb in
                        let xp = xb.baseAddress!, ap = ab.baseAddress!, sp = sb.baseAddress!, yp = yb.baseAddress!
                        kernels.parallel(h, work: rows * h * 8) { channels in
                            for s in 0..<sequences {
                                for c in channels {
                                    let g = c / perGroup
                                    var state: Float = 0
                                    for t in 0..<sequenceLength {
                                        let r = s * sequenceLength + t
                                        let a = ap[r * groups + g]
                                        state = a * state + (1 - a) * xp[r * width + c]
                                        sp[r * h + c] = state
                                        let z = xp[r * width + h + c]
                                        yp[r * h + c] = state * z / (1 + expf(-z))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let out = Tensor(shape: Array(uzf.shape.dropLast()) + [h], data: y)
        return tape.record(out, inputs: [uzf, decayBias]) { [kernels] in
            var dx = [Float](repeating: 0, count: uzf.count)
            var dBias = [Double](repeating: 0, count: groups)
            uzf.data.withUnsafeBufferPointer { xb in
                decays.withUnsafeBufferPointer { ab in
                    states.withUnsafeBufferPointer { sb in
                        out.grad.withUnsafeBufferPointer { gb in
                            dx.withUnsafeMutableBufferPointer { db in
                                dBias.withUnsafeMutableBufferPointer { bb in
                                    let xp = xb.baseAddress!, ap = ab.baseAddress!, sp = sb.baseAddress!, dy = gb.baseAddress!
                                    let dxp = db.baseAddress!, dbp = bb.baseAddress!
                                    // One item per decay group: its channels, its logit column and its bias are its own.
                                    kernels.parallel(groups, work: rows * h * 12) { range in
                                        for g in range {
                                            for s in 0..<sequences {
                                                for c in (g * perGroup)..<((g + 1) * perGroup) {
                                                    var carried: Float = 0 // d loss / d h_t through a_{t+1} h_t
                                                    for t in stride(from: sequenceLength - 1, through: 0, by: -1) {
                                                        let r = s * sequenceLength + t
                                                        let z = xp[r * width + h + c], sigma = 1 / (1 + expf(-z))
                                                        let state = sp[r * h + c], dOut = dy[r * h + c]
                                                        dxp[r * width + h + c] = dOut * state * sigma * (1 + z * (1 - sigma))
                                                        let dState = dOut * z * sigma + carried
                                                        let a = ap[r * groups + g]
                                                        let previous = t > 0 ? sp[(r - 1) * h + c] : 0
                                                        dxp[r * width + c] = dState * (1 - a)
                                                        let dLogit = dState * (previous - xp[r * width + c]) * a * (1 - a)
                                                        dxp[r * width + 2 * h + g] += dLogit
                                                        dbp[g] += Double(dLogit)
                                                        carried = dState * a
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
            }
            if needsGrad(uzf) { uzf.accumulate(dx) }
            if needsGrad(decayBias) { decayBias.accumulate(dBias.map { Float($0) }) }
        }
    }
}
