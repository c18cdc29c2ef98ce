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
        ReplicaHost(server: self).makeApplication(host: host, port: port, logger: logger, onServerRunning: onServerRunning)
    }

    /// Serves until SIGTERM or SIGINT, then drains (see `ReplicaHost.run`) for up to `grace`
    /// seconds and returns. `onListening` runs with the bound port once the socket listens (so
    /// callers announce the server only then).
    /// - Throws: `ListenError` when the address cannot be bound (e.g. the port is in use).
    public func run(host: String, port: Int, grace: Int = 30,
                    onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await run(host: host, port: port, grace: grace, signals: [.sigterm, .sigint], onListening: onListening)
    }

    func run(host: String, port: Int, grace: Int, signals: [UnixSignal],
             onListening: @escaping @Sendable (Int) async -> Void) async throws {
        try await ReplicaHost(server: self).run(host: host, port: port, drainTimeout: TimeInterval(grace), signals: signals,
                                                load: nil, onListening: onListening)
    }
}

extension ReplicaHost {
    /// The Hummingbird application listening on `host:port`.
    public func makeApplication(host: String, port: Int, logger: Logger? = nil,
                                onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var log = logger ?? Logger(label: "lfm.server")
        if logger == nil { log.logLevel = .info }
        return Application(router: makeRouter(), server: GuardedHTTP1Channel.builder(limits: options.connections),
                           configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "lfm"),
                           services: [EngineShutdownService(host: self, logger: log)],
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                           logger: log)
    }

    /// Runs one replica: listens on `host:port` first (`/health` 503 "loading"), then builds the
    /// server with `load` on a thread of its own (nil: one is installed already) and becomes ready
    /// (`/health` 200). On the first of `signals` it drains (`drain(timeout: drainTimeout)`: new
    /// generations 503, running ones finish or are ended with an error event at the deadline),
    /// then stops listening, waits up to 5 s for the last responses to be written and returns; a
    /// second signal ends the running generations at once.
    /// - Throws: `ListenError` when the address cannot be bound; what `load` throws.
    public func run(host: String, port: Int, drainTimeout: TimeInterval, signals: [UnixSignal] = [.sigterm, .sigint],
                    load: (@Sendable () throws -> OpenAIServer)?,
                    onListening: @escaping @Sendable (Int) async -> Void = { _ in },
                    onReady: @escaping @Sendable () async -> Void = {}) async throws {
        let listening = ListeningFlag()
        let (bound, boundContinuation) = AsyncStream<Void>.makeStream()
        let app = makeApplication(host: host, port: port) { port in
            listening.set()
            await onListening(port)
            boundContinuation.yield()
            boundContinuation.finish()
        }
        var logger = Logger(label: "lfm.lifecycle")
        logger.logLevel = .info
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], cancellationSignals: [],
                                                      logger: logger).withGrace(5))
        let failure = LoadFailure()
        let log = logger
        // Loads once the socket listens; a failed load stops the server (and `run` throws it).
        let loader = Task {
            for await _ in bound {
                guard let load else { await onReady(); return }
                do {
                    let server = try await Self.onThread(load)
                    guard !Task.isCancelled else { server.engine.shutdown(); return }
                    install(server)
                    log.info("ready", metadata: ["replica": "\(options.replicaID ?? "local")"])
                    await onReady()
                } catch {
                    failure.set(error)
                    await group.triggerGracefulShutdown()
                }
            }
        }
        let watcher = Task {
            guard !signals.isEmpty else { return }
            var received = 0
            for await signal in await UnixSignalsSequence(trapping: signals) {
                received += 1
                if received == 1 {
                    log.info("draining", metadata: ["signal": "\(signal)", "timeout_s": "\(drainTimeout)"])
                    Task {
                        let report = await self.drain(timeout: drainTimeout)
                        log.info("drained", metadata: ["seconds": "\(String(format: "%.2f", report.seconds))",
                                                       "cut_short": "\(report.cutShort)"])
                        await group.triggerGracefulShutdown()
                    }
                } else {
                    log.info("second signal: ending running generations now", metadata: ["signal": "\(signal)"])
                    server?.engine.shutdown()
                }
            }
        }
        defer {
            watcher.cancel()
            loader.cancel()
            boundContinuation.finish()
            server?.engine.shutdown()
        }
        do {
            try await group.run()
        } catch {
            if !listening.isSet { throw ListenError(host: host, port: port, underlying: error) }
            throw error
        }
        if let error = failure.error { throw error }
    }

    /// Runs `body` on a thread of its own (loading a model blocks for seconds; the cooperative pool
    /// keeps serving `/health` meanwhile).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
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

/// The error a load failed with (guarded by `lock`).
private final class LoadFailure: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: Error?
    var error: Error? { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ error: Error) { lock.lock(); value = error; lock.unlock() }
}

/// Set once the server socket listens (its value guarded by `lock`).
private final class ListeningFlag: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
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

/// Refuses new generations once the HTTP server starts shutting down (503), then stops the engine
/// thread once the HTTP server has drained (it shuts down after this service is told to).
struct EngineShutdownService: Service {
    let host: ReplicaHost
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        guard let engine = host.server?.engine else { return }
        engine.beginDraining()
        logger.info("shutting down", metadata: ["running": "\(engine.runningCount)", "queued": "\(engine.queueDepth)"])
        engine.shutdown()
    }
}
