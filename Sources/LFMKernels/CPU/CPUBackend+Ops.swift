import CLFMKernels

// Row operations of `CPUBackend`: C kernels compiled once per ISA (ops_template.h),
// split over rows / channels / elements when large.
extension CPUBackend {
    public func rmsNorm(x: UnsafePointer<Float>, xStride: Int, weight: UnsafePointer<Float>, dim: Int, rows: Int,
                        eps: Float, out: UnsafeMutablePointer<Float>, outStride: Int) {
        let kind = self.kind
        split(rows, work: rows * dim) { r in
            let xr = x + r.lowerBound * xStride, o = out + r.lowerBound * outStride
            switch kind {
            case .avx512: lfm_rmsnorm_avx512(xr, xStride, weight, dim, r.count, eps, o, outStride)
            case .avx2: lfm_rmsnorm_avx2(xr, xStride, weight, dim, r.count, eps, o, outStride)
            case .portable: lfm_rmsnorm_portable(xr, xStride, weight, dim, r.count, eps, o, outStride)
            }
        }
    }

    public func ropeNeox(x: UnsafeMutablePointer<Float>, xStride: Int, rows: Int, heads: Int, headDim: Int,
                         startPosition: Int, inverseFrequencies: UnsafePointer<Float>) {
        let kind = self.kind
        split(rows, work: rows * heads * headDim * 4) { r in
            let xr = x + r.lowerBound * xStride, start = startPosition + r.lowerBound
            switch kind {
            case .avx512: lfm_rope_neox_avx512(xr, xStride, r.count, heads, headDim, start, inverseFrequencies)
            case .avx2: lfm_rope_neox_avx2(xr, xStride, r.count, heads, headDim, start, inverseFrequencies)
            case .portable: lfm_rope_neox_portable(xr, xStride, r.count, heads, headDim, start, inverseFrequencies)
            }
        }
    }

    public func shortConv(x: UnsafePointer<Float>, xStride: Int, rows: Int, channels: Int, kernel: Int,
                          state: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>,
                          out: UnsafeMutablePointer<Float>, outStride: Int) {
        let kind = self.kind
        split(channels, work: rows * channels * kernel, alignment: 16) { c in
            switch kind {
            case .avx512:
                lfm_short_conv_avx512(x, xStride, rows, channels, kernel, state, weight, out, outStride,
                                      c.lowerBound, c.upperBound)
            case .avx2:
                lfm_short_conv_avx2(x, xStride, rows, channels, kernel, state, weight, out, outStride,
                                    c.lowerBound, c.upperBound)
            case .portable:
                lfm_short_conv_portable(x, xStride, rows, channels, kernel, state, weight, out, outStride,
                                        c.lowerBound, c.upperBound)
            }
        }
    }

    public func siluMul(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                        count: Int) {
        let kind = self.kind
        split(count, work: count * 4, alignment: 64) { r in
            let g = gate + r.lowerBound, u = up + r.lowerBound, o = out + r.lowerBound
            switch kind {
            case .avx512: lfm_silu_mul_avx512(g, u, o, r.count)
            case .avx2: lfm_silu_mul_avx2(g, u, o, r.count)
            case .portable: lfm_silu_mul_portable(g, u, o, r.count)
            }
        }
    }

    public func mul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                    count: Int) {
        let kind = self.kind
        split(count, work: count, alignment: 64) { r in
            let pa = a + r.lowerBound, pb = b + r.lowerBound, o = out + r.lowerBound
            switch kind {
            case .avx512: lfm_mul_avx512(pa, pb, o, r.count)
            case .avx2: lfm_mul_avx2(pa, pb, o, r.count)
            case .portable: lfm_mul_portable(pa, pb, o, r.count)
            }
        }
    }

    public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                    count: Int) {
        let kind = self.kind
        split(count, work: count, alignment: 64) { r in
            let pa = a + r.lowerBound, pb = b + r.lowerBound, o = out + r.lowerBound
            switch kind {
            case .avx512: lfm_add_avx512(pa, pb, o, r.count)
            case .avx2: lfm_add_avx2(pa, pb, o, r.count)
            case .portable: lfm_add_portable(pa, pb, o, r.count)
            }
        }
    }
}
