import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import LFMChat
@testable import LFMServer
import Testing

/// Smaller defects of issue 14 (item 5): error fields and start-up on a busy port.
@Suite(.serialized) struct ServerEdgeTests {
    @Test func overLongPromptNamesTheFieldItCameFrom() async throws {
        let server = try TestModel.server(maxContext: 64)
        defer { server.engine.shutdown() }
        try await Application(router: server.makeRouter()).test(.router) { client in
            let ids = Value.array((0..<80).map { .int(100 + $0) })
            let completion = try expectError(try await client.execute(
                uri: "/v1/completions", method: .post, headers: jsonHeaders,
                body: body(.dict([("model", "tiny-lfm2"), ("prompt", ids), ("max_tokens", 2)])) ) { $0 },
                status: 400, code: "context_length_exceeded")
            #expect(completion["param"]?.string == "prompt")
            let text = try expectError(try await client.execute(
                uri: "/v1/completions", method: .post, headers: jsonHeaders,
                body: body(.dict([("model", "tiny-lfm2"), ("prompt", .string(String(repeating: "word ", count: 200)))])) ) { $0 },
                status: 400, code: "context_length_exceeded")
            #expect(text["param"]?.string == "prompt")
            let chat = try expectError(try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                body: body(chatBody(String(repeating: "word ", count: 200)))) { $0 },
                status: 400, code: "context_length_exceeded")
            #expect(chat["param"]?.string == "messages")
        }
    }

    /// A second server on a taken port fails with a message that says so, without ever announcing itself.
    @Test func busyPortFailsClearlyBeforeListening() async throws {
        let first = try TestModel.server()
        defer { first.engine.shutdown() }
        let app = Application(router: first.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let second = try TestModel.server()
            let announced = Announced()
            do {
                try await second.run(host: "127.0.0.1", port: port, grace: 0, signals: []) { _ in announced.set() }
                Issue.record("a second server listened on the same port")
            } catch let error as ListenError {
                #expect(error.addressInUse)
                #expect(error.description.contains("127.0.0.1:\(port)"))
                #expect(error.description.contains("already in use"))
            }
            #expect(!announced.isSet)
            // The first one still answers.
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }
}

/// Records that a callback ran (guarded by `lock`).
final class Announced: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
