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
    /// Header, body and idle timeouts and the cap on open connections.
    public var connections: ConnectionLimits
    /// Bounds on compiling a request's JSON schema (`response_format`, tool parameters) and on
    /// preparing its first mask, both done in the request's handler before it is queued; a schema
    /// past them gets a 400. By default at most 2 s.
    public var schemaOptions: SchemaCompileOptions
    /// This replica's name in a fleet: the `replica` label on every `/metrics` series and a field
    /// of `/health` (nil: "local"; `lfm serve` defaults it to hostname:port).
    public var replicaID: String?

    /// Creates options.
    public init(servedModel: String, apiKey: String? = nil, maxBodyBytes: Int = 4 << 20, requestTimeout: TimeInterval = 600,
                connections: ConnectionLimits = ConnectionLimits(), schemaOptions: SchemaCompileOptions = ServerOptions.defaultSchemaOptions) {
        self.servedModel = servedModel
        self.apiKey = apiKey
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.connections = connections
        self.schemaOptions = schemaOptions
    }

    /// The schema defaults with a 2 s time limit.
    public static var defaultSchemaOptions: SchemaCompileOptions {
        var options = SchemaCompileOptions()
        options.timeLimit = 2
        return options
    }

    /// Creates options with an explicit output format (tool-call syntax and reasoning markers).
    public init(servedModel: String, apiKey: String? = nil, maxBodyBytes: Int = 4 << 20, requestTimeout: TimeInterval = 600,
                connections: ConnectionLimits = ConnectionLimits(), schemaOptions: SchemaCompileOptions = ServerOptions.defaultSchemaOptions,
                outputFormat: ChatOutputFormat?) {
        self.init(servedModel: servedModel, apiKey: apiKey, maxBodyBytes: maxBodyBytes, requestTimeout: requestTimeout,
                  connections: connections, schemaOptions: schemaOptions)
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
    /// Generations accepted and not yet answered in full (what a drain waits for).
    let active = ActiveGenerations()
    let prompt: PromptContext
    let created = Int(Date().timeIntervalSince1970)

    /// Creates a server for `model`; `template` is the chat template (nil: only `/v1/completions`).
    public init(model: any LanguageModel, tokenizer: Tokenizer, template: ChatTemplate?, bosToken: String?, eosToken: String?,
                engine configuration: EngineConfiguration, options: ServerOptions, metrics: ServerMetrics? = nil) {
        let metrics = metrics ?? ServerMetrics(replica: options.replicaID ?? "local", model: options.servedModel)
        self.metrics = metrics
        let engine = BatchEngine(model: model, tokenizer: tokenizer, configuration: configuration, metrics: metrics)
        self.engine = engine
        self.options = options
        prompt = PromptContext(servedModel: options.servedModel, tokenizer: tokenizer, template: template,
                               bosToken: bosToken, eosToken: eosToken, maxContext: configuration.maxContext,
                               unboundedLength: configuration.cachePolicy.isBounded, vocabulary: { engine.tokenVocabulary() },
                               outputFormat: options.outputFormat ?? ChatOutputFormat.detect(
                                   templateSource: template?.source, tokenizer: tokenizer, family: model.configuration.architecture))
    }

    /// The responder builder for `Application(router:)`: routing, authorisation and every endpoint.
    public func makeRouter() -> OpenAIRouter { ReplicaHost(server: self).makeRouter() }

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

extension HTTPField.Name {
    /// `X-Request-Id`, echoed on every response.
    static let requestID = HTTPField.Name("x-request-id")
}

/// Moves an event iterator into a response body closure (used by one task at a time).
final class IteratorBox: @unchecked Sendable {
    // @unchecked: `iterator` is used by one task at a time: the response body the box is moved into.
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
