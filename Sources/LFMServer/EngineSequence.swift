import Foundation
import LFMChat
import LFMGeneration
import LFMModels

/// A sequence in the running batch (its `SequenceState` lives in `BatchEngine.states` at the same index):
/// first prefilling its prompt chunk by chunk, then decoding one token per scheduler iteration.
struct Running {
    let continuation: AsyncStream<JobEvent>.Continuation
    let cancel: CancelFlag
    let deadline: Date
    let submitted: Date
    /// The per-token rules (forced prefixes, schema mask, sampler, stops, budget, log-probabilities),
    /// shared with `InferenceSession` and `lfm generate`.
    var stepper: TokenStepper
    var filter: OutputFilter
    /// The prompt.
    let prompt: [Int]
    /// Prompt tokens already in the state.
    var prefilled: Int
    /// Prompt lengths to snapshot into the prefix cache on the way (ascending, inside the prompt).
    let boundaries: [Int]
    /// Whether the prompt is done and `nextToken` holds a sampled token.
    var isDecoding = false
    /// Tokens fed to the model so far (prompt, then generated): the penalties' history.
    var history: [Int]
    var nextToken = -1
    var usage: JobUsage

    /// Records `token` through the stepper, feeding the output filter.
    mutating func advance(_ token: Int, room: Int) -> TokenStepper.Step {
        stepper.advance(token, output: &filter, room: room)
    }
}

extension BatchEngine {
    /// Adds `p` to the running batch, starting from the longest cached prefix of its prompt; a
    /// whole-prompt hit samples its first token at once, otherwise the prompt is prefilled by `step`.
    func admit(_ p: Pending) {
        if p.cancel.isSet { p.continuation.finish(); return }
        let prompt = p.job.promptTokens
        let options = p.job.options
        do {
            var state: SequenceState
            var cached = 0
            var logits: [Float]?
            if let hit = cache.longestPrefix(of: prompt) {
                state = hit.state
                cached = hit.tokens.count
                if cached == prompt.count { logits = hit.logits }
            } else {
                state = try model.makeState(maxContext: configuration.maxContext, kvType: configuration.kvType,
                                            policy: configuration.cachePolicy)
            }
            if cached == prompt.count && logits == nil {
                // An exact hit without logits (never stored so): process the prompt again.
                state = try model.makeState(maxContext: configuration.maxContext, kvType: configuration.kvType,
                                            policy: configuration.cachePolicy)
                cached = 0
            }
            let sampler = try Sampler(options.sampling)
            let stopTokens = options.stopTokens ?? defaultStopTokens
            var usage = JobUsage()
            usage.promptTokens = prompt.count
            usage.cachedPromptTokens = cached
            let constraint = options.responseFormat.map {
                ConstrainedDecoder(schema: $0, vocabulary: tokenVocabulary(), stopTokens: stopTokens)
            } ?? options.toolCallConstraint.map {
                ConstrainedDecoder(schema: $0.schema, vocabulary: tokenVocabulary(), stopTokens: [$0.endToken])
            }
            let stepper = TokenStepper(sampler: sampler, constraint: constraint, stopTokens: stopTokens, maxTokens: options.maxTokens,
                                       forcedPrefixes: p.job.forcedPrefixes, topLogprobs: p.job.logprobs)
            let sequence = Running(
                continuation: p.continuation, cancel: p.cancel,
                deadline: p.submitted.addingTimeInterval(p.job.timeout), submitted: p.submitted,
                stepper: stepper,
                filter: options.makeOutputFilter(tokenizer: tokenizer, promptTokens: prompt, defaultFormat: .lfm2),
                prompt: prompt, prefilled: cached,
                boundaries: Array(Set(p.job.cacheBoundaries.filter { $0 > cached && $0 < prompt.count })).sorted(),
                history: prompt, usage: usage)
            running.append(sequence)
            states.append(state)
            if let logits, !beginDecoding(index: running.count - 1, logits: logits) { remove(at: running.count - 1) }
        } catch {
            p.continuation.yield(.failed(APIError.from(error)))
            p.continuation.finish()
        }
    }

    /// The prompt of `running[i]` is processed and `logits` follow it: records the prefill and
    /// handles the first token. Returns false when the sequence finished.
    func beginDecoding(index i: Int, logits: [Float]) -> Bool {
        running[i].isDecoding = true
        running[i].usage.timeToFirstToken = Date().timeIntervalSince(running[i].submitted)
        metrics.recordTimeToFirstToken(running[i].usage.timeToFirstToken)
        return next(index: i, logits: logits)
    }

    /// Chooses `running[i]`'s next token from `logits` and handles it (the shared `TokenStepper`
    /// rules). Returns false when the sequence finished (its final event already sent).
    func next(index i: Int, logits: [Float]) -> Bool {
        var logits = logits
        let token: Int
        do {
            guard let chosen = try running[i].stepper.choose(&logits, history: running[i].history, room: states[i].room) else {
                finish(index: i, reason: .stop)
                return false
            }
            token = chosen
        } catch {
            running[i].continuation.yield(.failed(.internalError("constrained decoding failed: \(error)")))
            running[i].continuation.finish()
            return false
        }
        running[i].nextToken = token
        let step = running[i].advance(token, room: states[i].room)
        if let entry = step.logprob { running[i].continuation.yield(.logprob(entry)) }
        for event in step.events { send(event, to: i) }
        if let reason = step.finish {
            finish(index: i, reason: reason)
            return false
        }
        return true
    }

    private func send(_ event: GenerationEvent, to i: Int) {
        switch event {
        case .text(let text): running[i].continuation.yield(.text(text))
        case .toolCall(let call): running[i].continuation.yield(.toolCall(call))
        case .reasoning(let text): running[i].continuation.yield(.reasoning(text))
        case .warning, .finished: break
        }
    }

    private func finish(index i: Int, reason: FinishReason) {
        for event in running[i].filter.finish() { send(event, to: i) }
        var reason = reason
        if running[i].filter.sawToolCall && reason == .stop { reason = .toolCalls }
        var usage = running[i].usage
        usage.tokens = running[i].stepper.generated
        usage.completionTokens = usage.tokens.count
        metrics.recordCompletion(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens)
        running[i].continuation.yield(.finished(reason, usage))
        running[i].continuation.finish()
    }
}
