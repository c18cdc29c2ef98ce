/// Which files of a repo `lfm pull` downloads: shell-style glob patterns matched against each repo path.
public struct FileSelection: Sendable, Equatable {
    /// The patterns; a path is selected when any of them matches it.
    public let patterns: [String]

    /// The files a safetensors model folder needs to run: configs, tokenizer, chat template and weights.
    public static let defaultPatterns = [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
        "special_tokens_map.json", "*.safetensors", "model.safetensors.index.json",
    ]

    /// The default selection, or exactly `include` when it is not empty (like huggingface_hub's `allow_patterns`).
    public init(include: [String] = []) {
        patterns = include.isEmpty ? FileSelection.defaultPatterns : include
    }

    /// Whether `path` is selected.
    public func contains(_ path: String) -> Bool {
        patterns.contains { FileSelection.glob($0, matches: path) }
    }

    /// fnmatch-style matching: `*` (any run, `/` included, as in Python's fnmatch), `?` (one character),
    /// `[abc]`, `[a-z]`, `[!abc]`; everything else literal.
    public static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0
        var starP = -1, starT = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "*" {
                starP = pi
                starT = ti
                pi += 1
                continue
            }
            if pi < p.count, let next = matchOne(p, pi, t[ti]) {
                pi = next
                ti += 1
                continue
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starT += 1
            ti = starT
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// Matches one pattern element at `p[i]` against `c`: the next pattern index if it matched, else nil.
    private static func matchOne(_ p: [Character], _ i: Int, _ c: Character) -> Int? {
        switch p[i] {
        case "?": return i + 1
        case "[":
            var j = i + 1
            var negate = false
            if j < p.count, p[j] == "!" { negate = true; j += 1 }
            var found = false
            var first = true
            while j < p.count, p[j] != "]" || first {
                first = false
                if j + 2 < p.count, p[j + 1] == "-", p[j + 2] != "]" {
                    if p[j] <= c && c <= p[j + 2] { found = true }
                    j += 3
                } else {
                    if p[j] == c { found = true }
                    j += 1
                }
            }
            guard j < p.count else { return p[i] == c ? i + 1 : nil } // an unterminated '[' is literal
            return found != negate ? j + 1 : nil
        default:
            return p[i] == c ? i + 1 : nil
        }
    }
}
