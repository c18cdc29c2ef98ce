import Foundation
import LFMCore

/// Writes a `.safetensors` file: tensors are given as raw little-endian bytes in their dtype.
public struct SafeTensorsWriter {
    private var tensors: [(name: String, dtype: DType, shape: [Int], bytes: Data)] = []
    /// Strings stored under `__metadata__`.
    public var metadata: [String: String] = [:]

    /// Creates an empty writer.
    public init() {}

    /// Adds a tensor of `dtype` whose raw bytes are `bytes` (row-major, outermost dim first).
    public mutating func add(_ name: String, dtype: DType, shape: [Int], bytes: Data) {
        tensors.append((name, dtype, shape, bytes))
    }

    /// Adds `values` stored as `dtype` (rounded to nearest-even for F16/BF16).
    public mutating func add(_ name: String, shape: [Int], values: [Float], as dtype: SafeTensorsDType = .f32) {
        let data: Data
        switch dtype {
        case .f32: data = values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        case .f16: data = values.map { HalfConversion.floatToF16($0).littleEndian }.withUnsafeBytes { Data($0) }
        case .bf16: data = values.map { HalfConversion.floatToBF16($0).littleEndian }.withUnsafeBytes { Data($0) }
        }
        add(name, dtype: dtype.dtype, shape: shape, bytes: data)
    }

    /// The whole file's bytes.
    public func serialized() -> Data {
        var out = header()
        for tensor in tensors { out.append(tensor.bytes) }
        return out
    }

    /// Writes the file to `url` atomically (a temporary file next to it, then renamed), one
    /// tensor at a time, without assembling the whole file in memory.
    public func write(to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).partial")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.write(contentsOf: header())
            for tensor in tensors { try handle.write(contentsOf: tensor.bytes) }
            try handle.synchronize()
            // rename(2) replaces an existing file atomically (Foundation's replaceItemAt failed with
            // "file doesn't exist" on Linux when the destination existed).
            guard rename(temporary.path, url.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path,
                                                             NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)])
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// The 8-byte header length and the JSON header, padded with spaces to a multiple of 8.
    private func header() -> Data {
        var offset = 0
        var parts: [String] = []
        let quote = { (s: String) in JSONStringLiteral.make(s) }
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(quote($0)):\(quote(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        for tensor in tensors {
            let end = offset + tensor.bytes.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(quote(tensor.name)):{\"dtype\":\"\(tensor.dtype.name)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var headerData = Data(("{" + parts.joined(separator: ",") + "}").utf8)
        while headerData.count % 8 != 0 { headerData.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(headerData)
        return out
    }
}

/// The element types a safetensors file can hold here.
public enum SafeTensorsDType: Sendable {
    case f32, f16, bf16

    /// The engine's storage type.
    public var dtype: DType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        }
    }
}
