import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LFMChat
import LFMServer
import Testing

/// Authorisation and dispatch decided on one normalised route (issue 14, items 1 and 5).
@Suite(.serialized) struct RoutingTests {
    static let key = "sk-route-test"

    /// Every spelling of a protected route needs the key; none of them reaches a handler without it.
    @Test func keyCannotBeBypassedBySpelling() async throws {
        let server = try TestModel.server(apiKey: Self.key)
        defer { server.engine.shutdown() }
        let chat = body(chatBody("Hi", maxTokens: 1))
        try await Application(router: server.makeRouter()).test(.router) { client in
            for path in ["//v1/chat/completions", "/v1/./chat/completions", "/v1/../v1/chat/completions", "/%76%31/chat/completions",
                         "/v1%2Fchat%2Fcompletions", "/V1/Chat/Completions", "///v1///chat///completions/", "/./v1/chat/completions",
                         "/x/../v1/chat/completions", "/v1/chat/completions/."] {
                try expectError(try await client.execute(uri: path, method: .post, headers: jsonHeaders, body: chat),
                                status: 401, code: "invalid_api_key")
                // The same spelling with the key reaches the endpoint.
                var headers = jsonHeaders
                headers[.authorization] = "Bearer \(Self.key)"
                try await client.execute(uri: path, method: .post, headers: headers, body: chat) { #expect($0.status == .ok, "\(path)") }
            }
            for path in ["//v1/models", "/%761/models", "/V1/models", "/v1/../v1/models", "/v1/models/", "/v1//models/tiny-lfm2",
                         "/v1/models/%74iny-lfm2", "/health/../v1/models", "/metrics/../v1/models", "http://127.0.0.1/v1/models"] {
                try expectError(try await client.execute(uri: path, method: .get), status: 401, code: "invalid_api_key")
                try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(Self.key)"]) {
                    #expect($0.status == .ok, "\(path)")
                }
            }
            // Unknown paths (under /v1 or not) and malformed ones are denied before anything else.
            for path in ["/v1/nothing", "/nothing", "/v1", "/v1/%zz", "/%2e%2e/etc/passwd", "*"] {
                try expectError(try await client.execute(uri: path, method: .get), status: 401, code: "invalid_api_key")
            }
            try expectError(try await client.execute(uri: "/v1/nothing", method: .get, headers: [.authorization: "Bearer \(Self.key)"]),
                            status: 404)
            try expectError(try await client.execute(uri: "/v1/%zz", method: .get, headers: [.authorization: "Bearer \(Self.key)"]),
                            status: 400)
            // The public probes stay public, in any spelling.
            for path in ["/health", "//health", "/HEALTH", "/v1/../health", "/metrics", "/%6detrics"] {
                try await client.execute(uri: path, method: .get) { #expect($0.status == .ok, "\(path)") }
            }
        }
    }

    @Test func bearerSchemeIsCaseInsensitive() async throws {
        let server = try TestModel.server(apiKey: Self.key)
        defer { server.engine.shutdown() }
        try await Application(router: server.makeRouter()).test(.router) { client in
            for header in ["bearer \(Self.key)", "BEARER \(Self.key)", "Bearer  \(Self.key)", "bEaReR \(Self.key) "] {
                try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: header]) {
                    #expect($0.status == .ok, "\(header)")
                }
            }
            for header in ["Basic \(Self.key)", "Bearer", "Bearer ", "\(Self.key)", "Bearer \(Self.key)x", "Bearerx \(Self.key)"] {
                try expectError(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: header]), status: 401)
            }
        }
    }

    @Test func wrongMethodGets405WithAllow() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        try await Application(router: server.makeRouter()).test(.router) { client in
            let chat = try await client.execute(uri: "/v1/chat/completions", method: .get) { $0 }
            try expectError(chat, status: 405, code: "method_not_allowed")
            #expect(chat.headers[.allow] == "POST")
            let models = try await client.execute(uri: "/v1/models", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{}")) { $0 }
            try expectError(models, status: 405, code: "method_not_allowed")
            #expect(models.headers[.allow] == "GET, HEAD")
            let health = try await client.execute(uri: "/health", method: .delete) { $0 }
            try expectError(health, status: 405)
            #expect(health.headers[.allow] == "GET, HEAD")
            try expectError(try await client.execute(uri: "/v1/nothing", method: .get), status: 404, code: "unknown_url")
            // HEAD of the probes: the GET's status and headers, no body.
            try await client.execute(uri: "/health", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/metrics", method: .head) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("lfm_http_requests_total{replica=\"local\",model=\"tiny-lfm2\",route=\"/v1/chat/completions\",status=\"405\"} 1"))
                #expect(text.contains("lfm_http_requests_total{replica=\"local\",model=\"tiny-lfm2\",route=\"/health\",status=\"200\"} 1"))
                #expect(text.contains("lfm_http_requests_total{replica=\"local\",model=\"tiny-lfm2\",route=\"other\",status=\"404\"} 1"))
            }
        }
    }

    /// The HTTP stack passes raw request targets through unchanged, so a live server sees them too.
    @Test func liveServerDeniesRawDoubleSlash() async throws {
        let server = try TestModel.server(apiKey: Self.key)
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let request = try chatBody("Hi", maxTokens: 1).jsonString()
            for target in ["//v1/chat/completions", "/v1/./chat/completions", "/%761/chat/completions"] {
                let connection = try RawConnection(port: port)
                defer { connection.hangUp() }
                connection.send("POST \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: \(request.utf8.count)\r\n\r\n\(request)")
                let answer = connection.read(until: "}}")
                #expect(answer.hasPrefix("HTTP/1.1 401"), "\(target): \(answer.prefix(200))")
            }
        }
    }
}
