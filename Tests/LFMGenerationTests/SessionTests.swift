import Foundation
import Testing
import LFMChat
import LFMCore
import LFMFormats
import LFMModels
import LFMTokenizer
@testable import LFMGeneration

/// A small random LFM2 with the real LFM2 tokenizer and chat template (made in a temporary folder).
enum ChatModel {
    static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    static let shared: (DecoderModel, Tokenizer, ChatTemplate) = {
        do { return try make() } catch { preconditionFailure("test model: \(error)") }
    }()

    static func make() throws -> (DecoderModel, Tokenizer, ChatTemplate) {
        let tokenizer = try Tokenizer(contentsOf: testsRoot.appendingPathComponent("LFMTokenizerTests/Fixtures/lfm2/tokenizer.json"))
        let template = try ChatTemplate(String(contentsOf: testsRoot.appendingPathComponent("LFMChatTests/Fixtures/lfm2/chat_template.jinja"), encoding: .utf8))
        let configuration = LFM2Configuration(vocabularySize: 65536, hiddenSize: 16, layerKinds: [.conv, .attention, .conv],
                                              attentionHeads: 2, keyValueHeads: 1, headDim: 8, feedForwardSize: 32,
                                              maxPositionEmbeddings: 4096, eosTokenIds: [7])
        var writer = SafeTensorsWriter()
        var state: UInt64 = 99
        func next() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float(Double((z ^ (z >> 31)) >> 11) / Double(1 << 53) * 2 - 1)
        }
        for role in LFM2Tensor.all(configuration) {
            let shape = role.shape(configuration)
            let count = shape.reduce(1, *)
            let values: [Float] = role.isVector ? (0..<count).map { _ in 1 + 0.1 * next() }
                : (0..<count).map { _ in next() * 1.7 / Float(shape.last!).squareRoot() }
            writer.add(role.huggingFaceName, shape: shape, values: values)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-chat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        var c = configuration
        let weights = try LFM2Weights.load(from: checkpoint, sourceName: directory.path, configuration: &c)
        return (DecoderModel(configuration: c, weights: weights, backend: LFMKernelsBackend.make()), tokenizer, template)
    }

    static func session() -> InferenceSession {
        let (model, tokenizer, template) = shared
        return InferenceSession(model: model, tokenizer: tokenizer, template: template)
    }
}

import LFMKernels
enum LFMKernelsBackend { static func make() -> ComputeBackend { CPUBackend(threads: 2) } }

/// Collects a stream.
func collect(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws -> (text: String, calls: [ToolCall], finish: FinishReason?, stats: GenerationStatistics?) {
    var text = "", calls: [ToolCall] = [], finish: FinishReason?, stats: GenerationStatistics?
    for try await event in stream {
        switch event {
        case .text(let t): text += t
        case .toolCall(let c): calls.append(c)
        case .warning, .reasoning: break
        case .finished(let r, let s): finish = r; stats = s
        }
    }
    return (text, calls, finish, stats)
}

@Suite(.serialized) struct SessionTests {
    let options = GenerationOptions(sampling: .greedy, maxTokens: 12, stopTokens: [])

    @Test func followUpTurnEqualsReprocessingTheConversation() async throws {
        let session = ChatModel.session()
        var messages = [ChatMessage(role: "system", text: "You are terse."), ChatMessage(role: "user", text: "Hello there")]
        let first = try await collect(session.respond(to: messages, options: options))
        #expect(first.finish == .length && first.stats?.completionTokens == 12)
        messages.append(ChatMessage(role: "assistant", text: first.text))
        messages.append(ChatMessage(role: "user", text: "And then?"))
        let second = try await collect(session.respond(to: messages, options: options))
        #expect((second.stats?.reusedPromptTokens ?? 0) > 0, "the follow-up reused no state")

        let fresh = ChatModel.session()
        let reference = try await collect(fresh.respond(to: messages, options: options))
        #expect(reference.stats?.reusedPromptTokens == 0)
        #expect(second.text == reference.text)
        #expect(second.stats?.promptTokens == reference.stats?.promptTokens)
    }

    @Test func divergingPromptRestoresTheBoundarySnapshot() async throws {
        let session = ChatModel.session()
        let tokenizer = ChatModel.shared.1
        let prompt = tokenizer.encode("<|startoftext|>The quick brown fox", addSpecialTokens: false)
        _ = try await collect(session.generate(promptTokens: prompt, options: options))
        // Extends the prompt but not the generated tokens: the snapshot after the prompt is reused.
        let longer = prompt + tokenizer.encode(" jumps over", addSpecialTokens: false)
        let resumed = try await collect(session.generate(promptTokens: longer, options: options))
        #expect(resumed.stats?.reusedPromptTokens == prompt.count)
        let fresh = try await collect(ChatModel.session().generate(promptTokens: longer, options: options))
        #expect(resumed.text == fresh.text)
    }

    @Test func secondConcurrentGenerateIsRejected() async throws {
        let session = ChatModel.session()
        let prompt = [1, 6, 423, 1024]
        let stream = try await session.generate(promptTokens: prompt, options: GenerationOptions(maxTokens: 50, stopTokens: []))
        await #expect(throws: SessionError.busy) { _ = try await session.generate(promptTokens: prompt) }
        _ = try await collect(stream)
        // Free again once the first finished.
        _ = try await collect(session.generate(promptTokens: prompt, options: options))
    }

    @Test func cancellingTheConsumerStopsGeneration() async throws {
        let session = ChatModel.session()
        let consumer = Task {
            var count = 0
            for try await event in try await session.generate(promptTokens: [1, 6, 9], options: GenerationOptions(maxTokens: 3000, stopTokens: [])) {
                if case .text = event { count += 1 }
                if count == 3 { break }
            }
            return count
        }
        #expect(try await consumer.value == 3)
        // The loop notices within a step; the session becomes free.
        var free = false
        for _ in 0..<200 where !free {
            do { _ = try await session.generate(promptTokens: [1], options: GenerationOptions(maxTokens: 1)); free = true } catch {
                try await Task.sleep(nanoseconds: 5_000_000)
            }
        }
        #expect(free)
        #expect(await session.processedTokens.count < 100)
    }

    @Test func seededSamplingIsDeterministic() async throws {
        let sampling = SamplingParameters(temperature: 0.8, topK: 50, seed: 1234)
        let a = try await collect(ChatModel.session().generate(promptTokens: [1, 6, 1422], options: GenerationOptions(sampling: sampling, maxTokens: 20, stopTokens: [])))
        let b = try await collect(ChatModel.session().generate(promptTokens: [1, 6, 1422], options: GenerationOptions(sampling: sampling, maxTokens: 20, stopTokens: [])))
        #expect(a.text == b.text && !a.text.isEmpty)
    }

    @Test func promptLongerThanTheContextIsAClearError() async throws {
        let (model, tokenizer, template) = ChatModel.shared
        let session = InferenceSession(model: model, tokenizer: tokenizer, template: template, maxContext: 8)
        await #expect(throws: InferenceError.contextLengthExceeded(requested: 10, limit: 8)) {
            _ = try await session.generate(promptTokens: Array(repeating: 5, count: 10))
        }
        await #expect(throws: SessionError.emptyPrompt) { _ = try await session.generate(promptTokens: []) }
    }
}

@Suite struct StopStringTests {
    @Test func stopAcrossChunkBoundaries() {
        var matcher = StopStringMatcher(["</end>", "STOP"])
        var out = ""
        var stopped = false
        for chunk in ["Hello </", "en", "d> more"] where !stopped {
            let (text, hit) = matcher.feed(chunk)
            out += text
            stopped = hit
        }
        #expect(out == "Hello " && stopped)
    }

    @Test func partialMatchesAreReleased() {
        var matcher = StopStringMatcher(["STOP"])
        #expect(matcher.feed("ST").text == "")
        #expect(matcher.feed("ART").text == "START")
        #expect(matcher.feed("S").text == "")
        #expect(matcher.flush() == "S")
    }
}
