#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a cache file (a saved session, a prefix-cache entry) was not written or not used.
///
/// Readers never trust a cache file: every failure is one of these, and callers ignore the file
/// with a warning (a cache miss), never serving state that is not exactly what was saved.
public enum CacheFileError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case notFound(path: String)
    /// Opening or mapping failed.
    case unreadable(path: String, errno: Int32)
    /// Shorter than its header says (a torn write, a copy cut short).
    case truncated(path: String, expected: Int, found: Int)
    /// Not a cache file at all.
    case badMagic(path: String)
    /// Written by a format version this build does not read.
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    /// Content does not match its checksum (corruption).
    case checksumMismatch(path: String, stored: UInt64, computed: UInt64)
    /// Written for another model (configuration or weights differ).
    case wrongModel(path: String, expected: String, found: String)
    /// A prefix entry where a session was expected, or the other way round.
    case wrongKind(path: String, expected: UInt32, found: UInt32)
    /// A required record this build does not know.
    case unsupportedRecord(tag: String, context: String)
    /// The content is inconsistent (lengths, counts, shapes).
    case malformed(detail: String)
    /// Writing failed at `operation` (open, write, fsync, rename) with `errno`.
    case writeFailed(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .notFound(let path): return "cache file \(path) does not exist"
        case .unreadable(let path, let code): return "cannot read cache file \(path): \(String(cString: strerror(code)))"
        case .truncated(let path, let expected, let found):
            return "cache file \(path) is truncated: \(found) bytes, expected \(expected)"
        case .badMagic(let path): return "\(path) is not an lfm cache file (bad magic)"
        case .unsupportedVersion(let path, let found, let supported):
            return "cache file \(path) has format version \(found); this build reads version \(supported)"
        case .checksumMismatch(let path, let stored, let computed):
            return "cache file \(path) is corrupt: checksum \(hex(computed)), stored \(hex(stored))"
        case .wrongModel(let path, let expected, let found):
            return "cache file \(path) belongs to another model (fingerprint \(found), this model is \(expected))"
        case .wrongKind(let path, let expected, let found):
            return "cache file \(path) holds kind \(found), expected kind \(expected)"
        case .unsupportedRecord(let tag, let context): return "\(context): required record '\(tag)' is not supported by this build"
        case .malformed(let detail): return "malformed cache data: \(detail)"
        case .writeFailed(let path, let operation, let code):
            return "cannot write cache file \(path): \(operation) failed: \(String(cString: strerror(code)))"
        }
    }

    private func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
