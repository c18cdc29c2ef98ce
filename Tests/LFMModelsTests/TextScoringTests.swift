import Foundation
import LFMKernels
import Testing
@testable import LFMModels

/// Window plans and the distribution statistics behind `lfm perplexity --kl-reference`.
struct TextScoringTests {
    @Test func allWindowsScoreEveryTokenAfterEachWindowsFirst() throws {
        let ids = Array(100..<111)  // 11 tokens
        let windows = try scoringWindows(ids: ids, ctx: 4, scheme: .all, bos: 1)
        #expect(windows.map(\.tokens) == [[100, 101, 102, 103], [104, 105, 106, 107], [108, 109, 110]])
        #expect(windows.map(\.scored) == [0..<3, 0..<3, 0..<2])
        // A trailing window of one token predicts nothing and is dropped.
        #expect(try scoringWindows(ids: Array(0..<9), ctx: 4, scheme: .all, bos: 1).count == 2)
    }

    @Test func secondHalfWindowsFollowLlamaPerplexity() throws {
        // llama-perplexity: floor(n / ctx) whole chunks, first token replaced by BOS,
        // logits from ctx/2 to ctx-2 scored (ctx - 1 - ctx/2 positions per chunk).
        let ids = Array(100..<117)  // 17 tokens → 2 chunks of 8
        let windows = try scoringWindows(ids: ids, ctx: 8, scheme: .secondHalf, bos: 1)
        #expect(windows.map(\.tokens) == [[1, 101, 102, 103, 104, 105, 106, 107], [1, 109, 110, 111, 112, 113, 114, 115]])
        #expect(windows.map(\.scored) == [4..<7, 4..<7])
        #expect(throws: TextScoringError.tooShort(tokens: 5, needed: 8)) {
            try scoringWindows(ids: Array(0..<5), ctx: 8, scheme: .secondHalf, bos: 1)
        }
        #expect(throws: TextScoringError.invalidWindow(ctx: 1, minimum: 2)) {
            try scoringWindows(ids: Array(0..<5), ctx: 1, scheme: .all, bos: 1)
        }
    }

    @Test func comparisonOfKnownDistributions() {
        func lsm(_ logits: [Float]) -> [Double] { logits.withUnsafeBufferPointer { logSoftmax($0) } }
        var c = DistributionComparison()
        // P = (1/2, 1/2), Q = (3/4, 1/4): KL(P‖Q) = ½ ln(4/3); both argmax 0 (first of a tie).
        c.add(reference: lsm([0, 0]), candidate: lsm([Float(log(3.0)), 0]), target: 1)
        #expect(abs(c.meanKL - 0.5 * log(4.0 / 3.0)) < 1e-7)
        #expect(c.topOneAgreement == 1)
        #expect(abs(c.rmsProbabilityDelta - 0.25) < 1e-7)
        #expect(abs(c.reference.mean - log(2.0)) < 1e-12)
        // Identical distributions: zero divergence. Opposite argmax: agreement drops to 1/3.
        c.add(reference: lsm([1, 2, 3]), candidate: lsm([1, 2, 3]), target: 0)
        c.add(reference: lsm([3, 0]), candidate: lsm([0, 3]), target: 0)
        #expect(c.positions == 3)
        #expect(c.divergences[1] == 0)
        let p = 1 / (1 + exp(-3.0))
        #expect(abs(c.divergences[2] - (p * log(p / (1 - p)) + (1 - p) * log((1 - p) / p))) < 1e-9)
        #expect(abs(c.topOneAgreement - 2.0 / 3.0) < 1e-12)
        #expect(c.klQuantile(0) == 0 && c.klQuantile(1) == c.divergences[2])
    }

    /// Several KV caches scored side by side against one reference pass give, for each, exactly
    /// what scoring that cache alone gives (perplexity, every divergence, top-1 agreement).
    @Test func cachesScoredSideBySideEqualEachScoredAlone() throws {
        let model = KVCacheTypeTests.lfm2  // heads of one Q8_0 block
        let ids = [1] + (0..<95).map { 3 + ($0 * 7 + $0 * $0) % 55 }
        let windows = try scoringWindows(ids: ids, ctx: 48, scheme: .secondHalf, bos: 1)
        let caches = [ScoringCache(kvType: .q8_0), ScoringCache(kvType: .f32, policy: .streaming(sinks: 2, window: 8)),
                      ScoringCache(kvType: .f16), ScoringCache(kvType: .f32, policy: .prune(budget: 12, observationWindow: 4))]
        let together = try model.score(windows: windows, caches: caches, reference: model, logitChunk: 7)
        #expect(together.count == caches.count)
        for (cache, score) in zip(caches, together) {
            let alone = try model.score(windows: windows, reference: model, kvType: cache.kvType, cachePolicy: cache.policy, logitChunk: 7)
            let a = try #require(alone.comparison), b = try #require(score.comparison)
            #expect(score.nll == alone.nll, "\(cache)")
            #expect(b.divergences == a.divergences && b.sameTop == a.sameTop && b.reference == a.reference, "\(cache)")
            #expect(b.positions == 2 * 23, "\(cache)")
        }
        // The bounded and lossy caches do differ from the full F32 cache here (the comparison is not vacuous).
        #expect(together.allSatisfy { ($0.comparison?.meanKL ?? 0) > 0 })
        // Without a reference: perplexity only, each cache as alone.
        let plain = try model.score(windows: windows, caches: caches, reference: nil)
        for (cache, score) in zip(caches, plain) {
            #expect(score.comparison == nil)
            #expect(score.nll == (try model.score(windows: windows, kvType: cache.kvType, cachePolicy: cache.policy)).nll, "\(cache)")
        }
    }
}
