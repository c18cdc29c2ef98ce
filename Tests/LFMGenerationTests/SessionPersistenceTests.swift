import Foundation
import Testing
import LFMChat
import LFMCore
import LFMModels
@testable import LFMGeneration

/// `InferenceSession.save/load`: a resumed conversation continues exactly as one that never stopped.
@Suite struct SessionPersistenceTests {
    let identity = ModelIdentity(high: 42, low: 7)
    let options = GenerationOptions(sampling: SamplingParameters(temperature: 0.8, topK: 20, seed: 1234), maxTokens: 12, stopTokens: [])

    func temporaryFile() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-session-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("chat.lfmc").path
    }

    func turn(_ session: InferenceSession, _ messages: [ChatMessage]) async throws -> String {
        try await collect(session.respond(to: messages, options: options)).text
    }

    func bits(_ values: [Float]?) -> [UInt32] { (values ?? []).map(\.bitPattern) }

    @Test func resumedSessionContinuesIdentically() async throws {
        let path = try temporaryFile()
        let first = [ChatMessage(role: "system", text: "Be brief."), ChatMessage(role: "user", text: "Hello there")]
        // Uninterrupted: two turns in one session.
        let uninterrupted = ChatModel.session()
        let answer1 = try await turn(uninterrupted, first)
        try await uninterrupted.save(to: path, model: identity, applicationData: Array("transcript".utf8))
        let second = first + [ChatMessage(role: "assistant", text: answer1), ChatMessage(role: "user", text: "And then?")]
        let answer2 = try await turn(uninterrupted, second)

        // Resumed: a new session loads the file and takes the second turn.
        let resumed = ChatModel.session()
        let data = try await resumed.load(from: path, model: identity)
        #expect(data == Array("transcript".utf8))
        let answer2Resumed = try await turn(resumed, second)
        #expect(answer2Resumed == answer2)
        #expect(await resumed.processedTokens == uninterrupted.processedTokens)
        #expect(bits(await resumed.lastLogits) == bits(await uninterrupted.lastLogits))
        #expect(await resumed.state == uninterrupted.state)
        #expect(await resumed.boundary?.tokens == uninterrupted.boundary?.tokens)
        #expect(bits(await resumed.boundary?.logits) == bits(await uninterrupted.boundary?.logits))
    }

    @Test func loadRestoresTheBoundarySnapshot() async throws {
        let path = try temporaryFile()
        let session = ChatModel.session()
        _ = try await turn(session, [ChatMessage(role: "user", text: "Hi")])
        try await session.save(to: path, model: identity)
        let resumed = ChatModel.session()
        try await resumed.load(from: path, model: identity)
        #expect(await resumed.state == session.state)
        #expect(await resumed.boundary?.state == session.boundary?.state)
        #expect(await resumed.boundary?.tokens == session.boundary?.tokens)
        // A prompt that diverges after the boundary (the answer re-rendered differently) restores the boundary.
        let diverging = [ChatMessage(role: "user", text: "Hi"), ChatMessage(role: "assistant", text: "zzz"),
                         ChatMessage(role: "user", text: "again")]
        let a = try await collect(session.respond(to: diverging, options: options))
        let b = try await collect(resumed.respond(to: diverging, options: options))
        #expect(a.text == b.text)
        #expect(a.stats?.reusedPromptTokens == b.stats?.reusedPromptTokens)
    }

    @Test func unusableFilesLeaveTheSessionUnchanged() async throws {
        let path = try temporaryFile()
        let session = ChatModel.session()
        _ = try await turn(session, [ChatMessage(role: "user", text: "Hi")])
        try await session.save(to: path, model: identity)
        let other = ChatModel.session()
        _ = try await turn(other, [ChatMessage(role: "user", text: "Something else entirely")])
        let before = await other.processedTokens
        // Wrong model.
        await #expect(throws: CacheFileError.self) { try await other.load(from: path, model: ModelIdentity(high: 1, low: 1)) }
        // Truncated and corrupted copies.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try Data(bytes.prefix(bytes.count - 100)).write(to: URL(fileURLWithPath: path + ".cut"))
        await #expect(throws: CacheFileError.self) { try await other.load(from: path + ".cut", model: identity) }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0xFF
        try Data(flipped).write(to: URL(fileURLWithPath: path + ".flip"))
        await #expect(throws: CacheFileError.self) { try await other.load(from: path + ".flip", model: identity) }
        await #expect(throws: CacheFileError.self) { try await other.load(from: path + ".missing", model: identity) }
        #expect(await other.processedTokens == before)
        // A session with a smaller context refuses a longer saved conversation.
        let (model, tokenizer, template) = ChatModel.shared
        let small = InferenceSession(model: model, tokenizer: tokenizer, template: template, maxContext: 4)
        await #expect(throws: CacheFileError.self) { try await small.load(from: path, model: identity) }
    }
}
