#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a cache file holds.
public enum CacheFileKind: UInt32, Sendable {
    /// A chat session (`lfm run --session`).
    case session = 1
    /// A server prefix-cache entry.
    case prefixEntry = 2
}

/// The 128-bit identity of a model's configuration and weights (see `ModelFingerprint` in
/// LFMModels for how it is computed). Cache files carry it; a file with another one is ignored.
public struct ModelIdentity: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// 32 hex digits.
    public var description: String { Self.hex(high) + Self.hex(low) }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// The container every cache file uses (little-endian):
///
/// ```
/// offset  size
///  0       8   magic "LFMCACHE"
///  8       4   format version (1)
/// 12       4   kind (CacheFileKind)
/// 16      16   model identity (high, low)
/// 32       8   total file length in bytes
/// 40       8   reserved (0)
/// 48       …   tagged records (ByteWriter.record): tag, flags, length, payload padded to 8
/// end-16   8   XXH64 (seed 0) of every byte before it
/// end-8    8   end magic "LFMCEND\0"
/// ```
///
/// New data goes into new records; a reader skips records it does not know unless they are
/// flagged required, so the version changes only when the layout above changes. Files are written
/// whole to a unique temporary name, fsynced and renamed over the target (`write(to:)`), so a
/// reader sees either the old file or the new one, never a mix; two processes writing the same
/// name leave one of the two complete files.
public enum CacheFile {
    /// The format version this build writes and reads.
    public static let version: UInt32 = 1
    static let magic: [UInt8] = Array("LFMCACHE".utf8)
    static let endMagic: [UInt8] = Array("LFMCEND\0".utf8)
    static let headerSize = 48
    static let trailerSize = 16

    /// A whole file: header, the records `body` writes, and the trailer.
    public static func encode(kind: CacheFileKind, model: ModelIdentity, capacity: Int = 0,
                              _ body: (inout ByteWriter) -> Void) -> [UInt8] {
        var w = ByteWriter(capacity: capacity + headerSize + trailerSize)
        w.raw(magic)
        w.u32(version)
        w.u32(kind.rawValue)
        w.u64(model.high)
        w.u64(model.low)
        w.u64(0)  // length, patched below
        w.u64(0)
        body(&w)
        w.pad()
        var bytes = w.bytes
        let total = UInt64(bytes.count + trailerSize)
        withUnsafeBytes(of: total.littleEndian) { for i in 0..<8 { bytes[32 + i] = $0[i] } }
        let sum = XXHash64.hash(bytes)
        withUnsafeBytes(of: sum.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: endMagic)
        return bytes
    }

    /// Encodes and writes atomically to `path` (see ``AtomicFile``).
    public static func write(to path: String, kind: CacheFileKind, model: ModelIdentity,
                             _ body: (inout ByteWriter) -> Void) throws(CacheFileError) {
        let bytes = encode(kind: kind, model: model, body)
        try AtomicFile.write(bytes, to: path)
    }
}

/// A cache file mapped and checked: magic, version, length, checksum, kind and model identity.
/// Its records are views into the mapping, valid while this object lives.
public final class MappedCacheFile: @unchecked Sendable {
    // @unchecked: immutable; `records` are views into the read-only mapping `file` keeps alive.
    /// Where it was read from.
    public let path: String
    /// The records after the header.
    public let records: [Record]
    private let file: MappedFile

    /// Maps and validates `path`; `verifyChecksum: false` skips the checksum pass (for a quick scan
    /// of a directory; the records must not be trusted then beyond locating them).
    public init(path: String, kind: CacheFileKind, model: ModelIdentity, verifyChecksum: Bool = true) throws(CacheFileError) {
        self.path = path
        let mapped: MappedFile
        do { mapped = try MappedFile(path: path) } catch let error as FileError {
            switch error {
            case .notFound: throw .notFound(path: path)
            case .cannotOpen(_, let code), .cannotMap(_, let code): throw .unreadable(path: path, errno: code)
            }
        } catch { throw .unreadable(path: path, errno: EIO) }
        file = mapped
        let all = mapped.bytes(0..<mapped.count)
        let minimum = CacheFile.headerSize + CacheFile.trailerSize
        guard all.count >= 8 else { throw .truncated(path: path, expected: minimum, found: all.count) }
        guard all.prefix(8).elementsEqual(CacheFile.magic) else { throw .badMagic(path: path) }
        guard all.count >= minimum else { throw .truncated(path: path, expected: minimum, found: all.count) }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: all.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: all.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        let version = u32(8)
        guard version == CacheFile.version else {
            throw .unsupportedVersion(path: path, found: version, supported: CacheFile.version)
        }
        let total = u64(32)
        guard total == UInt64(all.count) else {
            if total > UInt64(all.count) { throw .truncated(path: path, expected: Int(clamping: total), found: all.count) }
            throw .malformed(detail: "\(path): header says \(total) bytes, the file has \(all.count)")
        }
        let end = all.count - CacheFile.trailerSize
        guard all[(end + 8)...].elementsEqual(CacheFile.endMagic) else {
            throw .malformed(detail: "\(path): the end marker is missing (a torn write?)")
        }
        if verifyChecksum {
            let stored = u64(end)
            let computed = XXHash64.hash(UnsafeRawBufferPointer(rebasing: all[..<end]))
            guard stored == computed else { throw .checksumMismatch(path: path, stored: stored, computed: computed) }
        }
        let foundKind = u32(12)
        guard foundKind == kind.rawValue else { throw .wrongKind(path: path, expected: kind.rawValue, found: foundKind) }
        let identity = ModelIdentity(high: u64(16), low: u64(24))
        guard identity == model else {
            throw .wrongModel(path: path, expected: model.description, found: identity.description)
        }
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: all[CacheFile.headerSize..<end]), context: path)
        records = try reader.records()
    }

    /// Size of the file in bytes.
    public var byteCount: Int { file.count }
}
