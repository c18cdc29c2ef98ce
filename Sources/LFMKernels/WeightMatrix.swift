import CLFMKernels
import LFMCore

/// How the blocks of a quantized weight row are laid out in memory.
public enum BlockOrder: Sendable, Equatable {
    /// As GGUF files store them: one block after another (every type).
    case gguf
    /// Q4_0 and Q8_0 only: each whole group of eight blocks as 16 bytes of their eight F16 scales
    /// (blocks 0, 2, 4, 6, 1, 3, 5, 7) followed by their eight code runs (16 or 32 bytes) in block
    /// order; the last `blocks % 8` blocks of a row as in GGUF. The same bytes per row as GGUF, read
    /// by the x86 row kernels with plain loads (`LFM_QT_Q4_0_X8` / `LFM_QT_Q8_0_X8` in
    /// CLFMKernels.h). Made at load time for the huge-page copy; files always hold `.gguf`.
    case groupsOf8

    /// Whether `dtype` has a regrouped layout.
    public static func canRegroup(_ dtype: DType) -> Bool { dtype == .q4_0 || dtype == .q8_0 }

    /// Copies `rows` rows of `cols` columns of `dtype` (Q4_0 or Q8_0) from the GGUF layout at `source`
    /// into the `.groupsOf8` layout at `target` (the regions must not overlap).
    public static func regroup(_ dtype: DType, from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer,
                               rows: Int, cols: Int) {
        precondition(canRegroup(dtype), "\(dtype) has no regrouped layout")
        lfm_regroup_rows(Int32(bitPattern: dtype.rawValue), source, target, rows, cols, 0)
    }
}

/// A 2-D weight matrix `[rows, cols]`, row-major and contiguous, kept in its stored element type.
///
/// This is a view: `owner` keeps the memory (a memory-mapped file or a huge-page buffer) alive.
/// Kernels widen F16/BF16 elements to F32 as they read them.
public struct WeightMatrix: @unchecked Sendable {
    // @unchecked: immutable; `data` is a read-only view of memory that `owner` keeps alive.
    /// Number of rows (output features).
    public let rows: Int
    /// Number of columns (input features).
    public let cols: Int
    /// Stored element type.
    public let dtype: DType
    /// First element of row 0.
    public let data: UnsafeRawPointer
    /// Keeps `data` valid.
    public let owner: AnyObject?
    /// How each row's blocks are laid out (`.groupsOf8` only for Q4_0 and Q8_0).
    public let blockOrder: BlockOrder

    /// Creates a view of `rows * cols` elements of `dtype` at `data`; `cols` must be a whole
    /// number of `dtype`'s blocks (loaders check this before building views).
    public init(rows: Int, cols: Int, dtype: DType, data: UnsafeRawPointer, owner: AnyObject?,
                blockOrder: BlockOrder = .gguf) {
        precondition(dtype.byteCount(of: cols) != nil, "\(cols) columns are not whole \(dtype) blocks")
        precondition(blockOrder == .gguf || BlockOrder.canRegroup(dtype), "\(dtype) has no \(blockOrder) layout")
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        self.data = data
        self.owner = owner
        self.blockOrder = blockOrder
    }

    /// The type id the C kernels take: the ggml id, or `LFM_QT_Q4_0_X8` / `LFM_QT_Q8_0_X8` for `.groupsOf8`.
    var kernelType: Int32 {
        switch (blockOrder, dtype) {
        case (.groupsOf8, .q4_0): return Int32(LFM_QT_Q4_0_X8)
        case (.groupsOf8, .q8_0): return Int32(LFM_QT_Q8_0_X8)
        default: return Int32(bitPattern: dtype.rawValue)
        }
    }

    /// Bytes between the starts of two consecutive rows.
    @inlinable public var rowBytes: Int { (cols / dtype.blockSize) * dtype.typeSize }

    /// Total bytes of the matrix.
    @inlinable public var byteCount: Int { rows * rowBytes }

    /// Element `(row, col)` widened to `Float` (slow; for references and tests).
    public func element(_ row: Int, _ col: Int) -> Float {
        switch dtype {
        case .f32: return data.loadUnaligned(fromByteOffset: row * rowBytes + col * 4, as: Float.self)
        case .f16: return HalfConversion.f16ToFloat(data.loadUnaligned(fromByteOffset: row * rowBytes + col * 2, as: UInt16.self))
        case .bf16: return HalfConversion.bf16ToFloat(data.loadUnaligned(fromByteOffset: row * rowBytes + col * 2, as: UInt16.self))
        default:
            let block = col / dtype.blockSize
            var values = [Float](repeating: 0, count: dtype.blockSize)
            values.withUnsafeMutableBufferPointer { out in
                dequantizeBlocks(row: row, firstBlock: block, blocks: 1, into: out.baseAddress!)
            }
            return values[col % dtype.blockSize]
        }
    }

    /// Dequantizes `blocks` blocks of row `row` starting at block `firstBlock` into `out`.
    func dequantizeBlocks(row: Int, firstBlock: Int, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        if blockOrder == .groupsOf8 {
            // The whole groups around the blocks put back into the GGUF layout, then dequantized as GGUF
            // blocks. A slice that starts at a group and ends at a group or at the row's end is
            // regrouped exactly as the row is (the same tail), so the inverse applies to it alone.
            let size = dtype.typeSize, count = cols / dtype.blockSize
            let start = firstBlock / 8 * 8, end = min(count, (firstBlock + blocks + 7) / 8 * 8)
            var gguf = [UInt8](repeating: 0, count: (end - start) * size)
            gguf.withUnsafeMutableBytes {
                lfm_regroup_rows(Int32(bitPattern: dtype.rawValue), data + row * rowBytes + start * size, $0.baseAddress!,
                                 1, (end - start) * dtype.blockSize, 1)
            }
            gguf.withUnsafeBytes { bytes in
                WeightMatrix(rows: 1, cols: (end - start) * dtype.blockSize, dtype: dtype, data: bytes.baseAddress!, owner: nil)
                    .dequantizeBlocks(row: 0, firstBlock: firstBlock - start, blocks: blocks, into: out)
            }
            return
        }
        let source = UnsafeRawBufferPointer(start: data + row * rowBytes + firstBlock * dtype.typeSize,
                                            count: blocks * dtype.typeSize)
        do {
            try dtype.dequantizeRow(source, into: UnsafeMutableBufferPointer(start: out, count: blocks * dtype.blockSize))
        } catch {
            preconditionFailure("dequantizing \(dtype) row \(row): \(error)") // sizes are this type's invariants
        }
    }

    /// Writes row `row` widened (or dequantized) to `Float` into `out[0..<cols]`.
    public func widenRow(_ row: Int, into out: UnsafeMutablePointer<Float>) {
        let start = data + row * rowBytes
        switch dtype {
        case .f32:
            out.update(from: start.assumingMemoryBound(to: Float.self), count: cols)
        case .f16:
            let p = start.assumingMemoryBound(to: UInt16.self)
            for i in 0..<cols { out[i] = HalfConversion.f16ToFloat(p[i]) }
        case .bf16:
            let p = start.assumingMemoryBound(to: UInt16.self)
            for i in 0..<cols { out[i] = HalfConversion.bf16ToFloat(p[i]) }
        default:
            dequantizeBlocks(row: row, firstBlock: 0, blocks: cols / dtype.blockSize, into: out)
        }
    }
}

/// Owns a contiguous buffer of `Float`s used as a weight (for tests and converted weights).
public final class FloatStorage: @unchecked Sendable {
    // @unchecked: `buffer` is written only in init, then only read.
    /// The values.
    public let buffer: UnsafeMutableBufferPointer<Float>

    /// Copies `values`.
    public init(_ values: [Float]) {
        buffer = .allocate(capacity: max(values.count, 1))
        _ = buffer.initialize(from: values)
    }

    deinit { buffer.deallocate() }
}

extension WeightMatrix {
    /// An F32 matrix that owns a copy of `values` (row-major, `rows * cols` of them).
    public static func owning(rows: Int, cols: Int, values: [Float]) -> WeightMatrix {
        precondition(values.count == rows * cols, "values do not fill the matrix")
        let storage = FloatStorage(values)
        return WeightMatrix(rows: rows, cols: cols, dtype: .f32,
                            data: UnsafeRawPointer(storage.buffer.baseAddress!), owner: storage)
    }
}
