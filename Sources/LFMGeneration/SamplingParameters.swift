import Foundation

/// Errors in sampling settings.
public enum SamplingError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(name: String, value: String, expected: String)
    case badGenerationConfig(file: String, detail: String)

    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let expected):
            return "sampling parameter \(name) = \(value) is invalid: expected \(expected)"
        case .badGenerationConfig(let file, let detail):
            return "\(file): \(detail)"
        }
    }
}

/// How the next token is chosen. Defaults are plain sampling at temperature 1 with nothing
/// filtered; `temperature == 0` means greedy (argmax).
public struct SamplingParameters: Sendable, Equatable {
    /// Divides the logits; 0 selects the most likely token.
    public var temperature: Float = 1
    /// Keep only the `topK` most likely tokens (0: off).
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability mass reaches `topP` (1: off).
    public var topP: Float = 1
    /// Drop tokens less likely than `minP` times the most likely one (0: off).
    public var minP: Float = 0
    /// Locally typical sampling mass (1: off).
    public var typicalP: Float = 1
    /// Multiplicative penalty on tokens already seen (1: off), as transformers applies it:
    /// positive logits are divided by it, negative ones multiplied.
    public var repetitionPenalty: Float = 1
    /// Subtracted once per earlier occurrence of a token (OpenAI `frequency_penalty`).
    public var frequencyPenalty: Float = 0
    /// Subtracted once from every token that occurred (OpenAI `presence_penalty`).
    public var presencePenalty: Float = 0
    /// How many of the most recent tokens the penalties look at (0: all of them).
    public var penaltyWindow: Int = 64
    /// Added to the logits of the given token ids before anything else.
    public var logitBias: [Int: Float] = [:]
    /// Seed of the random numbers (the same seed gives the same tokens).
    public var seed: UInt64 = 0

    /// Creates parameters; every field has a neutral default.
    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0, typicalP: Float = 1,
                repetitionPenalty: Float = 1, frequencyPenalty: Float = 0, presencePenalty: Float = 0,
                penaltyWindow: Int = 64, logitBias: [Int: Float] = [:], seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.typicalP = typicalP
        self.repetitionPenalty = repetitionPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.penaltyWindow = penaltyWindow
        self.logitBias = logitBias
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters(temperature: 0)

    /// Liquid AI's recommendation for LFM2 (model card): temperature 0.3, min-p 0.15, repetition penalty 1.05.
    public static let lfm2Recommended = SamplingParameters(temperature: 0.3, minP: 0.15, repetitionPenalty: 1.05)

    /// Throws when a value is outside its domain.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
            if !ok { throw SamplingError.invalidParameter(name: name, value: "\(value)", expected: expected) }
        }
        try check(temperature >= 0 && temperature.isFinite, "temperature", temperature, "a finite number >= 0")
        try check(topK >= 0, "top_k", topK, "an integer >= 0")
        try check(topP > 0 && topP <= 1, "top_p", topP, "a number in (0, 1]")
        try check(minP >= 0 && minP <= 1, "min_p", minP, "a number in [0, 1]")
        try check(typicalP > 0 && typicalP <= 1, "typical_p", typicalP, "a number in (0, 1]")
        try check(repetitionPenalty > 0 && repetitionPenalty.isFinite, "repetition_penalty", repetitionPenalty, "a finite number > 0")
        try check(frequencyPenalty.isFinite && abs(frequencyPenalty) <= 100, "frequency_penalty", frequencyPenalty, "a number in [-100, 100]")
        try check(presencePenalty.isFinite && abs(presencePenalty) <= 100, "presence_penalty", presencePenalty, "a number in [-100, 100]")
        try check(penaltyWindow >= 0, "penalty_window", penaltyWindow, "an integer >= 0")
        for (token, bias) in logitBias {
            try check(bias.isFinite || bias == -.infinity, "logit_bias[\(token)]", bias, "a finite number or -inf")
        }
    }

    /// Reads the sampling fields of a Hugging Face `generation_config.json` over `base`.
    public static func fromGenerationConfig(_ url: URL, base: SamplingParameters = SamplingParameters()) throws -> SamplingParameters {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SamplingError.badGenerationConfig(file: url.path, detail: "unreadable: \(error.localizedDescription)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw SamplingError.badGenerationConfig(file: url.path, detail: "expected a JSON object")
        }
        func number(_ key: String) throws -> Double? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let n = value as? NSNumber else {
                throw SamplingError.badGenerationConfig(file: url.path, detail: "\(key) should be a number, found \(value)")
            }
            return n.doubleValue
        }
        var p = base
        let doSample = object["do_sample"] as? Bool
        if let t = try number("temperature") { p.temperature = Float(t) }
        if doSample == false { p.temperature = 0 }
        if let k = try number("top_k") {
            guard let topK = Int(exactly: k.rounded()) else {
                throw SamplingError.badGenerationConfig(file: url.path, detail: "top_k should be an integer, found \(k)")
            }
            p.topK = topK
        }
        if let v = try number("top_p") { p.topP = Float(v) }
        if let v = try number("min_p") { p.minP = Float(v) }
        if let v = try number("typical_p") { p.typicalP = Float(v) }
        if let v = try number("repetition_penalty") { p.repetitionPenalty = Float(v) }
        do { try p.validate() } catch {
            throw SamplingError.badGenerationConfig(file: url.path, detail: "\(error)")
        }
        return p
    }
}
