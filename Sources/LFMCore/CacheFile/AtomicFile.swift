#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file atomically: the bytes go to a uniquely named temporary file in the same
/// directory (`.NAME.tmp-PID-RANDOM`, created with O_EXCL), which is fsynced and then renamed over
/// the target with rename(2); the directory is fsynced last so the rename survives a crash.
///
/// Readers see either the old file or the complete new one. Two processes writing the same name
/// each rename a complete file of their own; the last rename wins and the result is valid. On any
/// failure (no permission, a full disk, a file-size limit) the temporary file is removed and the
/// target is left as it was.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws(CacheFileError) {
        var failure: CacheFileError?
        bytes.withUnsafeBytes { raw in
            do throws(CacheFileError) { try write(raw, to: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws(CacheFileError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var random = SystemRandomNumberGenerator()
        let temporary = "\(directory.isEmpty ? "" : directory)/.\(name).tmp-\(getpid())-\(String(random.next() as UInt64, radix: 36))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .writeFailed(path: path, operation: "create \(temporary)", errno: errno) }
        var done = false
        defer {
            if !done { unlink(temporary) }
        }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc_write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                throw .writeFailed(path: path, operation: "write", errno: code)
            }
            if n == 0 {
                close(fd)
                throw .writeFailed(path: path, operation: "write", errno: EIO)
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            throw .writeFailed(path: path, operation: "fsync", errno: code)
        }
        guard close(fd) == 0 else { throw .writeFailed(path: path, operation: "close", errno: errno) }
        guard rename(temporary, path) == 0 else { throw .writeFailed(path: path, operation: "rename", errno: errno) }
        done = true
        let dirfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}

#if canImport(Glibc)
@inline(__always) private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc.write(fd, p, n) }
#else
@inline(__always) private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(fd, p, n) }
#endif
