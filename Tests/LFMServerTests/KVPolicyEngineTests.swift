import Foundation
import LFMGeneration
import LFMModels
@testable import LFMServer
import Testing

/// The batch engine under bounded KV cache policies: prompts and answers past the context, batched
/// results equal to single-sequence runs, and a prefix cache that never serves an evicted state.
@Suite(.serialized) struct KVPolicyEngineTests {
    let policy = KVCachePolicy.streaming(sinks: 2, window: 16)

    func makeEngine(maxContext: Int, prefixCache: Int) throws -> BatchEngine {
        let (model, tokenizer, _) = try TestModel.get()
        return BatchEngine(model: model, tokenizer: tokenizer,
                           configuration: EngineConfiguration(maxBatch: 4, maxContext: maxContext, prefixCacheEntries: prefixCache,
                                                              cachePolicy: policy),
                           metrics: ServerMetrics())
    }

    /// Greedy tokens of one sequence alone under the same policy (the last token is not fed back).
    func alone(_ prompt: [Int], steps: Int, maxContext: Int) throws -> [Int] {
        let (model, _, _) = try TestModel.get()
        var state = model.makeState(maxContext: maxContext, policy: policy)
        var logits = try model.forward(prompt, state: &state)
        var out: [Int] = []
        for step in 0..<steps {
            let best = logits.indices.max { logits[$0] < logits[$1] } ?? 0
            out.append(best)
            if step + 1 < steps { logits = try model.forward([best], state: &state) }
        }
        return out
    }

    func job(_ prompt: [Int], _ maxTokens: Int, boundaries: [Int] = []) -> GenerationJob {
        GenerationJob(promptTokens: prompt, options: GenerationOptions(sampling: .greedy, maxTokens: maxTokens, stopTokens: []),
                      cacheBoundaries: boundaries)
    }

    @Test func promptsAndAnswersPastTheContextEqualSingleRuns() async throws {
        let engine = try makeEngine(maxContext: 32, prefixCache: 0)
        defer { engine.shutdown() }
        let prompts = [(1...60).map { $0 * 37 }, (1...9).map { $0 * 101 }]
        let handles = try prompts.map { try engine.submit(job($0, 120)) }
        for (prompt, handle) in zip(prompts, handles) {
            let result = await collect(handle)
            #expect(result.error == nil && result.reason == .length && result.usage?.completionTokens == 120)
            let expected = try alone(prompt, steps: 120, maxContext: 32)
            #expect(result.usage?.tokens == expected)
        }
    }

    @Test func prefixCacheNeverServesAnEvictedState() async throws {
        let engine = try makeEngine(maxContext: 64, prefixCache: 4)
        defer { engine.shutdown() }
        let short = (1...10).map { $0 * 53 }
        let long = (1...40).map { $0 * 71 }
        var runs: [JobUsage] = []
        for prompt in [short, short, long, long] {
            let handle = try engine.submit(job(prompt, 6))
            runs.append(try #require(await collect(handle).usage))
        }
        #expect(runs.map(\.cachedPromptTokens) == [0, 10, 0, 0], "a state that evicted rows is not cached")
        #expect(runs[0].tokens == runs[1].tokens && runs[2].tokens == runs[3].tokens)
        let expected = try alone(long, steps: 6, maxContext: 64)
        #expect(runs[2].tokens == expected)
        // A boundary before any eviction is cached and reused by a prompt sharing it.
        let shared = Array(long.prefix(8))
        _ = await collect(try engine.submit(job(long, 3, boundaries: [8])))
        let other = shared + (1...30).map { $0 * 89 }
        let otherHandle = try engine.submit(job(other, 6))
        let reuse = try #require(await collect(otherHandle).usage)
        #expect(reuse.cachedPromptTokens == 8)
        let expectedOther = try alone(other, steps: 6, maxContext: 64)
        #expect(reuse.tokens == expectedOther)
    }
}
