import ArgumentParser
import Foundation
import LFMModels

/// `lfm generate`: one-shot generation.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate tokens after a prompt."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("prompt-ids"), help: "Prompt as comma-separated token ids.")
    var promptIds: String

    @Option(name: .customLong("max-tokens"), help: "Number of tokens to generate.")
    var maxTokens = 32

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Double = 0

    @Option(help: "Seed of the sampler's random numbers.")
    var seed: UInt64 = 0

    @Flag(name: .customLong("ignore-eos"), help: "Keep going after an end-of-sequence token.")
    var ignoreEOS = false

    @Flag(help: "Print one JSON object: prompt_ids, tokens, and the top-5 logprobs of each step.")
    var json = false

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be >= 0") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0") }
    }

    func run() throws {
        let prompt = try parseIds(promptIds, option: "--prompt-ids")
        guard !prompt.isEmpty else { throw ValidationError("--prompt-ids is empty") }
        let model = try modelOptions.load()
        var state = model.makeState()
        var sampler = SimpleSampler(temperature: Float(temperature), seed: seed)
        let stops = Set(model.configuration.eosTokenIds)

        let start = Date()
        var logits = try model.forward(prompt, state: &state)
        let prefillSeconds = Date().timeIntervalSince(start)
        var tokens: [Int] = []
        var steps: [[(id: Int, logprob: Double)]] = []
        let decodeStart = Date()
        while tokens.count < maxTokens {
            let logprobs = LogProbabilities(logits: logits)
            let token = sampler.sample(logits)
            tokens.append(token)
            steps.append(logprobs.top(5))
            if !ignoreEOS && stops.contains(token) { break }
            if tokens.count == maxTokens { break }
            logits = try model.forward([token], state: &state)
        }
        let decodeSeconds = Date().timeIntervalSince(decodeStart)

        if json {
            let stepsJSON = steps.map { step in
                "[" + step.map { "{\"id\": \($0.id), \"logprob\": \(formatDouble($0.logprob))}" }.joined(separator: ", ") + "]"
            }
            print("{\"prompt_ids\": [\(prompt.map(String.init).joined(separator: ", "))], "
                  + "\"tokens\": [\(tokens.map(String.init).joined(separator: ", "))], "
                  + "\"logprobs\": [\(stepsJSON.joined(separator: ", "))]}")
        } else {
            print(tokens.map(String.init).joined(separator: " "))
        }
        printError(String(format: "prompt: %d tokens, %.1f tokens/s; generated: %d tokens, %.1f tokens/s",
                          prompt.count, Double(prompt.count) / max(prefillSeconds, 1e-9),
                          tokens.count, Double(max(tokens.count - 1, 0)) / max(decodeSeconds, 1e-9)))
    }
}

/// Formats a double so that JSON readers get it back exactly.
func formatDouble(_ value: Double) -> String {
    guard value.isFinite else { return value < 0 ? "-1e308" : "1e308" }
    return "\(value)"
}

/// Log-softmax of one logits row, computed in Double.
struct LogProbabilities {
    let values: [Double]

    init(logits: [Float]) {
        let maximum = Double(logits.max() ?? 0)
        var total = 0.0
        for l in logits { total += exp(Double(l) - maximum) }
        let logTotal = log(total) + maximum
        values = logits.map { Double($0) - logTotal }
    }

    /// The `k` most likely ids, most likely first (ties: lower id first).
    func top(_ k: Int) -> [(id: Int, logprob: Double)] {
        values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
            .prefix(k).map { ($0, values[$0]) }
    }
}

/// Greedy at temperature 0; otherwise softmax sampling with a seeded SplitMix64 generator.
struct SimpleSampler {
    let temperature: Float
    var state: UInt64

    init(temperature: Float, seed: UInt64) {
        self.temperature = temperature
        state = seed
    }

    mutating func nextUniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    mutating func sample(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        guard temperature > 0 else { return best }
        let scaled = logits.map { Double($0 - logits[best]) / Double(temperature) }
        let weights = scaled.map { exp($0) }
        let total = weights.reduce(0, +)
        var target = nextUniform() * total
        for (i, w) in weights.enumerated() {
            target -= w
            if target < 0 { return i }
        }
        return best
    }
}
