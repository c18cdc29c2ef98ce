import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Limits on connections that protect the server from slow or idle clients.
public struct ConnectionLimits: Sendable, Equatable {
    /// Seconds from the first byte of a request until its header is complete (slowloris); the
    /// connection then gets 408 and is closed.
    public var headerTimeout: TimeInterval
    /// Seconds from a request's header until its body is complete; the connection is then closed.
    public var bodyTimeout: TimeInterval
    /// Seconds a connection may wait with no request (before its first or between keep-alive requests).
    public var idleTimeout: TimeInterval
    /// Most connections open at once; one more is answered 503 and closed.
    public var maxConnections: Int

    /// Creates limits.
    public init(headerTimeout: TimeInterval = 10, bodyTimeout: TimeInterval = 30, idleTimeout: TimeInterval = 60,
                maxConnections: Int = 256) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// HTTP/1.1 child channels with `ConnectionLimits`: Hummingbird's `HTTP1Channel` (which has only an
/// idle-read timeout that any trickle of bytes resets) plus two handlers sharing one `ConnectionClock`:
/// one first in the pipeline that sees raw bytes arrive, one after HTTP decoding that sees where
/// requests and responses begin and end.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits
    let count: ConnectionCount

    /// The builder to pass to `Application(server:)`.
    static func builder(limits: ConnectionLimits) -> HTTPServerBuilder {
        let count = ConnectionCount()
        return HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, limits: limits, count: count) }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = count.open(limit: limits.maxConnections)
        let counter = count
        channel.closeFuture.whenComplete { _ in counter.close() }
        let clock = ConnectionClock(limits: limits, eventLoop: channel.eventLoop)
        // The clock is not Sendable: it lives on the channel's event loop, where HTTP1Channel builds
        // the additional handlers; NIOLoopBound checks that when the handler is made.
        let boundClock = NIOLoopBound(clock, eventLoop: channel.eventLoop)
        let base = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [RequestPhaseHandler(clock: boundClock.value)]))
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RawActivityHandler(clock: clock, refuse: !admitted), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// Open connections across all event loops (guarded by `lock`).
final class ConnectionCount: @unchecked Sendable {
    // @unchecked: `open` is only touched under `lock`.
    private let lock = NSLock()
    private var open = 0

    /// Counts a new connection; false when it is over `limit` (it is counted all the same until it closes).
    func open(limit: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        open += 1
        return open <= limit
    }

    func close() { lock.lock(); open -= 1; lock.unlock() }
}

/// The read deadline of one connection. Used only on its event loop.
final class ConnectionClock {
    enum Deadline { case idle, header, body }

    let limits: ConnectionLimits
    let eventLoop: any EventLoop
    /// The raw handler's context: where a 408 is written and the connection closed.
    var context: ChannelHandlerContext?
    private var requestOpen = false
    private var inFlight = 0
    private var idleSince = NIODeadline.now()
    private var firstByte: NIODeadline?
    private var requestStart = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(limits: ConnectionLimits, eventLoop: any EventLoop) {
        self.limits = limits
        self.eventLoop = eventLoop
    }

    func started() { idleSince = .now(); rearm() }
    func bytesArrived() {
        guard !requestOpen, firstByte == nil else { return }
        firstByte = .now()
        rearm()
    }
    func requestHead() {
        requestOpen = true
        inFlight += 1
        firstByte = nil
        requestStart = .now()
        rearm()
    }
    func requestEnd() { requestOpen = false; rearm() }
    func responseEnd() {
        inFlight = max(0, inFlight - 1)
        if inFlight == 0 { idleSince = .now() }
        rearm()
    }
    func stop() { timer?.cancel(); timer = nil; context = nil }

    /// Which deadline runs now: the body's while one is being read, none while a response is being
    /// made, else the header's once bytes of a request came, else the idle one.
    private func rearm() {
        timer?.cancel()
        timer = nil
        let kind: Deadline, at: NIODeadline
        if requestOpen {
            (kind, at) = (.body, requestStart + Self.amount(limits.bodyTimeout))
        } else if inFlight > 0 {
            return
        } else if let firstByte {
            (kind, at) = (.header, firstByte + Self.amount(limits.headerTimeout))
        } else {
            (kind, at) = (.idle, idleSince + Self.amount(limits.idleTimeout))
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        timer = eventLoop.scheduleTask(deadline: at) { bound.value.expired(kind) }
    }

    private func expired(_ kind: Deadline) {
        guard let context else { return }
        if kind == .header {
            let answer = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            context.writeAndFlush(NIOAny(IOData.byteBuffer(ByteBuffer(string: answer))), promise: nil)
        }
        context.close(promise: nil)
        stop()
    }

    private static func amount(_ seconds: TimeInterval) -> TimeAmount {
        .nanoseconds(Int64(min(max(seconds, 0), 1e9) * 1e9))
    }
}

/// First in the pipeline: notes raw bytes arriving, and answers a connection over the cap with 503.
final class RawActivityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let clock: ConnectionClock
    let refuse: Bool
    private var begun = false

    init(clock: ConnectionClock, refuse: Bool) {
        self.clock = clock
        self.refuse = refuse
    }

    func handlerAdded(context: ChannelHandlerContext) {
        clock.context = context
        if context.channel.isActive { begin(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        begin(context)
        context.fireChannelActive()
    }

    private func begin(_ context: ChannelHandlerContext) {
        guard !begun else { return }
        begun = true
        if refuse {
            let answer = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"
            context.writeAndFlush(NIOAny(IOData.byteBuffer(ByteBuffer(string: answer))), promise: nil)
            context.close(promise: nil)
            return
        }
        clock.started()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refuse { return }
        clock.bytesArrived()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock.stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { clock.stop() }
}

/// After HTTP decoding: notes where requests and responses begin and end.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let clock: ConnectionClock

    init(clock: ConnectionClock) { self.clock = clock }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: clock.requestHead()
        case .end: clock.requestEnd()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    /// A response that says `Connection: close` (sent while the server drains) ends the connection
    /// once written, so a client or load balancer that would reuse it cannot.
    private var closeAfterResponse = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            clock.responseEnd()
            guard closeAfterResponse else { context.write(data, promise: promise); return }
            let written = context.eventLoop.makePromise(of: Void.self)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { result in
                bound.value.close(promise: nil)
                switch result {
                case .success: promise?.succeed(())
                case .failure(let error): promise?.fail(error)
                }
            }
            context.writeAndFlush(data, promise: written)
        }
    }
}
