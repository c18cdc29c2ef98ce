extension Ops {
    /// RMSNorm over the last `dim` values of every row: `y = g ⊙ x / sqrt(mean(x²) + eps)`.
    /// `dim` may be smaller than the row (per-head norms: rows of `heads · dim` split into heads).
    public func rmsNorm(_ x: Tensor, weight g: Tensor, dim: Int, eps: Float) -> Tensor {
        precondition(x.count % dim == 0 && g.count == dim, "rmsNorm: \(x.shape) by \(dim)")
        let groups = x.count / dim
        var inverse = [Float](repeating: 0, count: groups)
        var y = [Float](repeating: 0, count: x.count)
        for r in 0..<groups {
            var sum: Float = 0
            for i in 0..<dim { let v = x.data[r * dim + i]; sum += v * v }
            let inv = 1 / (sum / Float(dim) + eps).squareRoot()
            inverse[r] = inv
            for i in 0..<dim { y[r * dim + i] = g.data[i] * (x.data[r * dim + i] * inv) }
        }
        let out = Tensor(shape: x.shape, data: y)
        return tape.record(out, inputs: [x, g]) {
            let dy = out.grad
            if needsGrad(g) {
                var dg = [Float](repeating: 0, count: dim)
                for r in 0..<groups {
                    for i in 0..<dim { dg[i] += dy[r * dim + i] * x.data[r * dim + i] * inverse[r] }
                }
                g.accumulate(dg)
            }
            if needsGrad(x) {
                var dx = [Float](repeating: 0, count: x.count)
                for r in 0..<groups {
                    let inv = inverse[r]
                    var dot: Float = 0
                    for i in 0..<dim { dot += dy[r * dim + i] * g.data[i] * x.data[r * dim + i] }
                    let coefficient = inv * inv * inv * dot / Float(dim)
                    for i in 0..<dim {
                        dx[r * dim + i] = inv * g.data[i] * dy[r * dim + i] - coefficient * x.data[r * dim + i]
                    }
                }
                x.accumulate(dx)
            }
        }
    }
}
