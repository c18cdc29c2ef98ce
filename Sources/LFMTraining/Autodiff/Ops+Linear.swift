import CLFMKernels
import LFMKernels

/// Number formats of the training matrix products.
public enum TrainingPrecision: String, Sendable, CaseIterable {
    /// F32 everywhere.
    case f32
    /// Matrix products (forward and both gradients) round their two operands to BF16 and
    /// accumulate in F32 (`vdpbf16ps`); master weights, gradients, optimizer state and every
    /// other op stay F32. Needs AVX512_BF16 (`ISA.avx512(bf16: true, ...)`).
    case bf16
}

/// The differentiable operations, computed with the engine's matmul (`backend`) and the
/// training kernels (CLFMKernelsTraining.h) split over the backend's threads.
public struct Ops {
    /// Kernels used by every op.
    public let backend: ComputeBackend
    /// The tape ops record on.
    public let tape: Tape
    /// Format of the matrix products.
    public let precision: TrainingPrecision
    let kernels: TrainingKernels

    /// Ops that record on `tape` and compute with `backend` (F32).
    public init(backend: ComputeBackend, tape: Tape) {
        self.backend = backend
        self.tape = tape
        precision = .f32
        kernels = TrainingKernels(backend: backend)
    }

    /// Ops whose matrix products use `precision`; throws when the CPU cannot run it.
    public init(backend: ComputeBackend, tape: Tape, precision: TrainingPrecision) throws {
        self.backend = backend
        self.tape = tape
        self.precision = precision
        kernels = TrainingKernels(backend: backend)
        if precision == .bf16 && !kernels.hasBF16Dot {
            throw TrainingError.unsupportedPrecision(precision.rawValue, detail: "needs AVX512_BF16; this backend runs \(backend)")
        }
    }

    /// The same ops recording on another tape.
    func on(_ other: Tape) -> Ops {
        Ops(backend: backend, tape: other, precision: precision, kernels: kernels)
    }

    private init(backend: ComputeBackend, tape: Tape, precision: TrainingPrecision, kernels: TrainingKernels) {
        self.backend = backend
        self.tape = tape
        self.precision = precision
        self.kernels = kernels
    }

    /// `y = x · wᵀ`: x `[T, K]`, w `[N, K]` → `[T, N]` (a bias-free linear layer, PyTorch layout).
    public func linear(_ x: Tensor, _ w: Tensor) -> Tensor {
        let t = x.rows, k = x.columns, n = w.shape[0]
        precondition(w.columns == k, "linear: x has \(k) columns, w has \(w.columns)")
        if precision == .bf16 { return linearBF16(x, w) }
        // Forward y = x · wᵀ: w [N, K] read as the transposed B.
        let y = uninitializedFloats(t * n) { yp in
            x.data.withUnsafeBufferPointer { xp in
                w.data.withUnsafeBufferPointer { wp in
                    kernels.gemm(transposedA: false, transposedB: true, m: t, n: n, k: k, xp.baseAddress!, lda: k,
                                 wp.baseAddress!, ldb: k, yp, ldc: n, accumulate: false)
                }
            }
        }
        let out = Tensor(shape: Array(x.shape.dropLast()) + [n], data: y)
        return tape.record(out, inputs: [x, w]) { [kernels] in
            out.grad.withUnsafeBufferPointer { dyb in
                let dy = dyb.baseAddress!
                if needsGrad(x) {
                    // dx [T, K] = dy [T, N] · w [N, K].
                    w.data.withUnsafeBufferPointer { wp in
                        x.writeGrad { dx, accumulate in
                            kernels.gemm(transposedA: false, m: t, n: k, k: n, dy, lda: n, wp.baseAddress!, ldb: k,
                                         dx, ldc: k, accumulate: accumulate)
                        }
                    }
                }
                if needsGrad(w) {
                    // dw [N, K] = dyᵀ [N, T] · x [T, K] (dy read transposed in place).
                    x.data.withUnsafeBufferPointer { xp in
                        w.writeGrad { dw, accumulate in
                            kernels.gemm(transposedA: true, m: n, n: k, k: t, dy, lda: n, xp.baseAddress!, ldb: k,
                                         dw, ldc: k, accumulate: accumulate)
                        }
                    }
                }
            }
        }
    }

    /// `linear` with BF16 products (operands rounded to BF16, F32 accumulation): the
    /// `vdpbf16ps` kernel wants both operands with the summed dimension contiguous, so the
    /// gradients go through transposes.
    private func linearBF16(_ x: Tensor, _ w: Tensor) -> Tensor {
        let t = x.rows, k = x.columns, n = w.shape[0]
        let y = uninitializedFloats(t * n) { yp in
            x.data.withUnsafeBufferPointer { xp in
                w.data.withUnsafeBufferPointer { wp in
                    product(xp.baseAddress!, rows: t, wp.baseAddress!, bRows: n, inner: k, into: yp)
                }
            }
        }
        let out = Tensor(shape: Array(x.shape.dropLast()) + [n], data: y)
        // Not `self`: the closure must not hold this tape (the tape holds the closure).
        let ops = on(Tape())
        let kernels = self.kernels
        return tape.record(out, inputs: [x, w]) {
            out.grad.withUnsafeBufferPointer { dyb in
                let dy = dyb.baseAddress!
                if needsGrad(x) {
                    let wT = uninitializedFloats(n * k) { p in
                        w.data.withUnsafeBufferPointer { kernels.transpose($0.baseAddress!, rows: n, cols: k, into: p) }
                    }
                    wT.withUnsafeBufferPointer { wTp in
                        ops.writeProduct(into: x, count: t * k) { dx in
                            ops.product(dy, rows: t, wTp.baseAddress!, bRows: k, inner: n, into: dx)
                        }
                    }
                }
                if needsGrad(w) {
                    let dyT = uninitializedFloats(n * t) { kernels.transpose(dy, rows: t, cols: n, into: $0) }
                    let xT = uninitializedFloats(k * t) { p in
                        x.data.withUnsafeBufferPointer { kernels.transpose($0.baseAddress!, rows: t, cols: k, into: p) }
                    }
                    dyT.withUnsafeBufferPointer { a in
                        xT.withUnsafeBufferPointer { b in
                            ops.writeProduct(into: w, count: n * k) { dw in
                                ops.product(a.baseAddress!, rows: n, b.baseAddress!, bRows: k, inner: t, into: dw)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Writes a product into `tensor`'s gradient: directly when it has none yet, else through a
    /// scratch buffer that is then added.
    private func writeProduct(into tensor: Tensor, count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        tensor.writeGrad { g, accumulate in
            guard accumulate else { body(g); return }
            let scratch = uninitializedFloats(count, body)
            scratch.withUnsafeBufferPointer { kernels.add(into: g, $0.baseAddress!, count: count) }
        }
    }

    /// `out[i, j] = Σ_k a[i, k] · b[j, k]` (`a` `[rows, inner]`, `b` `[bRows, inner]`).
    func product(_ a: UnsafePointer<Float>, rows: Int, _ b: UnsafePointer<Float>, bRows: Int, inner: Int,
                 into out: UnsafeMutablePointer<Float>) {
        guard rows > 0, bRows > 0 else { return }
        if inner == 0 { out.update(repeating: 0, count: rows * bRows); return }
        if precision == .bf16 {
            productBF16(a, rows: rows, b, bRows: bRows, inner: inner, into: out)
            return
        }
        let w = WeightMatrix(rows: bRows, cols: inner, dtype: .f32, data: UnsafeRawPointer(b), owner: nil)
        backend.matmul(w, x: a, xStride: inner, m: rows, y: out, yStride: bRows)
    }

    /// The BF16 product: both operands rounded to BF16 (nearest even), F32 accumulation.
    private func productBF16(_ a: UnsafePointer<Float>, rows: Int, _ b: UnsafePointer<Float>, bRows: Int, inner: Int,
                             into out: UnsafeMutablePointer<Float>) {
        let a16 = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * inner)
        let b16 = UnsafeMutablePointer<UInt16>.allocate(capacity: bRows * inner)
        defer { a16.deallocate(); b16.deallocate() }
        kernels.parallel(rows, work: rows * inner) { r in
            lfm_round_bf16_avx512(a + r.lowerBound * inner, r.count * inner, a16 + r.lowerBound * inner)
        }
        kernels.parallel(bRows, work: bRows * inner) { r in
            lfm_round_bf16_avx512(b + r.lowerBound * inner, r.count * inner, b16 + r.lowerBound * inner)
        }
        kernels.parallel(bRows, work: rows * bRows * inner, alignment: 16) { r in
            lfm_matmul_bf16dot_avx512(b16, inner, r.lowerBound, r.upperBound, a16, inner, rows, out, bRows)
        }
    }

    /// Rows `ids` of `table` `[V, H]` → `[T, H]` (gradient scatter-added into the table).
    public func embedding(_ table: Tensor, ids: [Int]) -> Tensor {
        let h = table.columns
        let y = uninitializedFloats(ids.count * h) { yp in
            table.data.withUnsafeBufferPointer { tp in
                for (i, id) in ids.enumerated() { (yp + i * h).update(from: tp.baseAddress! + id * h, count: h) }
            }
        }
        let out = Tensor(shape: [ids.count, h], data: y)
        return tape.record(out, inputs: [table]) { [kernels] in
            if table.grad.isEmpty { table.grad = [Float](repeating: 0, count: table.count) }
            table.grad.withUnsafeMutableBufferPointer { d in
                out.grad.withUnsafeBufferPointer { g in
                    for (i, id) in ids.enumerated() { kernels.add(d.baseAddress! + id * h, g.baseAddress! + i * h, h) }
                }
            }
        }
    }
}
