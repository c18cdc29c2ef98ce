import Foundation
import Hummingbird
import HummingbirdTesting
import LFMChat
import LFMGeneration
@testable import LFMServer
import Testing

/// A schema that is too costly to follow gets a quick 400 in its own request's task, and other
/// requests go on meanwhile (issue 14, item 2).
@Suite(.serialized) struct SchemaLimitTests {
    /// The issue's schema: an `anyOf` of 50 `anyOf`s of 100 constants (~100 KB).
    static func nestedAnyOf() throws -> Value {
        let groups = (0..<50).map { i in
            Value.dict([("anyOf", .array((0..<100).map { j in .dict([("const", .string("v\(i)_\(j)"))]) }))])
        }
        return .dict([("anyOf", .array(groups))])
    }

    static func format(_ schema: Value) -> Value {
        .dict([("type", "json_schema"), ("json_schema", .dict([("name", "x"), ("schema", schema)]))])
    }

    @Test func costlySchemaIsRefusedQuicklyWhileOthersRun() async throws {
        let server = try TestModel.server(maxBody: 1 << 20)
        defer { server.engine.shutdown() }
        try await Application(router: server.makeRouter()).test(.router) { client in
            // 16 tokens hold its shortest value, so before the bounds it went to the engine, whose
            // first mask then held every request up (about 25 s here).
            let big = chatBody("Pick one", maxTokens: 16, extra: [("response_format", Self.format(try Self.nestedAnyOf()))])
            #expect(try big.jsonString().utf8.count > 90_000)
            async let normal = client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                              body: body(chatBody("Tell me about the sea", maxTokens: 40))) { response in
                (response.status, try json(response))
            }
            let refused = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(big)) { $0 }
            // Refused by the deterministic bound while parsing the request, so it never reached the engine
            // (compiling it alone takes well under a second, SchemaBoundsTests; wall-clock time is not
            // asserted here because the suites run in parallel on two cores).
            let error = try expectError(refused, status: 400, type: "invalid_request_error", code: "schema_too_complex")
            #expect(error["param"]?.string == "response_format")
            #expect(error["message"]?.string?.contains("maxAlternatives 256") == true, "\(error)")
            let (status, object) = try await normal
            #expect(status == .ok)
            #expect((object["usage"]?["completion_tokens"]?.int ?? 0) >= 1)
            // The server is not held up afterwards either.
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(chatBody("Hi", maxTokens: 2))) {
                #expect($0.status == .ok)
            }
        }
    }

    /// The first mask is prepared before queueing, within a deterministic work bound that the options set.
    @Test func firstMaskWorkBoundIsSettable() async throws {
        let schema = try Value.parseJSON(#"{"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"]}"#)
        let tight = try TestModel.server { $0.schemaOptions.maxFirstMaskWork = 50 }
        defer { tight.engine.shutdown() }
        try await Application(router: tight.makeRouter()).test(.router) { client in
            let error = try expectError(try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                body: body(chatBody("Weather?", maxTokens: 40, extra: [("response_format", Self.format(schema))]))) { $0 },
                status: 400, code: "schema_too_complex")
            #expect(error["message"]?.string?.contains("maxFirstMaskWork 50") == true, "\(error)")
        }
        let roomy = try TestModel.server()
        defer { roomy.engine.shutdown() }
        try await Application(router: roomy.makeRouter()).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                     body: body(chatBody("Weather?", maxTokens: 40, extra: [("response_format", Self.format(schema))]))) {
                #expect($0.status == .ok)
            }
        }
    }
}
