import Foundation
import Testing
import LFMChat
import LFMTokenizer
@testable import LFMGeneration

/// A byte-level tokenizer with one token per byte (GPT-2's byte alphabet, no merges), optionally with
/// the families' markers as special added tokens, so that a text's tokens split it at every byte.
enum ByteTokenizer {
    static let markers = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<|python_tag|>", "<|im_end|>",
                          "<|tool_call_start|>", "<|tool_call_end|>"]

    static func make(markersAsTokens: Bool) throws -> Tokenizer {
        // GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others for 256 + n.
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var scalars = printable
        var n = 0
        for byte in 0..<256 where !printable.contains(byte) {
            printable.append(byte)
            scalars.append(256 + n)
            n += 1
        }
        var vocabulary: [String: Int] = [:]
        for (byte, scalar) in zip(printable, scalars) {
            vocabulary[String(Character(Unicode.Scalar(UInt32(scalar))!))] = byte
        }
        let added = markersAsTokens ? markers.enumerated().map { AddedToken(id: 256 + $0.offset, content: $0.element, special: true) } : []
        return try Tokenizer(vocabulary: vocabulary, merges: [], addedTokens: added, preTokenizer: .gpt2)
    }
}

/// Joins adjacent text and adjacent reasoning events.
func joined(_ events: [GenerationEvent]) -> [GenerationEvent] {
    var out: [GenerationEvent] = []
    for event in events {
        switch (event, out.last) {
        case (.text(let t), .text(let p)?): out[out.count - 1] = .text(p + t)
        case (.reasoning(let t), .reasoning(let p)?): out[out.count - 1] = .reasoning(p + t)
        case (.text(""), _), (.reasoning(""), _): break
        default: out.append(event)
        }
    }
    return out
}

/// The events of generating `answer` token by token through an output filter.
func filtered(_ answer: String, tokenizer: Tokenizer, format: ChatOutputFormat, prompt: String = "",
              stopStrings: [String] = [], parseToolCalls: Bool = true) -> (events: [GenerationEvent], sawToolCall: Bool) {
    var filter = OutputFilter(tokenizer: tokenizer, stopStrings: stopStrings, parseToolCalls: parseToolCalls, format: format,
                              promptTokens: tokenizer.encode(prompt, addSpecialTokens: false))
    var events: [GenerationEvent] = []
    for id in tokenizer.encode(answer, addSpecialTokens: false) where !filter.stopped {
        events += filter.feed(id)
    }
    events += filter.finish()
    return (joined(events), filter.sawToolCall)
}

/// What the whole answer gives through the text-level reference (reasoning split, then tool calls).
func reference(_ answer: String, format: ChatOutputFormat, startsInside: Bool = false) -> [GenerationEvent] {
    var events: [GenerationEvent] = []
    var rest = answer
    if let markers = format.reasoning {
        let (reasoning, text) = ReasoningSplitter.split(answer, markers: markers, startsInside: startsInside)
        if let reasoning, !reasoning.isEmpty { events.append(.reasoning(reasoning)) }
        rest = text
    }
    guard var parser = ToolCallStreamParser(format: format.toolCalls) else { return events }
    for event in parser.feed(rest) + parser.finish() {
        switch event {
        case .text(let t): events.append(.text(t))
        case .call(let c): events.append(.toolCall(c))
        case .malformed(let t, let e): events += [.warning("malformed tool call passed on as text: \(e)"), .text(t)]
        }
    }
    return joined(events)
}

@Suite struct OutputFormatFilterTests {
    let qwen3 = ChatOutputFormat(toolCalls: .hermes, reasoning: .think)
    let llama = ChatOutputFormat(toolCalls: .llama3)
    let weather = ToolCall(name: "get_weather", arguments: .dict([("city", "Paris"), ("when", "今日")]))

    @Test func qwen3ThinkingThenCallsAtEveryTokenBoundary() throws {
        let answer = "<think>\nThe user wants the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"when\": \"今日\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"
        let expected: [GenerationEvent] = [.reasoning("The user wants the weather."), .toolCall(weather),
                                           .toolCall(ToolCall(name: "get_time", arguments: .dict([])))]
        for markersAsTokens in [true, false] {
            let tokenizer = try ByteTokenizer.make(markersAsTokens: markersAsTokens)
            let result = filtered(answer, tokenizer: tokenizer, format: qwen3)
            #expect(result.events == expected, "markers as tokens: \(markersAsTokens)")
            #expect(result.sawToolCall)
        }
        #expect(reference(answer, format: qwen3) == expected)
    }

    @Test func promptThatOpensTheBlock() throws {
        let tokenizer = try ByteTokenizer.make(markersAsTokens: true)
        let answer = "Keep it short ✓\n</think>\n\nHello there!"
        let result = filtered(answer, tokenizer: tokenizer, format: qwen3, prompt: "<|im_start|>assistant\n<think>\n")
        #expect(result.events == [.reasoning("Keep it short ✓"), .text("Hello there!")])
        #expect(!result.sawToolCall)
        // The same answer after a prompt that does not open the block is plain text.
        #expect(filtered(answer, tokenizer: tokenizer, format: qwen3).events == [.text(answer)])
    }

    @Test func llamaCallsAndMalformedCallsAtEveryTokenBoundary() throws {
        for markersAsTokens in [true, false] {
            let tokenizer = try ByteTokenizer.make(markersAsTokens: markersAsTokens)
            let tagged = "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"when\": \"今日\"}}"
            #expect(filtered(tagged, tokenizer: tokenizer, format: llama).events == [.toolCall(weather)])
            let plain = "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"when\": \"今日\"}}"
            #expect(filtered(plain, tokenizer: tokenizer, format: llama).events == [.toolCall(weather)])
            let broken = "{\"name\": \"get_weather\", \"parameters\": {\"city\": Paris}}"
            let events = filtered(broken, tokenizer: tokenizer, format: llama).events
            #expect(events.count == 2)
            if case .warning(let message)? = events.first { #expect(message.contains("malformed tool call")) } else { Issue.record("no warning: \(events)") }
            #expect(events.last == .text(broken))
            #expect(events == reference(broken, format: llama))
            let answer = "Paris is sunny today."
            #expect(filtered(answer, tokenizer: tokenizer, format: llama).events == [.text(answer)])
        }
    }

    @Test func tokenStreamEqualsTheWholeTextReference() throws {
        let tokenizer = try ByteTokenizer.make(markersAsTokens: true)
        let answers = [
            "<think>a</think>b <tool_call>{\"name\": \"f\", \"arguments\": {\"x\": [1, {\"y\": null}]}}</tool_call> c",
            "<think>\n</think>\n\nNo tools needed.\n",
            "Text first <tool_call>{\"name\": \"f\"}</tool_call><tool_call>{bad json}</tool_call> tail",
            "<think>only thinking, cut off",
            "<tool_call>{\"name\": \"f\", \"arguments\": {}",
        ]
        for answer in answers {
            #expect(filtered(answer, tokenizer: tokenizer, format: qwen3).events == reference(answer, format: qwen3), "\(answer)")
        }
        for answer in ["  {\"type\": \"function\", \"name\": \"f\", \"parameters\": {}}; {\"name\": \"g\", \"parameters\": {\"a\": 1}}",
                       "{\"answer\": 42}", "<|python_tag|>brave_search.call(query=\"x\")", "<|python_tag|>print(1)"] {
            #expect(filtered(answer, tokenizer: tokenizer, format: llama).events == reference(answer, format: llama), "\(answer)")
        }
    }

    @Test func stopStringsAndDisabledParsing() throws {
        let tokenizer = try ByteTokenizer.make(markersAsTokens: true)
        // Stop strings end the answer text; reasoning is not cut by them.
        let stopped = filtered("<think>a STOP b</think>ok STOP more", tokenizer: tokenizer, format: qwen3, stopStrings: ["STOP"])
        #expect(stopped.events == [.reasoning("a STOP b"), .text("ok ")])
        // Without tool-call parsing the call text is answer text; reasoning is still separated.
        let answer = "<think>x</think><tool_call>{\"name\": \"f\"}</tool_call>"
        #expect(filtered(answer, tokenizer: tokenizer, format: qwen3, parseToolCalls: false).events
                == [.reasoning("x"), .text("<tool_call>{\"name\": \"f\"}</tool_call>")])
        // LFM2's format ignores <think> markers and other families' calls.
        #expect(filtered(answer, tokenizer: tokenizer, format: .lfm2).events == [.text(answer)])
    }

    @Test func optionsPickTheFormatAndConstrainedOutputHasNoReasoning() throws {
        let tokenizer = try ByteTokenizer.make(markersAsTokens: true)
        let prompt = tokenizer.encode("<|im_start|>assistant\n<think>\n", addSpecialTokens: false)
        let answer = tokenizer.encode("{\"a\": 1}", addSpecialTokens: false)
        func run(_ options: GenerationOptions) -> [GenerationEvent] {
            var filter = options.makeOutputFilter(tokenizer: tokenizer, promptTokens: prompt, defaultFormat: .lfm2)
            return joined(answer.flatMap { filter.feed($0) } + filter.finish())
        }
        #expect(run(GenerationOptions(outputFormat: qwen3)) == [.reasoning("{\"a\": 1}")])
        #expect(run(GenerationOptions()) == [.text("{\"a\": 1}")])
        let schema = try JSONSchema(json: #"{"type": "object"}"#)
        #expect(run(GenerationOptions(responseFormat: schema, outputFormat: qwen3)) == [.text("{\"a\": 1}")])
    }

    @Test func detectionFromTokenizerTokens() throws {
        let tokenizer = try ByteTokenizer.make(markersAsTokens: true)
        // Every marker is a token here; the LFM2 marker wins, as in ToolCallFormat.detect's order.
        #expect(ToolCallFormat.detect(templateSource: nil, tokenizer: tokenizer) == .lfm2)
        #expect(ToolCallFormat.detect(templateSource: "{{ '<tool_call>' }}", tokenizer: tokenizer) == .hermes)
        let bytes = try ByteTokenizer.make(markersAsTokens: false)
        #expect(ToolCallFormat.detect(templateSource: nil, tokenizer: bytes) == nil)
        #expect(ChatOutputFormat.detect(templateSource: nil, tokenizer: bytes) == .lfm2)
    }
}

@Suite(.serialized) struct SessionOutputFormatTests {
    @Test func sessionDetectsItsTemplatesFormat() async throws {
        let (model, tokenizer, template) = ChatModel.shared
        #expect(await InferenceSession(model: model, tokenizer: tokenizer, template: template).outputFormat == .lfm2)
        let qwenLike = try ChatTemplate(String(contentsOf: ChatModel.testsRoot.appendingPathComponent("LFMChatTests/Fixtures/templates/qwen3_tools.jinja"), encoding: .utf8))
        let session = InferenceSession(model: model, tokenizer: tokenizer, template: qwenLike)
        #expect(await session.outputFormat == ChatOutputFormat(toolCalls: .hermes, reasoning: .think))
        await session.setOutputFormat(ChatOutputFormat(toolCalls: .llama3))
        #expect(await session.outputFormat == ChatOutputFormat(toolCalls: .llama3))
    }

    /// After a prompt that opens `<think>`, the real model's whole output (the random model never closes
    /// the block) comes as reasoning: the same text a plain LFM2-format run of the same prompt gives.
    @Test func modelOutputAfterAnOpenedBlockIsReasoning() async throws {
        let tokenizer = ChatModel.shared.1
        let prompt = tokenizer.encode("<|startoftext|><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n", addSpecialTokens: false)
        var thinking = GenerationOptions(sampling: .greedy, maxTokens: 12, stopTokens: [], parseToolCalls: false)
        thinking.outputFormat = ChatOutputFormat(toolCalls: .hermes, reasoning: .think)
        var reasoning = "", text = ""
        for try await event in try await ChatModel.session().generate(promptTokens: prompt, options: thinking) {
            if case .reasoning(let r) = event { reasoning += r }
            if case .text(let t) = event { text += t }
        }
        let plain = try await collect(ChatModel.session().generate(promptTokens: prompt, options: GenerationOptions(
            sampling: .greedy, maxTokens: 12, stopTokens: [], parseToolCalls: false, outputFormat: .lfm2)))
        #expect(!plain.text.contains("</think>"))
        #expect(text.isEmpty)
        #expect(reasoning == plain.text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
