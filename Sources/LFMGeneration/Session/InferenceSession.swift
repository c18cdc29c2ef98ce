import Foundation
import LFMChat
import LFMModels
import LFMTokenizer

/// A conversation with one model: owns the sequence state (KV cache + conv state), the tokens it
/// holds, and a snapshot at the last turn boundary, and streams generations.
///
/// A follow-up prompt that extends the tokens already processed only processes the new ones. A
/// prompt that diverges from them (e.g. the template re-renders the last answer differently)
/// restores the snapshot taken after the previous prompt when that is still a prefix (the conv
/// state cannot be rewound), and starts over otherwise. The result equals processing the whole
/// prompt from scratch.
public actor InferenceSession {
    /// The model.
    public let model: any LanguageModel
    /// The tokenizer.
    public let tokenizer: Tokenizer
    /// The chat template, if the model has one.
    public let template: ChatTemplate?
    /// Tokens whose effect is in the state.
    public internal(set) var processedTokens: [Int] = []
    /// Largest number of positions (prompt + answer) a sequence may hold.
    public let maxContext: Int

    // Internal (not private) for InferenceSession+Persistence.swift.
    var state: SequenceState
    var lastLogits: [Float]?
    var boundary: (tokens: [Int], state: SequenceState, logits: [Float])?
    var isGenerating = false
    private let defaultStopTokens: Set<Int>
    private var tokenVocabulary: TokenVocabulary?
    /// How answers write tool calls and reasoning: detected from the chat template and tokenizer at
    /// creation, changed with ``setOutputFormat(_:)``, overridden per call by `GenerationOptions.outputFormat`.
    public private(set) var outputFormat: ChatOutputFormat

    /// Creates a session; `maxContext` defaults to the model's limit.
    public init(model: any LanguageModel, tokenizer: Tokenizer, template: ChatTemplate?, maxContext: Int? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.maxContext = maxContext ?? model.configuration.maxPositionEmbeddings
        state = model.makeState(maxContext: self.maxContext)
        var stops = Set(model.configuration.eosTokenIds)
        if let eos = tokenizer.eosTokenId { stops.insert(eos) }
        if let endOfTurn = tokenizer.id(for: "<|im_end|>") { stops.insert(endOfTurn) }
        defaultStopTokens = stops
        outputFormat = ChatOutputFormat.detect(templateSource: template?.source, tokenizer: tokenizer,
                                               family: model.configuration.architecture)
    }

    /// Sets how answers write tool calls and reasoning (e.g. from the model family, or a user's choice).
    public func setOutputFormat(_ format: ChatOutputFormat) {
        outputFormat = format
    }

    /// Forgets the conversation.
    public func reset() {
        state = model.makeState(maxContext: maxContext)
        processedTokens = []
        lastLogits = nil
        boundary = nil
    }

    /// Renders `messages` (and `tools`) with the chat template and generates the assistant's answer.
    public func respond(to messages: [ChatMessage], tools: [Value]? = nil,
                        options: GenerationOptions = GenerationOptions()) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        guard let template else { throw SessionError.noChatTemplate }
        let bos = tokenizer.bosTokenId.flatMap { tokenizer.token(for: $0) }
        let eos = tokenizer.eosTokenId.flatMap { tokenizer.token(for: $0) }
        let prompt = try template.render(messages: messages.map(\.value), tools: tools, addGenerationPrompt: true,
                                         bosToken: bos, eosToken: eos)
        // The template writes BOS itself; special tokens in the text are matched as such.
        return try generate(promptTokens: tokenizer.encode(prompt, addSpecialTokens: false), options: options)
    }

    /// Generates after `promptTokens`, streaming events. Cancelling the consuming task stops
    /// generation within one decode step. A second call while one runs throws `SessionError.busy`.
    public func generate(promptTokens: [Int], options: GenerationOptions = GenerationOptions()) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        guard !isGenerating else { throw SessionError.busy }
        guard !promptTokens.isEmpty else { throw SessionError.emptyPrompt }
        guard options.maxTokens >= 0 else { throw SessionError.invalidOptions("maxTokens must be >= 0") }
        try options.sampling.validate()
        if let schema = options.responseFormat, schema.shortestValueLength > options.maxTokens {
            throw StructuredOutputError.budgetTooSmall(needed: schema.shortestValueLength, available: options.maxTokens)
        }
        guard promptTokens.count < maxContext else {
            throw InferenceError.contextLengthExceeded(requested: promptTokens.count, limit: maxContext)
        }
        isGenerating = true
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, Error>.makeStream()
        let task = Task { await self.run(promptTokens, options, continuation) }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func run(_ prompt: [Int], _ options: GenerationOptions,
                     _ continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation) async {
        defer { isGenerating = false }
        do {
            var statistics = GenerationStatistics()
            statistics.promptTokens = prompt.count
            let start = Date()
            var logits = try prefill(prompt, statistics: &statistics)
            statistics.prefillTokensPerSecond = Double(prompt.count - statistics.reusedPromptTokens) / max(Date().timeIntervalSince(start), 1e-9)

            var filter = options.makeOutputFilter(tokenizer: tokenizer, promptTokens: prompt, defaultFormat: outputFormat)
            let stopTokens = options.stopTokens ?? defaultStopTokens
            var stepper = TokenStepper(
                sampler: try Sampler(options.sampling),
                constraint: options.responseFormat.map { ConstrainedDecoder(schema: $0, vocabulary: vocabulary(), stopTokens: stopTokens) },
                stopTokens: stopTokens, maxTokens: options.maxTokens)
            var reason = FinishReason.length
            let decodeStart = Date()
            while stepper.canContinue {
                if Task.isCancelled { reason = .cancelled; break }
                guard let token = try stepper.choose(&logits, history: processedTokens, room: maxContext - processedTokens.count) else {
                    reason = .stop
                    break
                }
                if stepper.generated.isEmpty { statistics.timeToFirstToken = Date().timeIntervalSince(start) }
                let next = stepper.accept(token)
                if next == .stop { reason = .stop; break }
                for event in filter.feed(token) { continuation.yield(event) }
                if filter.stopped { reason = .stop; break }
                if next == .last { reason = .length; break }
                guard processedTokens.count + 1 < maxContext else { reason = .length; break }
                logits = try model.forward([token], state: &state)
                processedTokens.append(token)
                lastLogits = logits
                await Task.yield()
            }
            let generated = stepper.generated
            for event in filter.finish() { continuation.yield(event) }
            if filter.sawToolCall && reason == .stop { reason = .toolCalls }
            statistics.completionTokens = generated.count
            let decodeSeconds = Date().timeIntervalSince(decodeStart)
            statistics.decodeTokensPerSecond = Double(max(generated.count - 1, 0)) / max(decodeSeconds, 1e-9)
            continuation.yield(.finished(reason, statistics))
            continuation.finish()
        } catch {
            continuation.finish(throwing: error)
        }
    }

    /// Token bytes for constrained decoding, built on first use.
    private func vocabulary() -> TokenVocabulary {
        if let tokenVocabulary { return tokenVocabulary }
        let made = TokenVocabulary(tokenizer: tokenizer, logitCount: model.configuration.vocabularySize)
        tokenVocabulary = made
        return made
    }

    /// Brings the state to "after `prompt`", reusing what it can; returns the next-token logits.
    private func prefill(_ prompt: [Int], statistics: inout GenerationStatistics) throws -> [Float] {
        if processedTokens.count <= prompt.count, prompt.starts(with: processedTokens), !processedTokens.isEmpty {
            statistics.reusedPromptTokens = processedTokens.count
        } else if let boundary, boundary.tokens.count <= prompt.count, prompt.starts(with: boundary.tokens) {
            state = boundary.state
            processedTokens = boundary.tokens
            lastLogits = boundary.logits
            statistics.reusedPromptTokens = boundary.tokens.count
        } else {
            state = model.makeState(maxContext: maxContext)
            processedTokens = []
            lastLogits = nil
        }
        let rest = Array(prompt[processedTokens.count...])
        let logits: [Float]
        if rest.isEmpty, let lastLogits {
            logits = lastLogits
        } else if rest.isEmpty {
            // Nothing cached to answer from: process the prompt again.
            state = model.makeState(maxContext: maxContext)
            logits = try model.forward(prompt, state: &state)
            statistics.reusedPromptTokens = 0
        } else {
            logits = try model.forward(rest, state: &state)
        }
        processedTokens = prompt
        lastLogits = logits
        boundary = (prompt, state, logits)
        return logits
    }
}
