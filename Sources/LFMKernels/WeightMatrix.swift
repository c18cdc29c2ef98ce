import LFMCore

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

    /// Creates a view of `rows * cols` elements of `dtype` at `data`; `cols` must be a whole
    /// number of `dtype`'s blocks (loaders check this before building views).
    public init(rows: Int, cols: Int, dtype: DType, data: UnsafeRawPointer, owner: AnyObject?) {
        precondition(dtype.byteCount(of: cols) != nil, "\(cols) columns are not whole \(dtype) blocks")
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        self.data = data
        self.owner = owner
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
