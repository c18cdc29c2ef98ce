import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

extension OpenAIServer {
    /// The Hummingbird application listening on `host:port`.
    public func makeApplication(host: String, port: Int, logger: Logger? = nil,
                                onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var log = logger ?? Logger(label: "lfm.server")
        if logger == nil { log.logLevel = .info }
        return Application(router: makeRouter(),
                           configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "lfm"),
                           services: [EngineShutdownService(engine: engine, logger: log)],
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                           logger: log)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting connections, lets in-flight requests
    /// finish (up to `grace` seconds, after which they are cancelled) and returns.
    public func run(host: String, port: Int, grace: Int = 30) async throws {
        let app = makeApplication(host: host, port: port)
        var logger = Logger(label: "lfm.lifecycle")
        logger.logLevel = .info
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger).withGrace(grace))
        try await group.run()
        engine.shutdown()
    }
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
