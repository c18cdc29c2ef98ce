/// A token matched in the raw text before the model runs (special tokens such as `<|im_start|>`,
/// or user-added words), with the matching options of Hugging Face `tokenizers`.
public struct AddedToken: Sendable, Equatable {
    /// Token id.
    public var id: Int
    /// Exact text of the token.
    public var content: String
    /// Special tokens are skipped by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool
    /// Only match when not preceded or followed by a word character.
    public var singleWord: Bool
    /// Also consume the whitespace to the left of a match.
    public var lstrip: Bool
    /// Also consume the whitespace to the right of a match.
    public var rstrip: Bool
    /// Match against the normalized text (after the normalizer) instead of the raw text.
    public var normalized: Bool

    /// Creates an added token. Defaults follow `tokenizers`: special tokens are not normalized.
    public init(
        id: Int, content: String, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
        rstrip: Bool = false, normalized: Bool? = nil
    ) {
        self.id = id
        self.content = content
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized ?? !special
    }
}

/// Leftmost-longest matcher over a set of added tokens (a byte trie), with the
/// single_word / lstrip / rstrip rules of `tokenizers`' `AddedVocabulary::find_matches`.
struct AddedTokenMatcher: Sendable {
    /// Trie nodes: sorted outgoing edges and the index of the token ending here (-1 if none).
    private var edgeBytes: [[UInt8]] = [[]]
    private var edgeTargets: [[Int32]] = [[]]
    private var terminal: [Int32] = [-1]
    /// Root fan-out: first byte -> child node (-1 if no token starts with this byte).
    private var rootChild = [Int32](repeating: -1, count: 256)
    private(set) var tokens: [AddedToken] = []

    var isEmpty: Bool { tokens.isEmpty }

    /// `patterns[i]` is the byte string to match for `tokens[i]` (its content, normalized if needed).
    init(tokens: [AddedToken], patterns: [[UInt8]]) {
        for (token, pattern) in zip(tokens, patterns) where !pattern.isEmpty {
            var node = 0
            for b in pattern {
                if let k = edgeBytes[node].firstIndex(of: b) {
                    node = Int(edgeTargets[node][k])
                } else {
                    let child = terminal.count
                    edgeBytes.append([])
                    edgeTargets.append([])
                    terminal.append(-1)
                    edgeBytes[node].append(b)
                    edgeTargets[node].append(Int32(child))
                    if node == 0 { rootChild[Int(b)] = Int32(child) }
                    node = child
                }
            }
            if terminal[node] < 0 {  // first token with this content wins
                terminal[node] = Int32(self.tokens.count)
                self.tokens.append(token)
            }
        }
    }

    /// Longest token starting at `i`: (token index, end) or nil.
    @inline(__always)
    private func longest(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (Int, Int)? {
        var node = Int(rootChild[Int(p[i])])
        if node < 0 { return nil }
        var best: (Int, Int)? = nil
        var j = i + 1
        while true {
            if terminal[node] >= 0 { best = (Int(terminal[node]), j) }
            guard j < p.count else { break }
            let b = p[j]
            guard let k = edgeBytes[node].firstIndex(of: b) else { break }
            node = Int(edgeTargets[node][k])
            j += 1
        }
        return best
    }

    /// Splits `p` into alternating plain segments and added-token matches, in order.
    /// `body(start, end, token)` receives `token == nil` for plain text.
    func split(_ p: UnsafeBufferPointer<UInt8>, _ body: (Int, Int, AddedToken?) -> Void) {
        let n = p.count
        if tokens.isEmpty || n == 0 {
            if n > 0 { body(0, n, nil) }
            return
        }
        var plainStart = 0
        var i = 0
        while i < n {
            guard rootChild[Int(p[i])] >= 0, let found = longest(p, at: i) else {
                i += 1
                continue
            }
            let (index, matchEnd) = found
            let token = tokens[index]
            var start = i
            var stop = matchEnd
            if token.singleWord {
                let startOK = start == 0 || !endsWithWordCharacter(p, before: start)
                let stopOK = stop == n || !startsWithWordCharacter(p, at: stop)
                if !startOK || !stopOK {
                    i = matchEnd  // the automaton resumes after the discarded match
                    continue
                }
            }
            if token.lstrip {
                start = max(whitespaceStart(p, before: start), plainStart)
            }
            if token.rstrip {
                stop = whitespaceEnd(p, from: stop)
            }
            if plainStart < start { body(plainStart, start, nil) }
            body(start, stop, token)
            plainStart = stop
            i = stop
        }
        if plainStart < n { body(plainStart, n, nil) }
    }

    // MARK: Unicode helpers on UTF-8 bytes (`\w` and `\s` of the Rust regex crate)

    private func scalar(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (Unicode.Scalar, Int)? {
        var iterator = p[i...].makeIterator()
        var decoder = UTF8()
        switch decoder.decode(&iterator) {
        case let .scalarValue(s): return (s, UTF8.width(s))
        default: return nil
        }
    }

    private func scalarBefore(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (Unicode.Scalar, Int)? {
        var k = i - 1
        while k > 0 && p[k] & 0xC0 == 0x80 { k -= 1 }
        guard k >= 0, let found = scalar(p, at: k) else { return nil }
        return (found.0, k)
    }

    private func isWord(_ s: Unicode.Scalar) -> Bool {
        let props = s.properties
        if props.isAlphabetic || props.isJoinControl { return true }
        switch props.generalCategory {
        case .decimalNumber, .connectorPunctuation, .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    private func endsWithWordCharacter(_ p: UnsafeBufferPointer<UInt8>, before i: Int) -> Bool {
        guard let found = scalarBefore(p, i) else { return false }
        return isWord(found.0)
    }

    private func startsWithWordCharacter(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        guard let found = scalar(p, at: i) else { return false }
        return isWord(found.0)
    }

    private func whitespaceStart(_ p: UnsafeBufferPointer<UInt8>, before i: Int) -> Int {
        var start = i
        while start > 0, let found = scalarBefore(p, start), found.0.properties.isWhitespace { start = found.1 }
        return start
    }

    private func whitespaceEnd(_ p: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        var end = i
        while end < p.count, let found = scalar(p, at: end), found.0.properties.isWhitespace { end += found.1 }
        return end
    }
}
