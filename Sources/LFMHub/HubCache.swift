import Foundation

/// The Hugging Face hub cache on disk, laid out exactly as huggingface_hub lays it out:
///
///     <root>/models--ORG--NAME/
///         blobs/<etag>                 file contents, named by ETag (the SHA-256 for LFS files, the git blob id otherwise)
///         blobs/<etag>.incomplete      a download in progress (resumed with an HTTP Range request)
///         refs/<revision>              the commit hash the revision pointed to (no trailing newline)
///         snapshots/<commit>/<path>    relative symbolic links into ../../blobs
public struct HubCache: Sendable, Equatable {
    /// The cache root (the folder holding the `models--…` folders).
    public let root: URL

    /// A cache rooted at `root`.
    public init(root: URL) {
        self.root = root
    }

    /// The cache huggingface_hub would use: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> HubCache {
        func value(_ key: String) -> String? {
            guard let text = environment[key], !text.isEmpty else { return nil }
            return (text as NSString).expandingTildeInPath
        }
        if let hubCache = value("HF_HUB_CACHE") { return HubCache(root: URL(fileURLWithPath: hubCache)) }
        if let home = value("HF_HOME") {
            return HubCache(root: URL(fileURLWithPath: home).appendingPathComponent("hub"))
        }
        let cacheHome = value("XDG_CACHE_HOME") ?? ((environment["HOME"].map { $0 + "/.cache" })
            ?? (NSHomeDirectory() + "/.cache"))
        return HubCache(root: URL(fileURLWithPath: cacheHome).appendingPathComponent("huggingface/hub"))
    }

    /// `models--ORG--NAME`.
    public func repoFolder(_ repo: RepoID) -> URL { root.appendingPathComponent(repo.cacheFolderName) }

    /// The blob holding the file whose ETag is `etag`.
    public func blob(_ repo: RepoID, etag: String) -> URL {
        repoFolder(repo).appendingPathComponent("blobs").appendingPathComponent(etag)
    }

    /// The partial download of the blob `etag`.
    public func incompleteBlob(_ repo: RepoID, etag: String) -> URL {
        repoFolder(repo).appendingPathComponent("blobs").appendingPathComponent(etag + ".incomplete")
    }

    /// The lock file guarding the download of blob `etag` (`.locks/models--ORG--NAME/<etag>.lock`, as huggingface_hub).
    public func lockFile(_ repo: RepoID, etag: String) -> URL {
        root.appendingPathComponent(".locks").appendingPathComponent(repo.cacheFolderName)
            .appendingPathComponent(etag + ".lock")
    }

    /// The snapshot folder of `commit`.
    public func snapshot(_ repo: RepoID, commit: String) -> URL {
        repoFolder(repo).appendingPathComponent("snapshots").appendingPathComponent(commit)
    }

    /// The ref file of `revision` (a branch or tag name; may contain `/`).
    public func ref(_ repo: RepoID, revision: String) -> URL {
        repoFolder(repo).appendingPathComponent("refs").appendingPathComponent(revision)
    }

    /// The snapshot folder for `revision`, found without any network access: a commit hash names its snapshot
    /// directly, anything else is looked up in `refs/`.
    public func resolveSnapshot(_ repo: RepoID, revision: String = "main") throws -> URL {
        var commit = revision
        if !HubCache.isCommitHash(revision) {
            let refFile = ref(repo, revision: revision)
            guard let text = try? String(contentsOf: refFile, encoding: .utf8) else {
                throw HubError.notCached(repo: repo.description, revision: revision, cacheFolder: repoFolder(repo).path)
            }
            commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard HubCache.isCommitHash(commit) else {
                throw HubError.fileSystem(path: refFile.path, reason: "expected a 40-digit commit hash, found '\(commit)'")
            }
        }
        let folder = snapshot(repo, commit: commit)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HubError.notCached(repo: repo.description, revision: revision, cacheFolder: repoFolder(repo).path)
        }
        return folder
    }

    /// Whether `text` is a full 40-hex-digit git commit hash.
    public static func isCommitHash(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Writes `CACHEDIR.TAG` at the cache root if it is missing (as huggingface_hub does), so that backup tools
    /// following the cache directory tag convention skip the cache.
    func writeCacheDirectoryTag() {
        let tag = root.appendingPathComponent("CACHEDIR.TAG")
        guard !FileManager.default.fileExists(atPath: tag.path) else { return }
        let text = "Signature: 8a477f597d28d172789f06886806bc55\n"
            + "# This file is a cache directory tag created by swift-lfm (Hugging Face hub cache).\n"
            + "# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n"
        try? Data(text.utf8).write(to: tag, options: .atomic)
    }

    /// Records that `revision` points at `commit` (written only when they differ, as huggingface_hub does).
    func writeRef(_ repo: RepoID, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let file = ref(repo, revision: revision)
        if (try? String(contentsOf: file, encoding: .utf8)) == commit { return }
        try createFolder(file.deletingLastPathComponent())
        do {
            try Data(commit.utf8).write(to: file, options: .atomic)
        } catch {
            throw HubError.fileSystem(path: file.path, reason: "cannot write ref: \(error.localizedDescription)")
        }
    }

    /// Points `snapshots/<commit>/<path>` at `blobs/<etag>` with a relative symbolic link.
    func link(_ repo: RepoID, commit: String, path: String, etag: String) throws {
        let pointer = snapshot(repo, commit: commit).appendingPathComponent(path)
        try createFolder(pointer.deletingLastPathComponent())
        let depth = path.split(separator: "/").count + 1 // <commit>/ plus each folder of `path`
        let target = String(repeating: "../", count: depth) + "blobs/" + etag
        let manager = FileManager.default
        if (try? manager.destinationOfSymbolicLink(atPath: pointer.path)) == target { return }
        if (try? manager.attributesOfItem(atPath: pointer.path)) != nil {
            try? manager.removeItem(at: pointer)
        }
        do {
            try manager.createSymbolicLink(atPath: pointer.path, withDestinationPath: target)
        } catch {
            throw HubError.fileSystem(path: pointer.path, reason: "cannot create symbolic link to \(target): \(error.localizedDescription)")
        }
    }

    /// The size of the blob a snapshot entry points to, or nil when the entry or its blob is missing.
    func cachedSize(_ repo: RepoID, commit: String, path: String) -> Int64? {
        let pointer = snapshot(repo, commit: commit).appendingPathComponent(path)
        return fileSize(pointer.resolvingSymlinksInPath())
    }

    func createFolder(_ folder: URL) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw HubError.fileSystem(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
    }
}

/// The size of a regular file (following symbolic links), or nil when there is none.
func fileSize(_ url: URL) -> Int64? {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
          attributes[.type] as? FileAttributeType == .typeRegular,
          let size = attributes[.size] as? NSNumber else { return nil }
    return size.int64Value
}

extension HubCache {
    /// Resolves a MODEL argument without network access: an existing file or folder is returned unchanged;
    /// otherwise an `ORG/NAME` repo id becomes the path of its `main` snapshot in this cache.
    /// Anything else is returned unchanged, for the model loader to report.
    /// `fileExists` checks paths (relative ones against the current directory by default).
    public func resolveModelArgument(_ argument: String,
                                     fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) throws -> String {
        if fileExists(argument) { return argument }
        guard let repo = try? RepoID(argument) else { return argument }
        return try resolveSnapshot(repo, revision: "main").path
    }
}

/// An exclusive advisory lock (flock) on a file, so that two pulls never write the same blob at once.
final class FileLock {
    private let descriptor: Int32

    /// Takes the lock on `url`, calling `onWait` first if another process holds it, then blocking until it is free.
    init(_ url: URL, onWait: () -> Void) throws {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        descriptor = open(url.path, O_CREAT | O_RDWR, 0o644)
        guard descriptor >= 0 else {
            throw HubError.fileSystem(path: url.path, reason: "cannot open lock file (errno \(errno))")
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            onWait()
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    close(descriptor)
                    throw HubError.fileSystem(path: url.path, reason: "cannot lock (errno \(errno))")
                }
            }
        }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
