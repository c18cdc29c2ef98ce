import Foundation
import Testing
import LFMChat
import LFMModels
@testable import LFMGeneration

/// A chat session under a bounded KV cache policy: conversations past the context, constant memory.
@Suite struct KVPolicySessionTests {
    @Test func conversationOutgrowsTheContextUnderStreaming() async throws {
        let (model, tokenizer, template) = ChatModel.shared
        let policy = KVCachePolicy.streaming(sinks: 2, window: 16)
        let session = InferenceSession(model: model, tokenizer: tokenizer, template: template, maxContext: 40, cachePolicy: policy)
        let options = GenerationOptions(sampling: .greedy, maxTokens: 60, stopTokens: [])
        var messages = [ChatMessage(role: "user", text: "Tell me a long story about the sea and ships.")]
        let first = try await collect(session.respond(to: messages, options: options))
        #expect(first.finish == .length && first.stats?.completionTokens == 60)
        messages.append(ChatMessage(role: "assistant", text: first.text))
        messages.append(ChatMessage(role: "user", text: "Go on."))
        let second = try await collect(session.respond(to: messages, options: options))
        #expect(second.finish == .length && second.stats?.completionTokens == 60)
        #expect((second.stats?.promptTokens ?? 0) > 40, "the conversation is longer than the context")
        #expect((second.stats?.reusedPromptTokens ?? 0) > 0, "the follow-up continued the bounded state")
        let processed = await session.processedTokens.count
        #expect(processed > 100)

        // The same conversation with the full cache does not fit.
        let full = InferenceSession(model: model, tokenizer: tokenizer, template: template, maxContext: 40)
        let answer = try await collect(full.respond(to: [messages[0]], options: options))
        #expect(answer.finish == .length && (answer.stats?.completionTokens ?? 0) < 60)
    }
}
