import Foundation

/// Everything that can go wrong while talking to the Hugging Face Hub or its local cache.
public enum HubError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The endpoint could not be reached at all (no network, DNS failure, connection refused, timeout).
    case offline(endpoint: String, reason: String)
    /// The server answered 401/403: the repo is private or gated, or the token is wrong.
    case unauthorized(repo: String, status: Int, tokenSent: Bool, serverMessage: String?)
    /// The repository does not exist (or is private and no token was sent).
    case repoNotFound(repo: String)
    /// The repository exists but the revision (branch, tag or commit) does not.
    case revisionNotFound(repo: String, revision: String)
    /// A file listed for download is missing on the server.
    case fileNotFound(repo: String, revision: String, path: String)
    /// Any other unexpected HTTP status.
    case httpStatus(url: String, status: Int, serverMessage: String?)
    /// The server's answer lacks something the protocol requires, or is malformed.
    case badResponse(url: String, reason: String)
    /// The transfer broke off and could not be resumed after several attempts.
    case transferFailed(path: String, received: Int64, expected: Int64?, reason: String)
    /// A downloaded file does not have the size the Hub announced.
    case sizeMismatch(path: String, expected: Int64, found: Int64)
    /// A downloaded LFS file does not have the SHA-256 the Hub announced.
    case checksumMismatch(path: String, expected: String, found: String)
    /// The repo id is not of the form `ORG/NAME`.
    case invalidRepoId(String)
    /// The model is not in the local cache (offline resolution).
    case notCached(repo: String, revision: String, cacheFolder: String)
    /// No file in the repo matched the selection.
    case nothingSelected(repo: String, patterns: [String])
    /// A local file-system operation failed.
    case fileSystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .offline(let endpoint, let reason):
            return "no network: cannot reach \(endpoint) (\(reason)). Check the connection or HF_ENDPOINT; "
                + "models already pulled can still be used offline by their ORG/NAME."
        case .unauthorized(let repo, let status, let tokenSent, let message):
            let hint = tokenSent
                ? "the token in HF_TOKEN was refused or lacks access (gated repos need their terms accepted on the website)"
                : "the repo is private or gated: set HF_TOKEN to an access token"
            return "access denied to \(repo) (HTTP \(status)): \(hint)" + (message.map { ". Server said: \($0)" } ?? "")
        case .repoNotFound(let repo):
            return "repository \(repo) not found on the Hub (check the spelling; a private or gated repo needs HF_TOKEN)"
        case .revisionNotFound(let repo, let revision):
            return "revision '\(revision)' not found in \(repo) (expected a branch, tag or commit hash)"
        case .fileNotFound(let repo, let revision, let path):
            return "file '\(path)' not found in \(repo) at revision \(revision)"
        case .httpStatus(let url, let status, let message):
            return "unexpected HTTP \(status) from \(url)" + (message.map { ": \($0)" } ?? "")
        case .badResponse(let url, let reason):
            return "malformed answer from \(url): \(reason)"
        case .transferFailed(let path, let received, let expected, let reason):
            let total = expected.map { " of \($0)" } ?? ""
            return "download of \(path) failed after \(received)\(total) bytes: \(reason). Run the same pull again to resume."
        case .sizeMismatch(let path, let expected, let found):
            return "\(path): downloaded \(found) bytes, but the Hub announced \(expected); the partial file was deleted"
        case .checksumMismatch(let path, let expected, let found):
            return "\(path): SHA-256 is \(found), but the Hub announced \(expected); the corrupt file was deleted"
        case .invalidRepoId(let id):
            return "'\(id)' is not a Hugging Face repo id (expected ORG/NAME, e.g. LiquidAI/LFM2-350M)"
        case .notCached(let repo, let revision, let folder):
            return "\(repo) (revision \(revision)) is not in the local Hugging Face cache (\(folder)); run `lfm pull \(repo)` first"
        case .nothingSelected(let repo, let patterns):
            return "no file in \(repo) matches \(patterns.joined(separator: ", "))"
        case .fileSystem(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
