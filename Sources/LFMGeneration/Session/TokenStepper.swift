/// The per-token rules every generation loop shares (`lfm generate`, `InferenceSession` and the
/// server's batch engine): choose the next token (forced prefixes, the JSON-schema mask within the
/// budget that is left, the sampler), then `advance` over it (stop tokens, the output's events and
/// its stop strings, the constraint's end, the budget, the context room). The loops differ only in
/// how they run the model (one sequence or a batch) and where the events go.
public struct TokenStepper: Sendable {
    /// What `advance` found for one token.
    public struct Step: Sendable, Equatable {
        /// The log-probability of the token (when asked for with `topLogprobs`); nil for a stop
        /// token and when the generation ended before the token was recorded.
        public var logprob: TokenLogprob?
        /// The events the output made of the token (text, reasoning, tool calls, warnings).
        public var events: [GenerationEvent]
        /// Why generation ends after this token; nil: run the model on it and go on.
        public var finish: FinishReason?
    }

    public private(set) var sampler: Sampler
    /// The JSON-schema mask, when the output must follow a schema.
    public private(set) var constraint: ConstrainedDecoder?
    /// Tokens that end generation (recorded, not emitted).
    public let stopTokens: Set<Int>
    /// Largest number of tokens to generate.
    public let maxTokens: Int
    /// Token sequences the output must start with one of (empty ones are ignored). While one
    /// alternative is left its tokens are taken as they are; where alternatives differ the sampler
    /// chooses among their next tokens only. Forced tokens bypass the constraint.
    public let forcedPrefixes: [[Int]]
    /// Alternatives per log-probability entry; nil: no log-probabilities.
    public let topLogprobs: Int?
    /// Tokens recorded so far (stop tokens included); with `recordsTokens` false, only as many as
    /// the longest forced prefix needs.
    public private(set) var generated: [Int] = []
    /// How many tokens were recorded so far (stop tokens included).
    public private(set) var count = 0
    /// Whether `generated` keeps every token. A caller that streams its output and needs no token
    /// list turns it off, so a generation of any length keeps constant memory here.
    public let recordsTokens: Bool
    /// Tokens the forced-prefix match compares `generated` with.
    private let longestForcedPrefix: Int
    /// The log-probability of the token `choose` returned last, reported by `advance`.
    private var pendingLogprob: TokenLogprob?

    /// Creates a stepper at the start of a generation.
    public init(sampler: Sampler, constraint: ConstrainedDecoder? = nil, stopTokens: Set<Int>, maxTokens: Int,
                forcedPrefixes: [[Int]] = [], topLogprobs: Int? = nil, recordsTokens: Bool = true) {
        self.recordsTokens = recordsTokens
        self.sampler = sampler
        self.constraint = constraint
        self.stopTokens = stopTokens
        self.maxTokens = maxTokens
        self.forcedPrefixes = forcedPrefixes.filter { !$0.isEmpty }
        longestForcedPrefix = forcedPrefixes.map(\.count).max() ?? 0
        self.topLogprobs = topLogprobs
    }

    /// Whether the budget allows another token.
    public var canContinue: Bool { count < maxTokens }

    /// The next token after `logits`: forced by a prefix, or sampled with the penalties over
    /// `history` from the logits masked (in place) to the diverging prefixes' next tokens or by the
    /// constraint. Nil when the constraint's value is complete and nothing may follow it. With
    /// `topLogprobs`, the token's log-probability under the unmasked logits is kept for `advance`.
    /// `room`: positions the context can still take.
    public mutating func choose(_ logits: inout [Float], history: [Int], room: Int = .max) throws -> Int? {
        let raw = topLogprobs == nil ? nil : logits
        let candidates = forcedPrefixes.filter { $0.count > count && $0.starts(with: generated) }
        let token: Int
        if let first = candidates.first {
            let allowed = Set(candidates.map { $0[count] })
            if allowed.count == 1 {
                token = first[count]
            } else {
                var masked = [Float](repeating: -.infinity, count: logits.count)
                for t in allowed where t < logits.count { masked[t] = logits[t] }
                logits = masked
                token = sampler.sample(logits, history: history)
            }
        } else {
            if let decoder = constraint {
                let budget = min(maxTokens - count, room)
                if try decoder.mask(&logits, remainingTokens: budget) == .complete { return nil }
            }
            token = sampler.sample(logits, history: history)
            try constraint?.accept(token)
        }
        if let raw, let k = topLogprobs { pendingLogprob = TokenLogprob.compute(token: token, logits: raw, top: k) }
        return token
    }

    /// Records `token` (the one `choose` returned) and feeds it to `output`, in this order: a zero
    /// budget ends at once (`.length`, nothing recorded); a stop token ends (`.stop`, not fed); the
    /// output's events; a stop string (`.stop`); the constraint's end marker (`.stop`: a whole tool
    /// call); the budget or the context (`.length`: the budget is spent, or `room`, the positions
    /// the context can still take, leaves none for the next token). A JSON value the mask closed
    /// exactly at the budget also ends with `.length`: the stop token it would force was never
    /// generated (as llama-server reports it, and OpenAI defines `length`).
    public mutating func advance<Output: TokenOutput>(_ token: Int, output: inout Output, room: Int = .max) -> Step {
        let logprob = pendingLogprob
        pendingLogprob = nil
        guard maxTokens > 0 else { return Step(logprob: nil, events: [], finish: .length) }
        if recordsTokens || generated.count < longestForcedPrefix { generated.append(token) }
        count += 1
        if stopTokens.contains(token) { return Step(logprob: nil, events: [], finish: .stop) }
        var step = Step(logprob: logprob, events: output.feed(token), finish: nil)
        if output.stopped || constraint?.stopped == true {
            step.finish = .stop
        } else if count >= maxTokens || room <= 1 {
            step.finish = .length
        }
        return step
    }
}

/// Where a `TokenStepper` sends the tokens it records: turns each into events and may end the
/// generation (a stop string).
public protocol TokenOutput {
    /// The events `token` completes.
    mutating func feed(_ token: Int) -> [GenerationEvent]
    /// Whether the output ended the generation (nothing more will be emitted).
    var stopped: Bool { get }
}

extension OutputFilter: TokenOutput {}

/// No output (e.g. `lfm generate` without a tokenizer): no events, never stops.
extension Optional: TokenOutput where Wrapped: TokenOutput {
    public mutating func feed(_ token: Int) -> [GenerationEvent] {
        guard case .some(var output) = self else { return [] }
        self = nil  // `output` is then the only copy, so feeding it copies nothing
        defer { self = output }
        return output.feed(token)
    }

    public var stopped: Bool { self?.stopped ?? false }
}
