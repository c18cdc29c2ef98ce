import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What happens during a pull, reported as it happens (from a background thread, one event at a time).
public enum PullEvent: Sendable {
    /// The revision resolved to `commit`; `files` were selected.
    case resolved(commit: String, files: [RepoFile])
    /// `path` is already in the cache: nothing to download.
    case cached(path: String, size: Int64)
    /// A download of `path` starts, `resumedFrom` bytes already on disk from an earlier attempt.
    case started(path: String, size: Int64?, resumedFrom: Int64)
    /// `received` of `size` bytes of `path` are on disk.
    case progress(path: String, received: Int64, size: Int64?)
    /// The connection dropped; retrying from `received` bytes.
    case retrying(path: String, received: Int64, reason: String)
    /// Another process is downloading the same blob; waiting for it to finish.
    case waiting(path: String)
    /// The SHA-256 of `path` is being checked.
    case verifying(path: String)
    /// `path` is downloaded, checked and linked into the snapshot.
    case finished(path: String, size: Int64)
}

/// The outcome of a pull.
public struct PullResult: Sendable, Equatable {
    /// The commit the revision resolved to.
    public var commit: String
    /// The snapshot folder: a model folder usable by every `lfm` command.
    public var snapshot: URL
    /// The selected files, in repo order.
    public var files: [String]
    /// The files that had to be downloaded (empty when everything was cached).
    public var downloaded: [String]
}

/// Downloads a model repo into the Hugging Face cache, as `huggingface_hub.snapshot_download` does.
public struct HubDownloader: Sendable {
    /// The Hub to download from.
    public var client: HubClient
    /// The cache to download into.
    public var cache: HubCache
    /// How many times one file's transfer is attempted (resuming with HTTP Range) before giving up.
    public var maxAttempts: Int

    /// A downloader from `client` into `cache`.
    public init(client: HubClient, cache: HubCache, maxAttempts: Int = 5) {
        self.client = client
        self.cache = cache
        self.maxAttempts = maxAttempts
    }

    /// Pulls the files of `repo` at `revision` chosen by `selection`, reporting each step to `onEvent`.
    ///
    /// Files already linked in the snapshot are not fetched again; a partial download left by an interrupted
    /// pull is resumed. `refs/<revision>` is written only once every selected file is in place.
    public func pull(_ repo: RepoID, revision: String = "main", selection: FileSelection = FileSelection(),
                     onEvent: @escaping @Sendable (PullEvent) -> Void = { _ in }) async throws -> PullResult {
        let info = try await client.repoInfo(repo, revision: revision)
        let files = info.files.filter { selection.contains($0.path) }
        guard !files.isEmpty else { throw HubError.nothingSelected(repo: repo.description, patterns: selection.patterns) }
        onEvent(.resolved(commit: info.commit, files: files))
        try cache.createFolder(cache.root)
        cache.writeCacheDirectoryTag()
        var downloaded: [String] = []
        for file in files {
            if try await fetch(repo, commit: info.commit, file: file, onEvent: onEvent) { downloaded.append(file.path) }
        }
        try cache.writeRef(repo, revision: revision, commit: info.commit)
        return PullResult(commit: info.commit, snapshot: cache.snapshot(repo, commit: info.commit),
                          files: files.map(\.path), downloaded: downloaded)
    }

    /// Puts one file in the cache; returns whether anything was downloaded.
    private func fetch(_ repo: RepoID, commit: String, file: RepoFile,
                       onEvent: @escaping @Sendable (PullEvent) -> Void) async throws -> Bool {
        if let size = cache.cachedSize(repo, commit: commit, path: file.path), file.size == nil || file.size == size {
            onEvent(.cached(path: file.path, size: size))
            return false
        }
        let metadata = try await client.fileMetadata(repo, revision: commit, path: file.path)
        if let served = metadata.commit, served != commit {
            throw HubError.badResponse(url: try client.resolveURL(repo, revision: commit, path: file.path).absoluteString,
                                       reason: "asked for commit \(commit), the server resolved \(served)")
        }
        guard let size = metadata.size ?? file.size else {
            throw HubError.badResponse(url: try client.resolveURL(repo, revision: commit, path: file.path).absoluteString,
                                       reason: "no X-Linked-Size or Content-Length header, and the listing has no size")
        }
        if let listed = file.size, listed != size {
            throw HubError.badResponse(url: try client.resolveURL(repo, revision: commit, path: file.path).absoluteString,
                                       reason: "the listing gives \(file.path) \(listed) bytes, the file's headers \(size)")
        }
        let expectedSHA = file.lfsSHA256 ?? (HubDownloader.isSHA256(metadata.etag) ? metadata.etag : nil)
        let blob = cache.blob(repo, etag: metadata.etag)
        var didDownload = false
        if fileSize(blob) != size {
            let lock = try FileLock(cache.lockFile(repo, etag: metadata.etag)) { onEvent(.waiting(path: file.path)) }
            if fileSize(blob) != size { // another pull may have finished it while we waited
                try await download(repo, commit: commit, path: file.path, etag: metadata.etag, size: size,
                                   sha256: expectedSHA, onEvent: onEvent)
                didDownload = true
            }
            withExtendedLifetime(lock) {}
        }
        try cache.link(repo, commit: commit, path: file.path, etag: metadata.etag)
        if didDownload { onEvent(.finished(path: file.path, size: size)) } else { onEvent(.cached(path: file.path, size: size)) }
        return didDownload
    }

    /// Downloads into `blobs/<etag>.incomplete` (resuming what is there), checks it, then renames it to the blob.
    private func download(_ repo: RepoID, commit: String, path: String, etag: String, size: Int64, sha256: String?,
                          onEvent: @escaping @Sendable (PullEvent) -> Void) async throws {
        let blobs = cache.blob(repo, etag: etag).deletingLastPathComponent()
        try cache.createFolder(blobs)
        let partial = cache.incompleteBlob(repo, etag: etag)
        let manager = FileManager.default
        if let existing = fileSize(partial), existing > size { try? manager.removeItem(at: partial) }
        if fileSize(partial) == nil, !manager.createFile(atPath: partial.path, contents: nil) {
            throw HubError.fileSystem(path: partial.path, reason: "cannot create file")
        }
        onEvent(.started(path: path, size: size, resumedFrom: fileSize(partial) ?? 0))
        let url = try client.resolveURL(repo, revision: commit, path: path)
        var attempt = 0
        while true {
            attempt += 1
            let have = fileSize(partial) ?? 0
            if have == size { break }
            do {
                try await transfer(url, into: partial, offset: have, size: size, path: path, repo: repo, commit: commit,
                                   onEvent: onEvent)
                break
            } catch let error as TransportError {
                let now = fileSize(partial) ?? 0
                if attempt >= maxAttempts {
                    throw HubError.transferFailed(path: path, received: now, expected: size, reason: error.message)
                }
                onEvent(.retrying(path: path, received: now, reason: error.message))
                try await Task.sleep(nanoseconds: UInt64(min(attempt, 4)) * 200_000_000)
            } catch let error as HubError {
                var transient = false
                if case .offline = error { transient = (fileSize(partial) ?? 0) > 0 }
                if case .httpStatus(_, let status, _) = error { transient = status >= 500 }
                if transient, attempt < maxAttempts {
                    onEvent(.retrying(path: path, received: fileSize(partial) ?? 0, reason: error.description))
                    try await Task.sleep(nanoseconds: UInt64(min(attempt, 4)) * 200_000_000)
                    continue
                }
                if case .sizeMismatch = error { try? manager.removeItem(at: partial) }
                throw error
            }
        }
        let found = fileSize(partial) ?? 0
        guard found == size else {
            try? manager.removeItem(at: partial)
            throw HubError.sizeMismatch(path: path, expected: size, found: found)
        }
        if let sha256 {
            onEvent(.verifying(path: path))
            let digest = try HubDownloader.sha256(of: partial)
            guard digest == sha256.lowercased() else {
                try? manager.removeItem(at: partial)
                throw HubError.checksumMismatch(path: path, expected: sha256, found: digest)
            }
        }
        let blob = cache.blob(repo, etag: etag)
        try? manager.removeItem(at: blob)
        do {
            try manager.moveItem(at: partial, to: blob)
        } catch {
            throw HubError.fileSystem(path: blob.path, reason: "cannot move the finished download into place: \(error.localizedDescription)")
        }
    }

    /// One GET of `url` from byte `offset`, appending to `partial`.
    private func transfer(_ url: URL, into partial: URL, offset: Int64, size: Int64, path: String, repo: RepoID,
                          commit: String, onEvent: @escaping @Sendable (PullEvent) -> Void) async throws {
        var request = client.makeRequest(url, method: "GET")
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        let handle: FileHandle
        do {
            handle = try FileHandle(forWritingTo: partial)
        } catch {
            throw HubError.fileSystem(path: partial.path, reason: "cannot open for writing: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let writer = ChunkWriter(handle: handle, path: path, size: size, onEvent: onEvent)
        let result = try await client.send(request, redirects: .all, repo: repo, revision: commit, path: path,
            onResponse: { response in
                switch response.statusCode {
                case 206:
                    let range = response.value(forHTTPHeaderField: "Content-Range") ?? ""
                    guard range.hasPrefix("bytes \(offset)-") else {
                        throw HubError.badResponse(url: url.absoluteString,
                                                   reason: "asked for bytes from \(offset), got Content-Range '\(range)'")
                    }
                    try writer.start(at: offset)
                case 200..<300:
                    try writer.start(at: 0) // the server ignored the Range header: start over
                default:
                    break
                }
            },
            onData: { data in try writer.write(data) })
        if result.status == 416 {
            if offset == size { return }
            try? FileManager.default.removeItem(at: partial)
            throw HubError.badResponse(url: url.absoluteString, reason: "the server refused to resume at byte \(offset) "
                + "(HTTP 416: its file is shorter than the \(size) bytes announced); the partial download was deleted")
        }
        try client.check(result, repo: repo, revision: commit, path: path)
        guard (200..<300).contains(result.status) else {
            throw HubError.httpStatus(url: url.absoluteString, status: result.status, serverMessage: nil)
        }
    }

    /// The lowercase hex SHA-256 of a file, read in 4 MiB chunks.
    static func sha256(of file: URL) throws -> String {
        guard let handle = try? FileHandle(forReadingFrom: file) else {
            throw HubError.fileSystem(path: file.path, reason: "cannot open for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = handle.readData(ofLength: 4 << 20)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update(bytes: $0) }
        }
        return SHA256.hex(hasher.finalize())
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// Appends response chunks to the partial file and reports progress (called on one serial delegate queue).
private final class ChunkWriter: @unchecked Sendable {
    // @unchecked: `written` and `lastReport` change only in URLSession delegate callbacks, which run on one serial queue (maxConcurrentOperationCount 1).
    let handle: FileHandle
    let path: String
    let size: Int64
    let onEvent: @Sendable (PullEvent) -> Void
    var written: Int64 = 0
    var lastReport = Date.distantPast

    init(handle: FileHandle, path: String, size: Int64, onEvent: @escaping @Sendable (PullEvent) -> Void) {
        self.handle = handle
        self.path = path
        self.size = size
        self.onEvent = onEvent
    }

    func start(at offset: Int64) throws {
        do {
            try handle.truncate(atOffset: UInt64(offset))
            try handle.seek(toOffset: UInt64(offset))
        } catch {
            throw HubError.fileSystem(path: path, reason: "cannot position the partial file at \(offset): \(error.localizedDescription)")
        }
        written = offset
    }

    func write(_ data: Data) throws {
        guard written + Int64(data.count) <= size else {
            throw HubError.sizeMismatch(path: path, expected: size, found: written + Int64(data.count))
        }
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw HubError.fileSystem(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
        written += Int64(data.count)
        let now = Date()
        if now.timeIntervalSince(lastReport) >= 0.1 || written == size {
            lastReport = now
            onEvent(.progress(path: path, received: written, size: size))
        }
    }
}
