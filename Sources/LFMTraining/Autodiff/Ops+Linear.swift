import LFMKernels

/// Matrix products on the engine's kernels: forward and both gradients are `matmul` calls.
public struct Ops: @unchecked Sendable {
    /// Kernels used by every op.
    public let backend: ComputeBackend
    /// The tape ops record on.
    public let tape: Tape

    /// Ops that record on `tape` and compute with `backend`.
    public init(backend: ComputeBackend, tape: Tape) {
        self.backend = backend
        self.tape = tape
    }

    /// `y = x · wᵀ`: x `[T, K]`, w `[N, K]` → `[T, N]` (a bias-free linear layer, PyTorch layout).
    public func linear(_ x: Tensor, _ w: Tensor) -> Tensor {
        let t = x.rows, k = x.columns, n = w.shape[0]
        precondition(w.columns == k, "linear: x has \(k) columns, w has \(w.columns)")
        var y = [Float](repeating: 0, count: t * n)
        product(a: x.data, rows: t, b: w.data, bRows: n, inner: k, into: &y)
        let out = Tensor(shape: Array(x.shape.dropLast()) + [n], data: y)
        return tape.record(out, inputs: [x, w]) { [backend] in
            let dy = out.grad
            if needsGrad(x) {
                // dx = dy · w  = dy · (wᵀ)ᵀ: rows of wᵀ are the columns of w.
                let wT = transpose(w.data, rows: n, columns: k)
                var dx = [Float](repeating: 0, count: t * k)
                Ops.product(backend, a: dy, rows: t, b: wT, bRows: k, inner: n, into: &dx)
                x.accumulate(dx)
            }
            if needsGrad(w) {
                // dw = dyᵀ · x: [N, K] = Σ_t dy[t, n] x[t, k].
                let dyT = transpose(dy, rows: t, columns: n)
                let xT = transpose(x.data, rows: t, columns: k)
                var dw = [Float](repeating: 0, count: n * k)
                Ops.product(backend, a: dyT, rows: n, b: xT, bRows: k, inner: t, into: &dw)
                w.accumulate(dw)
            }
        }
    }

    /// `out[i, j] = Σ_k a[i, k] · b[j, k]` with the backend's matmul.
    func product(a: [Float], rows: Int, b: [Float], bRows: Int, inner: Int, into out: inout [Float]) {
        Ops.product(backend, a: a, rows: rows, b: b, bRows: bRows, inner: inner, into: &out)
    }

    static func product(_ backend: ComputeBackend, a: [Float], rows: Int, b: [Float], bRows: Int, inner: Int,
                        into out: inout [Float]) {
        guard rows > 0, bRows > 0 else { return }
        if inner == 0 { for i in out.indices { out[i] = 0 }; return }
        b.withUnsafeBufferPointer { bp in
            a.withUnsafeBufferPointer { ap in
                out.withUnsafeMutableBufferPointer { op in
                    let w = WeightMatrix(rows: bRows, cols: inner, dtype: .f32, data: UnsafeRawPointer(bp.baseAddress!), owner: nil)
                    backend.matmul(w, x: ap.baseAddress!, xStride: inner, m: rows, y: op.baseAddress!, yStride: bRows)
                }
            }
        }
    }

    /// Rows `ids` of `table` `[V, H]` → `[T, H]` (gradient scatter-added into the table).
    public func embedding(_ table: Tensor, ids: [Int]) -> Tensor {
        let h = table.columns
        var y = [Float](repeating: 0, count: ids.count * h)
        for (i, id) in ids.enumerated() {
            for j in 0..<h { y[i * h + j] = table.data[id * h + j] }
        }
        let out = Tensor(shape: [ids.count, h], data: y)
        return tape.record(out, inputs: [table]) {
            if table.grad.isEmpty { table.grad = [Float](repeating: 0, count: table.count) }
            table.grad.withUnsafeMutableBufferPointer { d in
                for (i, id) in ids.enumerated() {
                    for j in 0..<h { d[id * h + j] += out.grad[i * h + j] }
                }
            }
        }
    }
}

/// Row-major transpose.
func transpose(_ a: [Float], rows: Int, columns: Int) -> [Float] {
    var out = [Float](repeating: 0, count: a.count)
    let blockSize = 32
    for r0 in stride(from: 0, to: rows, by: blockSize) {
        for c0 in stride(from: 0, to: columns, by: blockSize) {
            for r in r0..<min(r0 + blockSize, rows) {
                for c in c0..<min(c0 + blockSize, columns) { out[c * rows + r] = a[r * columns + c] }
            }
        }
    }
    return out
}
