import Testing
@testable import LFMChat

@Suite struct ToolCallTests {
    @Test func parsesTheLFM2Example() throws {
        let calls = try ToolCallParser.parse(#"[name(arg="x", n=1, flag=True, none=None, nested=[1, {"k": 2}])]"#)
        #expect(calls.count == 1)
        #expect(calls[0].name == "name")
        #expect(calls[0].argumentsJSON == #"{"arg": "x", "n": 1, "flag": true, "none": null, "nested": [1, {"k": 2}]}"#)
    }

    @Test func severalCallsAndLiterals() throws {
        let calls = try ToolCallParser.parse(#" [get_weather(city='Paris', units="c"), search(q="it's \"quoted\"\n", limit=-3, t=(1, 2.5), e={}), noop()] "#)
        #expect(calls.map(\.name) == ["get_weather", "search", "noop"])
        #expect(calls[0].argumentsJSON == #"{"city": "Paris", "units": "c"}"#)
        #expect(calls[1].argumentsJSON == #"{"q": "it's \"quoted\"\n", "limit": -3, "t": [1, 2.5], "e": {}}"#)
        #expect(calls[2].argumentsJSON == "{}")
        #expect(try ToolCallParser.parse("[]").isEmpty)
        #expect(try ToolCallParser.parse("[f(ünï='日本')]")[0].argumentsJSON == #"{"ünï": "日本"}"#)
    }

    @Test(arguments: ["", "[", "[f(", "[f(x=)]", "[f(x=1 y=2)]", "[f(x=1, x=2)]", "f(x=1)", "[f(x=1)] extra",
                      "[f(x=unknown)]", "[f(x='open)]", "[1(x=1)]", "[f(x=[1, 2)]", "[f(x={1.5: 2})]"])
    func malformedCallsThrow(text: String) {
        #expect(throws: ToolCallParseError.self) { try ToolCallParser.parse(text) }
    }

    @Test func extractFromAnAnswer() {
        let answer = "Let me check.<|tool_call_start|>[get_weather(city=\"Paris\")]<|tool_call_end|>Done."
        let result = ToolCallParser.extract(from: answer)
        #expect(result.text == "Let me check.Done.")
        #expect(result.calls == [ToolCall(name: "get_weather", arguments: .dict([("city", .string("Paris"))]))])
        #expect(result.errors.isEmpty)

        // Malformed: kept as text with an error, never a crash.
        let broken = ToolCallParser.extract(from: "<|tool_call_start|>[get_weather(city=]<|tool_call_end|>")
        #expect(broken.calls.isEmpty && broken.errors.count == 1)
        #expect(broken.text == "<|tool_call_start|>[get_weather(city=]<|tool_call_end|>")
        let unterminated = ToolCallParser.extract(from: "a<|tool_call_start|>[f()]")
        #expect(unterminated.text == "a<|tool_call_start|>[f()]" && unterminated.errors.count == 1)

        // LFM2.5 bare form.
        let bare = ToolCallParser.extract(from: "[search(q=\"swift\")]")
        #expect(bare.text.isEmpty && bare.calls.map(\.name) == ["search"])
        #expect(ToolCallParser.extract(from: "[1, 2] is a list").calls.isEmpty)
    }

    @Test func streamingPrefixes() {
        #expect(ToolCallParser.couldBeBareCallPrefix(""))
        #expect(ToolCallParser.couldBeBareCallPrefix(" [get_we"))
        #expect(ToolCallParser.couldBeBareCallPrefix("[get_weather("))
        #expect(!ToolCallParser.couldBeBareCallPrefix("Hello"))
        #expect(!ToolCallParser.couldBeBareCallPrefix("[1, 2"))
    }
}
