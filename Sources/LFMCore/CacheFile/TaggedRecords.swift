/// A four-character tag naming a record ("SQKV", "TOKN", ...), stored as a little-endian UInt32.
public struct RecordTag: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The tag spelled by four ASCII characters.
    public init(_ text: StaticString) {
        precondition(text.utf8CodeUnitCount == 4, "a record tag has four ASCII characters")
        let p = text.utf8Start
        rawValue = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
    }

    public var description: String {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> (8 * $0)) }
        if bytes.allSatisfy({ (0x20...0x7E).contains($0) }) { return String(decoding: bytes, as: UTF8.self) }
        return "0x" + String(rawValue, radix: 16)
    }
}

/// Builds a little-endian byte buffer: scalars, raw bytes, and tagged records.
///
/// A record is `tag u32, flags u32, length u64`, then `length` bytes, zero-padded to a multiple of 8
/// (so float payloads stay 8-byte aligned relative to the buffer's start). Flag bit 0
/// (``required``) tells a reader that does not know the tag that it cannot skip the record.
public struct ByteWriter: Sendable {
    /// Flag: a reader must understand this record to use the data.
    public static let required: UInt32 = 1

    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    /// Appends raw bytes.
    public mutating func raw(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }
    public mutating func raw(_ data: [UInt8]) { bytes.append(contentsOf: data) }
    /// Appends `values` as little-endian F32 (the host's layout on every supported platform).
    public mutating func floats(_ values: ArraySlice<Float>) { values.withUnsafeBytes { bytes.append(contentsOf: $0) } }
    /// Appends `values` as a count (i64) and little-endian i32s.
    public mutating func tokens(_ values: [Int]) {
        i64(values.count)
        for v in values { u32(UInt32(bitPattern: Int32(truncatingIfNeeded: v))) }
    }
    /// Zero bytes up to a multiple of 8.
    public mutating func pad() { while bytes.count % 8 != 0 { bytes.append(0) } }

    /// Appends a record whose payload `body` writes.
    public mutating func record(_ tag: RecordTag, flags: UInt32 = 0, _ body: (inout ByteWriter) -> Void) {
        u32(tag.rawValue)
        u32(flags)
        let lengthAt = bytes.count
        u64(0)
        let start = bytes.count
        body(&self)
        let length = UInt64(bytes.count - start)
        withUnsafeBytes(of: length.littleEndian) { for i in 0..<8 { bytes[lengthAt + i] = $0[i] } }
        pad()
    }
}

/// One record read back: its tag, flags and payload (a view into the reader's buffer).
public struct Record {
    public let tag: RecordTag
    public let flags: UInt32
    public let payload: UnsafeRawBufferPointer
    /// Whether a reader that does not know the tag must refuse the data.
    public var isRequired: Bool { flags & ByteWriter.required != 0 }
}

/// Reads what `ByteWriter` wrote, checking every length against the bytes there are.
public struct ByteReader {
    /// The bytes being read.
    public let buffer: UnsafeRawBufferPointer
    /// Next byte to read.
    public private(set) var offset = 0
    /// Names the data in errors (e.g. "sequence state").
    public let context: String

    public init(_ buffer: UnsafeRawBufferPointer, context: String) {
        self.buffer = buffer
        self.context = context
    }

    /// Bytes not yet read.
    public var remaining: Int { buffer.count - offset }

    private mutating func take(_ count: Int, _ what: String) throws(CacheFileError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw .malformed(detail: "\(context): \(what) needs \(count) bytes at offset \(offset), \(remaining) left")
        }
        let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
        offset += count
        return slice
    }

    public mutating func u32(_ what: String) throws(CacheFileError) -> UInt32 {
        UInt32(littleEndian: try take(4, what).loadUnaligned(as: UInt32.self))
    }
    public mutating func u64(_ what: String) throws(CacheFileError) -> UInt64 {
        UInt64(littleEndian: try take(8, what).loadUnaligned(as: UInt64.self))
    }
    /// A signed count or position, checked to lie in `range`.
    public mutating func i64(_ what: String, in range: ClosedRange<Int> = 0...Int(Int32.max) * 64) throws(CacheFileError) -> Int {
        let raw = Int64(bitPattern: try u64(what))
        guard raw >= Int64(range.lowerBound), raw <= Int64(range.upperBound) else {
            throw .malformed(detail: "\(context): \(what) is \(raw), expected \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(raw)
    }
    /// `count` raw bytes.
    public mutating func raw(_ count: Int, _ what: String) throws(CacheFileError) -> UnsafeRawBufferPointer { try take(count, what) }
    /// `count` F32 values.
    public mutating func floats(_ count: Int, _ what: String) throws(CacheFileError) -> [Float] {
        guard count <= remaining / 4 else {
            throw .malformed(detail: "\(context): \(what) needs \(count) floats at offset \(offset), \(remaining) bytes left")
        }
        let bytes = try take(count * 4, what)
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0 { UnsafeMutableRawBufferPointer(out).copyMemory(from: bytes) }
            initialized = count
        }
    }
    /// Token ids written by `ByteWriter.tokens`.
    public mutating func tokens(_ what: String) throws(CacheFileError) -> [Int] {
        let count = try i64("\(what) count", in: 0...(remaining / 4))
        let bytes = try take(count * 4, what)
        return (0..<count).map { Int(Int32(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))) }
    }

    /// Every record from here to the end of the buffer.
    public mutating func records() throws(CacheFileError) -> [Record] {
        var out: [Record] = []
        while remaining > 0 {
            let tag = RecordTag(rawValue: try u32("record tag"))
            let flags = try u32("flags of record \(tag)")
            let length = try i64("length of record \(tag)", in: 0...remaining)
            let payload = try take(length, "payload of record \(tag)")
            let padding = (8 - length % 8) % 8
            _ = try take(min(padding, remaining), "padding of record \(tag)")
            out.append(Record(tag: tag, flags: flags, payload: payload))
        }
        return out
    }
}

extension Array where Element == Record {
    /// Throws when a record this reader does not know (not in `known`) is flagged required.
    public func checkKnown(_ known: Set<RecordTag>, context: String) throws(CacheFileError) {
        if let unknown = first(where: { $0.isRequired && !known.contains($0.tag) }) {
            throw .unsupportedRecord(tag: unknown.tag.description, context: context)
        }
    }

    /// The first record tagged `tag`.
    public func first(_ tag: RecordTag) -> Record? { first { $0.tag == tag } }
}
