import Foundation
import LFMChat
import LFMGeneration
import LFMModels
import LFMTokenizer

/// What one generation job yields to the HTTP handler that submitted it.
public enum JobEvent: Sendable, Equatable {
    /// Text (never split inside a UTF-8 sequence).
    case text(String)
    /// A parsed tool call.
    case toolCall(ToolCall)
    /// The last event of a successful generation.
    case finished(FinishReason, JobUsage)
    /// The last event of a failed generation.
    case failed(APIError)
}

/// Token counts and timings of one job.
public struct JobUsage: Sendable, Equatable {
    /// Tokens in the prompt.
    public var promptTokens = 0
    /// Prompt tokens restored from the prefix cache instead of processed.
    public var cachedPromptTokens = 0
    /// Tokens generated.
    public var completionTokens = 0
    /// Seconds from submission to the first sampled token.
    public var timeToFirstToken = 0.0
    /// The generated token ids (stop token included when one ended the generation).
    public var tokens: [Int] = []
}

/// One request to generate: prompt tokens, options, and where to stream the result.
public struct GenerationJob: Sendable {
    /// Prompt token ids.
    public var promptTokens: [Int]
    /// Sampling, stop tokens/strings, max tokens, tool-call parsing.
    public var options: GenerationOptions
    /// Prompt prefix lengths worth snapshotting for later requests (e.g. the end of the system prompt).
    public var cacheBoundaries: [Int]
    /// Give up (with a timeout error) after this many seconds.
    public var timeout: TimeInterval

    /// Creates a job.
    public init(promptTokens: [Int], options: GenerationOptions, cacheBoundaries: [Int] = [], timeout: TimeInterval = 600) {
        self.promptTokens = promptTokens
        self.options = options
        self.cacheBoundaries = cacheBoundaries
        self.timeout = timeout
    }
}

/// Settings of the batch engine.
public struct EngineConfiguration: Sendable {
    /// Most sequences decoded together.
    public var maxBatch: Int
    /// Most jobs waiting for a slot; more are refused.
    public var maxQueue: Int
    /// Positions (prompt + answer) per sequence.
    public var maxContext: Int
    /// Prefix-cache entries kept (LRU).
    public var prefixCacheEntries: Int

    /// Creates settings.
    public init(maxBatch: Int = 8, maxQueue: Int = 64, maxContext: Int = 4096, prefixCacheEntries: Int = 8) {
        self.maxBatch = maxBatch
        self.maxQueue = maxQueue
        self.maxContext = maxContext
        self.prefixCacheEntries = prefixCacheEntries
    }
}

/// A submitted job: its events, and a way to cancel it (idempotent; a no-op once it finished).
public struct JobHandle: Sendable {
    /// The job's events, ending with `.finished` or `.failed`.
    public let events: AsyncStream<JobEvent>
    let flag: CancelFlag
    weak var engine: BatchEngine?

    /// Stops the job and frees its slot before the next decode step.
    public func cancel() {
        flag.set()
        engine?.wake()
    }
}

/// A job's cancellation flag, shared between the handler (stream termination) and the engine thread.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// Runs the model on a dedicated thread with continuous batching: jobs join the running batch
/// between decode steps (after their prompt is prefilled, reusing the longest cached prefix
/// snapshot), every decode step advances all running sequences with one `forward(batch:states:)`,
/// and a job leaves as soon as it finishes, is cancelled (client gone) or times out.
public final class BatchEngine: @unchecked Sendable {
    /// The model.
    public let model: LFM2Model
    /// The tokenizer.
    public let tokenizer: Tokenizer
    /// The settings.
    public let configuration: EngineConfiguration
    /// Token ids that end a generation unless a job says otherwise.
    public let defaultStopTokens: Set<Int>
    let metrics: ServerMetrics

    private struct Pending {
        let job: GenerationJob
        let continuation: AsyncStream<JobEvent>.Continuation
        let cancel: CancelFlag
        let submitted: Date
    }

    /// A sequence in the running batch (its `LFM2State` lives in `states` at the same index).
    private struct Running {
        let continuation: AsyncStream<JobEvent>.Continuation
        let cancel: CancelFlag
        let deadline: Date
        let submitted: Date
        var sampler: Sampler
        var filter: OutputFilter
        let stopTokens: Set<Int>
        let maxTokens: Int
        var history: [Int]
        var generated = 0
        var nextToken: Int
        var usage: JobUsage
    }

    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var draining = false
    private var stopped = false
    private var thread: Thread?
    // Engine-thread-only state.
    private var running: [Running] = []
    private var states: [LFM2State] = []
    private var cache: PrefixCache

    /// Creates an engine and starts its thread.
    public init(model: LFM2Model, tokenizer: Tokenizer, configuration: EngineConfiguration, metrics: ServerMetrics) {
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.metrics = metrics
        var stops = Set(model.configuration.eosTokenIds)
        if let eos = tokenizer.eosTokenId { stops.insert(eos) }
        if let endOfTurn = tokenizer.id(for: "<|im_end|>") { stops.insert(endOfTurn) }
        defaultStopTokens = stops
        cache = PrefixCache(capacity: configuration.prefixCacheEntries)
        let thread = Thread { [weak self] in self?.loop() }
        thread.name = "lfm-engine"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Queues `job`; the stream yields its events and ends with `.finished` or `.failed`.
    /// Ending the stream early (the consumer goes away) cancels the job and frees its slot.
    /// - Throws: `APIError` 429 when the queue is full, 503 while shutting down, 400 for bad jobs.
    public func submit(_ job: GenerationJob) throws -> JobHandle {
        guard !job.promptTokens.isEmpty else { throw APIError.invalidRequest("the prompt is empty", param: "prompt") }
        guard job.promptTokens.count < configuration.maxContext else {
            throw APIError.invalidRequest("the prompt has \(job.promptTokens.count) tokens; this server's context is \(configuration.maxContext) tokens",
                                          param: "messages", code: "context_length_exceeded")
        }
        let vocabulary = model.configuration.vocabularySize
        if let bad = job.promptTokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw APIError.invalidRequest("token id \(bad) is outside the vocabulary (0..<\(vocabulary))", param: "prompt")
        }
        let (stream, continuation) = AsyncStream<JobEvent>.makeStream()
        let flag = CancelFlag()
        continuation.onTermination = { [weak self] _ in
            flag.set()
            self?.condition.broadcast()
        }
        condition.lock()
        defer { condition.unlock() }
        if draining { throw APIError.shuttingDown }
        guard pending.count < configuration.maxQueue else { throw APIError.queueFull(retryAfter: 1) }
        pending.append(Pending(job: job, continuation: continuation, cancel: flag, submitted: Date()))
        metrics.setQueueDepth(pending.count)
        condition.signal()
        return JobHandle(events: stream, flag: flag, engine: self)
    }

    /// Wakes the engine thread (a job was cancelled).
    func wake() { condition.broadcast() }

    /// Jobs waiting for a slot.
    public var queueDepth: Int { condition.lock(); defer { condition.unlock() }; return pending.count }

    /// Sequences in the running batch.
    public var runningCount: Int { metrics.snapshotRunning() }
    /// The largest number of sequences that ran together so far.
    public var peakRunningCount: Int { metrics.snapshotPeakRunning() }

    /// Refuses new jobs from now on (503); running and queued jobs continue.
    public func beginDraining() {
        condition.lock()
        draining = true
        condition.unlock()
    }

    /// Whether new jobs are refused.
    public var isDraining: Bool { condition.lock(); defer { condition.unlock() }; return draining }

    /// Cancels every queued and running job and stops the thread.
    public func shutdown() {
        condition.lock()
        draining = true
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Engine thread

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && running.isEmpty && !stopped { condition.wait() }
            if stopped {
                let queued = pending
                pending.removeAll()
                condition.unlock()
                for p in queued { p.continuation.yield(.failed(.shuttingDown)); p.continuation.finish() }
                for r in running { r.continuation.yield(.failed(.shuttingDown)); r.continuation.finish() }
                running.removeAll()
                states.removeAll()
                metrics.setRunning(0)
                metrics.setQueueDepth(0)
                return
            }
            var admitted: [Pending] = []
            while running.count + admitted.count < configuration.maxBatch, !pending.isEmpty {
                admitted.append(pending.removeFirst())
            }
            metrics.setQueueDepth(pending.count)
            condition.unlock()

            for job in admitted { admit(job) }
            dropFinished()
            if !running.isEmpty { decodeStep() }
            metrics.setRunning(running.count)
        }
    }

    /// Prefills `p`'s prompt (from the longest cached prefix), samples its first token and adds it to the batch.
    private func admit(_ p: Pending) {
        if p.cancel.isSet { p.continuation.finish(); return }
        let prompt = p.job.promptTokens
        do {
            let start = Date()
            var state: LFM2State
            var logits: [Float]?
            var done = 0
            if let hit = cache.longestPrefix(of: prompt) {
                state = hit.state
                done = hit.tokens.count
                logits = hit.tokens.count == prompt.count ? hit.logits : nil
            } else {
                state = model.makeState(maxContext: configuration.maxContext)
            }
            let cached = done
            // Process up to each snapshot boundary, cache it, then the rest.
            for boundary in p.job.cacheBoundaries.sorted() where boundary > done && boundary < prompt.count {
                _ = try model.forward(Array(prompt[done..<boundary]), state: &state, logits: .none)
                done = boundary
                cache.insert(tokens: Array(prompt[..<boundary]), state: state, logits: nil)
            }
            if done < prompt.count || logits == nil {
                if done == prompt.count {
                    // Exact hit without logits: process the whole prompt again.
                    state = model.makeState(maxContext: configuration.maxContext)
                    done = 0
                }
                logits = try model.forward(Array(prompt[done...]), state: &state)
                cache.insert(tokens: prompt, state: state, logits: logits)
            }
            metrics.recordPrefill(tokens: prompt.count - cached, seconds: Date().timeIntervalSince(start))
            var sampler = try Sampler(p.job.options.sampling)
            let first = sampler.sample(logits ?? [], history: prompt)
            var usage = JobUsage()
            usage.promptTokens = prompt.count
            usage.cachedPromptTokens = cached
            usage.timeToFirstToken = Date().timeIntervalSince(p.submitted)
            metrics.recordTimeToFirstToken(usage.timeToFirstToken)
            let sequence = Running(continuation: p.continuation, cancel: p.cancel,
                                   deadline: p.submitted.addingTimeInterval(p.job.timeout), submitted: p.submitted,
                                   sampler: sampler,
                                   filter: OutputFilter(tokenizer: tokenizer, stopStrings: p.job.options.stopStrings,
                                                        parseToolCalls: p.job.options.parseToolCalls),
                                   stopTokens: p.job.options.stopTokens ?? defaultStopTokens,
                                   maxTokens: p.job.options.maxTokens, history: prompt, nextToken: first, usage: usage)
            running.append(sequence)
            states.append(state)
            // The first token is handled like every later one: emit it, then decide whether to go on.
            if !accept(index: running.count - 1) { remove(at: running.count - 1) }
        } catch {
            p.continuation.yield(.failed(APIError.from(error)))
            p.continuation.finish()
        }
    }

    /// Handles `running[i].nextToken` (just sampled): stop check, text events, length limit.
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
        for event in running[i].filter.feed(token) { send(event, to: i) }
        if running[i].filter.stopped { finish(index: i, reason: .stop); return false }
        if running[i].generated >= running[i].maxTokens { finish(index: i, reason: .length); return false }
        if states[i].position + 1 >= configuration.maxContext { finish(index: i, reason: .length); return false }
        return true
    }

    private func send(_ event: GenerationEvent, to i: Int) {
        switch event {
        case .text(let text): running[i].continuation.yield(.text(text))
        case .toolCall(let call): running[i].continuation.yield(.toolCall(call))
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

    private func remove(at i: Int) {
        running.remove(at: i)
        states.remove(at: i)
    }

    /// Drops cancelled (client gone) and timed-out sequences before the next step.
    private func dropFinished() {
        let now = Date()
        var i = running.count - 1
        while i >= 0 {
            if running[i].cancel.isSet {
                running[i].continuation.finish()
                remove(at: i)
            } else if now > running[i].deadline {
                running[i].continuation.yield(.failed(.timeout))
                running[i].continuation.finish()
                remove(at: i)
            }
            i -= 1
        }
    }

    /// One decode step for the whole batch.
    private func decodeStep() {
        let start = Date()
        let tokens = running.map { [$0.nextToken] }
        let logits: [[Float]]
        do {
            logits = try model.forward(batch: tokens, states: &states)
        } catch {
            let failure = APIError.from(error)
            for r in running { r.continuation.yield(.failed(failure)); r.continuation.finish() }
            running.removeAll()
            states.removeAll()
            return
        }
        metrics.recordDecode(tokens: tokens.count, seconds: Date().timeIntervalSince(start))
        var i = running.count - 1
        var keep = [Bool](repeating: true, count: running.count)
        for j in running.indices {
            running[j].history.append(running[j].nextToken)
            running[j].nextToken = running[j].sampler.sample(logits[j], history: running[j].history)
            keep[j] = accept(index: j)
        }
        while i >= 0 {
            if !keep[i] { remove(at: i) }
            i -= 1
        }
    }
}
