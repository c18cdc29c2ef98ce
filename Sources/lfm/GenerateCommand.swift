import ArgumentParser
import Foundation
import LFMChat
import LFMGeneration
import LFMKernels
import LFMModels
import LFMTokenizer

/// `lfm generate`: one-shot generation.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate after a prompt given as token ids, as text, or on standard input."
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var kvStorage: KVTypeOptions

    @Option(name: .customLong("prompt-ids"), help: "Prompt as comma-separated token ids.")
    var promptIds: String?

    @Option(name: .long, help: "Prompt text (tokenized with the model's tokenizer, BOS added). Read from standard input when neither --prompt nor --prompt-ids is given.")
    var prompt: String?

    @Flag(name: .long, help: "Wrap the prompt text as one user message with the model's chat template.")
    var chat = false

    @Option(name: .customLong("max-tokens"), help: "Number of tokens to generate (at least 1; the prompt and these must fit the model's context).")
    var maxTokens = 32

    @OptionGroup var sampling: SamplingOptions

    @Option(name: .customLong("stop"), help: "A string that ends generation (repeatable).")
    var stopStrings: [String] = []

    @Flag(name: .customLong("ignore-eos"), help: "Keep going after an end-of-sequence token.")
    var ignoreEOS = false

    @Option(name: .customLong("json-schema"), help: "A JSON schema file (or an OpenAI response_format object); the output is JSON valid under it.")
    var jsonSchema: String?

    @Flag(help: "Print one JSON object: prompt_ids, tokens, and the top-5 logprobs of each step.")
    var json = false

    @OptionGroup var kvCache: KVCacheOptions

    @Option(name: .customLong("memory-report"), help: "Every N generated tokens, print the resident memory and the KV cache bytes to standard error (0: never).")
    var memoryReport = 0

    func validate() throws {
        // As the server (and OpenAI's API) for max_tokens: at least one token is generated.
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1 (found \(maxTokens))") }
        guard memoryReport >= 0 else { throw ValidationError("--memory-report must be >= 0 (found \(memoryReport))") }
        if promptIds != nil && prompt != nil { throw ValidationError("give --prompt or --prompt-ids, not both") }
        if chat && promptIds != nil { throw ValidationError("--chat needs a text prompt") }
        try sampling.parameters().validate()
    }

    func run() throws {
        let model = try modelOptions.load()
        let tokenizer = promptIds == nil ? try loadTokenizer(model: modelOptions.model) : try? loadTokenizer(model: modelOptions.model)
        let promptTokens: [Int]
        if let promptIds {
            promptTokens = try parseIds(promptIds, option: "--prompt-ids")
        } else {
            var text = prompt ?? ""
            if prompt == nil {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                text = String(decoding: data, as: UTF8.self)
            }
            guard !text.isEmpty else { throw ValidationError("the prompt is empty") }
            guard let tokenizer else { throw ValidationError("this model has no tokenizer.json; use --prompt-ids") }
            if chat {
                let config = try loadChatConfig(modelOptions.model)
                let rendered = try ChatTemplate(config.templateSource).render(
                    messages: [ChatMessage(role: "user", text: text).value], addGenerationPrompt: true,
                    bosToken: config.bosToken, eosToken: config.eosToken)
                promptTokens = tokenizer.encode(rendered, addSpecialTokens: false)
            } else {
                promptTokens = tokenizer.encode(text, addSpecialTokens: true)
            }
        }
        guard !promptTokens.isEmpty else { throw ValidationError("the prompt is empty") }
        let policy = try kvCache.policy()
        let context = try kvCache.context(for: policy, requested: nil, model: model.configuration.maxPositionEmbeddings)
        var state = try model.makeState(maxContext: context, kvType: kvStorage.kvType, policy: policy)
        // The whole cache is kept, so the prompt and every generated token but the last need a position
        // (a bounded policy keeps its rows within the context whatever the length).
        guard policy.isBounded || promptTokens.count + maxTokens - 1 <= state.maxContext else {
            throw ValidationError("context length exceeded: the prompt has \(promptTokens.count) tokens and --max-tokens \(maxTokens) needs \(maxTokens - 1) more positions, but the model's context holds \(state.maxContext) (at most \(max(0, state.maxContext - promptTokens.count + 1)) tokens fit after this prompt)")
        }
        let sampler = try Sampler(promptIds != nil ? sampling.parameters() : sampling.parameters(forModel: modelOptions.model))
        var stops = Set(model.configuration.eosTokenIds)
        if let eos = tokenizer?.eosTokenId { stops.insert(eos) }
        var output = tokenizer.map { RawText(tokenizer: $0, stopStrings: stopStrings) }
        var constraint: ConstrainedDecoder?
        if let jsonSchema {
            guard let tokenizer else { throw ValidationError("--json-schema needs the model's tokenizer.json") }
            let document = try Value.parseJSON(data: try Data(contentsOf: URL(fileURLWithPath: jsonSchema)))
            let isWrapper: Bool
            if case .object(let dict) = document, case .string(let type)? = dict["type"], ["json_schema", "json_object", "text"].contains(type),
               dict["properties"] == nil { isWrapper = true } else { isWrapper = false }
            if let schema = isWrapper ? try ResponseFormat.parse(document) : try JSONSchema(document) {
                guard schema.shortestValueLength <= maxTokens else {
                    throw StructuredOutputError.budgetTooSmall(needed: schema.shortestValueLength, available: maxTokens)
                }
                let vocabulary = TokenVocabulary(tokenizer: tokenizer, logitCount: model.configuration.vocabularySize)
                constraint = ConstrainedDecoder(schema: schema, vocabulary: vocabulary, stopTokens: ignoreEOS ? [] : stops)
            }
        }
        let streamText = !json && tokenizer != nil

        let start = Date()
        var logits = try model.forward(promptTokens, state: &state)
        let prefillSeconds = Date().timeIntervalSince(start)
        // Streamed text needs no token list: nothing here grows with the generation's length.
        var stepper = TokenStepper(sampler: sampler, constraint: constraint, stopTokens: ignoreEOS ? [] : stops, maxTokens: maxTokens,
                                   recordsTokens: !streamText)
        var steps: [[(id: Int, logprob: Double)]] = []
        let decodeStart = Date()
        // The prompt and the recorded tokens, appended in place; the penalties read only the last
        // `penaltyWindow` of them (0: all), so older ones are dropped now and then.
        var history = promptTokens
        let window = sampler.parameters.penaltyWindow
        while stepper.canContinue {
            guard let token = try stepper.choose(&logits, history: history) else { break }
            if json { steps.append(logits.withUnsafeBufferPointer { topLogProbabilities($0, k: 5) }) }
            let step = stepper.advance(token, output: &output)
            history.append(token)
            if window > 0, history.count >= 2 * window + 4096 { history.removeFirst(history.count - window) }
            if streamText {
                for case .text(let text) in step.events { FileHandle.standardOutput.write(Data(text.utf8)) }
            }
            if step.finish != nil { break }
            logits = try model.forward([token], state: &state)
            if memoryReport > 0, stepper.count % memoryReport == 0 {
                printError(memoryLine(generated: stepper.count, state: state))
            }
        }
        let tokens = stepper.generated
        let decodeSeconds = Date().timeIntervalSince(decodeStart)

        if json {
            let stepsJSON = steps.map { step in
                "[" + step.map { "{\"id\": \($0.id), \"logprob\": \(formatDouble($0.logprob))}" }.joined(separator: ", ") + "]"
            }
            print("{\"prompt_ids\": [\(promptTokens.map(String.init).joined(separator: ", "))], "
                  + "\"tokens\": [\(tokens.map(String.init).joined(separator: ", "))], "
                  + "\"logprobs\": [\(stepsJSON.joined(separator: ", "))]}")
        } else if streamText {
            FileHandle.standardOutput.write(Data(((output?.finish() ?? "") + "\n").utf8))
        } else {
            print(tokens.map(String.init).joined(separator: " "))
        }
        printError(String(format: "prompt: %d tokens, %.1f tokens/s; generated: %d tokens, %.1f tokens/s",
                          promptTokens.count, Double(promptTokens.count) / max(prefillSeconds, 1e-9),
                          stepper.count, Double(max(stepper.count - 1, 0)) / max(decodeSeconds, 1e-9)))
    }
}

/// `lfm generate`'s text: the raw detokenized output (special tokens included) up to a stop string.
struct RawText: TokenOutput {
    private var detokenizer: StreamingDetokenizer
    private var stops: StopStringMatcher
    private(set) var stopped = false

    init(tokenizer: Tokenizer, stopStrings: [String]) {
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: false, lossy: true)
        stops = StopStringMatcher(stopStrings)
    }

    mutating func feed(_ token: Int) -> [GenerationEvent] {
        let (text, hit) = stops.feed((try? detokenizer.append(token)) ?? "")
        if hit { stopped = true }
        return [.text(text)]
    }

    /// The text held back at the end of generation.
    mutating func finish() -> String {
        stops.feed((try? detokenizer.flush()) ?? "").text + stops.flush()
    }
}

/// Formats a double so that JSON readers get it back exactly.
func formatDouble(_ value: Double) -> String {
    guard !value.isNaN else { return "null" }
    guard value.isFinite else { return value < 0 ? "-1e308" : "1e308" }
    return "\(value)"
}

/// Sampling flags shared by the generating commands.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature (0: greedy). Default: the model's generation_config.json, else 0.")
    var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: off).")
    var topK: Int?
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1: off).")
    var topP: Float?
    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p times the top probability (0: off).")
    var minP: Float?
    @Option(name: .customLong("typical-p"), help: "Locally typical sampling mass (1: off).")
    var typicalP: Float?
    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1: off).")
    var repeatPenalty: Float?
    @Option(name: .customLong("frequency-penalty"), help: "OpenAI-style frequency penalty.")
    var frequencyPenalty: Float = 0
    @Option(name: .customLong("presence-penalty"), help: "OpenAI-style presence penalty.")
    var presencePenalty: Float = 0
    @Option(name: .customLong("penalty-window"), help: "Recent tokens the penalties look at (0: all).")
    var penaltyWindow = 64
    @Option(help: "Seed of the sampler's random numbers.")
    var seed: UInt64 = 0

    /// The flags over `defaults` (a model's generation_config.json), over greedy decoding.
    func parameters(defaults: SamplingParameters? = nil) -> SamplingParameters {
        let base = defaults ?? SamplingParameters.greedy
        return SamplingParameters(temperature: temperature ?? base.temperature, topK: topK ?? base.topK,
                                  topP: topP ?? base.topP, minP: minP ?? base.minP, typicalP: typicalP ?? base.typicalP,
                                  repetitionPenalty: repeatPenalty ?? base.repetitionPenalty, frequencyPenalty: frequencyPenalty,
                                  presencePenalty: presencePenalty, penaltyWindow: penaltyWindow, seed: seed)
    }

    /// The parameters for the model at `path`, whose generation_config.json (if any) gives the defaults.
    func parameters(forModel path: String) throws -> SamplingParameters {
        let config = URL(fileURLWithPath: path).appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: config.path) else { return parameters() }
        return parameters(defaults: try SamplingParameters.fromGenerationConfig(config))
    }
}
