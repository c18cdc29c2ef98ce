import Foundation
import LFMChat
import LFMGeneration
import LFMModels
@testable import LFMServer
import Testing

/// One generation's result, from either loop.
private struct Outcome: Equatable, CustomStringConvertible {
    var tokens: [Int]
    var text: String
    var reason: FinishReason?
    var completionTokens: Int

    var description: String { "\(reason.map(\.rawValue) ?? "nil") \(completionTokens) \(tokens) \(text.debugDescription)" }
}

/// The server's batch engine and `InferenceSession` share `TokenStepper`: for the same model, prompt,
/// seed and options they generate the same tokens, text and finish reason.
@Suite(.serialized) struct LoopParityTests {
    static let prompt = [1, 520, 3093, 18, 44, 9000]

    private func server(_ options: GenerationOptions) async throws -> Outcome {
        let server = try TestModel.server(maxBatch: 2, prefixCache: 0)
        defer { server.engine.shutdown() }
        let handle = try server.engine.submit(GenerationJob(promptTokens: Self.prompt, options: options))
        let result = await collect(handle)
        #expect(result.error == nil)
        let usage = try #require(result.usage)
        return Outcome(tokens: usage.tokens, text: result.text, reason: result.reason, completionTokens: usage.completionTokens)
    }

    private func session(_ options: GenerationOptions) async throws -> Outcome {
        let (model, tokenizer, template) = try TestModel.get()
        let session = InferenceSession(model: model, tokenizer: tokenizer, template: template, maxContext: 1024)
        var text = "", reason: FinishReason?, completion = 0
        for try await event in try await session.generate(promptTokens: Self.prompt, options: options) {
            switch event {
            case .text(let t): text += t
            case .finished(let r, let statistics): reason = r; completion = statistics.completionTokens
            case .reasoning, .toolCall, .warning: break
            }
        }
        // The session feeds every generated token but the last to the model.
        let processed = await session.processedTokens
        return Outcome(tokens: Array(processed.dropFirst(Self.prompt.count)), text: text, reason: reason, completionTokens: completion)
    }

    /// Runs both loops; the server's tokens, less the last, are the ones the session fed the model.
    private func compare(_ options: GenerationOptions, _ label: String) async throws -> Outcome {
        var options = options
        options.outputFormat = .lfm2
        let byServer = try await server(options)
        let bySession = try await session(options)
        var expected = byServer
        expected.tokens = Array(byServer.tokens.dropLast())
        #expect(bySession == expected, "\(label): server \(byServer), session \(bySession)")
        #expect(byServer.tokens.count == byServer.completionTokens, "\(label)")
        return byServer
    }

    @Test func greedyAndSeededSamplingAgree() async throws {
        let greedy = try await compare(GenerationOptions(sampling: .greedy, maxTokens: 12, stopTokens: []), "greedy")
        #expect(greedy.reason == .length && greedy.completionTokens == 12)
        let sampled = SamplingParameters(temperature: 0.9, topK: 50, topP: 0.95, repetitionPenalty: 1.1, seed: 42)
        let first = try await compare(GenerationOptions(sampling: sampled, maxTokens: 12, stopTokens: []), "seeded")
        #expect(first.reason == .length && first.completionTokens == 12)
        var other = sampled
        other.seed = 43
        let second = try await compare(GenerationOptions(sampling: other, maxTokens: 12, stopTokens: []), "seeded 43")
        #expect(first.tokens != second.tokens, "the seed changes the sample, so the comparison can tell loops apart")
    }

    @Test func aStopTokenEndsBothAtTheSamePlace() async throws {
        let free = try await compare(GenerationOptions(sampling: .greedy, maxTokens: 12, stopTokens: []), "free")
        // The first token that is new at position 2 or later becomes a stop token.
        let at = try #require(free.tokens.indices.first { $0 >= 2 && !free.tokens[..<$0].contains(free.tokens[$0]) })
        let stop = free.tokens[at]
        let stopped = try await compare(GenerationOptions(sampling: .greedy, maxTokens: 12, stopTokens: [stop]), "stop token")
        #expect(stopped.reason == .stop && stopped.completionTokens == at + 1 && stopped.tokens.last == stop)
    }

    @Test func aJSONSchemaAgrees() async throws {
        let schema = try JSONSchema(json: #"{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer","minimum":0,"maximum":9}},"required":["ok","n"],"additionalProperties":false}"#)
        for seed in [UInt64(0), 7] {
            let sampling = seed == 0 ? SamplingParameters.greedy : SamplingParameters(temperature: 0.8, seed: seed)
            let outcome = try await compare(GenerationOptions(sampling: sampling, maxTokens: 40, responseFormat: schema), "schema \(seed)")
            #expect(outcome.reason == .stop && (try? Value.parseJSON(outcome.text)) != nil, "schema \(seed): \(outcome)")
        }
    }

    @Test func budgetsOfZeroAndOneAgree() async throws {
        let none = try await compare(GenerationOptions(sampling: .greedy, maxTokens: 0, stopTokens: []), "maxTokens 0")
        #expect(none == Outcome(tokens: [], text: "", reason: .length, completionTokens: 0))
        let one = try await compare(GenerationOptions(sampling: .greedy, maxTokens: 1, stopTokens: []), "maxTokens 1")
        #expect(one.reason == .length && one.completionTokens == 1)
    }
}
