// Writes GGUF version 3 files that ggml's gguf.cpp and the gguf Python package read.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives one tensor's bytes while `GGUFWriter.write` streams the file.
public struct GGUFDataSink {
    fileprivate let file: UnsafeMutablePointer<FILE>
    fileprivate let path: String
    /// Bytes written so far for the current tensor.
    public fileprivate(set) var written = 0

    /// Appends `bytes` to the current tensor's data.
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        guard fwrite(base, 1, bytes.count, file) == bytes.count else { throw GGUFError.writeFailed(path: path, errno: errno) }
        written += bytes.count
    }

    /// Appends `bytes` to the current tensor's data.
    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Builds a GGUF v3 file: metadata in insertion order, then tensor infos, then the tensor data, each
/// tensor padded to the alignment (`general.alignment` if set, else 32), exactly as the gguf Python
/// package's `GGUFWriter` lays it out (so the same content gives the same bytes).
///
/// Note: ggml's C reader (gguf.cpp) rejects nested arrays and tensor names of 64 bytes or more; the
/// writer refuses such names, and accepts nested arrays (the Python reader and this package read them).
public struct GGUFWriter {
    /// Metadata entries in the order they will be written.
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    /// Tensor infos in the order they will be written, with their data offsets.
    public private(set) var tensors: [GGUFTensorInfo] = []
    private var keys = Set<String>()
    private var names = Set<String>()

    /// Longest tensor name ggml accepts, in UTF-8 bytes (GGML_MAX_NAME - 1).
    public static let maxTensorNameBytes = 63

    /// An empty writer.
    public init() {}

    /// Data alignment: `general.alignment` if present, else 32.
    public var alignment: Int {
        if case .uint32(let a)? = metadata.first(where: { $0.key == "general.alignment" })?.value { return Int(a) }
        return 32
    }

    /// Appends a metadata entry; throws on a duplicate key or a bad `general.alignment`.
    public mutating func add(_ key: String, _ value: GGUFValue) throws {
        guard tensors.isEmpty || key != "general.alignment" else {
            throw GGUFError.invalidWriterInput("general.alignment must be set before adding tensors")
        }
        guard keys.insert(key).inserted else { throw GGUFError.duplicateKey(key) }
        if key == "general.alignment" {
            guard case .uint32(let a) = value, a != 0, a & (a - 1) == 0 else {
                keys.remove(key)
                throw GGUFError.badAlignment(found: value.description)
            }
        }
        metadata.append((key, value))
    }

    /// Appends a tensor of `dimensions` (fastest-varying first, like ggml's `ne`) and `type`; its data is
    /// supplied to `write`. Returns the info (with its offset in the data section).
    @discardableResult
    public mutating func addTensor(name: String, dimensions: [Int], type: GGUFTensorType) throws -> GGUFTensorInfo {
        guard !name.isEmpty, name.utf8.count <= Self.maxTensorNameBytes else {
            throw GGUFError.invalidWriterInput("tensor name \"\(name)\" must have 1...\(Self.maxTensorNameBytes) UTF-8 bytes")
        }
        guard (1...4).contains(dimensions.count) else {
            throw GGUFError.invalidWriterInput("tensor \(name): \(dimensions.count) dimensions, expected 1...4")
        }
        guard names.insert(name).inserted else { throw GGUFError.duplicateTensorName(name) }
        let next: Int
        if let last = tensors.last {
            let (end, overflow) = last.offset.addingReportingOverflow(last.byteCount)
            guard !overflow, end <= Int.max - alignment else {
                throw GGUFError.invalidWriterInput("tensor \(name): data section size overflows")
            }
            next = (end + alignment - 1) / alignment * alignment
        } else {
            next = 0
        }
        guard dimensions.allSatisfy({ $0 >= 0 }) else {
            names.remove(name)
            throw GGUFError.invalidWriterInput("tensor \(name): negative dimension in \(dimensions)")
        }
        do {
            let info = try GGUFParser.validateTensor(name, dimensions.map { UInt64($0) }, type.rawValue, UInt64(next),
                                                     alignment: alignment, dataOffset: 0, fileSize: Int.max)
            tensors.append(info)
            return info
        } catch {
            names.remove(name)
            throw error
        }
    }

    /// The header: magic, version, counts, metadata, tensor infos, zero padding up to the data section.
    public func headerBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: [0x47, 0x47, 0x55, 0x46])
        append(UInt32(3), to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            appendString(key, to: &out)
            append(value.type.rawValue, to: &out)
            appendValue(value, to: &out)
        }
        for t in tensors {
            appendString(t.name, to: &out)
            append(UInt32(t.dimensions.count), to: &out)
            for d in t.dimensions { append(UInt64(d), to: &out) }
            append(t.type.rawValue, to: &out)
            append(UInt64(t.offset), to: &out)
        }
        let padded = (out.count + alignment - 1) / alignment * alignment
        out.append(contentsOf: repeatElement(0, count: padded - out.count))
        return out
    }

    /// Writes the file to `path`, asking `tensorData` for each tensor's bytes in order. Each call must
    /// write exactly `info.byteCount` bytes to the sink.
    ///
    /// The bytes go to a temporary file next to `path`, renamed over it only once complete: an
    /// interrupted or failed write leaves any existing file untouched, and an input that is read
    /// (memory-mapped) from `path` itself stays valid while its replacement is written.
    public func write(to path: String,
                      tensorData: (_ info: GGUFTensorInfo, _ sink: inout GGUFDataSink) throws -> Void) throws {
        let temporary = path + ".\(getpid()).partial"
        do {
            try writeWhole(to: temporary, tensorData: tensorData)
            guard rename(temporary, path) == 0 else { throw GGUFError.writeFailed(path: path, errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    private func writeWhole(to path: String,
                            tensorData: (_ info: GGUFTensorInfo, _ sink: inout GGUFDataSink) throws -> Void) throws {
        guard let file = fopen(path, "wb") else { throw GGUFError.writeFailed(path: path, errno: errno) }
        var closed = false
        defer { if !closed { fclose(file) } }
        var sink = GGUFDataSink(file: file, path: path)
        try sink.write(headerBytes())
        let zeros = [UInt8](repeating: 0, count: alignment)
        for t in tensors {
            sink.written = 0
            try tensorData(t, &sink)
            guard sink.written == t.byteCount else {
                throw GGUFError.tensorDataSizeMismatch(tensor: t.name, expected: t.byteCount, found: sink.written)
            }
            let pad = (alignment - t.byteCount % alignment) % alignment
            try zeros.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<pad])) }
        }
        closed = true
        guard fclose(file) == 0 else { throw GGUFError.writeFailed(path: path, errno: errno) }
    }

    /// Writes the file with tensor data taken from `data[name]` (convenience for small files and tests).
    public func write(to path: String, data: [String: [UInt8]]) throws {
        try write(to: path) { info, sink in
            guard let bytes = data[info.name] else { throw GGUFError.missingTensor(info.name) }
            try sink.write(bytes)
        }
    }

    private func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private func appendString(_ s: String, to out: inout [UInt8]) {
        append(UInt64(s.utf8.count), to: &out)
        out.append(contentsOf: s.utf8)
    }

    private func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .bool(let v): append(UInt8(v ? 1 : 0), to: &out)
        case .string(let s): appendString(s, to: &out)
        case .array(let a): appendArray(a, to: &out)
        }
    }

    private func appendArray(_ a: GGUFArray, to out: inout [UInt8]) {
        append(a.elementType.rawValue, to: &out)
        append(UInt64(a.count), to: &out)
        switch a {
        case .uint8(let xs): out.append(contentsOf: xs)
        case .int8(let xs): xs.forEach { append($0, to: &out) }
        case .uint16(let xs): xs.forEach { append($0, to: &out) }
        case .int16(let xs): xs.forEach { append($0, to: &out) }
        case .uint32(let xs): xs.forEach { append($0, to: &out) }
        case .int32(let xs): xs.forEach { append($0, to: &out) }
        case .uint64(let xs): xs.forEach { append($0, to: &out) }
        case .int64(let xs): xs.forEach { append($0, to: &out) }
        case .float32(let xs): xs.forEach { append($0.bitPattern, to: &out) }
        case .float64(let xs): xs.forEach { append($0.bitPattern, to: &out) }
        case .bool(let xs): xs.forEach { append(UInt8($0 ? 1 : 0), to: &out) }
        case .string(let xs): xs.forEach { appendString($0, to: &out) }
        case .array(let xs): xs.forEach { appendArray($0, to: &out) }
        }
    }
}
