// Writes any family's GGUF file from a tensor list (a family's export description, or the tensors of
// a GGUF file being re-typed), with the bytes llama.cpp's converter and llama-quantize write.
import Foundation
import LFMCore
import LFMFormats

/// The architecture-neutral GGUF writer behind `lfm convert` and `lfm quantize`.
public enum GGUFModelExporter {
    /// The tensors of a GGUF file as an export list (each from itself, shapes in PyTorch order).
    public static func tensors(of source: GGUFTensorSource) -> [GGUFExportTensor] {
        source.file.tensors.map { info in
            GGUFExportTensor(info.name, shape: info.dimensions.reversed(), source: .tensor(info.name))
        }
    }

    /// The stored type of each tensor's first source in `source` (F32 for computed values).
    public static func storedTypes(_ tensors: [GGUFExportTensor], source: TensorSource) -> [String: DType] {
        var out: [String: DType] = [:]
        for t in tensors {
            switch t.source {
            case .tensor(let n), .ropePermuted(let n, _): out[t.name] = source.tensor(named: n)?.dtype ?? .f32
            case .stacked(let names): out[t.name] = names.first.flatMap { source.tensor(named: $0)?.dtype } ?? .f32
            case .values: out[t.name] = .f32
            }
        }
        return out
    }

    /// `metadata` with `general.quantization_version` and `general.file_type` moved to the end with
    /// new values, as llama-quantize's `gguf_set_val_u32` leaves them.
    public static func quantizedMetadata(_ metadata: [(key: String, value: GGUFValue)], fileType: UInt32) -> [(key: String, value: GGUFValue)] {
        metadata.filter { $0.key != "general.quantization_version" && $0.key != "general.file_type" }
            + [("general.quantization_version", .uint32(2)), ("general.file_type", .uint32(fileType))]
    }

    /// Writes `metadata` and `tensors` (values from `source`, stored as `types[name]`) to `path` in
    /// the order of `tensors`; `progress(done, total)` is called with element counts.
    public static func write(to path: String, metadata: [(key: String, value: GGUFValue)], tensors: [GGUFExportTensor],
                             types: [String: DType], source: TensorSource, sourceName: String,
                             progress: ((Int, Int) -> Void)? = nil) throws {
        var writer = GGUFWriter()
        for entry in metadata { try writer.add(entry.key, entry.value) }
        var byName: [String: GGUFExportTensor] = [:]
        var total = 0
        for t in tensors {
            guard let type = types[t.name], let gguf = GGUFTensorType(rawValue: type.rawValue) else {
                throw GGUFConvertError.unsupportedSource(path: sourceName, detail: "no storage type chosen for \(t.name)")
            }
            try checkSources(t, source: source, sourceName: sourceName)
            try writer.addTensor(name: t.name, dimensions: t.shape.reversed(), type: gguf)
            byName[t.name] = t
            total += t.elementCount
        }
        var done = 0
        try writer.write(to: path) { info, sink in
            guard let t = byName[info.name], let type = types[info.name] else { throw GGUFError.missingTensor(info.name) }
            try sink.write(try bytes(of: t, as: type, source: source, sourceName: sourceName))
            done += t.elementCount
            progress?(done, total)
        }
    }

    /// Checks that every source tensor of `t` exists and holds the elements `t` needs.
    static func checkSources(_ t: GGUFExportTensor, source: TensorSource, sourceName: String) throws {
        func stored(_ name: String, count: Int) throws {
            guard let s = source.tensor(named: name) else { throw ModelLoadError.missingTensor(name: name, source: sourceName) }
            guard s.elementCount == count else {
                throw ModelLoadError.shapeMismatch(name: name, file: s.file, expected: t.shape, found: s.shape)
            }
        }
        switch t.source {
        case .tensor(let n), .ropePermuted(let n, _): try stored(n, count: t.elementCount)
        case .stacked(let names):
            guard !names.isEmpty, t.elementCount % names.count == 0 else {
                throw GGUFConvertError.unsupportedSource(path: sourceName, detail: "\(t.name): cannot stack \(names.count) tensors into \(t.shape)")
            }
            for n in names { try stored(n, count: t.elementCount / names.count) }
        case .values(let v):
            guard v.count == t.elementCount else {
                throw GGUFConvertError.unsupportedSource(path: sourceName, detail: "\(t.name): \(v.count) values for shape \(t.shape)")
            }
        }
    }

    /// The stored tensor's values as floats (widened or dequantized).
    static func values(_ tensor: StoredTensor) throws -> [Float] {
        if tensor.dtype.isQuantized { return try tensor.dtype.dequantize([UInt8](tensor.bytes), count: tensor.elementCount) }
        guard let floats = tensor.floats() else {
            throw GGUFConvertError.unsupportedSource(path: tensor.file, detail: "\(tensor.name): cannot read \(tensor.dtype.name) values")
        }
        return floats
    }

    /// The bytes of `t` stored as `type`: a plain tensor already of that type is copied as is (as
    /// llama-quantize does), anything else is widened / dequantized and then rounded or quantized with
    /// the reference quantizers, which are byte-exact with ggml's.
    static func bytes(of t: GGUFExportTensor, as type: DType, source: TensorSource, sourceName: String) throws -> [UInt8] {
        func stored(_ name: String) throws -> StoredTensor {
            guard let s = source.tensor(named: name) else { throw ModelLoadError.missingTensor(name: name, source: sourceName) }
            return s
        }
        let floats: [Float]
        switch t.source {
        case .tensor(let n):
            let tensor = try stored(n)
            if tensor.dtype == type { return [UInt8](tensor.bytes) }
            floats = try values(tensor)
        case .ropePermuted(let n, let heads): floats = try ropePermute(values(try stored(n)), rows: t.shape[0], heads: heads, name: t.name, sourceName: sourceName)
        case .stacked(let names): floats = try names.flatMap { try values(try stored($0)) }
        case .values(let v): floats = v
        }
        return try encode(floats, as: type)
    }

    /// llama.cpp's converter's `LlamaModel.permute`: rows grouped by head as `[half, 2]` instead of
    /// `[2, half]` (the columns of a row move with it).
    static func ropePermute(_ values: [Float], rows: Int, heads: Int, name: String, sourceName: String) throws -> [Float] {
        guard heads > 0, rows % (2 * heads) == 0, rows > 0, values.count % rows == 0 else {
            throw GGUFConvertError.unsupportedSource(path: sourceName, detail: "\(name): cannot permute \(rows) rows for \(heads) heads")
        }
        let columns = values.count / rows, half = rows / heads / 2
        var out = [Float](repeating: 0, count: values.count)
        for h in 0..<heads {
            for two in 0..<2 {
                for j in 0..<half {
                    let from = (h * 2 * half + two * half + j) * columns
                    let to = (h * 2 * half + j * 2 + two) * columns
                    out[to..<(to + columns)] = values[from..<(from + columns)]
                }
            }
        }
        return out
    }

    /// `values` stored as `type` (F32, F16, BF16 or a quantized type, byte-exact with ggml).
    static func encode(_ values: [Float], as type: DType) throws -> [UInt8] {
        switch type {
        case .f32: return values.withUnsafeBytes { [UInt8]($0) }
        case .f16: return values.map { HalfConversion.floatToF16($0) }.withUnsafeBytes { [UInt8]($0) }
        case .bf16: return values.map { HalfConversion.floatToBF16($0) }.withUnsafeBytes { [UInt8]($0) }
        default: return try type.quantize(values)
        }
    }
}
