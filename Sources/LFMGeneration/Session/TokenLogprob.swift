import LFMModels

/// A token and its log-probability under the model's next-token distribution.
public struct TokenAlternative: Sendable, Equatable {
    /// Token id.
    public var token: Int
    /// Natural-log probability, `logits[token] - logsumexp(logits)` of the raw model logits.
    public var logprob: Float

    /// Creates an entry.
    public init(token: Int, logprob: Float) {
        self.token = token
        self.logprob = logprob
    }
}

/// The log-probability of one generated token and the most likely alternatives at its position.
///
/// Log-probabilities are those of the model's own distribution (log-softmax of the raw logits,
/// before sampling parameters, penalties or a JSON-schema mask), as vLLM and OpenAI report them.
public struct TokenLogprob: Sendable, Equatable {
    /// The chosen token and its log-probability.
    public var chosen: TokenAlternative
    /// The `k` most likely tokens, most likely first (ties: lower id first); empty when `k` is 0.
    public var top: [TokenAlternative]

    /// Creates an entry.
    public init(chosen: TokenAlternative, top: [TokenAlternative]) {
        self.chosen = chosen
        self.top = top
    }

    /// The log-probability of `token` and the `k` most likely tokens under `logits`.
    public static func compute(token: Int, logits: [Float], top k: Int) -> TokenLogprob {
        guard !logits.isEmpty, token >= 0, token < logits.count else {
            return TokenLogprob(chosen: TokenAlternative(token: token, logprob: -.infinity), top: [])
        }
        return logits.withUnsafeBufferPointer { row in
            let logSum = logSumExp(row)
            return TokenLogprob(chosen: TokenAlternative(token: token, logprob: Float(Double(logits[token]) - logSum)),
                                top: topLogProbabilities(row, k: k, logSum: logSum).map { TokenAlternative(token: $0.id, logprob: Float($0.logprob)) })
        }
    }
}
