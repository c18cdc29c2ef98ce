import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// Errors while binding a checkpoint's tensors to a model; each names the tensor and file.
public enum ModelLoadError: Error, CustomStringConvertible, Equatable {
    case missingTensor(name: String, source: String)
    case unexpectedTensors(names: [String], source: String)
    case shapeMismatch(name: String, file: String, expected: [Int], found: [Int])
    case feedForwardMismatch(name: String, file: String, allowed: [Int], found: Int)
    case unsupportedType(name: String, file: String, dtype: String, expected: String)

    public var description: String {
        switch self {
        case .missingTensor(let name, let source): return "\(source): missing tensor '\(name)'"
        case .unexpectedTensors(let names, let source):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(source): \(names.count) tensor(s) the configuration has no place for: \(shown)\(names.count > 5 ? ", …" : "")"
        case .shapeMismatch(let name, let file, let expected, let found):
            return "\(file): tensor '\(name)' has shape \(found), expected \(expected) from the configuration"
        case .feedForwardMismatch(let name, let file, let allowed, let found):
            return "\(file): tensor '\(name)' implies a feed-forward width of \(found), but the configuration gives \(allowed.map(String.init).joined(separator: " or "))"
        case .unsupportedType(let name, let file, let dtype, let expected):
            return "\(file): tensor '\(name)' is stored as \(dtype), expected \(expected)"
        }
    }
}

/// Where weight matrices live once loaded.
public enum WeightPlacement: Sendable, Equatable {
    /// Copied tensor by tensor (in their stored type) into one 2 MiB-aligned huge-page arena:
    /// the fastest for decode (+50% read bandwidth on this hardware).
    case hugePages
    /// As `hugePages`, with the rows of matrices of these types (Q4_0, Q8_0) regrouped as they are
    /// copied (`BlockOrder.groupsOf8`, the same bytes): the layout the x86 row kernels read fastest.
    case hugePagesRegrouping(Set<DType>)
    /// Read in place from the memory-mapped files (no copy at all; slower reads).
    case mapped
}

/// One tensor a model expects: its name in the source, its shape (PyTorch order) and its role.
public struct TensorSpec: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A matrix `[rows, cols]` kept in its stored type.
        case matrix
        /// `shape[0]` matrices `[shape[1], shape[2]]` stored one after another (stacked experts).
        case stackedMatrices
        /// A vector (norm weights, taps, biases) widened to F32.
        case vector
    }

    public var name: String
    public var shape: [Int]
    public var kind: Kind
    /// Other shapes accepted for the same values (e.g. a squeezed `[H, L]` conv kernel).
    public var alternativeShapes: [[Int]]
    /// A new order of the matrix rows (row `i` of the result is stored row `rowOrder[i]`): the
    /// matrix is copied even when weights are read in place.
    public var rowOrder: [Int]?

    public init(_ name: String, shape: [Int], kind: Kind, alternativeShapes: [[Int]] = [], rowOrder: [Int]? = nil) {
        self.name = name
        self.shape = shape
        self.kind = kind
        self.alternativeShapes = alternativeShapes
        self.rowOrder = rowOrder
    }
}

/// Binds a list of expected tensors to a source: checks that each exists with its shape and a
/// usable type, that nothing is left over, and places the matrices (huge-page arena or in place).
public struct BoundTensors {
    private var matrices: [String: [WeightMatrix]] = [:]
    private var vectors: [String: [Float]] = [:]

    /// Binds `specs` to `source`; tensors not in `specs` fail the load unless `ignorable` says
    /// they carry nothing.
    public init(_ specs: [TensorSpec], source: TensorSource, sourceName: String, placement: WeightPlacement,
                ignorable: (String) -> Bool = { _ in false }) throws {
        var found: [(TensorSpec, StoredTensor)] = []
        for spec in specs {
            guard let tensor = source.tensor(named: spec.name) else {
                throw ModelLoadError.missingTensor(name: spec.name, source: sourceName)
            }
            guard tensor.shape == spec.shape || spec.alternativeShapes.contains(tensor.shape) else {
                throw ModelLoadError.shapeMismatch(name: spec.name, file: tensor.file, expected: spec.shape, found: tensor.shape)
            }
            if spec.kind == .vector, tensor.dtype.isQuantized {
                throw ModelLoadError.unsupportedType(name: spec.name, file: tensor.file, dtype: tensor.dtype.name,
                                                     expected: "F32, F16 or BF16")
            }
            if spec.kind != .vector, let columns = tensor.shape.last, tensor.dtype.byteCount(of: columns) == nil {
                throw ModelLoadError.unsupportedType(name: spec.name, file: tensor.file, dtype: tensor.dtype.name,
                                                     expected: "a type whose block size divides \(columns) columns")
            }
            found.append((spec, tensor))
        }
        let consumed = Set(found.map(\.1.name))
        let leftovers = source.tensorNames.filter { !consumed.contains($0) && !ignorable($0) }
        guard leftovers.isEmpty else { throw ModelLoadError.unexpectedTensors(names: leftovers, source: sourceName) }

        for (spec, tensor) in found where spec.kind == .vector {
            vectors[spec.name] = tensor.floats() ?? [] // float types checked above
        }
        let placed = found.filter { $0.0.kind != .vector }
        // Everything copied goes into one arena: all matrices for huge pages, reordered ones always.
        let copied = placed.filter { placement != .mapped || $0.0.rowOrder != nil }
            .sorted { $0.1.name < $1.1.name }
        var offsets: [String: Int] = [:]
        var total = 0
        for (_, tensor) in copied {
            offsets[tensor.name] = total
            total += (tensor.bytes.count + 63) / 64 * 64
        }
        let arena = copied.isEmpty ? nil : AlignedBuffer(count: max(total, 64))
        for (spec, tensor) in placed {
            let base: UnsafeRawPointer
            let owner: AnyObject
            var order = BlockOrder.gguf
            if let arena, let offset = offsets[tensor.name] {
                let destination = arena.base + offset
                let rows = tensor.shape.dropLast().reduce(1, *)
                let rowBytes = tensor.bytes.count / max(rows, 1)
                let cols = tensor.shape.last ?? 0
                let regroup: Bool
                if case .hugePagesRegrouping(let types) = placement {
                    regroup = types.contains(tensor.dtype) && BlockOrder.canRegroup(tensor.dtype)
                        && tensor.dtype.byteCount(of: cols) == rowBytes
                } else {
                    regroup = false
                }
                // Copies `count` rows from source row `from` to destination row `to`, regrouped if asked.
                func copy(rows count: Int, from: Int, to: Int) {
                    let source = tensor.bytes.baseAddress! + from * rowBytes, target = destination + to * rowBytes
                    if regroup {
                        BlockOrder.regroup(tensor.dtype, from: source, to: target, rows: count, cols: cols)
                    } else {
                        target.copyMemory(from: source, byteCount: count * rowBytes)
                    }
                }
                if let rowOrder = spec.rowOrder {
                    for (i, from) in rowOrder.enumerated() { copy(rows: 1, from: from, to: i) }
                } else {
                    copy(rows: rows, from: 0, to: 0)
                }
                if regroup { order = .groupsOf8 }
                // The file's pages of this tensor are not read again: without this the process
                // holds the weights twice until the file is closed (peak memory ~2x the model).
                (tensor.owner as? MappedFile)?.releasePages(of: tensor.bytes)
                (base, owner) = (UnsafeRawPointer(destination), arena)
            } else {
                (base, owner) = (tensor.bytes.baseAddress!, tensor.owner)
            }
            switch spec.kind {
            case .matrix:
                matrices[spec.name] = [WeightMatrix(rows: tensor.shape[0], cols: tensor.shape[1], dtype: tensor.dtype,
                                                    data: base, owner: owner, blockOrder: order)]
            case .stackedMatrices:
                let (count, rows, cols) = (tensor.shape[0], tensor.shape[1], tensor.shape[2])
                let slab = tensor.bytes.count / max(count, 1)
                matrices[spec.name] = (0..<count).map {
                    WeightMatrix(rows: rows, cols: cols, dtype: tensor.dtype, data: base + $0 * slab, owner: owner,
                                 blockOrder: order)
                }
            case .vector: break
            }
        }
    }

    /// The matrix bound as `name` (a spec of kind `.matrix`).
    public func matrix(_ name: String) -> WeightMatrix { matrices[name]![0] }
    /// The matrices bound as `name` (a spec of kind `.stackedMatrices`).
    public func stacked(_ name: String) -> [WeightMatrix] { matrices[name]! }
    /// The vector bound as `name`.
    public func vector(_ name: String) -> [Float] { vectors[name]! }
}
