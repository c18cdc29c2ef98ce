import CLFMKernels
import LFMCore

extension CPUBackend {
    /// Products of one activation row with several weights (decode's q/k/v and gate/up) as one
    /// parallel loop over all their rows: one dispatch and one barrier instead of one per weight,
    /// and for quantized weights one quantization of the activations. Each output row runs the
    /// same kernel as in `matmul(_:x:xStride:m:y:yStride:)`, so the results are identical.
    /// Prompts (`m > 1`, where the packed GEMMs take over) and weights that do not share an
    /// activation format run one `matmul` each.
    public func matmul(_ products: [MatmulProduct], x: UnsafePointer<Float>, xStride: Int, m: Int) {
        guard m == 1, products.count > 1, let first = products.first?.weight, first.cols > 0,
              let plan = sharedInputPlan(products, cols: first.cols) else {
            for p in products { matmul(p.weight, x: x, xStride: xStride, m: m, y: p.y, yStride: p.yStride) }
            return
        }
        let cols = first.cols
        var starts = [0]
        for p in products { starts.append(starts[starts.count - 1] + p.weight.rows) }
        let total = starts[starts.count - 1]
        // Runs rows `range` of the concatenated weights, one kernel call per weight it touches.
        func forEachSegment(_ range: Range<Int>, _ body: (MatmulProduct, Range<Int>) -> Void) {
            for (j, p) in products.enumerated() {
                let lo = max(range.lowerBound, starts[j]), hi = min(range.upperBound, starts[j + 1])
                if lo < hi { body(p, (lo - starts[j])..<(hi - starts[j])) }
            }
        }
        switch plan {
        case .float:
            let kind = self.kind
            splitRows(total, tokens: 1, work: total * cols) { range in
                forEachSegment(range) { p, rows in
                    let dtype = Self.cDType(p.weight.dtype)
                    switch kind {
                    case .avx512:
                        lfm_matmul_avx512(dtype, p.weight.data, cols, rows.lowerBound, rows.upperBound, x, xStride, 1, p.y, p.yStride)
                    case .avx2:
                        lfm_matmul_avx2(dtype, p.weight.data, cols, rows.lowerBound, rows.upperBound, x, xStride, 1, p.y, p.yStride)
                    case .portable:
                        lfm_matmul_portable(dtype, p.weight.data, cols, rows.lowerBound, rows.upperBound, x, xStride, 1, p.y, p.yStride)
                    }
                }
            }
        case .quantized(let block):
            let activations = QuantizedActivations(m: 1, cols: cols, block: block)
            defer { activations.deallocate() }
            let path = quantKernelPath
            activations.quantize(x, xStride: xStride, rows: 0..<1, path: path)
            withUnsafePointer(to: activations.descriptor) { descriptor in
                splitRows(total, tokens: 1, work: total * cols) { range in
                    forEachSegment(range) { p, rows in
                        path.rows(p.weight.kernelType, p.weight.data, rows, descriptor, 1, p.y, p.yStride)
                    }
                }
            }
        }
        for p in products { withExtendedLifetime(p.weight.owner) {} }
    }

    /// How products sharing one input can run as one loop: all F32/F16/BF16 weights (the plain
    /// decode kernels), or all block-quantized weights with an integer kernel and the same
    /// activation block (32 or 256); nil otherwise. All must have `cols` columns.
    private func sharedInputPlan(_ products: [MatmulProduct], cols: Int) -> SharedInputPlan? {
        guard products.allSatisfy({ $0.weight.cols == cols && $0.weight.rows > 0 }) else { return nil }
        if products.allSatisfy({ [.f32, .f16, .bf16].contains($0.weight.dtype) }) { return .float }
        let blocks = products.map { $0.weight.dtype.isQuantized ? lfm_qmatmul_block($0.weight.kernelType) : 0 }
        guard let block = blocks.first, block > 0, blocks.allSatisfy({ $0 == block }) else { return nil }
        return .quantized(block: block)
    }
}

/// See `CPUBackend.sharedInputPlan`.
private enum SharedInputPlan {
    case float
    case quantized(block: Int)
}
