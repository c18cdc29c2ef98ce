import ArgumentParser
import Foundation
import LFMGeneration
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

    @OptionGroup var sampling: SamplingOptions

    @Flag(name: .customLong("ignore-eos"), help: "Keep going after an end-of-sequence token.")
    var ignoreEOS = false

    @Flag(help: "Print one JSON object: prompt_ids, tokens, and the top-5 logprobs of each step.")
    var json = false

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be >= 0") }
        try sampling.parameters.validate()
    }

    func run() throws {
        let prompt = try parseIds(promptIds, option: "--prompt-ids")
        guard !prompt.isEmpty else { throw ValidationError("--prompt-ids is empty") }
        let model = try modelOptions.load()
        var state = model.makeState()
        var sampler = try Sampler(sampling.parameters)
        let stops = Set(model.configuration.eosTokenIds)

        let start = Date()
        var logits = try model.forward(prompt, state: &state)
        let prefillSeconds = Date().timeIntervalSince(start)
        var tokens: [Int] = []
        var steps: [[(id: Int, logprob: Double)]] = []
        let decodeStart = Date()
        while tokens.count < maxTokens {
            let logprobs = LogProbabilities(logits: logits)
            let token = sampler.sample(logits, history: prompt + tokens)
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

/// Sampling flags shared by the generating commands.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float = 0
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: off).")
    var topK = 0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1: off).")
    var topP: Float = 1
    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p times the top probability (0: off).")
    var minP: Float = 0
    @Option(name: .customLong("typical-p"), help: "Locally typical sampling mass (1: off).")
    var typicalP: Float = 1
    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1: off).")
    var repeatPenalty: Float = 1
    @Option(name: .customLong("frequency-penalty"), help: "OpenAI-style frequency penalty.")
    var frequencyPenalty: Float = 0
    @Option(name: .customLong("presence-penalty"), help: "OpenAI-style presence penalty.")
    var presencePenalty: Float = 0
    @Option(name: .customLong("penalty-window"), help: "Recent tokens the penalties look at (0: all).")
    var penaltyWindow = 64
    @Option(help: "Seed of the sampler's random numbers.")
    var seed: UInt64 = 0

    var parameters: SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP, typicalP: typicalP,
                           repetitionPenalty: repeatPenalty, frequencyPenalty: frequencyPenalty,
                           presencePenalty: presencePenalty, penaltyWindow: penaltyWindow, seed: seed)
    }
}
