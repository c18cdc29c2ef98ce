// Scoring a tokenized text: perplexity, and how far one model's next-token distributions are
// from a reference model's (KL divergence, top-1 agreement) — the quality report of quantized
// weights. The `.secondHalf` windows follow llama.cpp's `llama-perplexity` (tools/perplexity:
// whole `n_ctx` chunks, the first token of each replaced by BOS, positions from `n_ctx/2` scored)
// so the two engines' figures describe the same positions.
import Foundation
import LFMKernels

/// How a tokenized text is cut into independent windows, each run from a fresh state.
public enum ScoringWindows: String, Sendable, CaseIterable {
    /// Consecutive windows of `ctx` tokens (the last may be shorter); every token after a
    /// window's first is scored.
    case all
    /// llama.cpp's `llama-perplexity`: only whole windows of `ctx` tokens; the first token of
    /// each window is replaced by BOS; the tokens at positions `ctx/2 + 1 ..< ctx` are scored.
    case secondHalf = "second-half"
}

/// One window: the tokens run through the model and the positions whose predictions are scored.
public struct ScoringWindow: Sendable, Equatable {
    /// Tokens fed to the model, from a fresh state.
    public var tokens: [Int]
    /// Indices `i` into `tokens` whose logits (predicting `tokens[i + 1]`) are scored.
    public var scored: Range<Int>
}

/// Errors of text scoring.
public enum TextScoringError: Error, Equatable, CustomStringConvertible {
    /// The text yields nothing to score.
    case tooShort(tokens: Int, needed: Int)
    /// The window length is unusable.
    case invalidWindow(ctx: Int, minimum: Int)
    /// The reference model predicts over another vocabulary.
    case vocabularyMismatch(model: Int, reference: Int)

    public var description: String {
        switch self {
        case let .tooShort(tokens, needed):
            return "the text gives \(tokens) tokens; at least \(needed) are needed to score anything"
        case let .invalidWindow(ctx, minimum):
            return "window length \(ctx) is too small (minimum \(minimum))"
        case let .vocabularyMismatch(model, reference):
            return "the reference model's vocabulary has \(reference) entries, the scored model's \(model): their distributions cannot be compared"
        }
    }
}

/// Cuts `ids` (BOS already first) into scoring windows.
public func scoringWindows(ids: [Int], ctx: Int, scheme: ScoringWindows, bos: Int) throws -> [ScoringWindow] {
    switch scheme {
    case .all:
        guard ctx >= 2 else { throw TextScoringError.invalidWindow(ctx: ctx, minimum: 2) }
        var windows: [ScoringWindow] = []
        var start = 0
        while start < ids.count {
            let window = Array(ids[start..<min(start + ctx, ids.count)])
            start += ctx
            if window.count >= 2 { windows.append(ScoringWindow(tokens: window, scored: 0..<(window.count - 1))) }
        }
        guard !windows.isEmpty else { throw TextScoringError.tooShort(tokens: ids.count, needed: 2) }
        return windows
    case .secondHalf:
        guard ctx >= 4 else { throw TextScoringError.invalidWindow(ctx: ctx, minimum: 4) }
        let count = ids.count / ctx
        guard count >= 1 else { throw TextScoringError.tooShort(tokens: ids.count, needed: ctx) }
        return (0..<count).map { k in
            var window = Array(ids[(k * ctx)..<((k + 1) * ctx)])
            window[0] = bos
            return ScoringWindow(tokens: window, scored: (ctx / 2)..<(ctx - 1))
        }
    }
}

/// Running negative log-likelihood of scored tokens.
public struct NLLAccumulator: Sendable, Equatable {
    /// Scored tokens.
    public private(set) var count = 0
    /// Sum of their negative log-likelihoods (nats).
    public private(set) var sum = 0.0
    /// Sum of squares, for the standard error.
    public private(set) var sumOfSquares = 0.0

    public init() {}

    /// Adds one token's negative log-likelihood.
    public mutating func add(_ nll: Double) {
        count += 1; sum += nll; sumOfSquares += nll * nll
    }

    /// Mean NLL (nats per token).
    public var mean: Double { count > 0 ? sum / Double(count) : .nan }
    /// Perplexity, `exp(mean)`.
    public var perplexity: Double { exp(mean) }
}

/// How a candidate model's next-token distributions differ from a reference's over many positions.
public struct DistributionComparison: Sendable {
    /// Per position `KL(P_reference ‖ P_candidate)` in nats.
    public private(set) var divergences: [Double] = []
    /// Positions where both distributions have the same most likely token.
    public private(set) var sameTop = 0
    /// Sum over positions of `P_candidate(target) − P_reference(target)` squared.
    public private(set) var sumSquaredProbabilityDelta = 0.0
    /// The reference's NLL of the scored tokens.
    public private(set) var reference = NLLAccumulator()

    public init() {}

    /// Compares the distributions of one position, given as natural-log probabilities.
    public mutating func add(reference ref: [Double], candidate: [Double], target: Int) {
        var kl = 0.0
        var refTop = 0, candTop = 0
        for i in 0..<ref.count {
            let lp = ref[i]
            if lp > ref[refTop] { refTop = i }
            if candidate[i] > candidate[candTop] { candTop = i }
            if lp > -.infinity { kl += exp(lp) * (lp - candidate[i]) }
        }
        divergences.append(max(kl, 0))
        if refTop == candTop { sameTop += 1 }
        let delta = exp(candidate[target]) - exp(ref[target])
        sumSquaredProbabilityDelta += delta * delta
        reference.add(-ref[target])
    }

    /// Compared positions.
    public var positions: Int { divergences.count }
    /// Mean KL divergence.
    public var meanKL: Double { divergences.isEmpty ? .nan : divergences.reduce(0, +) / Double(positions) }
    /// Standard error of `meanKL`.
    public var meanKLStandardError: Double {
        guard positions > 1 else { return .nan }
        let m = meanKL
        let variance = divergences.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(positions - 1)
        return (variance / Double(positions)).squareRoot()
    }
    /// The `q`-quantile (0...1) of the per-position divergences (nearest rank).
    public func klQuantile(_ q: Double) -> Double {
        guard !divergences.isEmpty else { return .nan }
        let sorted = divergences.sorted()
        let rank = Int((q * Double(sorted.count - 1)).rounded())
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
    /// Fraction of positions whose most likely token is the reference's.
    public var topOneAgreement: Double { positions > 0 ? Double(sameTop) / Double(positions) : .nan }
    /// Root mean square of the change in the target token's probability.
    public var rmsProbabilityDelta: Double { positions > 0 ? (sumSquaredProbabilityDelta / Double(positions)).squareRoot() : .nan }
}

/// The result of scoring a text.
public struct TextScore: Sendable {
    /// The scored model's NLL.
    public var nll: NLLAccumulator
    /// Its distributions against the reference model's, when one was given.
    public var comparison: DistributionComparison?
}

/// One way of running the scored model's KV caches: a storage type and a cache policy.
public struct ScoringCache: Sendable, Equatable, CustomStringConvertible {
    /// How keys and values are stored.
    public var kvType: KVCacheType
    /// How the full-attention caches are bounded.
    public var policy: KVCachePolicy

    public init(kvType: KVCacheType = .f32, policy: KVCachePolicy = .full) {
        self.kvType = kvType
        self.policy = policy
    }

    public var description: String { "\(kvType) \(policy)" }
}

extension LanguageModel {
    /// Scores `windows`, each from a fresh state whose full-attention caches follow `cachePolicy`;
    /// with a `reference`, also compares every scored position's distribution with the reference
    /// model's on the same window (its caches following `referenceCachePolicy`; the reference may be
    /// this model, to measure what a bounded policy or a narrower KV type loses against the full
    /// F32 cache). Logits are computed `logitChunk` positions at a time, so long windows never
    /// hold all their logits.
    /// - Parameters:
    ///   - kvType: how this model's KV cache stores keys and values (the reference keeps F32).
    ///   - progress: called after each window with (windows done, windows in all).
    public func score(windows: [ScoringWindow], reference: (any LanguageModel)? = nil, kvType: KVCacheType = .f32,
                      cachePolicy: KVCachePolicy = .full, referenceCachePolicy: KVCachePolicy = .full,
                      logitChunk: Int = 512, progress: (Int, Int) -> Void = { _, _ in }) throws -> TextScore {
        let scores = try score(windows: windows, caches: [ScoringCache(kvType: kvType, policy: cachePolicy)],
                               reference: reference, referenceCachePolicy: referenceCachePolicy,
                               logitChunk: logitChunk, progress: progress)
        return scores[0]
    }

    /// Scores `windows` once per entry of `caches` (this model run with that KV storage and
    /// policy), all side by side with one pass of the `reference` (F32 keys and values, caches
    /// following `referenceCachePolicy`), so a table of KV types and policies costs one reference
    /// pass instead of one per entry. Each result equals what `score(windows:reference:kvType:
    /// cachePolicy:)` gives for that entry alone.
    /// - Parameter progress: called after each window with (windows done, windows in all).
    public func score(windows: [ScoringWindow], caches: [ScoringCache], reference: (any LanguageModel)?,
                      referenceCachePolicy: KVCachePolicy = .full, logitChunk: Int = 512,
                      progress: (Int, Int) -> Void = { _, _ in }) throws -> [TextScore] {
        let v = configuration.vocabularySize
        if let reference, reference.configuration.vocabularySize != v {
            throw TextScoringError.vocabularyMismatch(model: v, reference: reference.configuration.vocabularySize)
        }
        var scores = caches.map { _ in TextScore(nll: NLLAccumulator(), comparison: reference == nil ? nil : DistributionComparison()) }
        for (k, window) in windows.enumerated() {
            // Logits are computed only from the first scored position on (the positions before it
            // are prefilled without the output head).
            let first = window.scored.lowerBound
            func start(_ model: any LanguageModel, _ cache: ScoringCache) throws -> SequenceState {
                // A bounded cache never holds more rows than the positions it processed.
                var state = try model.makeState(maxContext: window.tokens.count, kvType: cache.kvType, policy: cache.policy)
                if first > 0 { _ = try model.forward(Array(window.tokens[..<first]), state: &state, logits: .none) }
                return state
            }
            var states = try caches.map { try start(self, $0) }
            var refState = try reference.map { try start($0, ScoringCache(kvType: .f32, policy: referenceCachePolicy)) }
            var chunkStart = first
            while chunkStart < window.tokens.count {
                let chunkEnd = min(chunkStart + max(1, logitChunk), window.tokens.count)
                let tokens = Array(window.tokens[chunkStart..<chunkEnd])
                var logits: [[Float]] = []
                for c in states.indices { logits.append(try forward(tokens, state: &states[c], logits: .all)) }
                var refLogits: [Float] = []
                if let reference, var r = refState {
                    refLogits = try reference.forward(tokens, state: &r, logits: .all)
                    refState = r
                }
                for i in max(chunkStart, window.scored.lowerBound)..<min(chunkEnd, window.scored.upperBound) {
                    let target = window.tokens[i + 1]
                    let rows = ((i - chunkStart) * v)..<((i - chunkStart + 1) * v)
                    guard reference != nil else {
                        // Perplexity alone needs only the normalizer, not the whole distribution.
                        for c in caches.indices {
                            let logSum = logits[c].withUnsafeBufferPointer { logSumExp(UnsafeBufferPointer(rebasing: $0[rows])) }
                            scores[c].nll.add(logSum - Double(logits[c][(i - chunkStart) * v + target]))
                        }
                        continue
                    }
                    let refLp = refLogits.withUnsafeBufferPointer { logSoftmax(UnsafeBufferPointer(rebasing: $0[rows])) }
                    for c in caches.indices {
                        let lp = logits[c].withUnsafeBufferPointer { logSoftmax(UnsafeBufferPointer(rebasing: $0[rows])) }
                        scores[c].nll.add(-lp[target])
                        scores[c].comparison?.add(reference: refLp, candidate: lp, target: target)
                    }
                }
                chunkStart = chunkEnd
            }
            progress(k + 1, windows.count)
        }
        return scores
    }
}
