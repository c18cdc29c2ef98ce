import Foundation
import Hummingbird
import HummingbirdTesting
import LFMChat
import LFMGeneration
@testable import LFMServer
import Testing

/// `tool_choice: "required"` or a named function constrains the whole call, so even a random
/// model's answer parses into `tool_calls` whose arguments follow the tool's schema (issue 14, item 3).
@Suite(.serialized) struct ToolChoiceTests {
    static let weatherParameters = try! Value.parseJSON(#"""
    {"type": "object", "properties": {
        "city": {"type": "string", "maxLength": 16},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "metric": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3},
        "units": {"enum": ["C", "F", null]},
        "where": {"type": "object", "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90}, "exact": {"type": "boolean"}}, "required": ["lat"]}
     }, "required": ["city", "days"]}
    """#)
    static let timeParameters = try! Value.parseJSON(#"{"type": "object", "properties": {"zone": {"type": "string", "maxLength": 8}}}"#)

    static let tools: Value = .array([
        .dict([("type", "function"), ("function", .dict([("name", "get_weather"), ("parameters", weatherParameters)]))]),
        .dict([("type", "function"), ("function", .dict([("name", "get_time"), ("parameters", timeParameters)]))]),
        .dict([("type", "function"), ("function", .dict([("name", "ping")]))]),
    ])

    static func parameters(of name: String) -> Value? {
        switch name {
        case "get_weather": return weatherParameters
        case "get_time": return timeParameters
        case "ping": return .dict([("type", "object"), ("properties", .dict([])), ("additionalProperties", false)])
        default: return nil
        }
    }

    /// Checks one answer: exactly one call, of an allowed tool, with arguments valid under its schema.
    func checkCall(_ object: Value, allowed: [String], context: String) throws {
        let choice = object["choices"]?[0]
        #expect(choice?["finish_reason"]?.string == "tool_calls", "\(context): \(object)")
        let calls = choice?["message"]?["tool_calls"]?.array ?? []
        #expect(calls.count == 1, "\(context): \(object)")
        guard let call = calls.first else { return }
        let name = call["function"]?["name"]?.string ?? ""
        #expect(allowed.contains(name), "\(context): \(name)")
        let arguments = try Value.parseJSON(call["function"]?["arguments"]?.string ?? "")
        guard let schema = Self.parameters(of: name) else { return }
        let problem = SchemaValidator(schema: schema).firstError(arguments)
        #expect(problem == nil, "\(context): \(name)(\(arguments)): \(problem ?? "")")
        let content = choice?["message"]?["content"]
        #expect(content?.isNull == true || content?.string == "", "\(context): \(String(describing: content))")
    }

    @Test func requiredAlwaysYieldsAValidCall() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        try await Application(router: server.makeRouter()).test(.router) { client in
            for temperature in [0.0, 0.8, 1.6] {
                for seed in 0..<5 {
                    let request = chatBody("What is the weather in Paris for the next days? Seed \(seed).", maxTokens: 48,
                                           extra: [("tools", Self.tools), ("tool_choice", "required"),
                                                   ("temperature", .double(temperature)), ("seed", .int(seed))])
                    let object = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(request)) { response in
                        #expect(response.status == .ok)
                        return try json(response)
                    }
                    try checkCall(object, allowed: ["get_weather", "get_time", "ping"], context: "t=\(temperature) seed=\(seed)")
                }
            }
        }
    }

    @Test func namedFunctionIsCalledWithValidArgumentsStreamedOrNot() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let choice = Value.dict([("type", "function"), ("function", .dict([("name", "get_weather")]))])
        try await Application(router: server.makeRouter()).test(.router) { client in
            for seed in 0..<4 {
                let request = chatBody("Weather?", maxTokens: 40, extra: [("tools", Self.tools), ("tool_choice", choice),
                                                                          ("temperature", 1.2), ("seed", .int(seed))])
                let object = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(request)) {
                    try json($0)
                }
                try checkCall(object, allowed: ["get_weather"], context: "seed=\(seed)")
            }
            let streamed = chatBody("Weather?", maxTokens: 40, stream: true,
                                    extra: [("tools", Self.tools), ("tool_choice", choice), ("temperature", 1.2), ("seed", 3)])
            let events = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(streamed)) {
                sseEvents(String(buffer: $0.body))
            }
            let chunks = try events.dropLast().map { try Value.parseJSON($0) }
            let calls = chunks.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
            #expect(calls.count == 1)
            #expect(calls.first?["function"]?["name"]?.string == "get_weather")
            let arguments = try Value.parseJSON(calls.first?["function"]?["arguments"]?.string ?? "")
            #expect(SchemaValidator(schema: Self.weatherParameters).firstError(arguments) == nil, "\(arguments)")
            #expect(chunks.last?["choices"]?[0]?["finish_reason"]?.string == "tool_calls")
        }
    }

    /// A budget too small for the shortest call of the chosen tool is refused up front.
    @Test func tooSmallBudgetIsRefused() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let choice = Value.dict([("type", "function"), ("function", .dict([("name", "get_weather")]))])
        try await Application(router: server.makeRouter()).test(.router) { client in
            // [get_weather(city="",days=1)] is 29 bytes, plus the two markers.
            let small = try expectError(try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                body: body(chatBody("Weather?", maxTokens: 30, extra: [("tools", Self.tools), ("tool_choice", choice)]))) { $0 },
                status: 400)
            #expect(small["param"]?.string == "max_tokens")
            #expect(small["message"]?.string?.contains("31 tokens") == true, "\(small)")
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                     body: body(chatBody("Weather?", maxTokens: 31, extra: [("tools", Self.tools), ("tool_choice", choice),
                                                                                           ("temperature", 1.0), ("seed", 5)]))) { response in
                #expect(response.status == .ok)
                try checkCall(try json(response), allowed: ["get_weather"], context: "31 tokens")
            }
        }
    }

    @Test func callSchemaMatchesTheParsersSyntax() throws {
        let schema = try JSONSchema(toolCalls: [("get_weather", Self.weatherParameters), ("ping", nil)])
        func accepts(_ text: String) -> Bool {
            var m = JSONMatcher(schema: schema)
            return m.feed(text) && m.isComplete
        }
        let good = [#"[get_weather(city="Paris",days=3)]"#, #"[get_weather(city="Nice", days=1, metric=True, tags=["a", "b"], units=None)]"#,
                    #"[get_weather(city="x",days=7,where={"lat": -1.5, "exact": False})]"#, "[ping()]",
                    #"[get_weather(city="\"q\"\n",days=2,units="F")]"#]
        for text in good {
            #expect(accepts(text), "\(text)")
            let calls = try ToolCallParser.parse(text)
            #expect(calls.count == 1)
            if calls.first?.name == "get_weather" {
                #expect(SchemaValidator(schema: Self.weatherParameters).firstError(calls[0].arguments) == nil, "\(text)")
            }
        }
        for text in [#"[get_weather(days=3,city="Paris")]"#, #"[get_weather(city="Paris")]"#, #"[get_weather(city="P",days=9)]"#,
                     #"[get_weather(city="P",days=1,metric=true)]"#, #"[get_weather(city="P\/",days=1)]"#, "[ping(x=1)]", "[pong()]",
                     #"[get_weather(city="P",days=1,)]"#, #"[get_weather("city"="P",days=1)]"#] {
            #expect(!accepts(text), "\(text)")
        }
        #expect(schema.shortestValueLength == "[ping()]".utf8.count)
    }
}
