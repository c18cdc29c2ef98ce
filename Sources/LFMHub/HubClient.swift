import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One file of a repo as listed by the Hub API.
public struct RepoFile: Sendable, Equatable {
    /// The path inside the repo (`rfilename`).
    public var path: String
    /// The size in bytes, when the listing included it.
    public var size: Int64?
    /// The SHA-256 of an LFS file's contents, when the file is stored with LFS.
    public var lfsSHA256: String?
}

/// What the Hub API says about a repo at one revision.
public struct RepoInfo: Sendable, Equatable {
    /// The commit hash the revision resolves to.
    public var commit: String
    /// Every file in the repo at that commit.
    public var files: [RepoFile]
}

/// What a HEAD request on a file's resolve URL says.
public struct FileMetadata: Sendable, Equatable {
    /// The commit the file was resolved at (`X-Repo-Commit`).
    public var commit: String?
    /// The normalized ETag (`X-Linked-Etag` for LFS files, else `ETag`): the blob's name in the cache.
    public var etag: String
    /// The file's size (`X-Linked-Size`, else `Content-Length`).
    public var size: Int64?
}

/// A client for the parts of the Hugging Face Hub HTTP API that `lfm pull` uses.
public struct HubClient: Sendable {
    /// The Hub's base URL (`HF_ENDPOINT`, default `https://huggingface.co`).
    public var endpoint: URL
    /// The access token sent as `Authorization: Bearer` (`HF_TOKEN`).
    public var token: String?
    /// Seconds without any data before a request fails.
    public var timeout: TimeInterval

    /// A client for `endpoint`.
    public init(endpoint: URL, token: String? = nil, timeout: TimeInterval = 30) {
        self.endpoint = endpoint
        self.token = token
        self.timeout = timeout
    }

    /// A client configured from `HF_ENDPOINT` and `HF_TOKEN`; without `HF_TOKEN`, the token saved by
    /// `hf auth login` is read from `$HF_TOKEN_PATH`, else `$HF_HOME/token`, else `~/.cache/huggingface/token`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HubClient {
        let text = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URL(string: trimmed), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil else {
            throw HubError.badResponse(url: text, reason: "HF_ENDPOINT must be an http(s) URL")
        }
        let token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? HubClient.savedToken(environment)
        return HubClient(endpoint: url, token: token)
    }

    /// The token file huggingface_hub's login writes, if there is one.
    static func savedToken(_ environment: [String: String]) -> String? {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        let path: String
        if let tokenPath = value("HF_TOKEN_PATH") {
            path = tokenPath
        } else if let home = value("HF_HOME") {
            path = home + "/token"
        } else {
            let cacheHome = value("XDG_CACHE_HOME") ?? ((value("HOME") ?? NSHomeDirectory()) + "/.cache")
            path = cacheHome + "/huggingface/token"
        }
        guard let text = try? String(contentsOfFile: (path as NSString).expandingTildeInPath, encoding: .utf8) else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// `GET /api/models/{repo}/revision/{revision}?blobs=true`: the commit and the file list with sizes.
    public func repoInfo(_ repo: RepoID, revision: String) async throws -> RepoInfo {
        let url = try makeURL("/api/models/\(repo.owner)/\(repo.name)/revision/\(HubClient.encode(revision))", query: "blobs=true")
        let result = try await sendMetadataRequest(makeRequest(url, method: "GET"), redirects: .all, repo: repo,
                                                   revision: revision, path: nil)
        try check(result, repo: repo, revision: revision, path: nil)
        return try HubClient.parseRepoInfo(result.body, url: url.absoluteString)
    }

    /// `HEAD {repo}/resolve/{revision}/{path}` without following the CDN redirect.
    public func fileMetadata(_ repo: RepoID, revision: String, path: String) async throws -> FileMetadata {
        let url = try resolveURL(repo, revision: revision, path: path)
        var request = makeRequest(url, method: "HEAD")
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        let result = try await sendMetadataRequest(request, redirects: .relativeOnly, repo: repo, revision: revision,
                                                   path: path)
        try check(result, repo: repo, revision: revision, path: path)
        guard let rawETag = result.header("X-Linked-Etag") ?? result.header("ETag") else {
            throw HubError.badResponse(url: url.absoluteString, reason: "no ETag or X-Linked-Etag header")
        }
        let etag = HubClient.normalizeETag(rawETag)
        guard !etag.isEmpty, !etag.contains("/"), etag != ".", etag != ".." else {
            throw HubError.badResponse(url: url.absoluteString, reason: "unusable ETag '\(rawETag)'")
        }
        let sizeText = result.header("X-Linked-Size") ?? result.header("Content-Length")
        return FileMetadata(commit: result.header("X-Repo-Commit"), etag: etag, size: sizeText.flatMap { Int64($0) })
    }

    /// The download URL of `path` at `revision`.
    public func resolveURL(_ repo: RepoID, revision: String, path: String) throws -> URL {
        let encodedPath = path.split(separator: "/", omittingEmptySubsequences: false).map { HubClient.encode(String($0)) }
            .joined(separator: "/")
        return try makeURL("/\(repo.owner)/\(repo.name)/resolve/\(HubClient.encode(revision))/\(encodedPath)", query: nil)
    }

    /// Strips a weak marker and quotes: `W/"abc"` → `abc`.
    public static func normalizeETag(_ raw: String) -> String {
        var text = raw.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("W/") { text.removeFirst(2) }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// Parses the API's JSON: `sha` and `siblings[].{rfilename, size, lfs.sha256}`.
    static func parseRepoInfo(_ body: Data, url: String) throws -> RepoInfo {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw HubError.badResponse(url: url, reason: "expected a JSON object")
        }
        guard let sha = object["sha"] as? String, HubCache.isCommitHash(sha) else {
            throw HubError.badResponse(url: url, reason: "expected a 40-digit commit hash in 'sha'")
        }
        guard let siblings = object["siblings"] as? [[String: Any]] else {
            throw HubError.badResponse(url: url, reason: "expected a 'siblings' array")
        }
        var files: [RepoFile] = []
        for sibling in siblings {
            guard let name = sibling["rfilename"] as? String else {
                throw HubError.badResponse(url: url, reason: "a sibling has no 'rfilename'")
            }
            guard isSafeRepoPath(name) else {
                throw HubError.badResponse(url: url, reason: "unsafe file path '\(name)'")
            }
            let size = (sibling["size"] as? NSNumber)?.int64Value
            let lfs = sibling["lfs"] as? [String: Any]
            files.append(RepoFile(path: name, size: (lfs?["size"] as? NSNumber)?.int64Value ?? size,
                                  lfsSHA256: (lfs?["sha256"] as? String)?.lowercased()))
        }
        return RepoInfo(commit: sha, files: files)
    }

    /// A relative path with no empty, `.` or `..` component.
    static func isSafeRepoPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    static func encode(_ component: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return component.addingPercentEncoding(withAllowedCharacters: allowed) ?? component
    }

    func makeURL(_ path: String, query: String?) throws -> URL {
        var text = endpoint.absoluteString + path
        if let query { text += "?" + query }
        guard let url = URL(string: text) else { throw HubError.badResponse(url: text, reason: "not a valid URL") }
        return url
    }

    func makeRequest(_ url: URL, method: String) -> URLRequest {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.setValue("swift-lfm/0.1; hf_hub-compatible", forHTTPHeaderField: "User-Agent")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }

    /// Runs a request, turning transport failures into ``HubError/offline(endpoint:reason:)``.
    func send(_ request: URLRequest, redirects: RedirectPolicy, repo: RepoID, revision: String, path: String?,
              onResponse: ((HTTPURLResponse) throws -> Void)? = nil,
              onData: ((Data) throws -> Void)? = nil) async throws -> HTTPResult {
        do {
            return try await performHTTP(request, timeout: timeout, redirects: redirects, onResponse: onResponse, onData: onData)
        } catch let error as TransportError {
            if !error.hadResponse, let code = error.urlError?.code, HubClient.offlineCodes.contains(code) {
                throw HubError.offline(endpoint: endpoint.absoluteString, reason: error.message)
            }
            throw error
        }
    }

    /// ``send(_:redirects:repo:revision:path:onResponse:onData:)`` for small requests: every failure is a ``HubError``.
    func sendMetadataRequest(_ request: URLRequest, redirects: RedirectPolicy, repo: RepoID, revision: String,
                             path: String?) async throws -> HTTPResult {
        do {
            return try await send(request, redirects: redirects, repo: repo, revision: revision, path: path)
        } catch let error as TransportError {
            throw HubError.transferFailed(path: request.url?.absoluteString ?? "?", received: 0, expected: nil,
                                          reason: error.message)
        }
    }

    static let offlineCodes: Set<URLError.Code> = [
        .cannotConnectToHost, .cannotFindHost, .notConnectedToInternet, .dnsLookupFailed, .timedOut,
        .networkConnectionLost, .internationalRoamingOff, .dataNotAllowed, .callIsActive,
    ]

    /// Maps an HTTP error status to a ``HubError``.
    func check(_ result: HTTPResult, repo: RepoID, revision: String, path: String?) throws {
        if (200..<400).contains(result.status) { return }
        let code = result.header("X-Error-Code")
        let message = result.header("X-Error-Message") ?? HubClient.errorMessage(in: result.body)
        switch result.status {
        case 401 where code == "RepoNotFound" && token == nil:
            // The Hub answers 401 for a repo that does not exist *or* is private, to not reveal which.
            throw HubError.repoNotFound(repo: repo.description)
        case 401, 403:
            throw HubError.unauthorized(repo: repo.description, status: result.status, tokenSent: token != nil,
                                        serverMessage: message)
        case 404:
            switch code {
            case "RevisionNotFound": throw HubError.revisionNotFound(repo: repo.description, revision: revision)
            case "EntryNotFound": throw HubError.fileNotFound(repo: repo.description, revision: revision, path: path ?? "")
            case "RepoNotFound": throw HubError.repoNotFound(repo: repo.description)
            default:
                if let path { throw HubError.fileNotFound(repo: repo.description, revision: revision, path: path) }
                throw HubError.repoNotFound(repo: repo.description)
            }
        default:
            throw HubError.httpStatus(url: result.url.absoluteString, status: result.status, serverMessage: message)
        }
    }

    static func errorMessage(in body: Data) -> String? {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let error = object["error"] as? String {
            return error
        }
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
