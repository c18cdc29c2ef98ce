import Foundation
import LFMChat
import LFMGeneration
import LFMKernels
import LFMModels
import LFMTokenizer

/// What one generation job yields to the HTTP handler that submitted it.
public enum JobEvent: Sendable, Equatable {
    /// Text (never split inside a UTF-8 sequence).
    case text(String)
    /// A parsed tool call.
    case toolCall(ToolCall)
    /// Reasoning before the answer (Qwen3's `<think>` block), sent as `reasoning_content`.
    case reasoning(String)
    /// The log-probability of the token whose text (if any) the next `.text` events carry; sent
    /// only when the job asked for log-probabilities, never for a stop token.
    case logprob(TokenLogprob)
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
    /// Sampling, stop tokens/strings, max tokens, tool-call parsing, and the JSON schema the
    /// output must follow (`responseFormat`, constrained decoding per sequence).
    public var options: GenerationOptions
    /// Prompt prefix lengths worth snapshotting for later requests (e.g. the end of the system prompt).
    public var cacheBoundaries: [Int]
    /// Give up (with a timeout error) after this many seconds.
    public var timeout: TimeInterval
    /// Token sequences the output must start with one of (e.g. `<|tool_call_start|>[name(` for each
    /// declared tool, for `tool_choice: "required"`). While one alternative is left its tokens are
    /// taken as generated; where alternatives differ the sampler chooses among their next tokens.
    public var forcedPrefixes: [[Int]]
    /// When set, every generated token's log-probability is reported with this many alternatives (0...20).
    public var logprobs: Int?

    /// Creates a job.
    public init(promptTokens: [Int], options: GenerationOptions, cacheBoundaries: [Int] = [], timeout: TimeInterval = 600,
                forcedPrefixes: [[Int]] = [], logprobs: Int? = nil) {
        self.promptTokens = promptTokens
        self.options = options
        self.cacheBoundaries = cacheBoundaries
        self.timeout = timeout
        self.forcedPrefixes = forcedPrefixes.filter { !$0.isEmpty }
        self.logprobs = logprobs
    }
}

/// Settings of the batch engine.
public struct EngineConfiguration: Sendable {
    /// Most sequences decoded together.
    public var maxBatch: Int
    /// Most jobs waiting for a slot; more are refused.
    public var maxQueue: Int
    /// Positions (prompt + answer) per sequence; under a bounded cache policy, the rows a
    /// sequence's caches may hold (prompts and answers may then be of any length).
    public var maxContext: Int
    /// How every sequence's full-attention caches are bounded (`.full`: every position is kept).
    /// Prefix-cache snapshots are taken only of states that evicted nothing, so a cached entry
    /// always holds its whole prefix.
    public var cachePolicy: KVCachePolicy
    /// Prefix-cache entries kept in RAM (LRU; 0 disables the prefix cache).
    public var prefixCacheEntries: Int
    /// Most bytes of prefix-cache entries kept in RAM (0: only the entry count limits them).
    public var prefixCacheBytes: Int = 0
    /// The prefix cache's disk tier (nil: RAM only).
    public var prefixCacheDisk: PrefixCacheDiskOptions?
    /// Most prompt tokens prefilled per scheduler iteration (0: a whole prompt at once). Bounds how
    /// long a new request stalls the batch.
    public var prefillChunk: Int
    /// Most prompt tokens an iteration adds while sequences are decoding: the larger of this and the
    /// number of decoding sequences, never more than `prefillChunk` (0: `prefillChunk` throughout).
    /// An iteration then holds at most about twice the decode rows, so running streams keep a steady
    /// pace while new prompts are prefilled; whole `prefillChunk`s run only when nothing decodes.
    public var decodingPrefillChunk: Int = 32
    /// How each sequence's KV cache stores keys and values (prefix-cache entries keep the type).
    public var kvType: KVCacheType

    /// Creates settings.
    public init(maxBatch: Int = 8, maxQueue: Int = 64, maxContext: Int = 4096, prefixCacheEntries: Int = 8, prefillChunk: Int = 256,
                kvType: KVCacheType = .f32, cachePolicy: KVCachePolicy = .full) {
        self.kvType = kvType
        self.cachePolicy = cachePolicy
        self.maxBatch = maxBatch
        self.maxQueue = maxQueue
        self.maxContext = maxContext
        self.prefixCacheEntries = prefixCacheEntries
        self.prefillChunk = prefillChunk
    }

    /// Prompt tokens one scheduler iteration may prefill next to `decoding` decode tokens.
    public func prefillBudget(decoding: Int) -> Int {
        let whole = prefillChunk > 0 ? prefillChunk : Int.max
        guard decoding > 0, decodingPrefillChunk > 0 else { return whole }
        return min(whole, max(decodingPrefillChunk, decoding))
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
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// Runs the model on a dedicated thread with continuous batching. Every scheduler iteration is one
/// `forward(batch:states:)` holding one decode token of every running sequence and prompt tokens
/// of sequences still being prefilled (oldest first, from the longest cached prefix snapshot), within
/// `EngineConfiguration.prefillBudget(decoding:)`: a small chunk while others decode, so a new
/// request never stalls the running streams for long, and `prefillChunk` when nothing decodes.
/// Jobs join between iterations and leave as soon as they finish, are cancelled (client gone) or
/// time out. Each sequence chooses its tokens with its own `TokenStepper` (the per-token rules
/// `InferenceSession` and `lfm generate` share: forced prefixes, JSON-schema mask, sampler, stops,
/// budget, log-probabilities) and output filter.
public final class BatchEngine: @unchecked Sendable {
    // @unchecked: `pending`, `draining`, `stopped` are guarded by `condition`, `vocabulary` by `vocabularyLock`; `thread` is set only in init; `running`, `states`, `cache` are touched only on the engine thread.
    /// The model.
    public let model: any LanguageModel
    /// The tokenizer.
    public let tokenizer: Tokenizer
    /// The settings.
    public let configuration: EngineConfiguration
    /// Token ids that end a generation unless a job says otherwise.
    public let defaultStopTokens: Set<Int>
    let metrics: ServerMetrics

    struct Pending {
        let job: GenerationJob
        let continuation: AsyncStream<JobEvent>.Continuation
        let cancel: CancelFlag
        let submitted: Date
    }

    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var draining = false
    private var stopped = false
    private var thread: Thread?
    private let vocabularyLock = NSLock()
    private var vocabulary: TokenVocabulary?
    // Engine-thread-only state (see EngineSequence.swift).
    var running: [Running] = []
    var states: [SequenceState] = []
    var cache: PrefixCache
    /// The prefix cache's disk tier (shared with `cache`; thread-safe).
    let diskCache: DiskPrefixStore?
    /// Stands in for a state while it is lent to a forward call (never used by the model).
    let placeholder: SequenceState

    /// Creates an engine and starts its thread.
    public init(model: any LanguageModel, tokenizer: Tokenizer, configuration: EngineConfiguration, metrics: ServerMetrics) {
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.metrics = metrics
        var stops = Set(model.configuration.eosTokenIds)
        if let eos = tokenizer.eosTokenId { stops.insert(eos) }
        if let endOfTurn = tokenizer.id(for: "<|im_end|>") { stops.insert(endOfTurn) }
        defaultStopTokens = stops
        diskCache = configuration.prefixCacheDisk.flatMap { options in
            configuration.prefixCacheEntries > 0
                ? DiskPrefixStore(options: options, shapes: model.makeState(maxContext: 1).shapes, maxContext: configuration.maxContext,
                                  kvType: configuration.kvType, cachePolicy: configuration.cachePolicy, vocabularySize: model.configuration.vocabularySize)
                : nil
        }
        cache = PrefixCache(capacity: configuration.prefixCacheEntries, byteLimit: configuration.prefixCacheBytes, disk: diskCache)
        placeholder = model.makeState(maxContext: 1)
        let thread = Thread { [weak self] in self?.loop() }
        thread.name = "lfm-engine"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// The token bytes constrained decoding masks with, built on first use (thread-safe; call it
    /// from a request handler before submitting a JSON-schema job so the engine thread never builds it).
    public func tokenVocabulary() -> TokenVocabulary {
        vocabularyLock.lock()
        defer { vocabularyLock.unlock() }
        if let vocabulary { return vocabulary }
        let made = TokenVocabulary(tokenizer: tokenizer, logitCount: model.configuration.vocabularySize)
        vocabulary = made
        return made
    }

    /// Queues `job`; the stream yields its events and ends with `.finished` or `.failed`.
    /// Ending the stream early (the consumer goes away) cancels the job and frees its slot.
    /// - Throws: `APIError` 429 when the queue is full, 503 while shutting down, 400 for bad jobs.
    public func submit(_ job: GenerationJob) throws -> JobHandle {
        guard !job.promptTokens.isEmpty else { throw APIError.invalidRequest("the prompt is empty", param: "prompt") }
        guard configuration.cachePolicy.isBounded || job.promptTokens.count < configuration.maxContext else {
            throw APIError.invalidRequest("the prompt has \(job.promptTokens.count) tokens; this server's context is \(configuration.maxContext) tokens",
                                          param: "messages", code: "context_length_exceeded")
        }
        let vocabulary = model.configuration.vocabularySize
        if let bad = (job.promptTokens + job.forcedPrefixes.joined()).first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw APIError.invalidRequest("token id \(bad) is outside the vocabulary (0..<\(vocabulary))", param: "prompt")
        }
        if let k = job.logprobs, !(0...20).contains(k) {
            throw APIError.invalidRequest("'top_logprobs' must be between 0 and 20; found \(k).", param: "top_logprobs")
        }
        if let schema = job.options.responseFormat {
            let room = configuration.cachePolicy.isBounded ? Int.max : configuration.maxContext - job.promptTokens.count
            let budget = min(job.options.maxTokens, room)
            guard schema.shortestValueLength <= budget else {
                throw APIError.invalidRequest("The shortest JSON value the response_format schema allows needs \(schema.shortestValueLength) tokens, but only \(budget) may be generated (max_tokens / context).",
                                              param: "max_tokens")
            }
        }
        do { try job.options.sampling.validate() } catch {
            throw APIError.invalidRequest("invalid sampling parameters: \(error)")
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

    /// Sequences in the running batch (prefilling or decoding).
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

    /// Waits until the prefix-cache entries queued for the disk tier are written (call before exiting).
    public func flushPrefixCache() { diskCache?.flush() }

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
            if !running.isEmpty { step() }
            metrics.setRunning(running.count)
        }
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

    func remove(at i: Int) {
        running.remove(at: i)
        states.remove(at: i)
    }

    /// One scheduler iteration: a decode token for every decoding sequence and prefill chunks
    /// (within the token budget, oldest sequence first) in one batched forward pass.
    private func step() {
        var members: [Int] = []
        var segments: [[Int]] = []
        for i in running.indices where running[i].isDecoding {
            members.append(i)
            segments.append([running[i].nextToken])
        }
        let decodeCount = members.count
        var budget = configuration.prefillBudget(decoding: decodeCount)
        let piece = configuration.cachePolicy.largestPiece ?? Int.max
        for i in running.indices where !running[i].isDecoding && budget > 0 {
            let done = running[i].prefilled
            var end = running[i].prompt.count
            if let boundary = running[i].boundaries.first(where: { $0 > done }) { end = min(end, boundary) }
            let n = min(end - done, budget, piece)
            guard n > 0 else { continue }
            budget -= n
            members.append(i)
            segments.append(Array(running[i].prompt[done..<(done + n)]))
        }
        guard !members.isEmpty else { return }
        // Lend the members' states to the forward call (moved, so nothing is copied on write).
        var lent: [SequenceState] = []
        lent.reserveCapacity(members.count)
        for i in members {
            lent.append(states[i])
            states[i] = placeholder
        }
        let start = Date()
        let logits: [[Float]]
        do {
            logits = try model.forward(batch: segments, states: &lent)
        } catch {
            let failure = APIError.from(error)
            for i in members.sorted(by: >) {
                running[i].continuation.yield(.failed(failure))
                running[i].continuation.finish()
                remove(at: i)
            }
            return
        }
        for (k, i) in members.enumerated() { states[i] = lent[k] }
        lent.removeAll()
        let seconds = Date().timeIntervalSince(start)
        let rows = segments.reduce(0) { $0 + $1.count }
        let prefillRows = rows - decodeCount
        if decodeCount > 0 { metrics.recordDecode(tokens: decodeCount, seconds: seconds * Double(decodeCount) / Double(rows)) }
        if prefillRows > 0 { metrics.recordPrefill(tokens: prefillRows, seconds: seconds * Double(prefillRows) / Double(rows)) }

        var finished: [Int] = []
        for (k, i) in members.enumerated() {
            if k < decodeCount {
                running[i].history.append(running[i].nextToken)
                if !next(index: i, logits: logits[k]) { finished.append(i) }
            } else {
                running[i].prefilled += segments[k].count
                let done = running[i].prefilled
                if done < running[i].prompt.count {
                    if running[i].boundaries.contains(done), !states[i].hasEvicted {
                        cache.insert(tokens: Array(running[i].prompt[..<done]), state: states[i], logits: nil)
                    }
                } else {
                    if !states[i].hasEvicted { cache.insert(tokens: running[i].prompt, state: states[i], logits: logits[k]) }
                    if !beginDecoding(index: i, logits: logits[k]) { finished.append(i) }
                }
            }
        }
        for i in finished.sorted(by: >) { remove(at: i) }
    }
}
