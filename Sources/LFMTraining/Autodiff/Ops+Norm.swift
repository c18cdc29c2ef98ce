extension Ops {
    /// RMSNorm over the last `dim` values of every row: `y = g ⊙ x / sqrt(mean(x²) + eps)`.
    /// `dim` may be smaller than the row (per-head norms: rows of `heads · dim` split into heads).
    public func rmsNorm(_ x: Tensor, weight g: Tensor, dim: Int, eps: Float) -> Tensor {
        precondition(x.count % dim == 0 && g.count == dim, "rmsNorm: \(x.shape) by \(dim)")
        let groups = x.count / dim
        var inverse = [Float](repeating: 0, count: groups)
        let y = uninitializedFloats(x.count) { yp in
            x.data.withUnsafeBufferPointer { xp in
                g.data.withUnsafeBufferPointer { gp in
                    inverse.withUnsafeMutableBufferPointer { ip in
                        kernels.parallel(groups, work: groups * dim * 2) { r in
                            kernels.rmsNormForward(xp.baseAddress!, gp.baseAddress!, dim, r.lowerBound, r.upperBound, eps, yp, ip.baseAddress!)
                        }
                    }
                }
            }
        }
        let out = Tensor(shape: x.shape, data: y)
        return tape.record(out, inputs: [x, g]) { [kernels] in
            let wantX = needsGrad(x), wantG = needsGrad(g)
            // Per-chunk partial sums of dg, added in chunk order (deterministic).
            let chunks = kernels.pool.threadCount * 2
            let chunkSize = (groups + chunks - 1) / chunks
            var partial = [Float](repeating: 0, count: wantG ? chunks * dim : 0)
            x.data.withUnsafeBufferPointer { xp in
                g.data.withUnsafeBufferPointer { gp in
                    inverse.withUnsafeBufferPointer { ip in
                        out.grad.withUnsafeBufferPointer { dy in
                            partial.withUnsafeMutableBufferPointer { pp in
                                let partialBase = pp.baseAddress
                                let run = { (dx: UnsafeMutablePointer<Float>?, accumulate: Bool) in
                                    let body = { (c: Int) in
                                        let r0 = c * chunkSize, r1 = min(groups, r0 + chunkSize)
                                        guard r0 < r1 else { return }
                                        kernels.rmsNormBackward(xp.baseAddress!, gp.baseAddress!, ip.baseAddress!, dy.baseAddress!, dim,
                                                                r0, r1, dx, accumulate ? 1 : 0, wantG ? partialBase.map { $0 + c * dim } : nil)
                                    }
                                    if groups * dim >= TrainingKernels.minimumParallelWork {
                                        kernels.pool.parallelFor(chunks, body)
                                    } else {
                                        for c in 0..<chunks { body(c) }
                                    }
                                }
                                if wantX {
                                    x.writeGrad { dx, accumulate in run(dx, accumulate) }
                                } else {
                                    run(nil, false)
                                }
                            }
                        }
                    }
                }
            }
            if wantG {
                var dg = [Float](repeating: 0, count: dim)
                for c in 0..<chunks { for i in 0..<dim { dg[i] += partial[c * dim + i] } }
                g.accumulate(dg)
            }
        }
    }
}
