import Foundation
@testable import LFMHub

/// A fake Hugging Face Hub serving one model repo, with switches for the failures the tests need.
final class FakeHub: @unchecked Sendable {
    struct File {
        var path: String
        var content: Data
        var lfs: Bool
        /// The ETag of a non-LFS file (the Hub uses the git blob id; any stable 40-hex string serves here).
        let gitETag: String
        let sha256: String

        init(path: String, content: Data, lfs: Bool) {
            self.path = path
            self.content = content
            self.lfs = lfs
            gitETag = String(SHA256.hexDigest(of: Array("blob \(path)".utf8) + Array(content)).prefix(40))
            sha256 = SHA256.hexDigest(of: content)
        }
    }

    let owner = "TestOrg"
    let name = "tiny-model"
    let commit = "0123456789abcdef0123456789abcdef01234567"
    var files: [File]

    // Failure switches (read from server threads; set before use).
    private let lock = NSLock()
    private var _dropFirstCDNAfter: Int?
    private var _corruptCDN = false
    private var _shortCDN = false
    /// Answer Range requests with the whole file (200), as some servers do.
    var ignoreRange = false
    /// Answer this many CDN requests with HTTP 503 before serving normally.
    var unavailableCDNRequests = 0
    /// Paths listed by the API whose resolve URL answers 404 (a listing that raced a commit).
    var missingOnResolve: Set<String> = []
    var requiredToken: String?

    /// Drop the connection of the next CDN download after this many body bytes (once).
    var dropFirstCDNAfter: Int? {
        get { lock.lock(); defer { lock.unlock() }; return _dropFirstCDNAfter }
        set { lock.lock(); _dropFirstCDNAfter = newValue; lock.unlock() }
    }
    /// Serve LFS files with one byte flipped (right size, wrong SHA-256).
    var corruptCDN: Bool {
        get { lock.lock(); defer { lock.unlock() }; return _corruptCDN }
        set { lock.lock(); _corruptCDN = newValue; lock.unlock() }
    }
    /// Serve LFS files 10 bytes short (complete answers, wrong size).
    var shortCDN: Bool {
        get { lock.lock(); defer { lock.unlock() }; return _shortCDN }
        set { lock.lock(); _shortCDN = newValue; lock.unlock() }
    }

    private(set) var server: TestHTTPServer?

    init(files: [File]) {
        self.files = files
    }

    /// The default test repo: configs, a tokenizer, a README and an LFS safetensors file of `weightsSize` bytes.
    static func standard(weightsSize: Int = 300_000) -> FakeHub {
        var generator = SplitMix(seed: 42)
        let weights = Data((0..<weightsSize).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        return FakeHub(files: [
            File(path: "config.json", content: Data(#"{"model_type": "lfm2"}"#.utf8), lfs: false),
            File(path: "tokenizer.json", content: Data(#"{"model": {}}"#.utf8), lfs: false),
            File(path: "README.md", content: Data("# tiny\n".utf8), lfs: false),
            File(path: "model.safetensors", content: weights, lfs: true),
            File(path: "gguf/tiny-Q4_0.gguf", content: Data("GGUF-fake".utf8), lfs: true),
        ])
    }

    var repo: RepoID { get throws { try RepoID("\(owner)/\(name)") } }

    func start() throws -> TestHTTPServer {
        let server = try TestHTTPServer { [self] request in respond(to: request) }
        self.server = server
        return server
    }

    func file(_ path: String) -> File? { files.first { $0.path == path } }

    private func respond(to request: TestHTTPServer.Request) -> TestHTTPServer.Response {
        if let requiredToken, request.headers["authorization"] != "Bearer \(requiredToken)" {
            return .init(status: 401, headers: [("X-Error-Message", "Invalid credentials in Authorization header")])
        }
        let path = request.path.removingPercentEncoding ?? request.path
        let apiPrefix = "/api/models/\(owner)/\(name)/revision/"
        if path.hasPrefix("/api/models/") {
            guard path.hasPrefix(apiPrefix) else { // the real Hub answers 401, not 404, so as not to reveal private repos
                return .init(status: 401, headers: [("X-Error-Code", "RepoNotFound")],
                             body: Data(#"{"error":"Repository not found"}"#.utf8))
            }
            let revision = String(path.dropFirst(apiPrefix.count))
            guard revision == "main" || revision == commit else {
                return .init(status: 404, headers: [("X-Error-Code", "RevisionNotFound")])
            }
            return .init(status: 200, headers: [("Content-Type", "application/json")], body: apiJSON())
        }
        let resolvePrefix = "/\(owner)/\(name)/resolve/"
        if path.hasPrefix(resolvePrefix) {
            let rest = path.dropFirst(resolvePrefix.count)
            guard let slash = rest.firstIndex(of: "/") else { return .init(status: 404) }
            let revision = String(rest[..<slash]), filePath = String(rest[rest.index(after: slash)...])
            guard revision == "main" || revision == commit else {
                return .init(status: 404, headers: [("X-Error-Code", "RevisionNotFound")])
            }
            guard let file = file(filePath), !missingOnResolve.contains(filePath) else {
                return .init(status: 404, headers: [("X-Error-Code", "EntryNotFound")])
            }
            var headers = [("X-Repo-Commit", commit)]
            if file.lfs {
                headers += [("X-Linked-Etag", "\"\(file.sha256)\""), ("X-Linked-Size", "\(file.content.count)"),
                            ("ETag", "\"\(file.gitETag)\""),
                            ("Location", "http://127.0.0.1:\(server?.port ?? 0)/cdn/\(file.sha256)")]
                return .init(status: 302, headers: headers)
            }
            headers.append(("ETag", "\"\(file.gitETag)\""))
            return .init(status: 200, headers: headers, body: file.content)
        }
        if path.hasPrefix("/cdn/"), let file = files.first(where: { "/cdn/\($0.sha256)" == path }) {
            return cdn(file, request: request)
        }
        return .init(status: 404)
    }

    private func cdn(_ file: File, request: TestHTTPServer.Request) -> TestHTTPServer.Response {
        lock.lock()
        let unavailable = unavailableCDNRequests > 0
        if unavailable { unavailableCDNRequests -= 1 }
        lock.unlock()
        if unavailable { return .init(status: 503, body: Data("busy".utf8)) }
        var content = file.content
        if corruptCDN, !content.isEmpty { content[content.count / 2] ^= 0xff }
        if shortCDN { content = content.prefix(max(0, content.count - 10)) }
        var drop: Int?
        lock.lock()
        if let after = _dropFirstCDNAfter {
            drop = after
            _dropFirstCDNAfter = nil
        }
        lock.unlock()
        if let range = request.headers["range"], !ignoreRange {
            guard range.hasPrefix("bytes="), range.hasSuffix("-"),
                  let start = Int(range.dropFirst("bytes=".count).dropLast()) else { return .init(status: 400) }
            guard start < content.count else {
                return .init(status: 416, headers: [("Content-Range", "bytes */\(content.count)")])
            }
            let part = content.subdata(in: start..<content.count)
            return .init(status: 206, headers: [("Content-Range", "bytes \(start)-\(content.count - 1)/\(content.count)")],
                         body: part, dropAfter: drop)
        }
        return .init(status: 200, body: content, dropAfter: drop)
    }

    private func apiJSON() -> Data {
        let siblings: [[String: Any]] = files.map { file in
            var entry: [String: Any] = ["rfilename": file.path, "size": file.content.count, "blobId": file.gitETag]
            if file.lfs { entry["lfs"] = ["sha256": file.sha256, "size": file.content.count, "pointerSize": 134] }
            return entry
        }
        let object: [String: Any] = ["id": "\(owner)/\(name)", "sha": commit, "siblings": siblings]
        return (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }
}
