import Foundation

extension Ops {
    /// `a + b` (same shape).
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.count == b.count, "add: shapes \(a.shape) and \(b.shape)")
        let n = a.count
        let y = uninitializedFloats(n) { yp in
            a.data.withUnsafeBufferPointer { ap in
                b.data.withUnsafeBufferPointer { bp in
                    kernels.parallel(n, work: n, alignment: 16) { r in
                        kernels.sum(ap.baseAddress! + r.lowerBound, bp.baseAddress! + r.lowerBound, yp + r.lowerBound, r.count)
                    }
                }
            }
        }
        let out = Tensor(shape: a.shape, data: y)
        return tape.record(out, inputs: [a, b]) { [kernels] in
            for input in [a, b] where needsGrad(input) { passGradient(out, to: input, kernels) }
        }
    }

    /// `a ⊙ b` (same shape).
    public func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.count == b.count, "mul: shapes \(a.shape) and \(b.shape)")
        var y = a.data
        for i in y.indices { y[i] *= b.data[i] }
        let out = Tensor(shape: a.shape, data: y)
        return tape.record(out, inputs: [a, b]) {
            if needsGrad(a) { a.accumulate(zip(out.grad, b.data).map { $0 * $1 }) }
            if needsGrad(b) { b.accumulate(zip(out.grad, a.data).map { $0 * $1 }) }
        }
    }

    /// `silu(gate) ⊙ up`, SwiGLU's gating (`silu(g) = g·σ(g)`).
    public func siluMul(_ gate: Tensor, _ up: Tensor) -> Tensor {
        precondition(gate.count == up.count, "siluMul: shapes \(gate.shape) and \(up.shape)")
        let n = gate.count
        let y = uninitializedFloats(n) { yp in
            gate.data.withUnsafeBufferPointer { g in
                up.data.withUnsafeBufferPointer { u in
                    kernels.parallel(n, work: n * 8, alignment: 16) { r in
                        kernels.siluMulForward(g.baseAddress! + r.lowerBound, u.baseAddress! + r.lowerBound, yp + r.lowerBound, r.count)
                    }
                }
            }
        }
        let out = Tensor(shape: gate.shape, data: y)
        return tape.record(out, inputs: [gate, up]) { [kernels] in
            let wantGate = needsGrad(gate), wantUp = needsGrad(up)
            gate.data.withUnsafeBufferPointer { g in
                up.data.withUnsafeBufferPointer { u in
                    out.grad.withUnsafeBufferPointer { dy in
                        // Two passes (one per input) so each can overwrite or add on its own.
                        if wantGate {
                            gate.writeGrad { dg, accumulate in
                                kernels.parallel(n, work: n * 8, alignment: 16) { r in
                                    let o = r.lowerBound
                                    kernels.siluMulBackward(g.baseAddress! + o, u.baseAddress! + o, dy.baseAddress! + o, r.count,
                                                            dg + o, nil, accumulate ? 1 : 0)
                                }
                            }
                        }
                        if wantUp {
                            up.writeGrad { du, accumulate in
                                kernels.parallel(n, work: n * 8, alignment: 16) { r in
                                    let o = r.lowerBound
                                    kernels.siluMulBackward(g.baseAddress! + o, u.baseAddress! + o, dy.baseAddress! + o, r.count,
                                                            nil, du + o, accumulate ? 1 : 0)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Columns `start ..< start + count` of every row of `x` (e.g. the B, C, X thirds of `in_proj`).
    public func columns(_ x: Tensor, start: Int, count: Int) -> Tensor {
        let rows = x.rows, width = x.columns
        var y = [Float](repeating: 0, count: rows * count)
        for r in 0..<rows {
            for j in 0..<count { y[r * count + j] = x.data[r * width + start + j] }
        }
        let out = Tensor(shape: Array(x.shape.dropLast()) + [count], data: y)
        return tape.record(out, inputs: [x]) {
            var d = [Float](repeating: 0, count: x.count)
            for r in 0..<rows {
                for j in 0..<count { d[r * width + start + j] = out.grad[r * count + j] }
            }
            x.accumulate(d)
        }
    }
}

/// Adds (or copies, when it has none yet) `out`'s gradient into `input`'s.
func passGradient(_ out: Tensor, to input: Tensor, _ kernels: TrainingKernels) {
    let n = out.count
    if input.grad.isEmpty {
        input.grad = out.grad // copy-on-write: shares storage until either changes
        return
    }
    input.grad.withUnsafeMutableBufferPointer { g in
        out.grad.withUnsafeBufferPointer { kernels.add(into: g.baseAddress!, $0.baseAddress!, count: n) }
    }
}
