import Foundation
import Testing
@testable import LFMChat

/// Joins adjacent `.text` events, so that event lists of different chunkings compare equal.
func normalized(_ events: [ToolCallStreamEvent]) -> [ToolCallStreamEvent] {
    var out: [ToolCallStreamEvent] = []
    for event in events {
        if case .text(let t) = event, case .text(let previous)? = out.last {
            out[out.count - 1] = .text(previous + t)
        } else if case .text(let t) = event, t.isEmpty {
            continue
        } else {
            out.append(event)
        }
    }
    return out
}

/// Streams `text` in the given chunks.
func stream(_ format: ToolCallFormat, _ chunks: [String]) throws -> [ToolCallStreamEvent] {
    var parser = try #require(ToolCallStreamParser(format: format))
    var events: [ToolCallStreamEvent] = []
    for chunk in chunks { events += parser.feed(chunk) }
    return normalized(events + parser.finish())
}

/// Every split of `text` into two chunks, and one character per chunk, give the events of the whole text.
func expectSplitInvariant(_ format: ToolCallFormat, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let whole = try stream(format, [text])
    let characters = Array(text)
    #expect(try stream(format, characters.map { String($0) }) == whole, "one character per chunk", sourceLocation: sourceLocation)
    let scalars = Array(text.unicodeScalars)
    for cut in 0...scalars.count {
        let a = ScalarText.string(scalars[..<cut]), b = ScalarText.string(scalars[cut...])
        #expect(try stream(format, [a, b]) == whole, "split at \(cut)", sourceLocation: sourceLocation)
    }
}

func call(_ name: String, _ pairs: [(String, Value)]) -> ToolCall { ToolCall(name: name, arguments: .dict(pairs)) }

@Suite struct HermesFormatTests {
    @Test func wellFormedCallsAndTextAround() throws {
        let answer = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"
        let result = ToolCallFormat.hermes.extract(from: answer)
        #expect(result.text == "Let me check.")
        #expect(result.calls == [call("get_weather", [("city", "Paris"), ("days", 2)]), call("get_time", [])])
        #expect(result.errors.isEmpty)
        #expect(result.calls[0].argumentsJSON == #"{"city": "Paris", "days": 2}"#)
        try expectSplitInvariant(.hermes, answer)
    }

    @Test func nestedArgumentsUnicodeAndStringArguments() throws {
        let answer = #"<tool_call>{"name": "plan", "arguments": {"stops": [{"city": "Zürich", "tags": ["日本", "🚆"]}, {"city": "Köln", "note": "a \"quoted\" } brace"}], "n": null}}</tool_call>"#
        let result = ToolCallFormat.hermes.extract(from: answer)
        #expect(result.text.isEmpty && result.errors.isEmpty)
        #expect(result.calls.first?.argumentsJSON == #"{"stops": [{"city": "Zürich", "tags": ["日本", "🚆"]}, {"city": "Köln", "note": "a \"quoted\" } brace"}], "n": null}"#)
        try expectSplitInvariant(.hermes, answer)
        // Arguments written as a JSON string holding an object (what some fine-tunes produce).
        let stringArguments = ToolCallFormat.hermes.extract(from: #"<tool_call>{"name": "f", "arguments": "{\"x\": 1}"}</tool_call>"#)
        #expect(stringArguments.calls == [call("f", [("x", 1)])])
    }

    @Test(arguments: [
        #"<tool_call>{"name": "f", "arguments": {"x": }}</tool_call>"#,
        #"<tool_call>{"arguments": {"x": 1}}</tool_call>"#,
        #"<tool_call>{"name": "", "arguments": {}}</tool_call>"#,
        #"<tool_call>{"name": "f", "arguments": [1, 2]}</tool_call>"#,
        #"<tool_call>["f"]</tool_call>"#,
        #"<tool_call>{"name": "f", "arguments": {}} extra</tool_call>"#,
    ])
    func malformedCallsStayTextWithAnError(answer: String) throws {
        let result = ToolCallFormat.hermes.extract(from: "Before " + answer + " after")
        #expect(result.calls.isEmpty)
        #expect(result.errors.count == 1)
        #expect(result.text == "Before " + answer + " after")
        try expectSplitInvariant(.hermes, "Before " + answer + " after")
    }

    @Test func unterminatedCallAndPlainText() throws {
        let result = ToolCallFormat.hermes.extract(from: "x <tool_call>{\"name\": \"f\"")
        #expect(result.calls.isEmpty && result.errors.count == 1)
        #expect(result.text == "x <tool_call>{\"name\": \"f\"")
        try expectSplitInvariant(.hermes, "x <tool_call>{\"name\": \"f\"")
        // Plain text keeps every character, also a marker-like start and trailing whitespace.
        let plain = "a <tool and <tool_cal text \n"
        let kept = ToolCallFormat.hermes.extract(from: plain)
        #expect(kept.text == plain && kept.calls.isEmpty && kept.errors.isEmpty)
        try expectSplitInvariant(.hermes, plain)
    }
}

@Suite struct LlamaFormatTests {
    @Test(arguments: [
        #"{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}"#,
        #"  <|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}"#,
        #"{"type": "function", "name": "get_weather", "parameters": {"city": "Paris", "days": 2}}"#,
        "\n{\"name\": \"get_weather\",\n \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n",
    ])
    func oneCallAsTheAnswer(answer: String) throws {
        let result = ToolCallFormat.llama3.extract(from: answer)
        #expect(result.calls == [call("get_weather", [("city", "Paris"), ("days", 2)])])
        #expect(result.text.isEmpty && result.errors.isEmpty)
        try expectSplitInvariant(.llama3, answer)
    }

    @Test func severalCallsNestedAndUnicode() throws {
        let answer = #"{"name": "a", "parameters": {"list": [1, {"k": "v}"}], "s": "日本語 ✓"}}; {"name": "b", "parameters": {}}"#
        let result = ToolCallFormat.llama3.extract(from: answer)
        #expect(result.calls.map(\.name) == ["a", "b"])
        #expect(result.calls[0].argumentsJSON == #"{"list": [1, {"k": "v}"}], "s": "日本語 ✓"}"#)
        #expect(result.text.isEmpty && result.errors.isEmpty)
        try expectSplitInvariant(.llama3, answer)
    }

    @Test func builtinCallAfterThePythonTag() throws {
        let answer = #"<|python_tag|>brave_search.call(query="weather in Menlo Park")"#
        let result = ToolCallFormat.llama3.extract(from: answer)
        #expect(result.calls == [call("brave_search", [("query", "weather in Menlo Park")])])
        try expectSplitInvariant(.llama3, answer)
    }

    @Test func plainAnswersAndJSONThatIsNoCallStayText() throws {
        for answer in ["The weather is fine.", #"{"answer": 42, "name": "x"}"#, #"{"name": "Bob", "age": 3}"#,
                       "Here: {\"name\": \"f\", \"parameters\": {}}", "  {", "[1, 2]", "<|python"] {
            let result = ToolCallFormat.llama3.extract(from: answer)
            #expect(result.calls.isEmpty && result.errors.isEmpty, "\(answer)")
            #expect(result.text == answer, "\(answer)")
            try expectSplitInvariant(.llama3, answer)
        }
    }

    @Test func textAfterTheCallsAndAMidAnswerTag() throws {
        let after = ToolCallFormat.llama3.extract(from: "{\"name\": \"f\", \"parameters\": {}}\n\nDone.")
        #expect(after.calls.map(\.name) == ["f"] && after.text == "Done.")
        try expectSplitInvariant(.llama3, "{\"name\": \"f\", \"parameters\": {}}\n\nDone.")
        let tagged = ToolCallFormat.llama3.extract(from: "Checking. <|python_tag|>{\"name\": \"f\", \"parameters\": {\"x\": [1]}}")
        #expect(tagged.calls == [call("f", [("x", .array([1]))])] && tagged.text == "Checking.")
        try expectSplitInvariant(.llama3, "Checking. <|python_tag|>{\"name\": \"f\", \"parameters\": {\"x\": [1]}}")
    }

    @Test(arguments: [
        #"{"name": "f", "parameters": {"x": }}"#,
        #"{"name": "f", "parameters": [1]}"#,
        #"{"name": "f", "parameters": {"x": 1"#,
        #"<|python_tag|>print("hello")"#,
        #"<|python_tag|>{"city": "Paris"}"#,
        #"{"type": "function", "name": 3, "parameters": {}}"#,
    ])
    func malformedCallsStayTextWithAnError(answer: String) throws {
        let result = ToolCallFormat.llama3.extract(from: answer)
        #expect(result.calls.isEmpty)
        #expect(result.errors.count == 1)
        #expect(result.text == answer)
        try expectSplitInvariant(.llama3, answer)
    }
}

@Suite struct ReasoningTests {
    func pieces(_ chunks: [String], startsInside: Bool = false) -> [ReasoningPiece] {
        var splitter = ReasoningSplitter(markers: .think, startsInside: startsInside)
        var out: [ReasoningPiece] = []
        for piece in chunks.flatMap({ splitter.feed($0) }) + splitter.finish() {
            switch (piece, out.last) {
            case (.reasoning(let t), .reasoning(let p)?): out[out.count - 1] = .reasoning(p + t)
            case (.answer(let t), .answer(let p)?): out[out.count - 1] = .answer(p + t)
            default: out.append(piece)
            }
        }
        return out
    }

    func expectSplitInvariant(_ text: String, startsInside: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) {
        let whole = pieces([text], startsInside: startsInside)
        #expect(pieces(Array(text).map { String($0) }, startsInside: startsInside) == whole, sourceLocation: sourceLocation)
        let scalars = Array(text.unicodeScalars)
        for cut in 0...scalars.count {
            #expect(pieces([ScalarText.string(scalars[..<cut]), ScalarText.string(scalars[cut...])], startsInside: startsInside) == whole,
                    "split at \(cut)", sourceLocation: sourceLocation)
        }
    }

    @Test func thinkBlockIsSeparated() {
        let answer = "<think>\nThe user wants a greeting.\n\nKeep it short.\n</think>\n\nHello!"
        #expect(pieces([answer]) == [.reasoning("The user wants a greeting.\n\nKeep it short."), .answer("Hello!")])
        let whole = ReasoningSplitter.split(answer, markers: .think)
        #expect(whole.reasoning == "The user wants a greeting.\n\nKeep it short." && whole.answer == "Hello!")
        expectSplitInvariant(answer)
    }

    @Test func promptOpenedBlockUnclosedBlockAndNoBlock() {
        // The template opened <think>: the answer starts inside it.
        let inside = "Plan: 日本 ✓\n</think>\n\nDone <think> later is text"
        #expect(pieces([inside], startsInside: true) == [.reasoning("Plan: 日本 ✓"), .answer("Done <think> later is text")])
        expectSplitInvariant(inside, startsInside: true)
        // Cut off while thinking: all reasoning.
        #expect(pieces(["<think>\nstill thinking </thi"]) == [.reasoning("still thinking </thi")])
        expectSplitInvariant("<think>\nstill thinking </thi")
        // enable_thinking=false style empty block, and an answer without a block.
        #expect(pieces(["<think>\n\n</think>\n\nHi"]) == [.answer("Hi")])
        #expect(pieces(["  Hi <think>x</think>"]) == [.answer("  Hi <think>x</think>")])
        expectSplitInvariant("  Hi <think>x</think>")
        #expect(pieces(["<thi"]) == [.answer("<thi")])
        #expect(pieces([]) == [])
    }

    @Test func promptEndDetection() {
        #expect(ReasoningMarkers.think.promptOpensReasoning("<|im_start|>assistant\n<think>\n"))
        #expect(!ReasoningMarkers.think.promptOpensReasoning("<|im_start|>assistant\n"))
        #expect(!ReasoningMarkers.think.promptOpensReasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"))
        #expect(!ReasoningMarkers.think.promptOpensReasoning(""))
    }
}

@Suite struct FormatDetectionTests {
    func detect(_ file: String, tokens: Set<String> = []) throws -> ChatOutputFormat {
        ChatOutputFormat.detect(templateSource: try Fixtures.text(file), hasToken: { tokens.contains($0) })
    }

    @Test func templatesNameTheirFormat() throws {
        #expect(try detect("lfm2/chat_template.jinja") == .lfm2)
        #expect(try detect("templates/qwen3_tools.jinja") == ChatOutputFormat(toolCalls: .hermes, reasoning: .think))
        #expect(try detect("templates/thinking_style.jinja") == ChatOutputFormat(toolCalls: .hermes, reasoning: .think))
        #expect(try detect("templates/chatml_tools.jinja") == ChatOutputFormat(toolCalls: .hermes))
        #expect(try detect("templates/llama3_tools.jinja") == ChatOutputFormat(toolCalls: .llama3))
        #expect(try detect("templates/llama31_builtin_tools.jinja") == ChatOutputFormat(toolCalls: .llama3))
        // A template that says nothing about tools: the tokenizer's tokens decide, else LFM2's.
        let plain = try Fixtures.text("templates/macro_style.jinja")
        #expect(ToolCallFormat.detect(templateSource: plain, hasToken: { _ in false }) == nil)
        #expect(ToolCallFormat.detect(templateSource: plain, hasToken: { $0 == "<tool_call>" }) == .hermes)
        #expect(ToolCallFormat.detect(templateSource: nil, hasToken: { $0 == "<|python_tag|>" }) == .llama3)
        #expect(ToolCallFormat.detect(templateSource: nil, hasToken: { $0 == "<|tool_call_start|>" || $0 == "<tool_call>" }) == .lfm2)
        #expect(try detect("templates/macro_style.jinja") == .lfm2)
    }

    @Test func familiesAndNames() {
        #expect(["lfm2", "lfm2_moe", "lfm3"].map { ToolCallFormat(family: $0) } == [.lfm2, .lfm2, .lfm2])
        #expect(ToolCallFormat(family: "qwen3") == .hermes && ToolCallFormat(family: "llama") == .llama3)
        #expect(ToolCallFormat(family: "gpt2") == nil)
        #expect(ChatOutputFormat(family: "qwen3") == ChatOutputFormat(toolCalls: .hermes, reasoning: .think))
        #expect(ChatOutputFormat(family: "llama") == ChatOutputFormat(toolCalls: .llama3))
        #expect(ChatOutputFormat(family: "lfm2_moe") == .lfm2)
        #expect(ToolCallFormat(name: "pythonic") == .lfm2 && ToolCallFormat(name: "Hermes") == .hermes && ToolCallFormat(name: "qwen3") == .hermes)
        #expect(ToolCallFormat(name: "xml") == nil)
    }

    /// The rendered earlier call of each template parses back with its format, and `callPrefix` starts it.
    @Test func renderedCallsParseBack() throws {
        let messages: [Value] = [
            .dict([("role", "user"), ("content", "Weather in Paris?")]),
            .dict([("role", "assistant"), ("content", ""), ("tool_calls", .array([.dict([("type", "function"), ("function", .dict([
                ("name", "get_weather"), ("arguments", .dict([("city", "Paris"), ("days", 2)]))]))])]))]),
        ]
        for (file, format, head, tail) in [("templates/qwen3_tools.jinja", ToolCallFormat.hermes, "<|im_start|>assistant\n", "<|im_end|>"),
                                           ("templates/llama3_tools.jinja", .llama3, "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>")] {
            let template = try ChatTemplate(try Fixtures.text(file))
            let prompt = try template.render(messages: messages, tools: nil, addGenerationPrompt: false, bosToken: "", eosToken: "")
            let start = try #require(prompt.range(of: head, options: .backwards))
            let end = try #require(prompt.range(of: tail, range: start.upperBound..<prompt.endIndex))
            let answer = String(prompt[start.upperBound..<end.lowerBound])
            #expect(answer.hasPrefix(format.callPrefix(function: "get_weather")), "\(file): \(answer)")
            let result = format.extract(from: answer)
            #expect(result.calls == [call("get_weather", [("city", "Paris"), ("days", 2)])], "\(file): \(answer)")
            #expect(result.text.isEmpty && result.errors.isEmpty)
        }
    }
}
