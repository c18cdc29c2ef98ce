import Foundation
import HTTPTypes
import Hummingbird
import LFMChat
import LFMGeneration
import LFMModels
import LFMTokenizer
import Logging
import NIOCore

/// Settings of the HTTP side of the server.
public struct ServerOptions: Sendable {
    /// The model id clients must send (and `/v1/models` lists).
    public var servedModel: String
    /// Bearer token required on `/v1/*` when set.
    public var apiKey: String?
    /// Largest request body accepted (bytes); larger ones get 413.
    public var maxBodyBytes: Int
    /// Seconds a generation may take before it is stopped with a timeout error.
    public var requestTimeout: TimeInterval
    /// How the model writes tool calls and reasoning; nil: detected from the chat template and tokenizer.
    public var outputFormat: ChatOutputFormat?

    /// Creates options.
    public init(servedModel: String, apiKey: String? = nil, maxBodyBytes: Int = 4 << 20, requestTimeout: TimeInterval = 600) {
        self.servedModel = servedModel
        self.apiKey = apiKey
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
    }

    /// Creates options with an explicit output format (tool-call syntax and reasoning markers).
    public init(servedModel: String, apiKey: String? = nil, maxBodyBytes: Int = 4 << 20, requestTimeout: TimeInterval = 600,
                outputFormat: ChatOutputFormat?) {
        self.init(servedModel: servedModel, apiKey: apiKey, maxBodyBytes: maxBodyBytes, requestTimeout: requestTimeout)
        self.outputFormat = outputFormat
    }
}

/// An OpenAI-compatible HTTP front end over a `BatchEngine`.
public final class OpenAIServer: Sendable {
    /// The engine that runs the model.
    public let engine: BatchEngine
    /// HTTP settings.
    public let options: ServerOptions
    /// Counters served at `/metrics`.
    public let metrics: ServerMetrics
    let prompt: PromptContext
    let created = Int(Date().timeIntervalSince1970)

    /// Creates a server for `model`; `template` is the chat template (nil: only `/v1/completions`).
    public init(model: any LanguageModel, tokenizer: Tokenizer, template: ChatTemplate?, bosToken: String?, eosToken: String?,
                engine configuration: EngineConfiguration, options: ServerOptions) {
        metrics = ServerMetrics()
        let engine = BatchEngine(model: model, tokenizer: tokenizer, configuration: configuration, metrics: metrics)
        self.engine = engine
        self.options = options
        prompt = PromptContext(servedModel: options.servedModel, tokenizer: tokenizer, template: template,
                               bosToken: bosToken, eosToken: eosToken, maxContext: configuration.maxContext,
                               vocabulary: { engine.tokenVocabulary() },
                               outputFormat: options.outputFormat ?? ChatOutputFormat.detect(
                                   templateSource: template?.source, tokenizer: tokenizer, family: model.configuration.architecture))
    }

    /// The router with every endpoint and middleware.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: OpenAIMiddleware(server: self))
        router.get("/health") { _, _ -> Response in
            let draining = self.engine.isDraining
            let body = Value.dict([("status", .string(draining ? "shutting_down" : "ok")), ("model", .string(self.options.servedModel)),
                                   ("running", .int(self.engine.runningCount)), ("queued", .int(self.engine.queueDepth))])
            return jsonResponse(body, status: draining ? 503 : 200)
        }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.render())))
        }
        router.get("/v1/models") { _, _ -> Response in
            jsonResponse(.dict([("object", .string("list")), ("data", .array([self.modelObject()]))]))
        }
        router.get("/v1/models/{id}") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard id == self.options.servedModel else { throw APIError.modelNotFound(id, served: self.options.servedModel) }
            return jsonResponse(self.modelObject())
        }
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = try await self.readJSON(request)
            let parsed = try RequestParser.chat(body, context: self.prompt)
            return try await self.run(parsed, chat: true)
        }
        router.post("/v1/completions") { request, _ -> Response in
            let body = try await self.readJSON(request)
            let parsed = try RequestParser.completion(body, context: self.prompt)
            return try await self.run(parsed, chat: false)
        }
        return router
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

    /// Turns a job's events into one JSON response or an SSE stream; `cancel` runs when the
    /// response is done or the client went away.
    func respond(events: AsyncStream<JobEvent>, cancel: @escaping @Sendable () -> Void, chat: Bool, model: String,
                 stream: Bool, includeUsage: Bool, logprobs: Bool = false) async throws -> Response {
        let handle = (events: events, cancel: cancel)
        let renderer = LogprobRenderer(tokenizer: prompt.tokenizer)
        let id = OpenAIShapes.newID(chat ? "chatcmpl-" : "cmpl-")
        let created = Int(Date().timeIntervalSince1970)
        if !stream {
            // Wait for the first event (after queueing and prefill): errors up to then get their own status.
            let box = IteratorBox(handle.events.makeAsyncIterator())
            var collected = Collected(renderer: logprobs ? renderer : nil)
            guard let first = await box.next() else { handle.cancel(); throw APIError.internalError("the generation ended without a result") }
            if let done = try collected.add(first, chat: chat, id: id, created: created, model: model) {
                handle.cancel()
                return jsonResponse(done)
            }
            // Then stream the body: a space now and then (JSON allows leading whitespace) notices a client
            // that went away, which cancels the generation; the JSON object comes at the end.
            let final = collected
            let body = ResponseBody { writer in
                defer { handle.cancel() }
                var collected = final
                var lastWrite = Date()
                while let event = await box.next() {
                    let done: Value?
                    do {
                        done = try collected.add(event, chat: chat, id: id, created: created, model: model)
                    } catch let error as APIError {
                        done = error.json
                    }
                    if let done {
                        try await writer.write(ByteBuffer(string: jsonText(done)))
                        break
                    }
                    if Date().timeIntervalSince(lastWrite) > 0.5 {
                        try await writer.write(ByteBuffer(string: " "))
                        lastWrite = Date()
                    }
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
        }
        let body = ResponseBody { writer in
            defer { handle.cancel() }
            func send(_ value: Value) async throws {
                try await writer.write(ByteBuffer(string: "data: \(jsonText(value))\n\n"))
            }
            // Log-probabilities of the tokens since the last chunk ride on the next chunk with text (or the last one).
            var pending: [TokenLogprob] = []
            var textOffset = 0
            func takeLogprobs() -> Value {
                guard logprobs else { return .none }
                defer { pending.removeAll() }
                if chat { return renderer.chat(pending) }
                let value = renderer.completion(pending, startOffset: textOffset)
                textOffset += renderer.characters(pending)
                return value
            }
            func chunk(_ delta: Value?, _ reason: FinishReason? = nil, _ usage: JobUsage? = nil, logprobs: Value = .none) -> Value {
                OpenAIShapes.chatChunk(id: id, created: created, model: model, delta: delta, reason: reason,
                                       usage: usage, includeUsage: includeUsage, logprobs: logprobs)
            }
            if chat { try await send(chunk(.dict([("role", .string("assistant")), ("content", .string(""))]))) }
            var callIndex = 0
            for await event in handle.events {
                switch event {
                case .logprob(let entry):
                    pending.append(entry)
                case .text(let t):
                    let lp = takeLogprobs()
                    try await send(chat ? chunk(.dict([("content", .string(t))]), logprobs: lp)
                                        : OpenAIShapes.textCompletion(id: id, created: created, model: model, text: t, reason: nil,
                                                                      usage: nil, includeUsageField: includeUsage, logprobs: lp))
                case .reasoning(let r):
                    guard chat else { continue }
                    try await send(chunk(.dict([("reasoning_content", .string(r))])))
                case .toolCall(let call):
                    guard chat else { continue }
                    let entry = OpenAIShapes.toolCall(call, id: OpenAIShapes.newID("call_"), index: callIndex)
                    callIndex += 1
                    try await send(chunk(.dict([("tool_calls", .array([entry]))])))
                case .failed(let error):
                    try await send(error.json)
                    try await writer.finish(nil)
                    return
                case .finished(let reason, let usage):
                    let lp = pending.isEmpty ? Value.none : takeLogprobs()
                    if chat {
                        try await send(chunk(.dict([]), reason, logprobs: lp))
                        if includeUsage { try await send(chunk(nil, nil, usage)) }
                    } else {
                        try await send(OpenAIShapes.textCompletion(id: id, created: created, model: model, text: "", reason: reason,
                                                                   usage: nil, includeUsageField: includeUsage, logprobs: lp))
                        if includeUsage {
                            try await send(OpenAIShapes.textCompletion(id: id, created: created, model: model, text: nil, reason: nil,
                                                                       usage: usage, includeUsageField: true))
                        }
                    }
                }
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok,
                        headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                        body: body)
    }
}

/// A JSON response.
func jsonResponse(_ value: Value, status: Int = 200, extraHeaders: HTTPFields = [:]) -> Response {
    var headers: HTTPFields = [.contentType: "application/json"]
    headers.append(contentsOf: extraHeaders)
    return Response(status: HTTPResponse.Status(code: status), headers: headers,
                    body: ResponseBody(byteBuffer: ByteBuffer(string: jsonText(value))))
}

/// Request ids, logging, bearer auth, OpenAI-shaped errors and per-route metrics.
struct OpenAIMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let server: OpenAIServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = OpenAIShapes.newID("req_")
        var context = context
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let path = request.uri.path
        let route = ["/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions"].contains(path)
            ? path : (path.hasPrefix("/v1/models/") ? "/v1/models/{id}" : "other")
        let start = Date()
        var response: Response
        do {
            if let key = server.options.apiKey, path.hasPrefix("/v1/") {
                let header = request.headers[.authorization] ?? ""
                let prefix = "Bearer "
                let given = header.hasPrefix(prefix) ? String(header.dropFirst(prefix.count)) : ""
                guard constantTimeEqual(given, key) else { throw APIError.unauthorized }
            }
            response = try await next(request, context)
        } catch {
            let api: APIError
            if let e = error as? APIError {
                api = e
            } else if let e = error as? HTTPError {
                switch e.status.code {
                case 404: api = .routeNotFound(request.method.rawValue, path)
                case 413: api = .bodyTooLarge(limit: server.options.maxBodyBytes)
                case 405: api = APIError(status: 405, message: "Method \(request.method.rawValue) is not allowed on \(path).",
                                         type: "invalid_request_error", code: "method_not_allowed")
                default: api = APIError(status: e.status.code, message: e.body ?? e.status.reasonPhrase,
                                        type: e.status.code >= 500 ? "server_error" : "invalid_request_error")
                }
            } else {
                api = APIError.from(error)
            }
            var extra: HTTPFields = [:]
            if let retry = api.retryAfter { extra[.retryAfter] = String(retry) }
            if api.status == 401 { extra[.wwwAuthenticate] = "Bearer" }
            response = jsonResponse(api.json, status: api.status, extraHeaders: extra)
            context.logger.info("request failed", metadata: ["status": "\(api.status)", "error": "\(api.message)"])
        }
        if let name = HTTPField.Name.requestID { response.headers[name] = requestID }
        server.metrics.recordRequest(route: route, status: response.status.code)
        context.logger.info("\(request.method.rawValue) \(path) \(response.status.code)",
                            metadata: ["ms": "\(Int(Date().timeIntervalSince(start) * 1000))"])
        return response
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

extension HTTPField.Name {
    /// `X-Request-Id`, echoed on every response.
    static let requestID = HTTPField.Name("x-request-id")
}

/// Moves an event iterator into a response body closure (used by one task at a time).
final class IteratorBox: @unchecked Sendable {
    private var iterator: AsyncStream<JobEvent>.Iterator
    init(_ iterator: AsyncStream<JobEvent>.Iterator) { self.iterator = iterator }
    func next() async -> JobEvent? { await iterator.next() }
}

/// The pieces of a non-streamed answer gathered so far.
struct Collected {
    /// Renders log-probabilities when the request asked for them.
    let renderer: LogprobRenderer?
    var text = ""
    var reasoning = ""
    var calls: [(String, ToolCall)] = []
    var logprobs: [TokenLogprob] = []

    init(renderer: LogprobRenderer?) { self.renderer = renderer }

    /// Adds an event; returns the complete response object once the job finished, throws its error if it failed.
    mutating func add(_ event: JobEvent, chat: Bool, id: String, created: Int, model: String) throws -> Value? {
        switch event {
        case .text(let t): text += t
        case .reasoning(let r): reasoning += r
        case .toolCall(let call): calls.append((OpenAIShapes.newID("call_"), call))
        case .logprob(let entry): logprobs.append(entry)
        case .failed(let error): throw error
        case .finished(let reason, let usage):
            let lp: Value = renderer.map { chat ? $0.chat(logprobs) : $0.completion(logprobs, startOffset: 0) } ?? .none
            return chat
                ? OpenAIShapes.chatCompletion(id: id, created: created, model: model, text: text, calls: calls,
                                              reason: reason, usage: usage, logprobs: lp, reasoning: reasoning)
                : OpenAIShapes.textCompletion(id: id, created: created, model: model, text: text, reason: reason,
                                              usage: usage, includeUsageField: true, logprobs: lp)
        }
        return nil
    }
}
