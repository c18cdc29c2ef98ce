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
    var sampler: Sampler
    var filter: OutputFilter
    let stopTokens: Set<Int>
    let maxTokens: Int
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
    var generated = 0
    var nextToken = -1
    var usage: JobUsage
    /// The JSON-schema mask, when the job has a response format.
    var constraint: ConstrainedDecoder?
    /// Token sequences the output starts with one of.
    let forcedPrefixes: [[Int]]
    /// Alternatives per log-probability entry; nil: no log-probabilities.
    let topLogprobs: Int?
    /// The log-probability of `nextToken`, sent once it is accepted.
    var pendingLogprob: TokenLogprob?
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
            let sequence = Running(
                continuation: p.continuation, cancel: p.cancel,
                deadline: p.submitted.addingTimeInterval(p.job.timeout), submitted: p.submitted,
                sampler: sampler,
                filter: options.makeOutputFilter(tokenizer: tokenizer, promptTokens: prompt, defaultFormat: .lfm2),
                stopTokens: stopTokens, maxTokens: options.maxTokens, prompt: prompt, prefilled: cached,
                boundaries: Array(Set(p.job.cacheBoundaries.filter { $0 > cached && $0 < prompt.count })).sorted(),
                history: prompt, usage: usage, constraint: constraint, forcedPrefixes: p.job.forcedPrefixes,
                topLogprobs: p.job.logprobs)
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

    /// Chooses `running[i]`'s next token from `logits` and handles it. Returns false when the
    /// sequence finished (its final event already sent).
    func next(index i: Int, logits: [Float]) -> Bool {
        do {
            guard let token = try choose(index: i, logits: logits) else {
                finish(index: i, reason: .stop)
                return false
            }
            running[i].nextToken = token
            return accept(index: i)
        } catch {
            running[i].continuation.yield(.failed(.internalError("constrained decoding failed: \(error)")))
            running[i].continuation.finish()
            return false
        }
    }

    /// The next token: forced, or sampled from the (schema-masked) logits. Nil when the JSON value
    /// is complete and no stop token may follow it.
    private func choose(index i: Int, logits: [Float]) throws -> Int? {
        let token: Int
        let generated = running[i].generated
        let sofar = running[i].usage.tokens
        let candidates = running[i].forcedPrefixes.filter { $0.count > generated && $0.starts(with: sofar) }
        if let first = candidates.first {
            let allowed = Set(candidates.map { $0[generated] })
            if allowed.count == 1 {
                token = first[generated]
            } else {
                // Alternatives differ here: the sampler picks among their next tokens only.
                var masked = [Float](repeating: -.infinity, count: logits.count)
                for t in allowed where t < logits.count { masked[t] = logits[t] }
                token = running[i].sampler.sample(masked, history: running[i].history)
            }
        } else if let decoder = running[i].constraint {
            var masked = logits
            let budget = min(running[i].maxTokens - generated, states[i].room)
            if try decoder.mask(&masked, remainingTokens: budget) == .complete { return nil }
            token = running[i].sampler.sample(masked, history: running[i].history)
            try running[i].constraint?.accept(token)
        } else {
            token = running[i].sampler.sample(logits, history: running[i].history)
        }
        if let k = running[i].topLogprobs {
            running[i].pendingLogprob = TokenLogprob.compute(token: token, logits: logits, top: k)
        }
        return token
    }

    /// Handles `running[i].nextToken` (just chosen): stop check, text events, length limit.
    /// Returns false when the sequence finished (its final event already sent).
    private func accept(index i: Int) -> Bool {
        let token = running[i].nextToken
        if running[i].maxTokens == 0 {
            finish(index: i, reason: .length)
            return false
        }
        running[i].generated += 1
        running[i].usage.tokens.append(token)
        if running[i].stopTokens.contains(token) {
            finish(index: i, reason: .stop)
            return false
        }
        if let entry = running[i].pendingLogprob {
            running[i].continuation.yield(.logprob(entry))
            running[i].pendingLogprob = nil
        }
        for event in running[i].filter.feed(token) { send(event, to: i) }
        if running[i].filter.stopped { finish(index: i, reason: .stop); return false }
        // A whole tool call ends at its end marker (the decoder's only stop token).
        if running[i].constraint?.stopped == true { finish(index: i, reason: .stop); return false }
        if running[i].generated >= running[i].maxTokens {
            // A JSON value the mask closed within the budget is whole: nothing is cut off.
            finish(index: i, reason: running[i].constraint?.isComplete == true ? .stop : .length)
            return false
        }
        if states[i].room <= 1 { finish(index: i, reason: .length); return false }
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
        usage.completionTokens = running[i].generated
        metrics.recordCompletion(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens)
        running[i].continuation.yield(.finished(reason, usage))
        running[i].continuation.finish()
    }
}
