import Foundation

/// Text normalizer stage (`normalizer` in tokenizer.json).
enum Normalizer: Sendable, Equatable {
    case nfc, nfd, nfkc, nfkd, lowercase
    case replace(pattern: String, content: String)
    case prepend(String)
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    func apply(_ text: String) -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return lowercasedPerCharacter(text)
        case let .replace(pattern, content):
            return pattern.isEmpty ? text : text.replacingOccurrences(of: pattern, with: content, options: .literal)
        case let .prepend(prefix): return text.isEmpty ? text : prefix + text
        case let .strip(left, right):
            var scalars = Substring(text).unicodeScalars[...]
            if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
            return String(String.UnicodeScalarView(scalars))
        case let .sequence(list): return list.reduce(text) { $1.apply($0) }
        }
    }
}

/// One pre-tokenizer stage (`pre_tokenizer` in tokenizer.json, flattened out of `Sequence`).
enum PreTokenizerStage: Sendable, Equatable {
    /// `Split` with a recognized regex and the `Isolated` behavior.
    case split(SplitPattern)
    /// `ByteLevel`: optionally prefix a space to each piece and split it with the GPT-2 regex.
    /// Mapping bytes to the byte alphabet is implicit (the model works on raw bytes).
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
}

/// Post-processor (`post_processor`): what `addSpecialTokens: true` adds around a single sequence.
struct PostProcessor: Sendable, Equatable {
    /// Ids placed before the sequence.
    var prefix: [Int] = []
    /// Ids placed after the sequence.
    var suffix: [Int] = []
}

/// One decoder stage (`decoder`, flattened out of `Sequence`), acting on the list of token byte strings.
enum DecoderStage: Sendable, Equatable {
    /// Byte-alphabet characters back to bytes; tokens with other characters are kept as their UTF-8.
    case byteLevel
    /// `<0xAB>` tokens to the byte 0xAB.
    case byteFallback
    /// Joins all pieces into one.
    case fuse
    /// Replaces a literal string in each piece.
    case replace(pattern: [UInt8], content: [UInt8])
    /// Removes up to `start` leading and `stop` trailing copies of `content` from each piece.
    case strip(content: [UInt8], start: Int, stop: Int)
    /// Joins the pieces with single spaces: what `tokenizers` does when there is no decoder.
    case joinWithSpaces

    /// Whether the stage maps each token independently of its neighbors (so a streaming decoder can
    /// decode tokens one at a time).
    var isTokenLocal: Bool {
        switch self {
        case .byteLevel, .byteFallback, .replace, .fuse: return true
        case .strip, .joinWithSpaces: return false
        }
    }

    func apply(_ pieces: [[UInt8]]) -> [[UInt8]] {
        switch self {
        case .byteLevel:
            return pieces.map { piece in
                guard let text = validString(piece),
                    let bytes = ByteLevelAlphabet.bytes(of: text)
                else { return piece }
                return bytes
            }
        case .byteFallback:
            return pieces.map { piece in
                // "<0xAB>"
                guard piece.count == 6, piece[0] == 0x3C, piece[1] == 0x30, piece[2] == 0x78, piece[5] == 0x3E,
                    let text = validString(piece[3..<5]), let b = UInt8(text, radix: 16)
                else { return piece }
                return [b]
            }
        case .fuse:
            return [pieces.flatMap { $0 }]
        case .joinWithSpaces:
            return [Array(pieces.joined(separator: [0x20]))]
        case let .replace(pattern, content):
            return pieces.map { replaceBytes($0, pattern, content) }
        case let .strip(content, start, stop):
            return pieces.map { piece in
                var lower = 0, upper = piece.count
                var removed = 0
                while removed < start, upper - lower >= content.count, !content.isEmpty,
                    Array(piece[lower..<(lower + content.count)]) == content
                {
                    lower += content.count
                    removed += 1
                }
                removed = 0
                while removed < stop, upper - lower >= content.count, !content.isEmpty,
                    Array(piece[(upper - content.count)..<upper]) == content
                {
                    upper -= content.count
                    removed += 1
                }
                return Array(piece[lower..<upper])
            }
        }
    }
}

/// Lowercase mapping character by character, without context (Σ always becomes σ), as the
/// `Lowercase` normalizer of `tokenizers` does (it maps each char with Rust's `char::to_lowercase`).
func lowercasedPerCharacter(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars { out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars) }
    return String(out)
}

/// Literal, non-overlapping, left-to-right replacement on bytes.
func replaceBytes(_ haystack: [UInt8], _ pattern: [UInt8], _ content: [UInt8]) -> [UInt8] {
    guard !pattern.isEmpty, haystack.count >= pattern.count else { return haystack }
    var out: [UInt8] = []
    out.reserveCapacity(haystack.count)
    var i = 0
    while i < haystack.count {
        if i + pattern.count <= haystack.count, haystack[i] == pattern[0],
            haystack[i..<(i + pattern.count)].elementsEqual(pattern)
        {
            out.append(contentsOf: content)
            i += pattern.count
        } else {
            out.append(haystack[i])
            i += 1
        }
    }
    return out
}
