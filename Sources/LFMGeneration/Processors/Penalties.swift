import Foundation

/// Adds a bias to chosen tokens (OpenAI `logit_bias`; transformers `SequenceBiasLogitsProcessor`
/// for single-token sequences).
public struct LogitBias: LogitsProcessor {
    public let bias: [Int: Float]
    public init(_ bias: [Int: Float]) { self.bias = bias }

    public func process(_ logits: inout [Float], history: ArraySlice<Int>) {
        for (token, value) in bias where token >= 0 && token < logits.count { logits[token] += value }
    }
}

/// transformers `RepetitionPenaltyLogitsProcessor`: every token present in the history has its
/// logit divided by `penalty` when positive and multiplied by it when negative.
public struct RepetitionPenalty: LogitsProcessor {
    public let penalty: Float
    public init(_ penalty: Float) { self.penalty = penalty }

    public func process(_ logits: inout [Float], history: ArraySlice<Int>) {
        var seen = Set<Int>()
        for token in history where token >= 0 && token < logits.count && seen.insert(token).inserted {
            let value = logits[token]
            logits[token] = value < 0 ? value * penalty : value / penalty
        }
    }
}

/// OpenAI-style frequency and presence penalties (as llama.cpp applies them):
/// `logit -= count · frequency + (count > 0 ? presence : 0)`.
public struct FrequencyPresencePenalty: LogitsProcessor {
    public let frequency: Float
    public let presence: Float
    public init(frequency: Float, presence: Float) {
        self.frequency = frequency
        self.presence = presence
    }

    public func process(_ logits: inout [Float], history: ArraySlice<Int>) {
        var counts: [Int: Int] = [:]
        for token in history where token >= 0 && token < logits.count { counts[token, default: 0] += 1 }
        for (token, count) in counts { logits[token] -= Float(count) * frequency + presence }
    }
}
