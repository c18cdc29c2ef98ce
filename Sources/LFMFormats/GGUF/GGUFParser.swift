// Bounds-checked parsing of the GGUF header, metadata and tensor infos.
//
// Every count and length read from the file is checked against the bytes that remain before anything
// is allocated, so a corrupt or hostile file costs at most memory proportional to its size.

/// A little-endian cursor over the file bytes.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    var offset: Int = 0

    var remaining: Int { bytes.count - offset }

    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count <= remaining else {
            throw GGUFError.truncated(what: what(), offset: offset, needed: count, fileSize: bytes.count)
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    /// Reads a count and checks that `count * minimumElementSize` bytes remain.
    mutating func readCount(_ what: @autoclosure () -> String, minimumElementSize: Int) throws -> Int {
        let at = offset
        let raw = try read(UInt64.self, what())
        let (needed, overflow) = raw.multipliedReportingOverflow(by: UInt64(max(minimumElementSize, 1)))
        guard !overflow, needed <= UInt64(remaining) else {
            throw GGUFError.countTooLarge(what: what(), count: raw, offset: at, remainingBytes: remaining)
        }
        return Int(raw)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let at = offset
        let length = try read(UInt64.self, what())
        guard length <= UInt64(remaining) else {
            throw GGUFError.stringTooLong(what: what(), length: length, offset: at, remainingBytes: remaining)
        }
        let count = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        guard let string = slice.withMemoryRebound(to: UInt8.self, { String(validating: $0, as: UTF8.self) }) else {
            throw GGUFError.invalidUTF8(what: what(), offset: at)
        }
        offset += count
        return string
    }
}

/// The parsed header of a GGUF file (everything before the data section).
struct GGUFHeader {
    var version: UInt32
    var metadata: GGUFMetadata
    var tensors: [GGUFTensorInfo]
    var alignment: Int
    var dataOffset: Int
}

enum GGUFParser {
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> GGUFHeader {
        var c = GGUFCursor(bytes: bytes)
        try c.need(4, "magic")
        let magic = [UInt8](bytes[0..<4])
        guard magic == [0x47, 0x47, 0x55, 0x46] else { throw GGUFError.badMagic(found: magic) }
        c.offset = 4
        let version = try c.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        // Smallest tensor info: 8-byte name length, 4-byte n_dims, 4-byte type, 8-byte offset.
        let tensorCount = try c.readCount("tensor", minimumElementSize: 24)
        // Smallest key/value: 8-byte key length, 4-byte type, 1-byte value.
        let kvCount = try c.readCount("metadata key/value", minimumElementSize: 13)

        var entries: [(key: String, value: GGUFValue)] = []
        entries.reserveCapacity(kvCount)
        var seen = Set<String>()
        for _ in 0..<kvCount {
            let key = try c.readString("metadata key")
            guard seen.insert(key).inserted else { throw GGUFError.duplicateKey(key) }
            let at = c.offset
            let rawType = try c.read(UInt32.self, "type of \(key)")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(key: key, rawValue: rawType, offset: at)
            }
            entries.append((key, try readValue(&c, type, key: key, depth: 0)))
        }
        let metadata = try GGUFMetadata(entries)

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard case .uint32(let a) = value, a != 0, a & (a - 1) == 0 else {
                throw GGUFError.badAlignment(found: value.description)
            }
            alignment = Int(a)
        }

        var raw: [(name: String, dims: [UInt64], type: UInt32, offset: UInt64)] = []
        raw.reserveCapacity(tensorCount)
        var names = Set<String>()
        for _ in 0..<tensorCount {
            let name = try c.readString("tensor name")
            guard names.insert(name).inserted else { throw GGUFError.duplicateTensorName(name) }
            let nDims = try c.read(UInt32.self, "dimension count of \(name)")
            guard nDims <= 4 else { throw GGUFError.tooManyDimensions(tensor: name, count: nDims) }
            var dims: [UInt64] = []
            for i in 0..<Int(nDims) { dims.append(try c.read(UInt64.self, "dimension \(i) of \(name)")) }
            let type = try c.read(UInt32.self, "type of \(name)")
            let offset = try c.read(UInt64.self, "data offset of \(name)")
            raw.append((name, dims, type, offset))
        }

        let (padded, overflow) = c.offset.addingReportingOverflow(alignment - 1)
        guard !overflow else { throw GGUFError.truncated(what: "data section", offset: c.offset, needed: alignment, fileSize: bytes.count) }
        let dataOffset = padded / alignment * alignment

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(raw.count)
        for t in raw {
            tensors.append(try validateTensor(t.name, t.dims, t.type, t.offset, alignment: alignment,
                                              dataOffset: dataOffset, fileSize: bytes.count))
        }
        return GGUFHeader(version: version, metadata: metadata, tensors: tensors, alignment: alignment, dataOffset: dataOffset)
    }

    static func validateTensor(_ name: String, _ dims: [UInt64], _ rawType: UInt32, _ offset: UInt64,
                               alignment: Int, dataOffset: Int, fileSize: Int) throws -> GGUFTensorInfo {
        guard let type = GGUFTensorType(rawValue: rawType) else {
            throw GGUFError.unknownTensorType(tensor: name, rawValue: rawType)
        }
        var dimensions: [Int] = []
        var elements = 1
        for d in dims {
            // ggml stores ne as int64: anything above Int64.max is negative there.
            guard let v = Int(exactly: d) else {
                throw GGUFError.badDimensions(tensor: name, dimensions: dims, reason: "dimension \(d) exceeds Int64.max")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: v)
            guard !overflow else {
                throw GGUFError.badDimensions(tensor: name, dimensions: dims, reason: "element count overflows Int64")
            }
            dimensions.append(v)
            elements = product
        }
        let first = dimensions.first ?? 1
        guard first % type.blockSize == 0 else {
            throw GGUFError.notBlockMultiple(tensor: name, type: type.name, firstDimension: first, blockSize: type.blockSize)
        }
        let (bytes, overflow) = (elements / type.blockSize).multipliedReportingOverflow(by: type.typeSize)
        guard !overflow else {
            throw GGUFError.badDimensions(tensor: name, dimensions: dims, reason: "byte size overflows Int64")
        }
        guard offset % UInt64(alignment) == 0 else {
            throw GGUFError.misalignedOffset(tensor: name, offset: offset, alignment: alignment)
        }
        let start = UInt64(dataOffset).addingReportingOverflow(offset)
        let end = start.partialValue.addingReportingOverflow(UInt64(bytes))
        guard !start.overflow, !end.overflow, end.partialValue <= UInt64(fileSize) else {
            throw GGUFError.tensorOutOfBounds(tensor: name, start: start.overflow ? .max : start.partialValue,
                                              byteCount: bytes, fileSize: fileSize)
        }
        return GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: Int(offset),
                              elementCount: elements, byteCount: bytes)
    }

    static func readValue(_ c: inout GGUFCursor, _ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try c.read(UInt8.self, key))
        case .int8: return .int8(try c.read(Int8.self, key))
        case .uint16: return .uint16(try c.read(UInt16.self, key))
        case .int16: return .int16(try c.read(Int16.self, key))
        case .uint32: return .uint32(try c.read(UInt32.self, key))
        case .int32: return .int32(try c.read(Int32.self, key))
        case .uint64: return .uint64(try c.read(UInt64.self, key))
        case .int64: return .int64(try c.read(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try c.read(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try c.read(UInt64.self, key)))
        case .bool:
            // ggml writes 0 or 1; any non-zero byte reads as true, as in ggml.
            return .bool(try c.read(UInt8.self, key) != 0)
        case .string: return .string(try c.readString(key))
        case .array: return .array(try readArray(&c, key: key, depth: depth + 1))
        }
    }

    static func readArray(_ c: inout GGUFCursor, key: String, depth: Int) throws -> GGUFArray {
        let at = c.offset
        guard depth <= GGUFFile.maxArrayNesting else { throw GGUFError.arrayNestingTooDeep(key: key, offset: at) }
        let rawType = try c.read(UInt32.self, "array element type of \(key)")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw GGUFError.unknownValueType(key: key, rawValue: rawType, offset: at)
        }
        let count = try c.readCount("array of \(key)", minimumElementSize: type.minimumEncodedSize)
        func scalars<T: FixedWidthInteger>(_: T.Type) throws -> [T] {
            // The count was checked against the remaining bytes, so this is in bounds.
            let size = MemoryLayout<T>.size
            let base = c.offset
            let values = (0..<count).map { T(littleEndian: c.bytes.loadUnaligned(fromByteOffset: base + $0 * size, as: T.self)) }
            c.offset += count * size
            return values
        }
        switch type {
        case .uint8: return .uint8(try scalars(UInt8.self))
        case .int8: return .int8(try scalars(Int8.self))
        case .uint16: return .uint16(try scalars(UInt16.self))
        case .int16: return .int16(try scalars(Int16.self))
        case .uint32: return .uint32(try scalars(UInt32.self))
        case .int32: return .int32(try scalars(Int32.self))
        case .uint64: return .uint64(try scalars(UInt64.self))
        case .int64: return .int64(try scalars(Int64.self))
        case .float32: return .float32(try scalars(UInt32.self).map(Float.init(bitPattern:)))
        case .float64: return .float64(try scalars(UInt64.self).map(Double.init(bitPattern:)))
        case .bool: return .bool(try scalars(UInt8.self).map { $0 != 0 })
        case .string:
            var values: [String] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try c.readString("element of \(key)")) }
            return .string(values)
        case .array:
            var values: [GGUFArray] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try readArray(&c, key: key, depth: depth + 1)) }
            return .array(values)
        }
    }
}
