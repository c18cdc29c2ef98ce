import Foundation

/// Chooses tokens from logits with `SamplingParameters`: logit bias, penalties, then (unless
/// greedy) temperature, top-k, top-p, min-p and typical-p, in transformers' order, then a draw
/// from the resulting distribution with a seeded generator.
public struct Sampler: Sendable {
    /// The parameters in use.
    public let parameters: SamplingParameters
    private let penalties: [LogitsProcessor]
    private let warpers: [LogitsProcessor]
    private var random: SeededRandom

    /// Validates `parameters` and builds the processor chain.
    public init(_ parameters: SamplingParameters) throws {
        try parameters.validate()
        self.parameters = parameters
        var penalties: [LogitsProcessor] = []
        if !parameters.logitBias.isEmpty { penalties.append(LogitBias(parameters.logitBias)) }
        if parameters.repetitionPenalty != 1 { penalties.append(RepetitionPenalty(parameters.repetitionPenalty)) }
        if parameters.frequencyPenalty != 0 || parameters.presencePenalty != 0 {
            penalties.append(FrequencyPresencePenalty(frequency: parameters.frequencyPenalty, presence: parameters.presencePenalty))
        }
        var warpers: [LogitsProcessor] = []
        if parameters.temperature > 0 {
            if parameters.temperature != 1 { warpers.append(Temperature(parameters.temperature)) }
            if parameters.topK > 0 { warpers.append(TopK(parameters.topK)) }
            if parameters.topP < 1 { warpers.append(TopP(parameters.topP)) }
            if parameters.minP > 0 { warpers.append(MinP(parameters.minP)) }
            if parameters.typicalP < 1 { warpers.append(TypicalP(parameters.typicalP)) }
        }
        self.penalties = penalties
        self.warpers = warpers
        random = SeededRandom(seed: parameters.seed)
    }

    /// The processed logits the next token is drawn from (for inspection and tests).
    public func processed(_ logits: [Float], history: [Int]) -> [Float] {
        var out = logits
        let window = parameters.penaltyWindow == 0 ? history[...] : history.suffix(parameters.penaltyWindow)
        for processor in penalties { processor.process(&out, history: window) }
        for processor in warpers { processor.process(&out, history: window) }
        return out
    }

    /// Picks the next token after `history`.
    public mutating func sample(_ logits: [Float], history: [Int]) -> Int {
        let final = processed(logits, history: history)
        var best = 0
        for i in final.indices where final[i] > final[best] { best = i }
        guard parameters.temperature > 0 else { return best }
        let probabilities = softmax(final)
        var target = random.nextUnit()
        for (i, p) in probabilities.enumerated() where p > 0 {
            target -= p
            if target < 0 { return i }
        }
        return best
    }
}
