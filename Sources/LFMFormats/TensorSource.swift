import LFMCore

/// A named tensor as stored in a file: element type, shape (outermost first, as PyTorch writes
/// it) and a view of its bytes inside a mapping that `owner` keeps alive.
public struct StoredTensor: @unchecked Sendable {
    // @unchecked: immutable; `bytes` is a read-only view of memory that `owner` keeps alive.
    /// The tensor's name in its file.
    public let name: String
    /// Element type.
    public let dtype: DType
    /// Shape, outermost dimension first (PyTorch order).
    public let shape: [Int]
    /// The tensor's bytes (exactly `dtype.byteCount(of: elementCount)`).
    public let bytes: UnsafeRawBufferPointer
    /// The file the tensor came from (for error messages).
    public let file: String
    /// Keeps `bytes` valid.
    public let owner: AnyObject

    /// Creates a stored-tensor view.
    public init(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, file: String, owner: AnyObject) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.file = file
        self.owner = owner
    }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// All elements widened to `Float` (small tensors only: norms, conv taps); nil for
    /// block-quantized tensors.
    public func floats() -> [Float]? {
        var out = [Float](repeating: 0, count: elementCount)
        switch dtype {
        case .f32:
            for i in 0..<out.count { out[i] = bytes.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
        case .f16:
            for i in 0..<out.count { out[i] = HalfConversion.f16ToFloat(bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
        case .bf16:
            for i in 0..<out.count { out[i] = HalfConversion.bf16ToFloat(bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
        default:
            return nil
        }
        return out
    }
}

/// Anything that holds named tensors: a safetensors file, a sharded checkpoint, a GGUF file.
public protocol TensorSource: Sendable {
    /// Names of every tensor, in a stable order.
    var tensorNames: [String] { get }
    /// The tensor called `name`, or nil.
    func tensor(named name: String) -> StoredTensor?
}
