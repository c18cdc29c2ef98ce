import ArgumentParser
import Foundation
import LFMModels

/// `--kv-policy full|streaming|prune` with `--kv-sinks S --kv-window W` (streaming) and
/// `--kv-budget N` (prune), shared by `generate`, `run`, `serve` and `perplexity`. The numbers of
/// the other policies are accepted and ignored.
struct KVCacheOptions: ParsableArguments {
    @Option(name: .customLong("kv-policy"), help: "How full-attention KV caches are bounded: full (keep everything), streaming (attention sinks + recent window, StreamingLLM), prune (token budget, SnapKV scores).")
    var policyName = "full"

    @Option(name: .customLong("kv-sinks"), help: "streaming: first positions always kept (attention sinks).")
    var sinks = KVCachePolicy.defaultSinks

    @Option(name: .customLong("kv-window"), help: "streaming: recent positions kept (at least; evicted in chunks of window/8).")
    var window = KVCachePolicy.defaultWindow

    @Option(name: .customLong("kv-budget"), help: "prune: positions kept per full-attention layer (at least the 32-position observation window; pruned again past budget + budget/8).")
    var budget = KVCachePolicy.defaultBudget

    func validate() throws {
        do { _ = try policy() } catch let error as KVCachePolicyError { throw ValidationError(error.description) }
    }

    /// The chosen policy (validated).
    func policy() throws -> KVCachePolicy {
        try KVCachePolicy.named(policyName, sinks: sinks, window: window, budget: budget)
    }

    /// The context (rows a sequence's caches may hold) for `policy`: `requested` (`--ctx`), which a
    /// bounded policy's peak rows (bound + slack) must fit; without it the model's context, raised
    /// to that peak when a bounded policy needs more (its positions are then cache positions).
    func context(for policy: KVCachePolicy, requested: Int?, model modelContext: Int) throws -> Int {
        guard let peak = policy.peakRows(chunk: 1) else { return requested ?? modelContext }
        if let requested {
            guard peak <= requested else {
                throw ValidationError(KVCachePolicyError.exceedsContext(rows: peak, context: requested).description + " (--ctx)")
            }
            return requested
        }
        return max(modelContext, peak)
    }
}
