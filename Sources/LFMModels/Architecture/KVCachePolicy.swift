/// How a sequence's full-attention KV caches are bounded. Sliding-window layers are bounded by
/// their window already and keep it; conv layers hold a constant state. With a bounded policy the
/// whole model's memory stops growing, so a generation or chat of any length runs in constant memory.
///
/// - `full`: every position is kept (the default; exact).
/// - `streaming(sinks:window:)`: StreamingLLM (Xiao et al., 2023, "Efficient Streaming Language
///   Models with Attention Sinks"): the first `sinks` positions and at least the last `window`
///   are kept. Positions are numbered *within the cache*, as the paper does: when rows are evicted
///   the kept later keys are re-rotated by −dropped (RoPE rotations compose), so a new token takes
///   the RoPE position "rows kept" in every attention layer (sliding-window layers' kept keys are
///   shifted by the same amount, which leaves their scores unchanged). Rows are evicted in chunks of
///   ``slack`` so the re-rotation is amortised: between evictions a query sees `sinks` plus `window`
///   to `window + slack` recent positions (itself included in the recent ones).
/// - `prune(budget:observationWindow:poolingKernel:)`: adaptive token pruning under a token budget,
///   SnapKV-style (Li et al., 2024, "SnapKV: LLM Knows What You are Looking for Before Generation"):
///   each full-attention layer keeps the queries of its last `observationWindow` positions; the
///   older rows are scored by the attention those queries give them (softmax per query and head,
///   summed over the window's queries and over heads, since one cache row holds every head of a
///   position), average-pooled over `poolingKernel` neighbouring positions (zero padding, as
///   `avg_pool1d`), and the top `budget − observationWindow` of them are kept with the last
///   `observationWindow` rows (ascending order, ties to the earlier position). Applied at the end
///   of every multi-token forward piece (the end of a prefill) whose rows exceed `budget`, and
///   after a decode step once they exceed `budget + slack` (amortised). Positions are unchanged.
public enum KVCachePolicy: Sendable, Equatable, Hashable, CustomStringConvertible {
    case full
    case streaming(sinks: Int, window: Int)
    case prune(budget: Int, observationWindow: Int = KVCachePolicy.defaultObservationWindow,
               poolingKernel: Int = KVCachePolicy.defaultPoolingKernel)

    /// `--kv-sinks` default (StreamingLLM's 4 attention sinks).
    public static let defaultSinks = 4
    /// `--kv-window` default: with the sinks, a 1,024-row cache.
    public static let defaultWindow = 1020
    /// `--kv-budget` default.
    public static let defaultBudget = 1024
    /// SnapKV's observation window (its `window_size`, 32).
    public static let defaultObservationWindow = 32
    /// SnapKV's pooling kernel (its `kernel_size`, 5; average pooling).
    public static let defaultPoolingKernel = 5

    /// The policy a command line names: `full`, `streaming` (with `sinks`, `window`) or `prune`
    /// (with `budget`); the other numbers are ignored. Validated.
    public static func named(_ name: String, sinks: Int = defaultSinks, window: Int = defaultWindow,
                             budget: Int = defaultBudget) throws -> KVCachePolicy {
        let policy: KVCachePolicy
        switch name {
        case "full": policy = .full
        case "streaming": policy = .streaming(sinks: sinks, window: window)
        case "prune": policy = .prune(budget: budget)
        default: throw KVCachePolicyError.unknownPolicy(name)
        }
        try policy.validate()
        return policy
    }

    /// Checks the numbers: sinks ≥ 0, window ≥ 1, observation window ≥ 1, budget ≥ observation
    /// window, pooling kernel odd and ≥ 1.
    public func validate() throws {
        switch self {
        case .full: return
        case .streaming(let sinks, let window):
            guard sinks >= 0 else { throw KVCachePolicyError.invalidParameter(name: "sinks", value: sinks, expected: ">= 0") }
            guard window >= 1 else { throw KVCachePolicyError.invalidParameter(name: "window", value: window, expected: ">= 1") }
        case .prune(let budget, let observation, let kernel):
            guard observation >= 1 else {
                throw KVCachePolicyError.invalidParameter(name: "observation window", value: observation, expected: ">= 1")
            }
            guard budget >= 1 else { throw KVCachePolicyError.invalidParameter(name: "budget", value: budget, expected: ">= 1") }
            guard budget >= observation else {
                throw KVCachePolicyError.budgetBelowObservationWindow(budget: budget, observationWindow: observation)
            }
            guard kernel >= 1, kernel % 2 == 1 else {
                throw KVCachePolicyError.invalidParameter(name: "pooling kernel", value: kernel, expected: "odd and >= 1")
            }
        }
    }

    /// Whether memory is bounded (every policy but `full`).
    public var isBounded: Bool { self != .full }

    /// Rows a bounded policy lets the cache grow past its bound before it evicts (1/8 of the
    /// window or budget, at least 1): the eviction chunk that amortises re-rotation and scoring.
    public var slack: Int {
        switch self {
        case .full: return 0
        case .streaming(_, let window): return max(1, window / 8)
        case .prune(let budget, _, _): return max(1, budget / 8)
        }
    }

    /// Largest number of positions one forward piece should append under a bounded policy
    /// (`slack`: a streaming query then sees at most `window + slack` recent positions, and the
    /// rows held stay within ``peakRows(chunk:)``); nil: any.
    public var largestPiece: Int? { isBounded ? slack : nil }

    /// Rows a bounded policy keeps a full-attention layer at after evicting (`sinks + window`,
    /// `budget`); nil for `full`.
    public var bound: Int? {
        switch self {
        case .full: return nil
        case .streaming(let sinks, let window): return sinks + window
        case .prune(let budget, _, _): return budget
        }
    }

    /// Most rows a full-attention layer holds when forward pieces append at most `chunk` rows
    /// (prompt pieces append up to ``largestPiece`` whatever `chunk` is). Streaming evicts before
    /// appending: ``bound`` + max(`slack`, `chunk`). Prune evicts after a piece, and a decode step
    /// only once the rows pass `budget + slack`, so a step may leave `budget + slack` rows and the
    /// next piece (another decode step, or a chat turn's prompt) appends on top of them:
    /// `budget + slack` + max(`slack`, `chunk`).
    public func peakRows(chunk: Int) -> Int? {
        switch self {
        case .full: return nil
        case .streaming(let sinks, let window): return sinks + window + max(slack, chunk)
        case .prune(let budget, _, _): return budget + slack + max(slack, chunk)
        }
    }

    /// Rows kept before appending `count` rows to a layer holding `kept` (streaming evicts here).
    func rowsBeforeAppending(kept: Int, adding count: Int) -> Int {
        guard case .streaming(let sinks, let window) = self else { return kept }
        return kept + count > sinks + window + slack && kept > sinks + window ? sinks + window : kept
    }

    /// Rows kept after a forward piece appended `count` rows and left `rows` (prune evicts here).
    func rowsAfterPiece(_ rows: Int, added count: Int) -> Int {
        guard case .prune(let budget, _, _) = self else { return rows }
        return rows > budget + (count > 1 ? 0 : slack) ? budget : rows
    }

    public var description: String {
        switch self {
        case .full: return "full"
        case .streaming(let sinks, let window): return "streaming(sinks: \(sinks), window: \(window))"
        case .prune(let budget, let observation, let kernel):
            return "prune(budget: \(budget), observation window: \(observation), pooling: \(kernel))"
        }
    }
}

/// A cache policy's parameters are unusable.
public enum KVCachePolicyError: Error, Equatable, CustomStringConvertible {
    /// Not one of `full`, `streaming`, `prune`.
    case unknownPolicy(String)
    /// A number outside its range.
    case invalidParameter(name: String, value: Int, expected: String)
    /// SnapKV keeps the observation window whole, so the budget must hold it.
    case budgetBelowObservationWindow(budget: Int, observationWindow: Int)
    /// The rows the policy holds at its peak do not fit the context.
    case exceedsContext(rows: Int, context: Int)

    public var description: String {
        switch self {
        case .unknownPolicy(let name): return "unknown KV cache policy '\(name)' (expected full, streaming or prune)"
        case let .invalidParameter(name, value, expected): return "KV cache policy \(name) must be \(expected) (found \(value))"
        case let .budgetBelowObservationWindow(budget, window):
            return "KV cache budget \(budget) is smaller than the observation window (\(window) positions), which it must hold"
        case let .exceedsContext(rows, context):
            return "the KV cache policy holds up to \(rows) positions, more than the context of \(context)"
        }
    }
}
