import Foundation

extension Ops {
    /// `a + b` (same shape).
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.count == b.count, "add: shapes \(a.shape) and \(b.shape)")
        var y = a.data
        for i in y.indices { y[i] += b.data[i] }
        let out = Tensor(shape: a.shape, data: y)
        return tape.record(out, inputs: [a, b]) {
            if needsGrad(a) { a.accumulate(out.grad) }
            if needsGrad(b) { b.accumulate(out.grad) }
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
        let sigma = gate.data.map { 1 / (1 + exp(-$0)) }
        var y = [Float](repeating: 0, count: gate.count)
        for i in y.indices { y[i] = gate.data[i] * sigma[i] * up.data[i] }
        let out = Tensor(shape: gate.shape, data: y)
        return tape.record(out, inputs: [gate, up]) {
            if needsGrad(gate) {
                var d = [Float](repeating: 0, count: gate.count)
                for i in d.indices {
                    let g = gate.data[i], s = sigma[i]
                    d[i] = out.grad[i] * up.data[i] * s * (1 + g * (1 - s))
                }
                gate.accumulate(d)
            }
            if needsGrad(up) {
                var d = [Float](repeating: 0, count: up.count)
                for i in d.indices { d[i] = out.grad[i] * gate.data[i] * sigma[i] }
                up.accumulate(d)
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
