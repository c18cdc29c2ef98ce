import Foundation
import Hummingbird
import HummingbirdTesting
import LFMChat
import LFMGeneration
@testable import LFMServer
import Testing

/// Tool calls in the Qwen3 / Llama 3 formats and Qwen3 reasoning through the server.
@Suite(.serialized) struct OutputFormatServerTests {
    static let qwen3 = ChatOutputFormat(toolCalls: .hermes, reasoning: .think)

    static func server(format: ChatOutputFormat?, template file: String? = nil) throws -> OpenAIServer {
        let (model, tokenizer, lfm2Template) = try TestModel.get()
        let template = try file.map {
            try ChatTemplate(String(contentsOf: TestModel.testsRoot.appendingPathComponent("LFMChatTests/Fixtures/templates/\($0)"), encoding: .utf8))
        } ?? lfm2Template
        return OpenAIServer(model: model, tokenizer: tokenizer, template: template, bosToken: "<|startoftext|>", eosToken: "<|im_end|>",
                            engine: EngineConfiguration(maxBatch: 2, maxQueue: 4, maxContext: 512),
                            options: ServerOptions(servedModel: "tiny-lfm2", outputFormat: format))
    }

    /// Serves `answer` as the model's forced output (then `<|im_end|>`) in `format`, whole and streamed.
    static func serve(_ answer: String, format: ChatOutputFormat, prompt: String = "<|im_start|>assistant\n")
        async throws -> (whole: Value, chunks: [Value]) {
        let server = try server(format: format)
        defer { server.engine.shutdown() }
        let tokenizer = server.prompt.tokenizer
        let endOfTurn = try #require(tokenizer.id(for: "<|im_end|>"))
        let forced = tokenizer.encode(answer, addSpecialTokens: false) + [endOfTurn]
        @Sendable func submit() throws -> JobHandle {
            try server.engine.submit(GenerationJob(promptTokens: tokenizer.encode(prompt, addSpecialTokens: false),
                                                   options: GenerationOptions(sampling: .greedy, maxTokens: forced.count + 4, outputFormat: format),
                                                   forcedPrefixes: [forced]))
        }
        let router = Router()
        router.post("/whole") { _, _ in
            let handle = try submit()
            return try await server.respond(events: handle.events, cancel: { handle.cancel() }, chat: true, model: "m", stream: false, includeUsage: false)
        }
        router.post("/stream") { _, _ in
            let handle = try submit()
            return try await server.respond(events: handle.events, cancel: { handle.cancel() }, chat: true, model: "m", stream: true, includeUsage: false)
        }
        return try await Application(router: router).test(.router) { client in
            let whole = try await client.execute(uri: "/whole", method: .post) { try json($0) }
            let events = try await client.execute(uri: "/stream", method: .post) { sseEvents(String(buffer: $0.body)) }
            #expect(events.last == "[DONE]")
            return (whole, try events.dropLast().map { try Value.parseJSON($0) })
        }
    }

    @Test func qwen3ReasoningAndToolCallsFromTheEngine() async throws {
        let answer = "<think>\nThe user wants the weather in Paris.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": [1, 2]}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"Europe/Paris\"}}\n</tool_call>"
        let (whole, chunks) = try await Self.serve(answer, format: Self.qwen3)
        let choice = whole["choices"]?[0]
        #expect(choice?["finish_reason"]?.string == "tool_calls")
        let message = choice?["message"]
        #expect(message?.keys == ["role", "reasoning_content", "content", "tool_calls"])
        #expect(message?["reasoning_content"]?.string == "The user wants the weather in Paris.")
        #expect(message?["content"]?.isNull == true)
        let calls = message?["tool_calls"]?.array ?? []
        #expect(calls.map { $0["function"]?["name"]?.string ?? "" } == ["get_weather", "get_time"])
        // Arguments are a JSON string, as in OpenAI's API.
        let arguments = try #require(calls.first?["function"]?["arguments"]?.string)
        #expect(arguments == #"{"city": "Paris", "days": [1, 2]}"#)
        #expect(try Value.parseJSON(arguments) == .dict([("city", "Paris"), ("days", .array([1, 2]))]))

        let reasoning = chunks.compactMap { $0["choices"]?[0]?["delta"]?["reasoning_content"]?.string }.joined()
        #expect(reasoning == "The user wants the weather in Paris.")
        let content = chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.string }.joined()
        #expect(content.isEmpty, "no call or think text in the content: \(content)")
        let deltas = chunks.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
        #expect(deltas.map { $0["index"]?.int ?? -1 } == [0, 1])
        #expect(deltas.map { $0["function"]?["arguments"]?.string ?? "" } == [arguments, #"{"zone": "Europe/Paris"}"#])
        #expect(chunks.last?["choices"]?[0]?["finish_reason"]?.string == "tool_calls")
    }

    @Test func promptOpenedThinkingThenAnAnswer() async throws {
        let (whole, _) = try await Self.serve("Short answer ✓\n</think>\n\nBonjour !", format: Self.qwen3,
                                              prompt: "<|im_start|>assistant\n<think>\n")
        let message = whole["choices"]?[0]?["message"]
        #expect(message?["reasoning_content"]?.string == "Short answer ✓")
        #expect(message?["content"]?.string == "Bonjour !")
        #expect(whole["choices"]?[0]?["finish_reason"]?.string == "stop")
    }

    @Test func llamaToolCallFromTheEngine() async throws {
        let (whole, chunks) = try await Self.serve("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Zürich\"}}",
                                                   format: ChatOutputFormat(toolCalls: .llama3))
        let message = whole["choices"]?[0]?["message"]
        #expect(message?.keys == ["role", "content", "tool_calls"], "no reasoning_content without reasoning")
        #expect(message?["tool_calls"]?[0]?["function"]?["arguments"]?.string == #"{"city": "Zürich"}"#)
        #expect(whole["choices"]?[0]?["finish_reason"]?.string == "tool_calls")
        #expect(!chunks.contains { $0["choices"]?[0]?["delta"]?["reasoning_content"] != nil })
        // A malformed call is answer text (the warning stays on the server).
        let (broken, _) = try await Self.serve("{\"name\": \"get_weather\", \"parameters\": {\"city\": Zürich}}", format: ChatOutputFormat(toolCalls: .llama3))
        #expect(broken["choices"]?[0]?["message"]?["content"]?.string == "{\"name\": \"get_weather\", \"parameters\": {\"city\": Zürich}}")
        #expect(broken["choices"]?[0]?["finish_reason"]?.string == "stop")
    }

    @Test func formatDetectionAndEarlierCallsInTheFamilysSyntax() throws {
        let lfm2 = try Self.server(format: nil)
        defer { lfm2.engine.shutdown() }
        #expect(lfm2.prompt.outputFormat == .lfm2)
        let qwen = try Self.server(format: nil, template: "qwen3_tools.jinja")
        defer { qwen.engine.shutdown() }
        #expect(qwen.prompt.outputFormat == Self.qwen3)
        let overridden = try Self.server(format: ChatOutputFormat(toolCalls: .llama3), template: "qwen3_tools.jinja")
        defer { overridden.engine.shutdown() }
        #expect(overridden.prompt.outputFormat == ChatOutputFormat(toolCalls: .llama3))

        let request = Value.dict([("model", "tiny-lfm2"), ("messages", .array([
            .dict([("role", "user"), ("content", "Weather in Paris?")]),
            .dict([("role", "assistant"), ("content", .none), ("tool_calls", .array([.dict([("id", "call_1"), ("type", "function"), ("function", .dict([
                ("name", "get_weather"), ("arguments", #"{"city": "Paris"}"#)]))])]))]),
            .dict([("role", "tool"), ("tool_call_id", "call_1"), ("content", "sunny")]),
        ]))])
        let parsed = try RequestParser.chat(request, context: qwen.prompt)
        #expect(parsed.options.outputFormat == Self.qwen3)
        let prompt = try qwen.prompt.tokenizer.decode(parsed.promptTokens)
        #expect(prompt.contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>"), "\(prompt)")
        #expect(prompt.contains("<tool_response>\nsunny\n</tool_response>"))
        // tool_choice forces the start of a call in the family's syntax.
        let tools: Value = .array(["get_weather", "get_time"].map { .dict([("type", "function"), ("function", .dict([("name", .string($0))]))]) })
        let required = Value.dict([("model", "tiny-lfm2"), ("messages", .array([.dict([("role", "user"), ("content", "Weather?")])])),
                                   ("tools", tools), ("tool_choice", "required")])
        let forced = try RequestParser.chat(required, context: qwen.prompt).forcedPrefixes.map { try qwen.prompt.tokenizer.decode($0) }
        #expect(forced == ["<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ", "<tool_call>\n{\"name\": \"get_time\", \"arguments\": "])
        let named = Value.dict([("model", "tiny-lfm2"), ("messages", .array([.dict([("role", "user"), ("content", "Weather?")])])),
                                ("tools", tools), ("tool_choice", .dict([("type", "function"), ("function", .dict([("name", "get_time")]))]))])
        let llamaForced = try RequestParser.chat(named, context: overridden.prompt).forcedPrefixes.map { try overridden.prompt.tokenizer.decode($0) }
        #expect(llamaForced == ["{\"name\": \"get_time\", \"parameters\": "])
        // The LFM2 server writes the same call in LFM2's syntax.
        let lfm2Prompt = try lfm2.prompt.tokenizer.decode(try RequestParser.chat(request, context: lfm2.prompt).promptTokens)
        #expect(lfm2Prompt.contains("<|tool_call_start|>[get_weather(city=\"Paris\")]<|tool_call_end|>"))
    }
}
