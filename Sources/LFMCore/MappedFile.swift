#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Errors raised while opening or mapping a file.
public enum FileError: Error, CustomStringConvertible, Equatable {
    case notFound(path: String)
    case cannotOpen(path: String, errno: Int32)
    case cannotMap(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .notFound(let path): return "file not found: \(path)"
        case .cannotOpen(let path, let code): return "cannot open \(path): \(String(cString: strerror(code)))"
        case .cannotMap(let path, let code): return "cannot memory-map \(path): \(String(cString: strerror(code)))"
        }
    }
}

/// A read-only memory mapping of a whole file. Owns the mapping; views into it stay valid
/// for as long as this object is alive.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: immutable; `base` is a read-only mapping, unmapped only in deinit.
    /// Path the file was opened from.
    public let path: String
    /// Size of the file in bytes.
    public let count: Int
    /// Start of the mapping (nil for an empty file).
    public let base: UnsafeRawPointer?

    /// Maps `path` read-only.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw FileError.notFound(path: path) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError.cannotOpen(path: path, errno: errno) }
        count = Int(info.st_size)
        if count == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else { throw FileError.cannotMap(path: path, errno: errno) }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The bytes `range` of the file; the caller has checked the range against `count`.
    public func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        guard let base, !range.isEmpty else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Drops this process's copies of the pages wholly inside `region` (a view into this mapping;
    /// anything else is ignored), so that bytes already copied elsewhere, such as weights moved
    /// into a huge-page arena at load, stop counting twice in the process's memory. Every view
    /// stays valid: the mapping is private and never written, so a page touched again is read
    /// back from the file.
    public func releasePages(of region: UnsafeRawBufferPointer) {
        guard let base, let start = region.baseAddress, start >= base, start + region.count <= base + count else { return }
        let page = Int(getpagesize())
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + region.count) / page * page
        guard end > first, let pages = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(pages, end - first, MADV_DONTNEED)
    }
}

/// A zero-filled, 2 MiB-aligned anonymous buffer advised for transparent huge pages.
///
/// Weights that are read for every token live here: on this hardware reads from huge pages run at
/// ~31 GB/s against ~20 GB/s from 4 KiB pages.
public final class AlignedBuffer: @unchecked Sendable {
    // @unchecked: `base` is raw memory its owner fills before sharing (weights are written once at load, then only read).
    /// Alignment of every buffer (one huge page).
    public static let alignment = 2 << 20
    /// Usable size in bytes.
    public let count: Int
    /// Start of the buffer.
    public let base: UnsafeMutableRawPointer

    /// Allocates `count` bytes (rounded up to whole huge pages), zero-filled.
    public init(count: Int) {
        self.count = count
        let rounded = max(Self.alignment, (count + Self.alignment - 1) / Self.alignment * Self.alignment)
        var pointer: UnsafeMutableRawPointer?
        if posix_memalign(&pointer, Self.alignment, rounded) != 0 || pointer == nil {
            // Allocation failure of the process heap is not recoverable input; trap clearly.
            preconditionFailure("out of memory allocating \(rounded) bytes")
        }
        base = pointer.unsafelyUnwrapped
        #if os(Linux)
        _ = madvise(base, rounded, 14 /* MADV_HUGEPAGE */)
        #endif
        memset(base, 0, rounded)
    }

    deinit { free(base) }
}
