import Foundation
import LFMChat
import LFMModels
import LFMTokenizer

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

/// OpenAI JSON for log-probabilities (chat `logprobs.content` entries, legacy completion `logprobs`).
struct LogprobRenderer {
    let tokenizer: Tokenizer

    /// A token's bytes and their text (lossy UTF-8: a token holding part of a character shows U+FFFD).
    func piece(_ token: Int) -> (text: String, bytes: [UInt8]) {
        let bytes = (try? tokenizer.decodeBytes([token])) ?? []
        return (String(decoding: bytes, as: UTF8.self), bytes)
    }

    private func entry(_ alternative: TokenAlternative) -> [(String, Value)] {
        let (text, bytes) = piece(alternative.token)
        return [("token", .string(text)), ("logprob", number(alternative.logprob)),
                ("bytes", .array(bytes.map { .int(Int($0)) }))]
    }

    /// `{"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}`.
    func chat(_ entries: [TokenLogprob]) -> Value {
        .dict([
            ("content", .array(entries.map { e in
                .dict(entry(e.chosen) + [("top_logprobs", .array(e.top.map { .dict(entry($0)) }))])
            })),
            ("refusal", .none),
        ])
    }

    /// `{"tokens", "token_logprobs", "top_logprobs", "text_offset"}`; offsets count characters from
    /// `startOffset` (the text already returned before these tokens).
    func completion(_ entries: [TokenLogprob], startOffset: Int) -> Value {
        var offset = startOffset
        var tokens: [Value] = [], logprobs: [Value] = [], tops: [Value] = [], offsets: [Value] = []
        for e in entries {
            let text = piece(e.chosen.token).text
            tokens.append(.string(text))
            logprobs.append(number(e.chosen.logprob))
            tops.append(.dict(e.top.map { (piece($0.token).text, number($0.logprob)) }))
            offsets.append(.int(offset))
            offset += text.count
        }
        return .dict([("tokens", .array(tokens)), ("token_logprobs", .array(logprobs)), ("top_logprobs", .array(tops)),
                      ("text_offset", .array(offsets))])
    }

    /// Characters the entries' tokens add to the text (for the next streamed chunk's offsets).
    func characters(_ entries: [TokenLogprob]) -> Int {
        entries.reduce(0) { $0 + piece($1.chosen.token).text.count }
    }

    /// JSON has no infinity: a token the model gives probability 0 reports -9999 (as OpenAI does).
    private func number(_ value: Float) -> Value {
        value.isFinite ? .double(Double(value)) : .double(-9999)
    }
}
