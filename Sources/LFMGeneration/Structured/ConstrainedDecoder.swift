import LFMChat

/// Constrains generation to JSON text valid under a schema: masks the logits before each token
/// is sampled and follows the tokens chosen.
///
/// Token `t` is allowed when all of its bytes keep the output a prefix of some valid value
/// *and* the fewest bytes that then complete the value fit in the tokens left after it (every
/// byte is a token of its own in byte-level vocabularies, so `n` bytes fit in `n` tokens): the
/// output therefore always completes within `remainingTokens`. Stop tokens are allowed exactly
/// when the value is complete.
///
/// Usable on its own (e.g. by a server): `mask(_:remainingTokens:)`, sample, `accept(_:)`.
public struct ConstrainedDecoder: Sendable {
    /// The schema.
    public let schema: JSONSchema
    /// The vocabulary's token bytes.
    public let vocabulary: TokenVocabulary
    /// Tokens that end the output (allowed once the value is complete).
    public let stopTokens: Set<Int>
    /// The matcher after the bytes accepted so far.
    public private(set) var matcher: JSONMatcher
    /// The bytes accepted so far.
    public private(set) var output: [UInt8] = []
    /// Whether a stop token was accepted.
    public private(set) var stopped = false

    /// What `mask` found.
    public enum MaskOutcome: Sendable, Equatable {
        /// Disallowed logits are now `-infinity`; at least one token remains.
        case masked
        /// The value is complete and nothing may follow it (no stop token is known): stop here.
        case complete
    }

    /// A decoder at the start of the output.
    public init(schema: JSONSchema, vocabulary: TokenVocabulary, stopTokens: Set<Int>) {
        self.schema = schema
        self.vocabulary = vocabulary
        self.stopTokens = stopTokens
        matcher = JSONMatcher(schema: schema)
    }

    /// Whether the output so far is a complete valid value.
    public var isComplete: Bool { matcher.isComplete }

    /// Fewest tokens any completion needs (an upper bound on the tokens a valid value still needs).
    public var shortestCompletion: Int { matcher.shortestCompletion }

    private var outputText: String { String(decoding: output, as: UTF8.self) }

    /// The fewest bytes that complete the value after each token (`Int32.max`: not allowed), over
    /// the whole logit range; stop tokens are not included.
    func distances() -> [Int32] {
        distances(charge: { _ in })
    }

    /// `distances()`, calling `charge` with the matcher steps (one live alternative fed one byte)
    /// each part of the work takes; `charge` may throw to stop.
    func distances(charge: (Int) throws -> Void) rethrows -> [Int32] {
        var best = [Int32](repeating: .max, count: vocabulary.logitCount)
        try best.withUnsafeMutableBufferPointer { best in
            for thread in matcher.threads {
                if case .string(let s)? = thread.last, s.escape == 0, s.utf8 == 0 {
                    try charge(vocabulary.plainIds.count / 64 + 1)
                    plainStringChoices(thread, s, into: best)
                    for c in try quoteChoices(thread, s, charge: charge) where c.distance < best[Int(c.token)] {
                        best[Int(c.token)] = c.distance
                    }
                } else {
                    let choices: [TokenChoice]
                    if let hit = vocabulary.cached(schema, thread) {
                        choices = hit
                    } else {
                        choices = try walk(vocabulary.trie, JSONMatcher(schema: schema, threads: [thread]), charge: charge)
                        vocabulary.store(schema, thread, choices)
                    }
                    for c in choices where c.distance < best[Int(c.token)] { best[Int(c.token)] = c.distance }
                }
            }
        }
        return best
    }

    /// Computes the first token mask's choices ahead of generation (they stay in the vocabulary's
    /// cache, so the first `mask` is quick), within `schema.options.maxFirstMaskWork` matcher steps
    /// and before `deadline`.
    /// - Throws: `StructuredOutputError.tooComplex` naming the bound that was reached.
    public func prepareFirstMask(deadline: ContinuousClock.Instant? = nil) throws {
        let limit = schema.options.maxFirstMaskWork
        var meter = WorkMeter(limit: limit, bound: "maxFirstMaskWork \(limit)", deadline: deadline,
                              seconds: schema.options.timeLimit)
        _ = try distances(charge: { try meter.charge($0, "the first token mask") })
    }

    /// Tokens with a quote or backslash inside string content, cached. The cache key normalizes
    /// the code-point count when it cannot matter: at least `minLength` already, and room for the
    /// longest token before `maxLength`.
    private func quoteChoices(_ thread: JSONSchema.Thread, _ s: StringState, charge: (Int) throws -> Void) rethrows -> [TokenChoice] {
        var key = thread
        if !s.isKey, case .string(let minLength, let maxLength) = schema.nodes[Int(s.node)],
           Int(s.chars) >= minLength, maxLength - Int(s.chars) >= vocabulary.longestToken {
            var normalized = s
            normalized.chars = Int32(minLength)
            key[key.count - 1] = .string(normalized)
        }
        if let hit = vocabulary.cached(schema, key) { return hit }
        let choices = try walk(vocabulary.quoteTrie, JSONMatcher(schema: schema, threads: [key]), charge: charge)
        vocabulary.store(schema, key, choices)
        return choices
    }

    /// String content at a character boundary: plain tokens are decided by counting code points.
    private func plainStringChoices(_ thread: JSONSchema.Thread, _ s: StringState, into best: UnsafeMutableBufferPointer<Int32>) {
        let (minLength, maxLength): (Int, Int)
        if s.isKey {
            (minLength, maxLength) = (0, schema.options.maxKeyLength)
        } else if case .string(let lo, let hi) = schema.nodes[Int(s.node)] {
            (minLength, maxLength) = (lo, hi)
        } else { return }
        let top = thread.last.map { schema.cost($0, top: true) } ?? 0
        let rest = schema.distance(thread) - top
        let chars = Int(s.chars)
        guard rest < JSONSchema.infinite else { return }
        vocabulary.plainIds.withUnsafeBufferPointer { ids in
            vocabulary.plainChars.withUnsafeBufferPointer { plainChars in
                vocabulary.plainPending.withUnsafeBufferPointer { pending in
                    for id in ids {
                        let i = Int(id)
                        let c = Int(plainChars[i])
                        guard chars + c <= maxLength else { continue }
                        let d = rest + Int(pending[i]) + max(0, minLength - chars - c) + 1
                        if Int32(clamping: d) < best[i] { best[i] = Int32(clamping: d) }
                    }
                }
            }
        }
    }

    /// Walks `trie` from `start`, skipping subtrees whose first byte is rejected.
    private func walk(_ trie: ByteTrie, _ start: JSONMatcher, charge: (Int) throws -> Void) rethrows -> [TokenChoice] {
        var out: [TokenChoice] = []
        var levels: [JSONMatcher] = [start]
        var i = 0
        while i < trie.count {
            let d = Int(trie.depth[i])
            let next = levels[d - 1].advanced(by: trie.byte[i])
            try charge(levels[d - 1].threads.count + (next?.threads.count ?? 0))
            if let next {
                if levels.count > d { levels[d] = next } else { levels.append(next) }
                let begin = Int(trie.tokenBegin[i]), end = Int(trie.tokenEnd[i])
                if begin < end {
                    let distance = Int32(clamping: next.shortestCompletion)
                    for t in trie.tokens[begin..<end] { out.append(TokenChoice(token: t, distance: distance)) }
                }
                i += 1
            } else {
                i = Int(trie.subtreeEnd[i])
            }
        }
        return out
    }

    /// Ids allowed next when at most `remainingTokens` tokens (this one included) may be generated.
    public func allowedTokens(remainingTokens: Int) -> [Int] {
        let limit = Int32(clamping: remainingTokens - 1 - schema.trailingTokens)
        var out: [Int] = []
        for (i, d) in distances().enumerated() where d <= limit && !stopTokens.contains(i) { out.append(i) }
        if isComplete { out += stopTokens.filter { $0 >= 0 && $0 < vocabulary.logitCount }.sorted() }
        return out.sorted()
    }

    /// Sets the logits of disallowed tokens to `-infinity`. Throws when the value is incomplete
    /// and no token can continue it.
    public func mask(_ logits: inout [Float], remainingTokens: Int) throws -> MaskOutcome {
        let limit = Int32(clamping: remainingTokens - 1 - schema.trailingTokens)
        let best = distances()
        let complete = isComplete
        let stops = stopTokens.filter { $0 >= 0 && $0 < logits.count }.sorted()
        let saved = stops.map { logits[$0] }
        var allowed = 0
        best.withUnsafeBufferPointer { best in
            logits.withUnsafeMutableBufferPointer { logits in
                for i in 0..<logits.count {
                    if i < best.count && best[i] <= limit { allowed += 1 } else { logits[i] = -.infinity }
                }
            }
        }
        for t in stops { logits[t] = -.infinity }
        if complete {
            for (t, value) in zip(stops, saved) { logits[t] = value }
            if !stops.isEmpty { return .masked }
            return allowed > 0 ? .masked : .complete
        }
        guard allowed > 0 else { throw StructuredOutputError.noAllowedToken(generated: outputText) }
        return .masked
    }

    /// Follows the chosen token. Throws `tokenNotAllowed` for a token outside the mask's language.
    public mutating func accept(_ token: Int) throws {
        if stopTokens.contains(token) {
            guard isComplete else { throw StructuredOutputError.tokenNotAllowed(token: token, generated: outputText) }
            stopped = true
            return
        }
        guard token >= 0, token < vocabulary.logitCount, !vocabulary.bytes[token].isEmpty,
              matcher.feed(vocabulary.bytes[token]) else {
            throw StructuredOutputError.tokenNotAllowed(token: token, generated: outputText)
        }
        output += vocabulary.bytes[token]
    }
}
