import Foundation
import Hummingbird
import HummingbirdTesting
import LFMChat
import LFMGeneration
import LFMModels
@testable import LFMServer
import Testing

/// Collects a job's events.
func collect(_ handle: JobHandle) async -> (text: String, reason: FinishReason?, usage: JobUsage?, error: APIError?) {
    var text = "", reason: FinishReason?, usage: JobUsage?, error: APIError?
    for await event in handle.events {
        switch event {
        case .text(let t): text += t
        case .toolCall, .logprob, .reasoning: break
        case .finished(let r, let u): reason = r; usage = u
        case .failed(let e): error = e
        }
    }
    return (text, reason, usage, error)
}

/// Waits (bounded) until `condition` holds.
func eventually(_ what: String, _ condition: () -> Bool) async throws {
    for _ in 0..<2000 {
        if condition() { return }
        try await Task.sleep(nanoseconds: 5_000_000)
    }
    throw TestFailure("never happened: \(what)")
}

/// Greedy tokens of one sequence run alone with single-sequence forward calls: the reference the
/// batched engine's outputs are compared with.
func alone(_ model: DecoderModel, _ prompt: [Int], steps: Int) throws -> [Int] {
    var state = model.makeState(maxContext: 1024)
    var logits = try model.forward(prompt, state: &state)
    var out: [Int] = []
    for _ in 0..<steps {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        out.append(best)
        logits = try model.forward([best], state: &state)
    }
    return out
}

@Suite(.serialized) struct EngineTests {

    @Test func concurrentGreedyRequestsEqualEachAlone() async throws {
        let (model, _, _) = try TestModel.get()
        let server = try TestModel.server(maxBatch: 8, prefixCache: 0)
        defer { server.engine.shutdown() }
        // Different lengths and budgets, a duplicate (same state contents in two slots), no stop tokens.
        let prompts: [[Int]] = [[1, 520, 3093, 18], [1, 44], [1, 520, 3093, 18], (1...40).map { $0 * 97 }, [1, 9000, 12, 13, 14, 15]]
        let budgets = [9, 14, 5, 11, 7]
        var handles: [JobHandle] = []
        for (p, n) in zip(prompts, budgets) {
            handles.append(try server.engine.submit(GenerationJob(promptTokens: p, options: GenerationOptions(sampling: .greedy, maxTokens: n, stopTokens: []))))
        }
        var results: [(String, FinishReason?, JobUsage?, APIError?)] = []
        for handle in handles { results.append(await collect(handle)) }
        for (i, prompt) in prompts.enumerated() {
            let reference = try alone(model, prompt, steps: budgets[i])
            #expect(results[i].2?.tokens == reference, "request \(i)")
            #expect(results[i].1 == .length && results[i].2?.completionTokens == budgets[i], "request \(i)")
            #expect(results[i].3 == nil)
        }
    }

    @Test func batchesAreReallyFormed() async throws {
        // With max batch 1 everything is sequential; with 4 all four run together at some step.
        let server = try TestModel.server(maxBatch: 4, prefixCache: 0)
        defer { server.engine.shutdown() }
        var handles: [JobHandle] = []
        for i in 0..<4 {
            handles.append(try server.engine.submit(GenerationJob(promptTokens: [1, 100 + i],
                                                                  options: GenerationOptions(sampling: .greedy, maxTokens: 1000, stopTokens: []))))
        }
        // Not a race against the clock: the engine records the largest batch it ran.
        for handle in handles { _ = await collect(handle) }
        #expect(server.engine.peakRunningCount == 4)
        try await eventually("slots freed") { server.engine.runningCount == 0 }
    }

    @Test func cancellingFreesTheSlotForTheNextJob() async throws {
        // The whole context of the tiny model (4096): the first job must still be running when it is
        // polled, also on a loaded machine (at 1024 a full parallel test run once never saw it running).
        let server = try TestModel.server(maxBatch: 1, maxQueue: 1, maxContext: 4096, prefixCache: 0)
        defer { server.engine.shutdown() }
        let long = GenerationOptions(sampling: .greedy, maxTokens: 100_000, stopTokens: [])
        let first = try server.engine.submit(GenerationJob(promptTokens: [1, 2, 3], options: long))
        try await eventually("first running") { server.engine.runningCount == 1 }
        let second = try server.engine.submit(GenerationJob(promptTokens: [1, 5], options: GenerationOptions(sampling: .greedy, maxTokens: 3, stopTokens: [])))
        // The queue (1) is full now.
        #expect(throws: APIError.queueFull(retryAfter: 1)) {
            _ = try server.engine.submit(GenerationJob(promptTokens: [1, 6], options: long))
        }
        first.cancel()
        let result = await collect(second)
        #expect(result.reason == .length && result.usage?.completionTokens == 3)
        var sawFirstEnd = false
        for await event in first.events { if case .finished = event { sawFirstEnd = true } }
        #expect(!sawFirstEnd, "a cancelled job gets no finish event")
    }

    @Test func prefixCacheReusesSystemPromptAndKeepsResults() async throws {
        let cached = try TestModel.server(prefixCache: 4)
        let uncached = try TestModel.server(prefixCache: 0)
        defer { cached.engine.shutdown(); uncached.engine.shutdown() }
        let system = "You are a helpful assistant that answers in one short sentence about geography."
        for server in [cached, uncached] {
            let app = Application(router: server.makeRouter())
            try await app.test(.router) { client in
                var outputs: [Value] = []
                for question in ["Where is Paris?", "Where is Lima?", "Where is Paris?"] {
                    outputs.append(try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                            body: body(chatBody(question, system: system, maxTokens: 6))) { try json($0) })
                }
                let cachedTokens = outputs.map { $0["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int ?? -1 }
                if server === cached {
                    #expect(cachedTokens[0] == 0)
                    #expect(cachedTokens[1] > 10, "system prompt snapshot reused")
                    #expect(cachedTokens[2] == outputs[2]["usage"]?["prompt_tokens"]?.int, "whole prompt reused")
                } else {
                    #expect(cachedTokens == [0, 0, 0])
                }
                #expect(outputs[0]["choices"] == outputs[2]["choices"])
                let texts = outputs.map { $0["choices"]?[0]?["message"]?["content"]?.string ?? "?" }
                Self.texts[server === cached ? 0 : 1] = texts
            }
        }
        #expect(Self.texts[0] == Self.texts[1], "the cache does not change results")
    }
    nonisolated(unsafe) static var texts: [[String]] = [[], []]

    @Test func timeoutEndsWithAnError() async throws {
        let (model, tokenizer, _) = try TestModel.get()
        let engine = BatchEngine(model: model, tokenizer: tokenizer, configuration: EngineConfiguration(maxContext: 64), metrics: ServerMetrics())
        defer { engine.shutdown() }
        let handle = try engine.submit(GenerationJob(promptTokens: [1, 2], options: GenerationOptions(sampling: .greedy, maxTokens: 1_000_000, stopTokens: []),
                                                     timeout: 0))
        let result = await collect(handle)
        #expect(result.error?.code == "timeout" && result.reason == nil)
        // maxContext 64 ends a long generation with "length" at the context limit.
        let capped = await collect(try engine.submit(GenerationJob(promptTokens: [1, 2], options: GenerationOptions(sampling: .greedy, maxTokens: 1000, stopTokens: []))))
        #expect(capped.reason == .length && (capped.usage?.completionTokens ?? 0) == 64 - 2)
    }
}
