import Foundation
import LFMCore
import LFMModels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of a search directory:
///
/// | file | contents |
/// |---|---|
/// | `search.json` | the settings (`SearchConfiguration`); a resumed search must match them |
/// | `checkpoint.json` | the population, the generator state and the planned offspring (`SearchCheckpoint`), replaced atomically |
/// | `candidates.jsonl` | one `CandidateRecord` per evaluated candidate, appended and synced, never rewritten |
/// | `references.jsonl` | the same for the hand-designed references |
/// | `candidates/<i>/`, `references/<name>/` | each evaluation's folder (its model in `model/`) |
public struct SearchFiles: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    public var settings: URL { directory.appendingPathComponent("search.json") }
    public var checkpoint: URL { directory.appendingPathComponent("checkpoint.json") }
    public var candidates: URL { directory.appendingPathComponent("candidates.jsonl") }
    public var references: URL { directory.appendingPathComponent("references.jsonl") }
    public func candidateDirectory(_ index: Int) -> URL {
        directory.appendingPathComponent("candidates").appendingPathComponent(String(index))
    }
    public func referenceDirectory(_ name: String) -> URL {
        directory.appendingPathComponent("references").appendingPathComponent(name)
    }

    /// Reads a results database (empty when absent). A final line without its newline (a write
    /// cut short by a kill) is not a record: it is cut off the file. Any other bad line is an error.
    public static func readRecords(_ url: URL, truncateTornTail: Bool = true) throws -> [CandidateRecord] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SearchError.corruptFile(path: url.path, line: nil, detail: "unreadable: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SearchError.corruptFile(path: url.path, line: nil, detail: "not UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if let tail = lines.last, !tail.isEmpty {
            // Torn tail: everything after the last newline.
            lines.removeLast()
            if truncateTornTail {
                let keep = data.count - tail.utf8.count
                guard truncate(url.path, off_t(keep)) == 0 else {
                    throw SearchError.writeFailed(path: url.path, detail: "cannot cut off the unfinished last line (errno \(errno))")
                }
            }
        } else if !lines.isEmpty {
            lines.removeLast()
        }
        return try lines.enumerated().map { n, line in
            let record = try CandidateRecord(jsonLine: line, path: url.path, line: n + 1)
            guard record.index == n else {
                throw SearchError.corruptFile(path: url.path, line: n + 1, detail: "expected index \(n), found \(record.index)")
            }
            return record
        }
    }

    /// Appends one line to a database and syncs it to disk before returning.
    public static func append(_ line: String, to url: URL) throws {
        let path = url.path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw SearchError.writeFailed(path: path, detail: "open failed (errno \(errno))") }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw SearchError.writeFailed(path: path, detail: "write failed (errno \(errno))") }
            written += n
        }
        guard fsync(fd) == 0 else { throw SearchError.writeFailed(path: path, detail: "fsync failed (errno \(errno))") }
    }

    /// Replaces a file atomically (LFMCore's `AtomicFile`: temporary file, fsync, rename).
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        do { try AtomicFile.write([UInt8](data), to: url.path) } catch {
            throw SearchError.writeFailed(path: url.path, detail: "\(error)")
        }
    }
}
