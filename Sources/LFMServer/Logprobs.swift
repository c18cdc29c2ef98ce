import Foundation
import LFMChat
import LFMGeneration
import LFMModels
import LFMTokenizer

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
