import CLFMKernels
import LFMCore

extension CPUBackend {
    /// Matrix products over block-quantized weights: each weight row is dequantized (with the
    /// bit-exact reference dequantizer) into an F32 buffer and multiplied with the F32 kernel.
    /// Correct for every supported type; the int8 dot-product kernels replace it per type.
    func matmulQuantized(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                         y: UnsafeMutablePointer<Float>, yStride: Int) {
        let cols = w.cols, kind = self.kind
        let run = { (range: Range<Int>) in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: max(cols, 1))
            defer { row.deallocate() }
            for r in range {
                w.widenRow(r, into: row)
                switch kind {
                case .avx512: lfm_matmul_avx512(LFM_DT_F32, row, cols, 0, 1, x, xStride, m, y + r, yStride)
                case .avx2: lfm_matmul_avx2(LFM_DT_F32, row, cols, 0, 1, x, xStride, m, y + r, yStride)
                case .portable: lfm_matmul_portable(LFM_DT_F32, row, cols, 0, 1, x, xStride, m, y + r, yStride)
                }
            }
        }
        splitRows(w.rows, work: m * w.rows * max(cols, 1), run)
        withExtendedLifetime(w.owner) {}
    }
}
