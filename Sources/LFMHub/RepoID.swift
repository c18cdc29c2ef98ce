/// A Hugging Face model repo id, `ORG/NAME` (e.g. `LiquidAI/LFM2-350M`).
public struct RepoID: Hashable, Sendable, CustomStringConvertible {
    /// The user or organization that owns the repo.
    public let owner: String
    /// The repo's name.
    public let name: String

    /// Parses `ORG/NAME`; both parts use letters, digits, `-`, `_` and `.`, and neither is `.` or `..`.
    public init(_ text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, parts.allSatisfy(RepoID.isValidPart) else { throw HubError.invalidRepoId(text) }
        owner = parts[0]
        name = parts[1]
    }

    /// The repo whose cached snapshot `path` is (`…/models--ORG--NAME/snapshots/<commit>`), or nil.
    public init?(snapshotPath path: String) {
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count >= 3, parts[parts.count - 2] == "snapshots", HubCache.isCommitHash(parts[parts.count - 1]) else {
            return nil
        }
        let folder = parts[parts.count - 3]
        guard folder.hasPrefix("models--") else { return nil }
        let pieces = folder.dropFirst("models--".count).components(separatedBy: "--")
        guard pieces.count == 2, let id = try? RepoID("\(pieces[0])/\(pieces[1])") else { return nil }
        self = id
    }

    /// Whether `text` looks like a repo id (without throwing).
    public static func looksLikeRepoID(_ text: String) -> Bool { (try? RepoID(text)) != nil }

    public var description: String { "\(owner)/\(name)" }

    /// The cache folder name, `models--ORG--NAME`.
    public var cacheFolderName: String { "models--\(owner)--\(name)" }

    private static func isValidPart(_ part: String) -> Bool {
        guard !part.isEmpty, part.count <= 96, part != ".", part != ".." else { return false }
        return part.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": return true
            default: return false
            }
        }
    }
}
