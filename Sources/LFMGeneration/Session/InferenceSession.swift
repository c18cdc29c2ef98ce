import Foundation
import LFMChat
import LFMKernels
import LFMModels
import LFMTokenizer

/// A conversation with one model: owns the sequence state (KV cache + conv state), the tokens it
/// holds, and a snapshot at the last turn boundary, and streams generations.
///
/// A follow-up prompt that extends the tokens already processed only processes the new ones. A
/// prompt that diverges from them (e.g. the template re-renders the last answer differently)
/// restores the snapshot taken after the previous prompt when that is still a prefix (the conv
/// state cannot be rewound), and starts over otherwise. The result equals processing the whole
/// prompt from scratch (under a bounded cache policy: equals processing the conversation turn by
/// turn, the policy evicting as it goes).
public actor InferenceSession {
    /// The model.
    public let model: any LanguageModel
    /// The tokenizer.
    public let tokenizer: Tokenizer
    /// The chat template, if the model has one.
    public let template: ChatTemplate?
    /// Tokens whose effect is in the state.
    public internal(set) var processedTokens: [Int] = []
    /// Largest number of positions (prompt + answer) a sequence may hold; under a bounded cache
    /// policy, the rows its caches may hold (the conversation itself may grow without limit).
    public let maxContext: Int
    /// How the full-attention layers' caches are bounded (`.full`: every position is kept).
    public let cachePolicy: KVCachePolicy

    // Internal (not private) for InferenceSession+Persistence.swift.
    var state: SequenceState
    /// The state of an empty conversation (what `reset` and a diverging prompt start from).
    let freshState: SequenceState
    var lastLogits: [Float]?
    var boundary: (tokens: [Int], state: SequenceState, logits: [Float])?
    var isGenerating = false
    private let defaultStopTokens: Set<Int>
    private var tokenVocabulary: TokenVocabulary?
    /// How answers write tool calls and reasoning: detected from the chat template and tokenizer at
    /// creation, changed with ``setOutputFormat(_:)``, overridden per call by `GenerationOptions.outputFormat`.
    public private(set) var outputFormat: ChatOutputFormat

    /// Creates a session with an F32 KV cache; `maxContext` defaults to the model's limit. With a
    /// bounded `cachePolicy` a conversation of any length runs in constant memory.
    public init(model: any LanguageModel, tokenizer: Tokenizer, template: ChatTemplate?, maxContext: Int? = nil,
                cachePolicy: KVCachePolicy = .full) {
        self.init(model: model, tokenizer: tokenizer, template: template,
                  freshState: model.makeState(maxContext: maxContext ?? model.configuration.maxPositionEmbeddings,
                                              policy: cachePolicy))
    }

    /// Creates a session whose KV cache stores keys and values as `kvType`; `maxContext`
    /// defaults to the model's limit. Throws `KVCacheError` when the model's heads cannot be
    /// stored in that type.
    public init(model: any LanguageModel, tokenizer: Tokenizer, template: ChatTemplate?, maxContext: Int? = nil,
                kvType: KVCacheType, cachePolicy: KVCachePolicy = .full) throws {
        self.init(model: model, tokenizer: tokenizer, template: template,
                  freshState: try model.makeState(maxContext: maxContext ?? model.configuration.maxPositionEmbeddings,
                                                  kvType: kvType, policy: cachePolicy))
    }

    private init(model: any LanguageModel, tokenizer: Tokenizer, template: ChatTemplate?, freshState: SequenceState) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.maxContext = freshState.maxContext
        self.cachePolicy = freshState.cachePolicy
        self.freshState = freshState
        state = freshState
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
        state = freshState
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
        guard cachePolicy.isBounded || promptTokens.count < maxContext else {
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
                guard let token = try stepper.choose(&logits, history: processedTokens, room: room) else {
                    reason = .stop
                    break
                }
                if stepper.generated.isEmpty { statistics.timeToFirstToken = Date().timeIntervalSince(start) }
                let step = stepper.advance(token, output: &filter, room: room)
                for event in step.events { continuation.yield(event) }
                if let finish = step.finish { reason = finish; break }
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

    /// Positions the conversation can still take (unlimited under a bounded cache policy).
    private var room: Int { cachePolicy.isBounded ? .max : maxContext - processedTokens.count }

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
            state = freshState
            processedTokens = []
            lastLogits = nil
        }
        let rest = Array(prompt[processedTokens.count...])
        let logits: [Float]
        if rest.isEmpty, let lastLogits {
            logits = lastLogits
        } else if rest.isEmpty {
            // Nothing cached to answer from: process the prompt again.
            state = freshState
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
