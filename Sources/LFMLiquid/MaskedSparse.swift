import Foundation

// Masked weight products of wired CfC layers (ff1/ff2 in `WiredCfCCell`: W ⊙ M with M the
// layer's sparsity mask) either as a dense product with the masked weights or as compressed
// sparse rows that visit only the connected entries. Both give the same sums up to float
// rounding order; which one runs is decided per matrix by its density.

/// How masked weight products are computed.
public enum MaskedProductMode: String, Sendable, Equatable, CaseIterable {
    /// Sparse rows when the mask's density is at most `MaskedSparseRows.densityThreshold`.
    case auto
    /// Always a dense product with W ⊙ M.
    case dense
    /// Always sparse rows.
    case sparse

    /// Whether a mask of this density is computed sparse.
    func useSparse(density: Double) -> Bool {
        switch self {
        case .auto: return density <= MaskedSparseRows.densityThreshold
        case .dense: return false
        case .sparse: return true
        }
    }
}

/// W ⊙ M for a [rows, cols] row-major weight W and mask M, kept as compressed sparse rows (only
/// entries with M ≠ 0). Built once per forward pass from the current weights.
final class MaskedSparseRows {
    /// Masks at most this dense (non-zero entries / all entries) are computed sparse by
    /// `MaskedProductMode.auto`: the density below which sparse rows trained and streamed faster
    /// than the blocked dense product in `Benchmarks/liquid/sparse.py` (figures in
    /// `Benchmarks/liquid/README.md`).
    static let densityThreshold = 0.12

    let rows: Int, cols: Int
    /// Row r's entries are rowStart[r] ..< rowStart[r + 1].
    let rowStart: UnsafeMutablePointer<Int>
    /// Column of each entry.
    let column: UnsafeMutablePointer<Int>
    /// W·M of each entry.
    let value: UnsafeMutablePointer<Float>
    /// M of each entry (the factor of the weight's gradient).
    let maskValue: UnsafeMutablePointer<Float>
    /// Number of entries.
    let count: Int

    /// The density of a [rows, cols] mask.
    static func density(_ mask: UnsafePointer<Float>, count n: Int) -> Double {
        guard n > 0 else { return 0 }
        var nonZero = 0
        for i in 0..<n where mask[i] != 0 { nonZero += 1 }
        return Double(nonZero) / Double(n)
    }

    init(weight: UnsafePointer<Float>, mask: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        var nonZero = 0
        for i in 0..<(rows * cols) where mask[i] != 0 { nonZero += 1 }
        count = nonZero
        rowStart = .allocate(capacity: rows + 1)
        column = .allocate(capacity: max(nonZero, 1))
        value = .allocate(capacity: max(nonZero, 1))
        maskValue = .allocate(capacity: max(nonZero, 1))
        var k = 0
        for r in 0..<rows {
            rowStart[r] = k
            for c in 0..<cols where mask[r * cols + c] != 0 {
                column[k] = c
                maskValue[k] = mask[r * cols + c]
                value[k] = weight[r * cols + c] * mask[r * cols + c]
                k += 1
            }
        }
        rowStart[rows] = k
    }

    deinit {
        rowStart.deallocate(); column.deallocate(); value.deallocate(); maskValue.deallocate()
    }

    /// y[b, r] = bias[r] + Σ_c x[b, c] · (W ⊙ M)[r, c] over the connected c.
    func linear(batch: Int, x: UnsafePointer<Float>, xStride: Int, bias: UnsafePointer<Float>?,
                y: UnsafeMutablePointer<Float>, yStride: Int) {
        for b in 0..<batch {
            let xr = x + b * xStride, yr = y + b * yStride
            for r in 0..<rows {
                var sum: Float = 0
                for k in rowStart[r]..<rowStart[r + 1] { sum += xr[column[k]] * value[k] }
                yr[r] = (bias?[r] ?? 0) + sum
            }
        }
    }

    /// Backward of `linear`: dW[r, c] += Σ_b dy[b, r] · x[b, c] · M[r, c] (dense [rows, cols]
    /// layout, connected entries only), db += Σ dy, dx[b, c] += dy[b, r] · (W ⊙ M)[r, c].
    func linearBackward(batch: Int, x: UnsafePointer<Float>, xStride: Int, dy: UnsafePointer<Float>, dyStride: Int,
                        dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                        dx: UnsafeMutablePointer<Float>?, dxStride: Int) {
        for b in 0..<batch {
            let xr = x + b * xStride, dyr = dy + b * dyStride
            let dxr = dx.map { $0 + b * dxStride }
            for r in 0..<rows {
                let g = dyr[r]
                if g == 0 { continue }
                db?[r] += g
                let dwr = dw + r * cols
                for k in rowStart[r]..<rowStart[r + 1] {
                    let c = column[k]
                    dwr[c] += g * xr[c] * maskValue[k]
                    dxr?[c] += g * value[k]
                }
            }
        }
    }
}

/// The ff1/ff2 weights a CfC layer multiplies with: the raw parameters (no mask), W ⊙ M as
/// dense buffers, or W ⊙ M as sparse rows.
struct CfCEffectiveWeights {
    var ff1: FloatBuffer? = nil, ff2: FloatBuffer? = nil
    var sparse1: MaskedSparseRows? = nil, sparse2: MaskedSparseRows? = nil

    /// No mask: every field nil (computed, so no shared global of a non-Sendable type).
    static var unmasked: CfCEffectiveWeights { CfCEffectiveWeights() }
}
