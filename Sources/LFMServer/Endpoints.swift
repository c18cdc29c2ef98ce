import Foundation
import HTTPTypes
import Hummingbird
import LFMChat
import Logging
import NIOCore

/// Builds the server's responder; pass it to `Application(router:)`.
public struct OpenAIRouter: HTTPResponderBuilder {
    let host: ReplicaHost

    /// The responder.
    public func buildResponder() -> OpenAIResponder { OpenAIResponder(host: host) }
}

/// Answers every request: normalises its path once, decides authorisation, method and handler on
/// that one `Endpoint` (deny by default: only `/health` and `/metrics` are open when a key is set),
/// and turns every failure into an OpenAI-shaped error. Adds request ids, logs and per-route counters.
/// Before the model is loaded, and while draining, generations get 503 with `Retry-After`; while
/// draining every response carries `Connection: close`, so a load balancer's pooled connections
/// to this replica end.
public struct OpenAIResponder: HTTPResponder {
    public typealias Context = BasicRequestContext
    let host: ReplicaHost

    public func respond(to request: Request, context: Context) async throws -> Response {
        let requestID = OpenAIShapes.newID("req_")
        var context = context
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let path = request.uri.path
        let segments = try? RoutePath.segments(path)
        let endpoint = segments.flatMap { Endpoint($0) }
        let start = Date()
        let phase = host.phase
        var response: Response
        do {
            if let key = host.options.apiKey, endpoint?.isPublic != true {
                guard let given = BearerToken.parse(request.headers), constantTimeEqual(given, key) else { throw APIError.unauthorized }
            }
            guard segments != nil else {
                throw APIError.invalidRequest(RoutePath.Malformed(path: path).description, code: "invalid_path")
            }
            guard let endpoint else { throw APIError.routeNotFound(request.method.rawValue, path) }
            guard endpoint.methods.contains(request.method) else {
                throw APIError.methodNotAllowed(request.method.rawValue, path, allowed: endpoint.methods.map(\.rawValue))
            }
            switch (endpoint, phase, host.server) {
            case (.health, _, let server):
                response = health(phase: phase, server: server)
            case (.metrics, _, _):
                response = Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                    body: ResponseBody(byteBuffer: ByteBuffer(string: host.metrics.render(phase: phase))))
            case (_, .draining, _):
                throw APIError.shuttingDown
            case (_, _, let server?):
                response = try await server.handle(endpoint, request)
            case (_, _, nil):
                throw APIError.loading
            }
            if request.method == .head { response = response.createHeadResponse() }
        } catch {
            let api = apiError(error, request: request, path: path)
            var extra: HTTPFields = [:]
            if let retry = api.retryAfter ?? (api.status == 503 ? 1 : nil) { extra[.retryAfter] = String(retry) }
            if let allow = api.allow { extra[.allow] = allow.joined(separator: ", ") }
            if api.status == 401 { extra[.wwwAuthenticate] = "Bearer" }
            response = jsonResponse(api.json, status: api.status, extraHeaders: extra)
            if request.method == .head { response = response.createHeadResponse() }
            context.logger.info("request failed", metadata: ["status": "\(api.status)", "error": "\(api.message)"])
        }
        if phase == .draining || host.phase == .draining { response.headers[.connection] = "close" }
        if let name = HTTPField.Name.requestID { response.headers[name] = requestID }
        let label = endpoint?.label ?? "other"
        let seconds = Date().timeIntervalSince(start)
        host.metrics.recordRequest(route: label, status: response.status.code)
        host.metrics.recordDuration(route: label, seconds: seconds)
        context.logger.info("\(request.method.rawValue) \(path) \(response.status.code)", metadata: ["ms": "\(Int(seconds * 1000))"])
        return response
    }

    /// `/health`: 200 with the model, replica, running and queued counts when ready; 503 with
    /// `status` "loading" or "draining" (and `Retry-After`) otherwise.
    private func health(phase: ReplicaPhase, server: OpenAIServer?) -> Response {
        var fields: [(String, Value)] = [("status", .string(phase == .ready ? "ok" : phase.rawValue)),
                                         ("model", .string(host.options.servedModel)),
                                         ("replica", .string(host.options.replicaID ?? "local"))]
        if let server {
            fields += [("running", .int(server.engine.runningCount)), ("queued", .int(server.engine.queueDepth))]
        }
        guard phase == .ready else { return jsonResponse(.dict(fields), status: 503, extraHeaders: [.retryAfter: "1"]) }
        return jsonResponse(.dict(fields))
    }

    private func apiError(_ error: Error, request: Request, path: String) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? HTTPError {
            switch e.status.code {
            case 404: return .routeNotFound(request.method.rawValue, path)
            case 413: return .bodyTooLarge(limit: host.options.maxBodyBytes)
            default: return APIError(status: e.status.code, message: e.body ?? e.status.reasonPhrase,
                                     type: e.status.code >= 500 ? "server_error" : "invalid_request_error")
            }
        }
        return APIError.from(error)
    }
}

extension OpenAIServer {
    /// Runs the handler of a model endpoint (authorisation, method and phase already checked).
    func handle(_ endpoint: Endpoint, _ request: Request) async throws -> Response {
        switch endpoint {
        case .health, .metrics:
            // Answered by the responder, which knows the replica's phase.
            throw APIError.internalError("\(endpoint.label) is answered by the responder")
        case .models:
            return jsonResponse(.dict([("object", .string("list")), ("data", .array([modelObject()]))]))
        case .model(let id):
            guard id == options.servedModel else { throw APIError.modelNotFound(id, served: options.servedModel) }
            return jsonResponse(modelObject())
        case .chatCompletions:
            let body = try await readJSON(request)
            let parsed = try RequestParser.chat(body, context: prompt, schemaOptions: options.schemaOptions)
            return try await run(parsed, chat: true)
        case .completions:
            let body = try await readJSON(request)
            let parsed = try RequestParser.completion(body, context: prompt)
            return try await run(parsed, chat: false)
        }
    }

    private func modelObject() -> Value {
        .dict([("id", .string(options.servedModel)), ("object", .string("model")), ("created", .int(created)),
               ("owned_by", .string("swift-lfm"))])
    }

    private func readJSON(_ request: Request) async throws -> Value {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > options.maxBodyBytes {
            await discard(request.body)
            throw APIError.bodyTooLarge(limit: options.maxBodyBytes)
        }
        var buffer = ByteBuffer()
        var iterator = request.body.makeAsyncIterator()
        while let part = try await iterator.next() {
            guard buffer.readableBytes + part.readableBytes <= options.maxBodyBytes else {
                var dropped = buffer.readableBytes
                while dropped <= 16 * options.maxBodyBytes, let more = try? await iterator.next() { dropped += more.readableBytes }
                throw APIError.bodyTooLarge(limit: options.maxBodyBytes)
            }
            buffer.writeImmutableBuffer(part)
        }
        let data = Data(buffer.readableBytesView)
        do {
            return try Value.parseJSON(data: data)
        } catch {
            throw APIError.invalidRequest("The request body is not valid JSON: \(error)", code: "invalid_json")
        }
    }

    /// Reads and drops the rest of a refused body (at most 16 × the limit): a request body left
    /// unread behind an early answer stays in memory (measured: ~0.45 MB per refused 5 MB request).
    private func discard(_ body: RequestBody) async {
        var dropped = 0
        do {
            for try await part in body {
                dropped += part.readableBytes
                if dropped > 16 * options.maxBodyBytes { break }
            }
        } catch {}
    }

    /// Submits the job and answers with one JSON object or an SSE stream.
    private func run(_ request: GenerationRequest, chat: Bool) async throws -> Response {
        let job = GenerationJob(promptTokens: request.promptTokens, options: request.options,
                                cacheBoundaries: request.cacheBoundaries, timeout: options.requestTimeout,
                                forcedPrefixes: request.forcedPrefixes, logprobs: request.logprobs)
        // Counted until its answer is complete, so a drain waits for the response to be written too.
        let ticket = active.enter()
        let handle: JobHandle
        do { handle = try engine.submit(job) } catch { ticket.finish(); throw error }
        do {
            return try await respond(events: handle.events, cancel: { handle.cancel(); ticket.finish() }, chat: chat, model: request.model,
                                     stream: request.stream, includeUsage: request.includeUsage, logprobs: request.logprobs != nil)
        } catch {
            handle.cancel()
            ticket.finish()
            throw error
        }
    }
}

/// Compares two strings in time that depends only on their lengths.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var difference = UInt8(x.count == y.count ? 0 : 1)
    let n = max(x.count, y.count)
    for i in 0..<n {
        let p = i < x.count ? x[i] : 0
        let q = i < y.count ? y[i] : 0
        difference |= p ^ q
    }
    return difference == 0
}
