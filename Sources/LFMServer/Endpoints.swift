import Foundation
import HTTPTypes
import Hummingbird
import LFMChat
import Logging
import NIOCore

/// Builds the server's responder; pass it to `Application(router:)`.
public struct OpenAIRouter: HTTPResponderBuilder {
    let server: OpenAIServer

    /// The responder.
    public func buildResponder() -> OpenAIResponder { OpenAIResponder(server: server) }
}

/// Answers every request: normalises its path once, decides authorisation, method and handler on
/// that one `Endpoint` (deny by default: only `/health` and `/metrics` are open when a key is set),
/// and turns every failure into an OpenAI-shaped error. Adds request ids, logs and per-route counters.
public struct OpenAIResponder: HTTPResponder {
    public typealias Context = BasicRequestContext
    let server: OpenAIServer

    public func respond(to request: Request, context: Context) async throws -> Response {
        let requestID = OpenAIShapes.newID("req_")
        var context = context
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let path = request.uri.path
        let segments = try? RoutePath.segments(path)
        let endpoint = segments.flatMap { Endpoint($0) }
        let start = Date()
        var response: Response
        do {
            if let key = server.options.apiKey, endpoint?.isPublic != true {
                guard let given = BearerToken.parse(request.headers), constantTimeEqual(given, key) else { throw APIError.unauthorized }
            }
            guard segments != nil else {
                throw APIError.invalidRequest(RoutePath.Malformed(path: path).description, code: "invalid_path")
            }
            guard let endpoint else { throw APIError.routeNotFound(request.method.rawValue, path) }
            guard endpoint.methods.contains(request.method) else {
                throw APIError.methodNotAllowed(request.method.rawValue, path, allowed: endpoint.methods.map(\.rawValue))
            }
            response = try await server.handle(endpoint, request)
            if request.method == .head { response = response.createHeadResponse() }
        } catch {
            let api = apiError(error, request: request, path: path)
            var extra: HTTPFields = [:]
            if let retry = api.retryAfter { extra[.retryAfter] = String(retry) }
            if let allow = api.allow { extra[.allow] = allow.joined(separator: ", ") }
            if api.status == 401 { extra[.wwwAuthenticate] = "Bearer" }
            response = jsonResponse(api.json, status: api.status, extraHeaders: extra)
            if request.method == .head { response = response.createHeadResponse() }
            context.logger.info("request failed", metadata: ["status": "\(api.status)", "error": "\(api.message)"])
        }
        if let name = HTTPField.Name.requestID { response.headers[name] = requestID }
        server.metrics.recordRequest(route: endpoint?.label ?? "other", status: response.status.code)
        context.logger.info("\(request.method.rawValue) \(path) \(response.status.code)",
                            metadata: ["ms": "\(Int(Date().timeIntervalSince(start) * 1000))"])
        return response
    }

    private func apiError(_ error: Error, request: Request, path: String) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? HTTPError {
            switch e.status.code {
            case 404: return .routeNotFound(request.method.rawValue, path)
            case 413: return .bodyTooLarge(limit: server.options.maxBodyBytes)
            default: return APIError(status: e.status.code, message: e.body ?? e.status.reasonPhrase,
                                     type: e.status.code >= 500 ? "server_error" : "invalid_request_error")
            }
        }
        return APIError.from(error)
    }
}

extension OpenAIServer {
    /// Runs the handler of `endpoint` (authorisation and method already checked).
    func handle(_ endpoint: Endpoint, _ request: Request) async throws -> Response {
        switch endpoint {
        case .health:
            let draining = engine.isDraining
            let body = Value.dict([("status", .string(draining ? "shutting_down" : "ok")), ("model", .string(options.servedModel)),
                                   ("running", .int(engine.runningCount)), ("queued", .int(engine.queueDepth))])
            return jsonResponse(body, status: draining ? 503 : 200)
        case .metrics:
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
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
        let handle = try engine.submit(job)
        return try await respond(events: handle.events, cancel: { handle.cancel() }, chat: chat, model: request.model,
                                 stream: request.stream, includeUsage: request.includeUsage, logprobs: request.logprobs != nil)
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
