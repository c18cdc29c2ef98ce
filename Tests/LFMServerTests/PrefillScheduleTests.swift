import Foundation
import LFMGeneration
import LFMKernels
import LFMModels
@testable import LFMServer
import Testing

/// Forwards to a model and records the segment lengths of every batched forward call.
final class RecordingModel: LanguageModel, @unchecked Sendable {
    // @unchecked: `recorded` is only touched under `lock`; `inner` is immutable and Sendable.
    let inner: any LanguageModel
    private let lock = NSLock()
    private var recorded: [[Int]] = []

    init(_ inner: any LanguageModel) { self.inner = inner }

    var configuration: any ModelConfiguration { inner.configuration }
    var backend: any ComputeBackend { inner.backend }
    var weightBytesPerToken: Int { inner.weightBytesPerToken }
    func makeState(maxContext: Int?) -> SequenceState { inner.makeState(maxContext: maxContext) }
    func makeState(maxContext: Int?, kvType: KVCacheType) throws -> SequenceState {
        try inner.makeState(maxContext: maxContext, kvType: kvType)
    }
    func forward(_ tokens: [Int], state: inout SequenceState, logits: LogitsSelection, chunkSize: Int) throws -> [Float] {
        try inner.forward(tokens, state: &state, logits: logits, chunkSize: chunkSize)
    }
    func forward(batch tokens: [[Int]], states: inout [SequenceState]) throws -> [[Float]] {
        lock.withLock { recorded.append(tokens.map(\.count)) }
        return try inner.forward(batch: tokens, states: &states)
    }

    /// Segment lengths of every batched call so far, in order.
    var calls: [[Int]] { lock.withLock { recorded } }
}

/// How many prompt tokens a scheduler iteration prefills next to the running streams' decode tokens.
@Suite(.serialized) struct PrefillScheduleTests {

    @Test func budgetIsSmallWhileDecodingAndWholeChunkOtherwise() {
        var c = EngineConfiguration(prefillChunk: 256)
        #expect(c.decodingPrefillChunk == 32)
        #expect(c.prefillBudget(decoding: 0) == 256)
        #expect(c.prefillBudget(decoding: 1) == 32)
        #expect(c.prefillBudget(decoding: 16) == 32)
        #expect(c.prefillBudget(decoding: 40) == 40)
        #expect(c.prefillBudget(decoding: 300) == 256)
        c.decodingPrefillChunk = 0
        #expect(c.prefillBudget(decoding: 16) == 256)
        c = EngineConfiguration(prefillChunk: 0)
        #expect(c.prefillBudget(decoding: 0) == Int.max)
        #expect(c.prefillBudget(decoding: 5) == 32)
    }

    /// Long prompts that arrive while other streams decode are prefilled a few tokens per iteration,
    /// not a whole `prefillChunk` at once, and still give the tokens they give alone.
    @Test func longPromptsJoinDecodingStreamsInSmallPieces() async throws {
        let (model, tokenizer, _) = try TestModel.get()
        let recording = RecordingModel(model)
        var configuration = EngineConfiguration(maxBatch: 8, maxContext: 1024, prefixCacheEntries: 0, prefillChunk: 64)
        configuration.decodingPrefillChunk = 8
        let engine = BatchEngine(model: recording, tokenizer: tokenizer, configuration: configuration, metrics: ServerMetrics())
        defer { engine.shutdown() }

        var handles: [JobHandle] = []
        for k in 0..<4 {
            let job = GenerationJob(promptTokens: [1, 44 + k], options: GenerationOptions(sampling: .greedy, maxTokens: 80, stopTokens: []))
            handles.append(try engine.submit(job))
        }
        let long = (0..<2).map { k in (1...150).map { ($0 * 97 + k * 13) % 60000 + 1 } }
        for prompt in long {
            handles.append(try engine.submit(GenerationJob(promptTokens: prompt, options: GenerationOptions(sampling: .greedy, maxTokens: 3, stopTokens: []))))
        }
        var results: [(text: String, reason: FinishReason?, usage: JobUsage?, error: APIError?)] = []
        for handle in handles { results.append(await collect(handle)) }
        for r in results { #expect(r.error == nil && r.reason == .length) }

        // Decode segments come first in a call (one token each); what follows is prefill.
        var joinedWhileDecoding = 0
        for call in recording.calls {
            let decoding = call.prefix { $0 == 1 }.count
            guard decoding > 0, decoding < call.count else { continue }
            let prefill = call.dropFirst(decoding).reduce(0, +)
            #expect(prefill <= max(8, decoding), "an iteration with \(decoding) decoding streams prefilled \(prefill) prompt tokens: \(call)")
            joinedWhileDecoding += 1
        }
        #expect(joinedWhileDecoding >= 2 * 150 / 8 - 8, "the long prompts were not prefilled next to decoding streams")

        // Prefilled in pieces, the long prompts still continue exactly as alone.
        for (k, prompt) in long.enumerated() {
            let expected = try alone(model, prompt, steps: 3)
            #expect(results[4 + k].usage?.tokens == expected, "long prompt \(k)")
        }
    }
}
