// Presents the tensors of a GGUF file as a `TensorSource` with PyTorch-order shapes.
import LFMCore

/// Errors binding GGUF tensors to the engine's storage types.
public enum GGUFTensorSourceError: Error, Equatable, CustomStringConvertible {
    /// A tensor is stored in a ggml type the engine cannot compute with.
    case unsupportedType(tensor: String, file: String, type: String)

    public var description: String {
        switch self {
        case .unsupportedType(let tensor, let file, let type):
            let supported = DType.allCases.filter { $0 != .q8_K }.map(\.name).joined(separator: ", ")
            return "\(file): tensor '\(tensor)' is stored as \(type), which this engine does not support (supported: \(supported))"
        }
    }
}

/// The tensors of a GGUF file as a `TensorSource`.
///
/// Shapes are reported in PyTorch order (outermost first), i.e. ggml's `ne` reversed: a matrix stored
/// with `ne = {cols, rows}` has `shape == [rows, cols]`, and LFM2's squeezed conv kernel `{L, H}`
/// becomes `[H, L]`. Every tensor's ggml type is mapped to `DType` when the source is created; a type
/// the engine has no kernels for throws `GGUFTensorSourceError.unsupportedType` naming the tensor.
public struct GGUFTensorSource: TensorSource, Sendable {
    /// The parsed file.
    public let file: GGUFFile
    /// Path of the file (for messages).
    public let path: String
    public let tensorNames: [String]
    private let types: [String: DType]

    /// Wraps an opened GGUF file; `path` names it in messages.
    public init(file: GGUFFile, path: String) throws {
        self.file = file
        self.path = path
        var types: [String: DType] = [:]
        for info in file.tensors {
            // Q8_K is an activation-only type in ggml (no dot kernels for weights).
            guard let dtype = DType(rawValue: info.type.rawValue), dtype != .q8_K else {
                throw GGUFTensorSourceError.unsupportedType(tensor: info.name, file: path, type: info.type.name)
            }
            types[info.name] = dtype
        }
        self.types = types
        tensorNames = file.tensors.map(\.name)
    }

    /// Memory-maps and parses the GGUF file at `path`.
    public init(path: String) throws {
        try self.init(file: GGUFFile(path: path), path: path)
    }

    public func tensor(named name: String) -> StoredTensor? {
        guard let info = file.tensor(named: name), let dtype = types[name] else { return nil }
        return StoredTensor(name: name, dtype: dtype, shape: Array(info.dimensions.reversed()),
                            bytes: file.data(for: info), file: path, owner: file.owner)
    }
}
