import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import LFMChat
import LFMGeneration
@testable import LFMServer
import Logging
import Testing

/// A loopback TCP client with bounded waits, for timing what the server does to slow clients.
final class TimedSocket: Sendable {
    private let fd: Int32

    init(port: Int) throws {
        #if os(Linux)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        #if !os(Linux)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { closeDescriptor(fd); throw TestFailure("connect() to 127.0.0.1:\(port) failed") }
    }

    deinit { closeDescriptor(fd) }

    /// Sends `text`; false once the peer has closed.
    @discardableResult
    func send(_ text: String) -> Bool {
        #if os(Linux)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { sendDescriptor(fd, $0.baseAddress, $0.count, flags) } == bytes.count
    }

    /// Reads what arrives within `timeout` seconds: stops at `marker`, at end of stream (`closed`), or at the timeout.
    ///
    /// The wait runs on a thread of its own: a blocking read on one of the (two) cooperative threads,
    /// while another suite holds the other, would leave the server no thread to answer on.
    func read(for timeout: TimeInterval, until marker: String? = nil) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.readBlocking(for: timeout, until: marker)) }
            thread.start()
        }
    }

    private func readBlocking(for timeout: TimeInterval, until marker: String?) -> (text: String, closed: Bool) {
        let end = Date().addingTimeInterval(timeout)
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = end.timeIntervalSinceNow
            if left <= 0 { return (String(decoding: data, as: UTF8.self), false) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, left * 1000)))
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return (String(decoding: data, as: UTF8.self), true) }
            data += buffer[0..<n]
            if let marker, String(decoding: data, as: UTF8.self).contains(marker) { return (String(decoding: data, as: UTF8.self), false) }
        }
    }
}

private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
private func sendDescriptor(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { send(fd, bytes, count, flags) }

/// Runs `server` on a loopback port for the duration of `body`.
func withLiveServer(_ server: OpenAIServer, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    var logger = Logger(label: "lfm.test")
    logger.logLevel = .critical
    let app = server.makeApplication(host: "127.0.0.1", port: 0, logger: logger) { continuation.yield($0) }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
        try await body(port)
        group.cancelAll()
    }
}

/// Header, body and idle timeouts and the connection cap, against a live server (issue 14, item 4).
@Suite(.serialized) struct ConnectionLimitTests {
    static func server(_ limits: ConnectionLimits) throws -> OpenAIServer {
        try TestModel.server(maxContext: 4096) { $0.connections = limits }
    }

    /// Headers trickled in forever (slowloris) get 408 and a closed connection after the header timeout,
    /// however often bytes arrive.
    @Test func slowHeadersAreCutOff() async throws {
        let server = try Self.server(ConnectionLimits(headerTimeout: 0.6, bodyTimeout: 5, idleTimeout: 5))
        defer { server.engine.shutdown() }
        try await withLiveServer(server) { port in
            let socket = try TimedSocket(port: port)
            let start = Date()
            socket.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            var answer = ""
            var closed = false
            for i in 0..<60 where !closed {
                socket.send("X-Slow-\(i): 1\r\n")
                let read = await socket.read(for: 0.1)
                answer += read.text
                closed = read.closed
            }
            let elapsed = Date().timeIntervalSince(start)
            #expect(closed, "still open after \(elapsed) s")
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            // Not before the timeout; that it closes at all within the bounded loop is the check above (an
            // upper wall-clock bound would measure this test's own scheduling when suites run in parallel).
            #expect(elapsed >= 0.5, "closed after \(elapsed) s")
        }
    }

    @Test func halfSentBodyIsCutOff() async throws {
        let server = try Self.server(ConnectionLimits(headerTimeout: 5, bodyTimeout: 0.6, idleTimeout: 5))
        defer { server.engine.shutdown() }
        try await withLiveServer(server) { port in
            let socket = try TimedSocket(port: port)
            let start = Date()
            socket.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\": \"tiny")
            var closed = false
            for _ in 0..<60 where !closed {
                socket.send(" ")
                closed = await socket.read(for: 0.1).closed
            }
            let elapsed = Date().timeIntervalSince(start)
            #expect(closed, "still open after \(elapsed) s")
            // Not before the timeout; that it closes at all within the bounded loop is the check above (an
            // upper wall-clock bound would measure this test's own scheduling when suites run in parallel).
            #expect(elapsed >= 0.5, "closed after \(elapsed) s")
        }
    }

    /// A keep-alive connection with no next request, and one that never sends anything, are closed
    /// after the idle timeout; a request in progress is not cut by it.
    @Test func idleConnectionsAreClosed() async throws {
        let server = try TestModel.server(maxBatch: 1, maxContext: 1_000_000) {
            $0.connections = ConnectionLimits(headerTimeout: 0.4, bodyTimeout: 0.4, idleTimeout: 0.6)
        }
        defer { server.engine.shutdown() }
        try await withLiveServer(server) { port in
            let silent = try TimedSocket(port: port)
            let used = try TimedSocket(port: port)
            // Timed from before the request: the server's idle clock starts when its answer ends,
            // later than this, so however late this test reads the answer (a loaded machine), an
            // early close shows as less than the idle timeout.
            let start = Date()
            used.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let first = await used.read(for: 60, until: "}")
            #expect(first.text.hasPrefix("HTTP/1.1 200"), "\(first.text)")
            let after = await used.read(for: 4)
            #expect(after.closed && after.text.isEmpty, "\(after)")
            let elapsed = Date().timeIntervalSince(start)
            // Closed within the 4 s read window (checked above), and not before the idle timeout.
            #expect(elapsed >= 0.6, "closed \(elapsed) s after the request")
            let silentAnswer = await silent.read(for: 1)
            #expect(silentAnswer.closed)
            // A request waiting longer than every timeout (queued behind a job that holds the only
            // slot for 1.5 s) is answered on its kept-alive connection.
            let hog = try server.engine.submit(GenerationJob(promptTokens: [1, 2, 3],
                                                             options: GenerationOptions(sampling: .greedy, maxTokens: 100_000, stopTokens: [])))
            let body = try chatBody("Tell me a story", maxTokens: 4).jsonString()
            let busy = try TimedSocket(port: port)
            let begun = Date()
            busy.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let early = await busy.read(for: 1.5, until: "\r\n\r\n")
            #expect(early.text.isEmpty && !early.closed, "\(early)")
            hog.cancel()
            let answer = await busy.read(for: 300, until: "\"total_tokens\"")
            #expect(answer.text.hasPrefix("HTTP/1.1 200") && !answer.closed, "\(answer.text.prefix(300)) after \(Date().timeIntervalSince(begun)) s")
        }
    }

    @Test func connectionCapIsEnforced() async throws {
        let server = try Self.server(ConnectionLimits(headerTimeout: 10, bodyTimeout: 10, idleTimeout: 10, maxConnections: 2))
        defer { server.engine.shutdown() }
        try await withLiveServer(server) { port in
            var held: [TimedSocket] = [try TimedSocket(port: port), try TimedSocket(port: port)]
            // Both held connections are served.
            for socket in held {
                socket.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let answer = await socket.read(for: 60, until: "}")
                #expect(answer.text.hasPrefix("HTTP/1.1 200"))
            }
            let third = try TimedSocket(port: port)
            let refused = await third.read(for: 10)
            #expect(refused.text.hasPrefix("HTTP/1.1 503") && refused.closed, "\(refused)")
            // Closing one frees its place.
            held.removeFirst()
            var served = false
            for _ in 0..<20 where !served {
                let next = try TimedSocket(port: port)
                next.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                served = await next.read(for: 10, until: "}").text.hasPrefix("HTTP/1.1 200")
                if !served { try await Task.sleep(nanoseconds: 50_000_000) }
            }
            #expect(served)
            #expect(held.count == 1)
        }
    }
}
