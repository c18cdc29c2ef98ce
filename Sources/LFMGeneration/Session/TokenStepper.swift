/// The per-token rules every generation loop shares (`lfm generate`, `InferenceSession` and the
/// server's batch engine): mask the logits by the JSON-schema constraint within the budget that
/// is left, sample, feed the constraint, and stop on a stop token or at the budget. The loops
/// differ only in how they run the model (one sequence or a batch) and where the text goes.
public struct TokenStepper: Sendable {
    /// What follows a token `accept` took.
    public enum Next: Equatable, Sendable {
        /// Emit the token and go on.
        case more
        /// Emit the token, then finish: the budget is spent (`FinishReason.length`).
        case last
        /// A stop token: finish without emitting it.
        case stop
    }

    public private(set) var sampler: Sampler
    /// The JSON-schema mask, when the output must follow a schema.
    public private(set) var constraint: ConstrainedDecoder?
    public let stopTokens: Set<Int>
    /// Largest number of tokens to generate.
    public let maxTokens: Int
    /// Tokens accepted so far (stop tokens included).
    public private(set) var generated: [Int] = []

    public init(sampler: Sampler, constraint: ConstrainedDecoder? = nil, stopTokens: Set<Int>, maxTokens: Int) {
        self.sampler = sampler
        self.constraint = constraint
        self.stopTokens = stopTokens
        self.maxTokens = maxTokens
    }

    /// Whether the budget allows another token.
    public var canContinue: Bool { generated.count < maxTokens }

    /// The next token after `logits` (masked in place by the constraint), sampled with the
    /// penalties over `history`; nil when the constraint's value is complete and nothing may
    /// follow it. `room`: positions the context can still take.
    public mutating func choose(_ logits: inout [Float], history: [Int], room: Int = .max) throws -> Int? {
        if let decoder = constraint {
            let budget = min(maxTokens - generated.count, room)
            if try decoder.mask(&logits, remainingTokens: budget) == .complete { return nil }
        }
        let token = sampler.sample(logits, history: history)
        try constraint?.accept(token)
        return token
    }

    /// Records `token` (the one `choose` returned, or one forced by the caller).
    public mutating func accept(_ token: Int) -> Next {
        generated.append(token)
        if stopTokens.contains(token) { return .stop }
        if generated.count >= maxTokens { return .last }
        return .more
    }
}
