import Foundation
import LFMCore

/// Errors from reading safetensors files and sharded checkpoints. Each names the file and,
/// where one is involved, the tensor.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case tooSmall(file: String, size: Int)
    case headerOutOfRange(file: String, headerLength: UInt64, fileSize: Int)
    case headerNotJSON(file: String, detail: String)
    case badEntry(file: String, tensor: String, detail: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case sizeMismatch(file: String, tensor: String, expectedBytes: Int, foundBytes: Int)
    case dataOutOfRange(file: String, tensor: String, end: Int, dataSize: Int)
    case badIndex(file: String, detail: String)
    case missingShard(index: String, shard: String)
    case duplicateTensor(tensor: String, files: [String])

    public var description: String {
        switch self {
        case .tooSmall(let file, let size):
            return "\(file): not a safetensors file (\(size) bytes; expected at least 8 for the header length)"
        case .headerOutOfRange(let file, let length, let size):
            return "\(file): header length \(length) does not fit in a file of \(size) bytes"
        case .headerNotJSON(let file, let detail):
            return "\(file): header is not a JSON object: \(detail)"
        case .badEntry(let file, let tensor, let detail):
            return "\(file): tensor '\(tensor)': \(detail)"
        case .unsupportedDType(let file, let tensor, let dtype):
            return "\(file): tensor '\(tensor)' has dtype \(dtype); supported: F32, F16, BF16"
        case .sizeMismatch(let file, let tensor, let expected, let found):
            return "\(file): tensor '\(tensor)' shape needs \(expected) bytes but data_offsets span \(found)"
        case .dataOutOfRange(let file, let tensor, let end, let dataSize):
            return "\(file): tensor '\(tensor)' data ends at byte \(end), past the \(dataSize)-byte data section"
        case .badIndex(let file, let detail):
            return "\(file): invalid sharded-checkpoint index: \(detail)"
        case .missingShard(let index, let shard):
            return "\(index): shard '\(shard)' is missing"
        case .duplicateTensor(let tensor, let files):
            return "tensor '\(tensor)' appears in several files: \(files.joined(separator: ", "))"
        }
    }
}

/// One `.safetensors` file, memory-mapped; tensors are views into the mapping.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`),
/// then the data section that the offsets are relative to.
public final class SafeTensorsFile: TensorSource, Sendable {
    /// Path of the file.
    public let path: String
    /// The `__metadata__` strings, if any.
    public let metadata: [String: String]
    /// Tensor names in header order.
    public let tensorNames: [String]
    private let mapping: MappedFile
    private let entries: [String: Entry]

    private struct Entry {
        let dtype: DType
        let shape: [Int]
        let range: Range<Int>
    }

    /// Opens and validates `path`: every entry's dtype, shape and byte range is checked.
    public init(path: String) throws {
        self.path = path
        mapping = try MappedFile(path: path)
        let size = mapping.count
        guard size >= 8 else { throw SafeTensorsError.tooSmall(file: path, size: size) }
        let headerLength = mapping.bytes(0..<8).loadUnaligned(as: UInt64.self).littleEndian
        guard headerLength <= UInt64(size - 8) else {
            throw SafeTensorsError.headerOutOfRange(file: path, headerLength: headerLength, fileSize: size)
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = size - dataStart
        let headerBytes = Data(mapping.bytes(8..<dataStart))
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw SafeTensorsError.headerNotJSON(file: path, detail: "\(error.localizedDescription)")
        }
        guard let object = json as? [String: Any] else {
            throw SafeTensorsError.headerNotJSON(file: path, detail: "top level is not an object")
        }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        var ordered: [(String, Int)] = []
        for (name, value) in object {
            if name == "__metadata__" {
                if let dictionary = value as? [String: Any] {
                    for (k, v) in dictionary { metadata[k] = (v as? String) ?? "\(v)" }
                }
                continue
            }
            guard let fields = value as? [String: Any] else {
                throw SafeTensorsError.badEntry(file: path, tensor: name, detail: "entry is not an object")
            }
            guard let dtypeName = fields["dtype"] as? String else {
                throw SafeTensorsError.badEntry(file: path, tensor: name, detail: "missing string field 'dtype'")
            }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                throw SafeTensorsError.unsupportedDType(file: path, tensor: name, dtype: dtypeName)
            }
            guard let shapeValues = fields["shape"] as? [Any] else {
                throw SafeTensorsError.badEntry(file: path, tensor: name, detail: "missing array field 'shape'")
            }
            var shape: [Int] = []
            var elements = 1
            for dimension in shapeValues {
                guard let d = Self.integer(dimension), d >= 0 else {
                    throw SafeTensorsError.badEntry(file: path, tensor: name, detail: "shape \(shapeValues) has a non-integer or negative dimension")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= Int(Int32.max) * 64 else {
                    throw SafeTensorsError.badEntry(file: path, tensor: name, detail: "shape \(shapeValues) is absurdly large")
                }
                elements = product
                shape.append(d)
            }
            guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = Self.integer(offsets[0]), let end = Self.integer(offsets[1]), begin >= 0, end >= begin else {
                throw SafeTensorsError.badEntry(file: path, tensor: name, detail: "data_offsets must be [begin, end] with 0 <= begin <= end")
            }
            let expected = elements * dtype.typeSize
            guard end - begin == expected else {
                throw SafeTensorsError.sizeMismatch(file: path, tensor: name, expectedBytes: expected, foundBytes: end - begin)
            }
            guard end <= dataSize else {
                throw SafeTensorsError.dataOutOfRange(file: path, tensor: name, end: end, dataSize: dataSize)
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: (dataStart + begin)..<(dataStart + end))
            ordered.append((name, begin))
        }
        self.metadata = metadata
        self.entries = entries
        tensorNames = ordered.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
    }

    private static func integer(_ value: Any) -> Int? {
        if let number = value as? NSNumber {
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9.0e15 else { return nil }
            return number.intValue
        }
        return nil
    }

    public func tensor(named name: String) -> StoredTensor? {
        guard let entry = entries[name] else { return nil }
        return StoredTensor(name: name, dtype: entry.dtype, shape: entry.shape,
                            bytes: mapping.bytes(entry.range), file: path, owner: mapping)
    }
}

/// The tensors of a Hugging Face checkpoint: one `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json`.
public final class SafeTensorsCheckpoint: TensorSource, Sendable {
    /// The opened files.
    public let files: [SafeTensorsFile]
    public let tensorNames: [String]
    private let owners: [String: SafeTensorsFile]

    /// Opens the checkpoint in `directory`.
    public init(directory: URL) throws {
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        let single = directory.appendingPathComponent("model.safetensors")
        var files: [SafeTensorsFile] = []
        if FileManager.default.fileExists(atPath: index.path) {
            let data: Data
            do { data = try Data(contentsOf: index) } catch {
                throw SafeTensorsError.badIndex(file: index.path, detail: "unreadable: \(error.localizedDescription)")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let weightMap = object["weight_map"] as? [String: Any] else {
                throw SafeTensorsError.badIndex(file: index.path, detail: "expected an object with a 'weight_map' object")
            }
            var shardNames: [String] = []
            for (tensor, value) in weightMap {
                guard let shard = value as? String, !shard.contains("/"), !shard.isEmpty else {
                    throw SafeTensorsError.badIndex(file: index.path, detail: "tensor '\(tensor)' maps to an invalid shard name")
                }
                if !shardNames.contains(shard) { shardNames.append(shard) }
            }
            for shard in shardNames.sorted() {
                let shardPath = directory.appendingPathComponent(shard).path
                guard FileManager.default.fileExists(atPath: shardPath) else {
                    throw SafeTensorsError.missingShard(index: index.path, shard: shard)
                }
                files.append(try SafeTensorsFile(path: shardPath))
            }
            // Every tensor the index names must be in the shard it names.
            for (tensor, value) in weightMap {
                guard let shard = value as? String,
                      let file = files.first(where: { URL(fileURLWithPath: $0.path).lastPathComponent == shard }),
                      file.tensor(named: tensor) != nil else {
                    throw SafeTensorsError.badIndex(file: index.path, detail: "tensor '\(tensor)' is not in its shard '\(value)'")
                }
            }
        } else if FileManager.default.fileExists(atPath: single.path) {
            files = [try SafeTensorsFile(path: single.path)]
        } else {
            throw FileError.notFound(path: single.path + " (or model.safetensors.index.json)")
        }
        var owners: [String: SafeTensorsFile] = [:]
        var names: [String] = []
        for file in files {
            for name in file.tensorNames {
                if let other = owners[name] {
                    throw SafeTensorsError.duplicateTensor(tensor: name, files: [other.path, file.path])
                }
                owners[name] = file
                names.append(name)
            }
        }
        self.files = files
        self.owners = owners
        tensorNames = names
    }

    public func tensor(named name: String) -> StoredTensor? {
        owners[name]?.tensor(named: name)
    }
}
