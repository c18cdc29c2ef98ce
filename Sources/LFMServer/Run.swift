import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

extension OpenAIServer {
    /// The Hummingbird application listening on `host:port`.
    public func makeApplication(host: String, port: Int, logger: Logger? = nil,
                                onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var log = logger ?? Logger(label: "lfm.server")
        if logger == nil { log.logLevel = .info }
        return Application(router: makeRouter(), server: GuardedHTTP1Channel.builder(limits: options.connections),
                           configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "lfm"),
                           services: [EngineShutdownService(engine: engine, logger: log)],
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                           logger: log)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting connections, lets in-flight requests
    /// finish (up to `grace` seconds, after which they are cancelled) and returns. `onListening`
    /// runs with the bound port once the socket listens (so callers announce the server only then).
    /// - Throws: `ListenError` when the address cannot be bound (e.g. the port is in use).
    public func run(host: String, port: Int, grace: Int = 30,
                    onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await run(host: host, port: port, grace: grace, signals: [.sigterm, .sigint], onListening: onListening)
    }

    func run(host: String, port: Int, grace: Int, signals: [UnixSignal],
             onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let listening = ListeningFlag()
        let app = makeApplication(host: host, port: port) { bound in
            listening.set()
            await onListening(bound)
        }
        var logger = Logger(label: "lfm.lifecycle")
        logger.logLevel = .info
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: signals,
                                                      logger: logger).withGrace(grace))
        do {
            try await group.run()
        } catch {
            engine.shutdown()
            if !listening.isSet { throw ListenError(host: host, port: port, underlying: error) }
            throw error
        }
        engine.shutdown()
    }
}

/// The server could not start listening.
public struct ListenError: Error, CustomStringConvertible {
    /// The address asked for.
    public let host: String
    /// The port asked for.
    public let port: Int
    /// What the socket layer said.
    public let underlying: Error

    /// Whether another process holds the address.
    public var addressInUse: Bool {
        if let io = underlying as? IOError { return io.errnoCode == EADDRINUSE }
        return false
    }

    public var description: String {
        if addressInUse {
            return "cannot listen on \(host):\(port): the address is already in use (is another server running on port \(port)? choose another with --port)"
        }
        return "cannot listen on \(host):\(port): \(underlying)"
    }
}

/// Set once the server socket listens (its value guarded by `lock`).
private final class ListeningFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

extension ServiceGroupConfiguration {
    fileprivate func withGrace(_ seconds: Int) -> Self {
        var copy = self
        copy.maximumGracefulShutdownDuration = .seconds(seconds)
        return copy
    }
}

/// Refuses new generations once shutdown starts (503), then stops the engine thread when the
/// HTTP server has drained.
struct EngineShutdownService: Service {
    let engine: BatchEngine
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        engine.beginDraining()
        logger.info("shutting down: refusing new requests", metadata: ["running": "\(engine.runningCount)", "queued": "\(engine.queueDepth)"])
        engine.shutdown()
    }
}
