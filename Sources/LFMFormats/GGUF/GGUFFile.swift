// A parsed GGUF file whose tensor data stays in a memory mapping.
import LFMCore

/// Owns a heap copy of a GGUF image parsed from memory.
final class GGUFBytes: @unchecked Sendable {
    // @unchecked: `buffer` is written only in init, then only read.
    let buffer: UnsafeMutableRawBufferPointer

    init(_ bytes: [UInt8]) {
        // 64-byte aligned so tensor views are as aligned as in a mapped file.
        buffer = .allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    deinit { buffer.deallocate() }
}

/// A GGUF file (version 3, or 2): metadata, tensor infos, and views of the tensor data.
///
/// The file is memory-mapped; `data(for:)` returns views into the mapping, valid while this value
/// (or `owner`) is alive. All structure is validated on open: see `GGUFError`.
public struct GGUFFile: @unchecked Sendable {
    // @unchecked: immutable; `bytes` is a read-only view of memory that `owner` keeps alive.
    /// Deepest nesting of arrays accepted (an array of arrays of strings has depth 2).
    public static let maxArrayNesting = 8

    /// File version (2 or 3).
    public let version: UInt32
    /// Key/value metadata in file order.
    public let metadata: GGUFMetadata
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// Alignment of the data section and of every tensor offset (`general.alignment`, default 32).
    public let alignment: Int
    /// Byte offset of the data section in the file.
    public let dataOffset: Int
    /// Size of the file in bytes.
    public let fileSize: Int
    /// Keeps the bytes behind `data(for:)` alive (a `MappedFile` for files opened by path).
    public let owner: AnyObject

    private let bytes: UnsafeRawBufferPointer
    private let tensorIndex: [String: Int]

    /// Memory-maps and parses the GGUF file at `path`.
    public init(path: String) throws {
        let mapped = try MappedFile(path: path)
        try self.init(bytes: mapped.bytes(0..<mapped.count), owner: mapped)
    }

    /// Parses a GGUF image held in memory (copied).
    public init(bytes: [UInt8]) throws {
        let storage = GGUFBytes(bytes)
        try self.init(bytes: UnsafeRawBufferPointer(rebasing: storage.buffer[0..<bytes.count]), owner: storage)
    }

    private init(bytes: UnsafeRawBufferPointer, owner: AnyObject) throws {
        let header = try GGUFParser.parse(bytes)
        version = header.version
        metadata = header.metadata
        tensors = header.tensors
        alignment = header.alignment
        dataOffset = header.dataOffset
        fileSize = bytes.count
        self.owner = owner
        self.bytes = bytes
        var index: [String: Int] = [:]
        for (i, t) in header.tensors.enumerated() { index[t.name] = i }
        tensorIndex = index
    }

    /// The info of the tensor called `name`, or nil.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The info of the tensor called `name`; throws `GGUFError.missingTensor` when absent.
    public func requireTensor(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensor(named: name) else { throw GGUFError.missingTensor(name) }
        return info
    }

    /// The stored bytes of `tensor` (validated to lie inside the file when the file was opened).
    ///
    /// `tensor` must be one of this file's `tensors`; an info from elsewhere whose range does not
    /// fit this file yields an empty buffer.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.offset
        guard tensor.offset >= 0, tensor.byteCount >= 0, start <= fileSize, tensor.byteCount <= fileSize - start,
              let base = bytes.baseAddress else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: base + start, count: tensor.byteCount)
    }
}
