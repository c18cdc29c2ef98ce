/// A `Split` pre-tokenizer regex, recognized alternative by alternative and matched by a hand-written
/// scanner instead of a regex engine.
///
/// The supported regexes are top-level alternations of the building blocks used by GPT-2, Llama-3,
/// Qwen2 and LFM2 (see `Alternative`). Matching follows Oniguruma semantics: at each position the
/// alternatives are tried in order and the first one that matches wins, each alternative taking its
/// greedy (backtracked where the pattern requires) length. Positions where nothing matches form gaps.
struct SplitPattern: Sendable, Equatable {
    /// One top-level alternative of the regex.
    enum Alternative: Sendable, Equatable {
        /// `'s|'t|...` (one or several literal suffixes after an ASCII apostrophe), optionally `(?i:...)`.
        case contractions(suffixes: [[UInt8]], caseInsensitive: Bool)
        /// `[^\r\n\p{L}\p{N}]?\p{L}+`
        case letterRunWithPrefix
        /// ` ?\p{L}+`
        case letterRunWithSpace
        /// `\p{L}+`
        case letterRun
        /// `\p{N}{1,max}` (`max == 1` for `\p{N}`, `Int.max` for `\p{N}+`)
        case numbers(max: Int)
        /// ` ?\p{N}+`
        case numberRunWithSpace
        /// ` ?[^\s\p{L}\p{N}]+` optionally followed by `[\r\n]*`
        case symbolsWithSpace(trailingNewlines: Bool)
        /// `\s*[\r\n]+`
        case spacesThenNewlines
        /// `\s+(?!\S)`
        case spacesNotBeforeNonSpace
        /// `\s+`
        case spaces
    }

    let alternatives: [Alternative]

    /// Regex of the GPT-2 byte-level pre-tokenizer (`ByteLevel` with `use_regex: true`).
    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// Regex of Llama-3 and LFM2.
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Regex of Qwen2 (single digits).
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The GPT-2 pattern, built directly (equal to `SplitPattern(regex: gpt2Regex)`, which a test checks).
    static let gpt2 = SplitPattern(
        alternatives: ["s", "t", "re", "ve", "m", "ll", "d"].map {
            Alternative.contractions(suffixes: [Array($0.utf8)], caseInsensitive: false)
        } + [
            .letterRunWithSpace, .numberRunWithSpace, .symbolsWithSpace(trailingNewlines: false),
            .spacesNotBeforeNonSpace, .spaces,
        ])

    init(alternatives: [Alternative]) { self.alternatives = alternatives }

    /// Recognizes `regex`; throws `TokenizerError.unsupportedRegex` naming the first unknown alternative.
    init(regex: String, source: String, field: String) throws {
        var alternatives: [Alternative] = []
        for part in SplitPattern.topLevelAlternatives(regex) {
            if let group = SplitPattern.caseInsensitiveGroup(part) {
                var suffixes: [[UInt8]] = []
                for inner in SplitPattern.topLevelAlternatives(group) {
                    guard let suffix = SplitPattern.contractionSuffix(inner) else {
                        throw TokenizerError.unsupportedRegex(source: source, field: field, pattern: regex, alternative: inner)
                    }
                    suffixes.append(suffix)
                }
                alternatives.append(.contractions(suffixes: suffixes, caseInsensitive: true))
                continue
            }
            if let suffix = SplitPattern.contractionSuffix(part) {
                alternatives.append(.contractions(suffixes: [suffix], caseInsensitive: false))
                continue
            }
            let known: [String: Alternative] = [
                #"[^\r\n\p{L}\p{N}]?\p{L}+"#: .letterRunWithPrefix,
                #" ?\p{L}+"#: .letterRunWithSpace,
                #"\p{L}+"#: .letterRun,
                #"\p{N}{1,3}"#: .numbers(max: 3),
                #"\p{N}{1,2}"#: .numbers(max: 2),
                #"\p{N}"#: .numbers(max: 1),
                #"\p{N}+"#: .numbers(max: Int.max),
                #" ?\p{N}+"#: .numberRunWithSpace,
                #" ?[^\s\p{L}\p{N}]+"#: .symbolsWithSpace(trailingNewlines: false),
                #" ?[^\s\p{L}\p{N}]+[\r\n]*"#: .symbolsWithSpace(trailingNewlines: true),
                #"\s*[\r\n]+"#: .spacesThenNewlines,
                #"\s+(?!\S)"#: .spacesNotBeforeNonSpace,
                #"\s+"#: .spaces,
            ]
            guard let alternative = known[part] else {
                throw TokenizerError.unsupportedRegex(source: source, field: field, pattern: regex, alternative: part)
            }
            alternatives.append(alternative)
        }
        if alternatives.isEmpty {
            throw TokenizerError.unsupportedRegex(source: source, field: field, pattern: regex, alternative: regex)
        }
        self.alternatives = alternatives
    }

    /// Splits on `|` outside groups, classes and escapes.
    static func topLevelAlternatives(_ regex: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        var inClass = false
        var escaped = false
        for ch in regex {
            if escaped {
                current.append(ch)
                escaped = false
                continue
            }
            switch ch {
            case "\\": escaped = true; current.append(ch)
            case "[" where !inClass: inClass = true; current.append(ch)
            case "]" where inClass: inClass = false; current.append(ch)
            case "(" where !inClass: depth += 1; current.append(ch)
            case ")" where !inClass: depth -= 1; current.append(ch)
            case "|" where !inClass && depth == 0: parts.append(current); current = ""
            default: current.append(ch)
            }
        }
        parts.append(current)
        return parts
    }

    /// The inside of `(?i:...)`, if `part` is exactly such a group.
    static func caseInsensitiveGroup(_ part: String) -> String? {
        guard part.hasPrefix("(?i:"), part.hasSuffix(")") else { return nil }
        let inner = String(part.dropFirst(4).dropLast())
        // The closing parenthesis must belong to this group.
        var depth = 0
        for ch in inner {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1; if depth < 0 { return nil } }
        }
        return depth == 0 ? inner : nil
    }

    /// `'xyz` with lowercase ASCII letters -> the suffix bytes.
    static func contractionSuffix(_ part: String) -> [UInt8]? {
        let bytes = Array(part.utf8)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "'") else { return nil }
        let suffix = Array(bytes[1...])
        guard suffix.allSatisfy({ $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) else { return nil }
        return suffix
    }
}
