import Foundation

/// Where one `lfm serve` process is in its life, as `/health` reports it to a load balancer.
public enum ReplicaPhase: String, Sendable {
    /// Listening, the model not loaded yet: `/health` 503, `/v1/*` 503.
    case loading
    /// Serving: `/health` 200.
    case ready
    /// Shutting down: running generations finish, new ones get 503; `/health` 503.
    case draining
}

/// One replica of a fleet: the HTTP side that exists before the model is loaded (so the socket
/// can listen, and `/health` say "loading", from the start), the server once it is, and the
/// drain state. Its router answers for both phases.
public final class ReplicaHost: @unchecked Sendable {
    // @unchecked: `installed` and `drainRequested` are only touched under `lock`.
    /// HTTP settings (model id, API key, body limit) used before the server exists as well.
    public let options: ServerOptions
    /// Counters served at `/metrics`, shared with the server once it is installed.
    public let metrics: ServerMetrics
    fileprivate let lock = NSLock()
    // Guarded by `lock`.
    fileprivate var installed: OpenAIServer?
    fileprivate var drainRequested = false

    /// A host still loading its model; `metrics` carries the replica and model labels.
    public init(options: ServerOptions, metrics: ServerMetrics) {
        self.options = options
        self.metrics = metrics
    }

    /// A host around a server that is already loaded.
    public convenience init(server: OpenAIServer) {
        self.init(options: server.options, metrics: server.metrics)
        install(server)
    }

    /// The server, once loaded.
    public var server: OpenAIServer? { lock.lock(); defer { lock.unlock() }; return installed }

    /// Makes the replica ready (unless a drain was asked for while it loaded: then it drains at once).
    public func install(_ server: OpenAIServer) {
        lock.lock()
        installed = server
        let drain = drainRequested
        lock.unlock()
        if drain { server.engine.beginDraining() }
    }

    /// The current phase.
    public var phase: ReplicaPhase {
        lock.lock()
        let server = installed, drain = drainRequested
        lock.unlock()
        guard let server else { return drain ? .draining : .loading }
        return drain || server.engine.isDraining ? .draining : .ready
    }

    /// The responder builder for `Application(router:)`.
    public func makeRouter() -> OpenAIRouter { OpenAIRouter(host: self) }

    /// Stops taking new generations (503 with `Retry-After` and `Connection: close`; `/health` 503
    /// "draining"), waits up to `timeout` seconds for the running and queued ones to finish, then
    /// ends those still running with an error event (`code: "shutting_down"`) and returns.
    @discardableResult
    public func drain(timeout: TimeInterval) async -> DrainReport {
        guard let server = requestDrain() else { return DrainReport(seconds: 0, finishedInTime: true, cutShort: 0) }
        return await server.drain(timeout: timeout)
    }
}

extension ReplicaHost {
    /// Marks the drain as asked for; returns the server, if loaded.
    fileprivate func requestDrain() -> OpenAIServer? {
        lock.lock()
        defer { lock.unlock() }
        drainRequested = true
        return installed
    }
}

/// What a drain did.
public struct DrainReport: Sendable, Equatable {
    /// Seconds from the start of the drain until it returned.
    public var seconds: Double
    /// Whether every generation finished before the deadline.
    public var finishedInTime: Bool
    /// Generations (running or queued) ended at the deadline.
    public var cutShort: Int
}

/// Generations the server has accepted and not yet finished answering, counted from submission
/// until the response (or its streamed body) is complete (guarded by `lock`).
final class ActiveGenerations: @unchecked Sendable {
    // @unchecked: `count` is only touched under `lock`.
    private let lock = NSLock()
    private var count = 0

    /// Counts one until the returned ticket is finished or released, whichever comes first (a
    /// response body that is never run still releases it).
    func enter() -> GenerationTicket {
        lock.lock()
        count += 1
        lock.unlock()
        return GenerationTicket(owner: self)
    }

    fileprivate func leave() { lock.lock(); count -= 1; lock.unlock() }

    var current: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// One counted generation (its flag guarded by `lock`).
final class GenerationTicket: @unchecked Sendable {
    // @unchecked: `finished` is only touched under `lock`.
    private let owner: ActiveGenerations
    private let lock = NSLock()
    private var finished = false

    fileprivate init(owner: ActiveGenerations) { self.owner = owner }

    /// Uncounts the generation (once).
    func finish() {
        lock.lock()
        let first = !finished
        finished = true
        lock.unlock()
        if first { owner.leave() }
    }

    deinit { finish() }
}

extension APIError {
    /// 503 while the model is still loading.
    static let loading = APIError(status: 503, message: "The model is still loading; retry shortly.", type: "server_error",
                                  code: "loading", retryAfter: 1)
}

extension OpenAIServer {
    /// Drains this server: see `ReplicaHost.drain(timeout:)`.
    func drain(timeout: TimeInterval) async -> DrainReport {
        let start = Date()
        engine.beginDraining()
        func busy() -> Int { max(active.current, engine.runningCount + engine.queueDepth) }
        while busy() > 0, Date().timeIntervalSince(start) < timeout {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let left = busy()
        if left > 0 {
            // Every running and queued job gets `.failed(.shuttingDown)`: streams end with an error event.
            engine.shutdown()
            // Let their responses be written (bounded: a client that does not read is not waited for).
            let cut = Date()
            while active.current > 0, Date().timeIntervalSince(cut) < 2 {
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        return DrainReport(seconds: Date().timeIntervalSince(start), finishedInTime: left == 0, cutShort: left)
    }
}
