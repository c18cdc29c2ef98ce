import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import LFMChat
import LFMGeneration
@testable import LFMServer
import Testing

/// A raw loopback HTTP/1.1 client that can hang up mid-response.
final class RawConnection: Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw TestFailure("connect() to 127.0.0.1:\(port) failed") }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Reads until `marker` appears (bounded by `limit` bytes).
    func read(until marker: String, limit: Int = 1 << 20) -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while data.count < limit {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data += buffer[0..<n]
            if String(decoding: data, as: UTF8.self).contains(marker) { break }
        }
        return String(decoding: data, as: UTF8.self)
    }

    func hangUp() { close(fd) }
}

@Suite(.serialized) struct LiveTests {
    @Test func clientDisconnectCancelsGenerationAndFreesTheSlot() async throws {
        // A context far beyond what the tiny model can generate during the test, so that only the
        // hang-up (never the length limit) can end these generations.
        let server = try TestModel.server(maxBatch: 1, maxQueue: 4, maxContext: 1_000_000)
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let connection = try RawConnection(port: port)
            let request = try chatBody("Tell me a very long story", maxTokens: 100_000, stream: true).jsonString()
            connection.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(request.utf8.count)\r\n\r\n\(request)")
            let head = connection.read(until: "\"content\"")
            #expect(head.hasPrefix("HTTP/1.1 200"))
            try await eventually("generation running") { server.engine.runningCount == 1 }
            connection.hangUp()
            try await eventually("slot freed after the hang-up") { server.engine.runningCount == 0 }
            // A non-streamed request notices the hang-up too (the body starts with keep-alive spaces).
            let second = try RawConnection(port: port)
            let plain = try chatBody("Tell me a very long story", maxTokens: 100_000).jsonString()
            second.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(plain.utf8.count)\r\n\r\n\(plain)")
            #expect(second.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 200"))
            try await eventually("second generation running") { server.engine.runningCount == 1 }
            second.hangUp()
            try await eventually("slot freed after the second hang-up") { server.engine.runningCount == 0 }
            // The single slot serves the next request.
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(chatBody("Hi", maxTokens: 3))) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["usage"]?["completion_tokens"]?.int ?? 0 >= 1)
            }
        }
    }

    @Test func toolCallsAsMessageAndStreamingDeltas() async throws {
        // The random test model does not call tools by itself, so the event stream is scripted here;
        // the rest (shapes, ids, indexes, finish reason) is the server's real code.
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let call = ToolCall(name: "get_weather", arguments: .dict([("city", "Paris"), ("unit", "celsius")]))
        @Sendable func events() -> AsyncStream<JobEvent> {
            AsyncStream { c in
                c.yield(.text("Let me check."))
                c.yield(.toolCall(call))
                c.yield(.toolCall(ToolCall(name: "get_time", arguments: .dict([]))))
                var usage = JobUsage(); usage.promptTokens = 10; usage.completionTokens = 20
                c.yield(.finished(.toolCalls, usage))
                c.finish()
            }
        }
        let router = Router()
        router.post("/whole") { _, _ in try await server.respond(events: events(), cancel: {}, chat: true, model: "m", stream: false, includeUsage: false) }
        router.post("/stream") { _, _ in try await server.respond(events: events(), cancel: {}, chat: true, model: "m", stream: true, includeUsage: false) }
        try await Application(router: router).test(.router) { client in
            let whole = try await client.execute(uri: "/whole", method: .post) { try json($0) }
            let choice = whole["choices"]?[0]
            #expect(choice?["finish_reason"]?.string == "tool_calls")
            let calls = choice?["message"]?["tool_calls"]?.array ?? []
            #expect(calls.count == 2)
            #expect(calls.first?.keys == ["id", "type", "function"])
            #expect(calls.first?["type"]?.string == "function")
            #expect(calls.first?["id"]?.string?.hasPrefix("call_") == true)
            #expect(calls.first?["function"]?["name"]?.string == "get_weather")
            let arguments = try Value.parseJSON(calls.first?["function"]?["arguments"]?.string ?? "")
            #expect(arguments == .dict([("city", "Paris"), ("unit", "celsius")]))
            #expect(whole["usage"]?["total_tokens"]?.int == 30)

            let stream = try await client.execute(uri: "/stream", method: .post) { sseEvents(String(buffer: $0.body)) }
            #expect(stream.last == "[DONE]")
            let chunks = try stream.dropLast().map { try Value.parseJSON($0) }
            let deltas = chunks.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
            #expect(deltas.map { $0["index"]?.int ?? -1 } == [0, 1])
            #expect(deltas.map { $0["function"]?["name"]?.string ?? "" } == ["get_weather", "get_time"])
            #expect(chunks.last?["choices"]?[0]?["finish_reason"]?.string == "tool_calls")
            #expect(!chunks.contains { $0.keys.contains("usage") }, "no usage field without include_usage")
        }
    }

    @Test func earlierToolCallsAreWrittenInTheModelsSyntax() throws {
        let arguments = Value.dict([("city", "Paris \"Nord\""), ("days", 2), ("metric", true), ("tags", .array(["a", .none]))])
        let text = pythonCall("get_weather", arguments)
        #expect(text == #"get_weather(city="Paris \"Nord\"", days=2, metric=True, tags=["a", None])"#)
        let parsed = try ToolCallParser.parse("[" + text + "]")
        #expect(parsed == [ToolCall(name: "get_weather", arguments: arguments)])
    }

    @Test func toolConversationRenders() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let tools: Value = .array([.dict([("type", "function"), ("function", .dict([
            ("name", "get_weather"), ("description", "Weather for a city"),
            ("parameters", .dict([("type", "object"), ("properties", .dict([("city", .dict([("type", "string")]))]))])),
        ]))])])
        let messages: Value = .array([
            .dict([("role", "user"), ("content", "Weather in Paris?")]),
            .dict([("role", "assistant"), ("content", .none), ("tool_calls", .array([.dict([
                ("id", "call_1"), ("type", "function"),
                ("function", .dict([("name", "get_weather"), ("arguments", "{\"city\": \"Paris\"}")])),
            ])]))]),
            .dict([("role", "tool"), ("tool_call_id", "call_1"), ("content", "22 C")]),
        ])
        let request = Value.dict([("model", "tiny-lfm2"), ("messages", messages), ("tools", tools), ("tool_choice", "auto"),
                                  ("max_tokens", 4), ("temperature", 0.7), ("top_p", 0.9), ("seed", 7), ("stop", .array(["\n\n"])),
                                  ("frequency_penalty", 0.5), ("presence_penalty", 0.2), ("logit_bias", .dict([("1", -100)]))])
        try await Application(router: server.makeRouter()).test(.router) { client in
            let first = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(request)) { response in
                #expect(response.status == .ok)
                return try json(response)
            }
            // The same seed gives the same sample.
            let second = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(request)) { try json($0) }
            #expect(first["choices"] == second["choices"])
            let required = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                    body: body(chatBody("x", extra: [("tool_choice", "required")]))) { $0 }
            try expectError(required, status: 400)   // tool_choice without tools
        }
    }
}
