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
        var data = Data(capacity: values.count * dtype.dtype.typeSize)
        for value in values {
            switch dtype {
            case .f32: withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            case .f16: withUnsafeBytes(of: HalfConversion.floatToF16(value).littleEndian) { data.append(contentsOf: $0) }
            case .bf16: withUnsafeBytes(of: HalfConversion.floatToBF16(value).littleEndian) { data.append(contentsOf: $0) }
            }
        }
        add(name, dtype: dtype.dtype, shape: shape, bytes: data)
    }

    /// The whole file's bytes.
    public func serialized() -> Data {
        var header = "{"
        var offset = 0
        var parts: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(Self.quote($0)):\(Self.quote(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        for tensor in tensors {
            let end = offset + tensor.bytes.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(Self.quote(tensor.name)):{\"dtype\":\"\(tensor.dtype.name)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += parts.joined(separator: ",") + "}"
        var headerData = Data(header.utf8)
        while headerData.count % 8 != 0 { headerData.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(headerData)
        for tensor in tensors { out.append(tensor.bytes) }
        return out
    }

    /// Writes the file to `url` atomically.
    public func write(to url: URL) throws {
        try serialized().write(to: url, options: .atomic)
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
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
