import Foundation
import Testing
@testable import LFMFormats

/// Hand-built GGUF images for malformed-input tests.
struct RawGGUF {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }

    /// Magic, version, tensor count, key count.
    static func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) -> RawGGUF {
        var r = RawGGUF()
        r.bytes = Array("GGUF".utf8)
        r.u32(version)
        r.u64(tensors)
        r.u64(kvs)
        return r
    }

    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        str(name)
        u32(UInt32(dims.count))
        dims.forEach { u64($0) }
        u32(type)
        u64(offset)
    }

    mutating func padTo(_ alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

@Suite struct GGUFMalformedTests {
    func parse(_ raw: RawGGUF) throws -> GGUFFile { try GGUFFile(bytes: raw.bytes) }

    @Test func emptyAndTruncatedHeaders() throws {
        #expect(throws: GGUFError.truncated(what: "magic", offset: 0, needed: 4, fileSize: 0)) { try GGUFFile(bytes: []) }
        let good = try GGUFFixtures.bytes("aligned64.gguf")
        #expect(throws: GGUFError.truncated(what: "version", offset: 4, needed: 4, fileSize: 6)) {
            try GGUFFile(bytes: Array(good[0..<6]))
        }
        // Every prefix that cuts into the header or tensor data is rejected with a typed error (never a
        // crash); only the final padding may be cut.
        let full = try GGUFFile(bytes: good)
        let last = try #require(full.tensors.last)
        let end = full.dataOffset + last.offset + last.byteCount
        #expect(end < good.count)
        #expect(throws: Never.self) { try GGUFFile(bytes: Array(good[0..<end])) }
        for length in Array(stride(from: 0, to: end, by: 7)) + [end - 1] {
            #expect(throws: GGUFError.self) { try GGUFFile(bytes: Array(good[0..<length])) }
        }
    }

    @Test func badMagicAndVersion() throws {
        var raw = RawGGUF.header(tensors: 0, kvs: 0)
        raw.bytes[0] = 0x00
        #expect(throws: GGUFError.badMagic(found: [0x00, 0x47, 0x55, 0x46])) { try parse(raw) }
        #expect(throws: GGUFError.unsupportedVersion(1)) { try parse(.header(version: 1, tensors: 0, kvs: 0)) }
        #expect(throws: GGUFError.unsupportedVersion(4)) { try parse(.header(version: 4, tensors: 0, kvs: 0)) }
        // A big-endian file reads as a byte-swapped version.
        #expect(throws: GGUFError.unsupportedVersion(0x0300_0000)) { try parse(.header(version: 0x0300_0000, tensors: 0, kvs: 0)) }
        let empty = try parse(.header(tensors: 0, kvs: 0))
        #expect(empty.tensors.isEmpty && empty.metadata.count == 0)
    }

    @Test func absurdCountsAndLengthsAreRejectedBeforeAllocating() throws {
        #expect(throws: GGUFError.countTooLarge(what: "tensor", count: 1 << 60, offset: 8, remainingBytes: 8)) {
            try parse(.header(tensors: 1 << 60, kvs: 0))
        }
        #expect(throws: GGUFError.countTooLarge(what: "metadata key/value", count: UInt64.max, offset: 16, remainingBytes: 0)) {
            try parse(.header(tensors: 0, kvs: .max))
        }
        var raw = RawGGUF.header(tensors: 0, kvs: 1)
        raw.u64(1 << 60)  // key length
        raw.bytes.append(contentsOf: [UInt8](repeating: 0x61, count: 20))
        #expect(throws: GGUFError.stringTooLong(what: "metadata key", length: 1 << 60, offset: 24, remainingBytes: 20)) { try parse(raw) }

        raw = .header(tensors: 0, kvs: 1)
        raw.str("k")
        raw.u32(GGUFValueType.array.rawValue)
        raw.u32(GGUFValueType.uint32.rawValue)
        raw.u64(1 << 62)  // array count
        raw.u32(7)
        #expect(throws: GGUFError.countTooLarge(what: "array of k", count: 1 << 62, offset: 41, remainingBytes: 4)) { try parse(raw) }

        raw = .header(tensors: 0, kvs: 1)
        raw.str("k")
        raw.u32(GGUFValueType.string.rawValue)
        raw.u64(1 << 60)
        #expect(throws: GGUFError.stringTooLong(what: "k", length: 1 << 60, offset: 37, remainingBytes: 0)) { try parse(raw) }
    }

    @Test func badValuesAndKeys() throws {
        var raw = RawGGUF.header(tensors: 0, kvs: 1)
        raw.str("k")
        raw.u32(13)
        #expect(throws: GGUFError.unknownValueType(key: "k", rawValue: 13, offset: 33)) { try parse(raw) }

        raw = .header(tensors: 0, kvs: 2)
        raw.str("k"); raw.u32(GGUFValueType.uint8.rawValue); raw.u8(1)
        raw.str("k"); raw.u32(GGUFValueType.uint8.rawValue); raw.u8(2)
        #expect(throws: GGUFError.duplicateKey("k")) { try parse(raw) }

        raw = .header(tensors: 0, kvs: 1)
        raw.u64(2); raw.bytes.append(contentsOf: [0xC3, 0x28])  // invalid UTF-8 key
        raw.u32(GGUFValueType.uint8.rawValue); raw.u8(1)
        #expect(throws: GGUFError.invalidUTF8(what: "metadata key", offset: 24)) { try parse(raw) }

        // Arrays nested 100 deep.
        raw = .header(tensors: 0, kvs: 1)
        raw.str("deep"); raw.u32(GGUFValueType.array.rawValue)
        for _ in 0..<100 { raw.u32(GGUFValueType.array.rawValue); raw.u64(1) }
        raw.u32(GGUFValueType.uint8.rawValue); raw.u64(0)
        #expect(throws: GGUFError.self) { try parse(raw) }
        do { _ = try parse(raw) } catch let error as GGUFError {
            guard case .arrayNestingTooDeep(key: "deep", offset: _) = error else { Issue.record("\(error)"); return }
        }

        for bad: GGUFValue in [.uint32(0), .uint32(48), .uint64(32), .string("32")] {
            raw = .header(tensors: 0, kvs: 1)
            raw.str("general.alignment")
            raw.u32(bad.type.rawValue)
            switch bad {
            case .uint32(let v): raw.u32(v)
            case .uint64(let v): raw.u64(v)
            case .string(let s): raw.str(s)
            default: break
            }
            #expect(throws: GGUFError.badAlignment(found: bad.description)) { try parse(raw) }
        }
    }

    func oneTensor(dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, dataBytes: Int = 64) -> RawGGUF {
        var raw = RawGGUF.header(tensors: 1, kvs: 0)
        raw.tensorInfo("t", dims: dims, type: type, offset: offset)
        raw.padTo(32)
        raw.bytes.append(contentsOf: [UInt8](repeating: 0, count: dataBytes))
        return raw
    }

    @Test func badTensorInfos() throws {
        #expect(throws: Never.self) { try parse(oneTensor(dims: [16])) }
        #expect(throws: GGUFError.tooManyDimensions(tensor: "t", count: 5)) { try parse(oneTensor(dims: [1, 1, 1, 1, 1])) }
        #expect(throws: GGUFError.badDimensions(tensor: "t", dimensions: [1 << 63], reason: "dimension 9223372036854775808 exceeds Int64.max")) {
            try parse(oneTensor(dims: [1 << 63]))
        }
        #expect(throws: GGUFError.badDimensions(tensor: "t", dimensions: [1 << 32, 1 << 32], reason: "element count overflows Int64")) {
            try parse(oneTensor(dims: [1 << 32, 1 << 32]))
        }
        #expect(throws: GGUFError.badDimensions(tensor: "t", dimensions: [1 << 62], reason: "byte size overflows Int64")) {
            try parse(oneTensor(dims: [1 << 62]))
        }
        #expect(throws: GGUFError.unknownTensorType(tensor: "t", rawValue: 4)) { try parse(oneTensor(dims: [16], type: 4)) }
        #expect(throws: GGUFError.unknownTensorType(tensor: "t", rawValue: 99)) { try parse(oneTensor(dims: [16], type: 99)) }
        #expect(throws: GGUFError.notBlockMultiple(tensor: "t", type: "Q4_0", firstDimension: 16, blockSize: 32)) {
            try parse(oneTensor(dims: [16], type: 2))
        }
        #expect(throws: GGUFError.misalignedOffset(tensor: "t", offset: 4, alignment: 32)) { try parse(oneTensor(dims: [1], offset: 4)) }
        #expect(throws: GGUFError.tensorOutOfBounds(tensor: "t", start: 64, byteCount: 68, fileSize: 128)) {
            try parse(oneTensor(dims: [17]))
        }
        #expect(throws: GGUFError.tensorOutOfBounds(tensor: "t", start: .max, byteCount: 4, fileSize: 128)) {
            try parse(oneTensor(dims: [1], offset: UInt64.max - 31))
        }

        var raw = RawGGUF.header(tensors: 2, kvs: 0)
        raw.tensorInfo("t", dims: [1], type: 0, offset: 0)
        raw.tensorInfo("t", dims: [1], type: 0, offset: 32)
        raw.padTo(32)
        raw.bytes.append(contentsOf: [UInt8](repeating: 0, count: 64))
        #expect(throws: GGUFError.duplicateTensorName("t")) { try parse(raw) }
    }

    @Test func missingFileIsATypedError() {
        #expect(throws: (any Error).self) { try GGUFFile(path: "/nonexistent/model.gguf") }
    }
}
