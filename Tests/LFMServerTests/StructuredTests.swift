import Foundation
import Hummingbird
import HummingbirdTesting
import LFMChat
import LFMGeneration
import LFMModels
@testable import LFMServer
import Testing

/// Everything a job streamed, logprob events included.
func collectAll(_ handle: JobHandle) async -> (text: String, logprobs: [TokenLogprob], reason: FinishReason?, usage: JobUsage?, error: APIError?) {
    var text = "", logprobs: [TokenLogprob] = [], reason: FinishReason?, usage: JobUsage?, error: APIError?
    for await event in handle.events {
        switch event {
        case .text(let t): text += t
        case .logprob(let entry): logprobs.append(entry)
        case .toolCall, .reasoning: break
        case .finished(let r, let u): reason = r; usage = u
        case .failed(let e): error = e
        }
    }
    return (text, logprobs, reason, usage, error)
}

/// A server whose engine prefills `chunk` tokens per iteration.
func chunkedServer(chunk: Int, maxBatch: Int = 8, prefixCache: Int = 0) throws -> OpenAIServer {
    let (model, tokenizer, template) = try TestModel.get()
    return OpenAIServer(model: model, tokenizer: tokenizer, template: template, bosToken: "<|startoftext|>", eosToken: "<|im_end|>",
                        engine: EngineConfiguration(maxBatch: maxBatch, maxQueue: 16, maxContext: 1024, prefixCacheEntries: prefixCache,
                                                    prefillChunk: chunk),
                        options: ServerOptions(servedModel: "tiny-lfm2"))
}

@Suite(.serialized) struct StructuredTests {
    static let prompts: [[Int]] = [(1...57).map { ($0 * 131) % 60000 + 2 }, [1, 44], (1...23).map { $0 * 997 }, [1, 9000, 12, 13, 14, 15],
                                   (1...40).map { ($0 * 7919) % 65000 + 1 }]
    static let budgets = [9, 14, 6, 11, 7]

    @Test(arguments: [1, 5, 16, 0])
    func chunkedPrefillGivesTheTokensOfEachRequestAlone(chunk: Int) async throws {
        let (model, _, _) = try TestModel.get()
        let server = try chunkedServer(chunk: chunk, prefixCache: chunk == 5 ? 16 : 0)
        defer { server.engine.shutdown() }
        var handles: [JobHandle] = []
        for (i, (p, n)) in zip(Self.prompts, Self.budgets).enumerated() {
            // Boundaries inside the prompt (snapshots) on the way, for some requests.
            let boundaries = i % 2 == 0 ? [p.count / 3, p.count / 2] : []
            handles.append(try server.engine.submit(GenerationJob(promptTokens: p, options: GenerationOptions(sampling: .greedy, maxTokens: n, stopTokens: []),
                                                                  cacheBoundaries: boundaries)))
        }
        for (i, handle) in handles.enumerated() {
            let result = await collectAll(handle)
            #expect(result.error == nil)
            #expect(result.usage?.tokens == (try alone(model, Self.prompts[i], steps: Self.budgets[i])), "chunk \(chunk) request \(i)")
        }
        #expect(server.engine.peakRunningCount >= 2, "requests overlapped")
        // A prompt that repeats an earlier one starts from its cached snapshot and still gives the same tokens.
        if chunk == 5 {
            let again = await collectAll(try server.engine.submit(GenerationJob(promptTokens: Self.prompts[0] + [77, 78],
                                                                                options: GenerationOptions(sampling: .greedy, maxTokens: 5, stopTokens: []))))
            #expect((again.usage?.cachedPromptTokens ?? 0) >= Self.prompts[0].count / 2)
            #expect(again.usage?.tokens == (try alone(model, Self.prompts[0] + [77, 78], steps: 5)))
        }
    }

    @Test func logprobsAreTheModelsLogSoftmax() async throws {
        let (model, _, _) = try TestModel.get()
        let server = try chunkedServer(chunk: 8)
        defer { server.engine.shutdown() }
        let prompt = Self.prompts[2]
        // Two at once: the entries are per sequence.
        let a = try server.engine.submit(GenerationJob(promptTokens: prompt, options: GenerationOptions(sampling: .greedy, maxTokens: 6, stopTokens: []),
                                                       logprobs: 5))
        let b = try server.engine.submit(GenerationJob(promptTokens: Self.prompts[0], options: GenerationOptions(sampling: .greedy, maxTokens: 6, stopTokens: [])))
        let result = await collectAll(a)
        let other = await collectAll(b)
        #expect(other.logprobs.isEmpty, "no entries unless asked")
        #expect(result.logprobs.count == 6)
        var state = model.makeState(maxContext: 1024)
        var logits = try model.forward(prompt, state: &state)
        for (step, entry) in result.logprobs.enumerated() {
            let maximum = Double(logits.max() ?? 0)
            let lse = maximum + log(logits.reduce(0.0) { $0 + exp(Double($1) - maximum) })
            let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            #expect(entry.chosen.token == order[0] && entry.chosen.token == result.usage?.tokens[step])
            #expect(abs(Double(entry.chosen.logprob) - (Double(logits[order[0]]) - lse)) < 1e-4)
            #expect(entry.top.map(\.token) == Array(order.prefix(5)))
            for alternative in entry.top {
                #expect(abs(Double(alternative.logprob) - (Double(logits[alternative.token]) - lse)) < 1e-4)
            }
            logits = try model.forward([entry.chosen.token], state: &state)
        }
    }

    @Test func eachSequenceFollowsItsOwnSchemaInOneBatch() async throws {
        let (model, tokenizer, template) = try TestModel.get()
        let server = try chunkedServer(chunk: 16)
        defer { server.engine.shutdown() }
        let schemas = [
            #"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer","minimum":0,"maximum":150}},"required":["name","age"],"additionalProperties":false}"#,
            #"{"type":"array","items":{"enum":["red","green",null,3]},"minItems":2,"maxItems":4}"#,
            #"{"type":"json_object"}"#,
        ]
        var limits = SchemaCompileOptions()
        limits.defaultMaxStringLength = 16
        let compiled = try schemas.map { try JSONSchema(json: $0, options: limits) }
        // One session for all references (it builds its token vocabulary once).
        let session = InferenceSession(model: model, tokenizer: tokenizer, template: template, maxContext: 1024)
        var jobs: [(JobHandle, Int, SamplingParameters, [Int], Int)] = []
        for i in 0..<6 {
            let which = i % 3
            let sampling = i < 3 ? SamplingParameters.greedy : SamplingParameters(temperature: 1.0, seed: UInt64(i))
            let prompt = [1, 6, 423 + i, 1024 + i * 3]
            let maxTokens = 40
            let options = GenerationOptions(sampling: sampling, maxTokens: maxTokens, responseFormat: compiled[which])
            jobs.append((try server.engine.submit(GenerationJob(promptTokens: prompt, options: options)), which, sampling, prompt, maxTokens))
        }
        // An unconstrained request in the same batch is not masked.
        let free = try server.engine.submit(GenerationJob(promptTokens: [1, 6, 500], options: GenerationOptions(sampling: .greedy, maxTokens: 8, stopTokens: [])))
        for (handle, which, sampling, prompt, maxTokens) in jobs {
            let result = await collectAll(handle)
            #expect(result.error == nil)
            let value = try Value.parseJSON(result.text)
            let validator = SchemaValidator(schema: try Value.parseJSON(schemas[which]))
            #expect(validator.firstError(value) == nil, "\(result.text)")
            #expect(result.reason == .stop, "a whole value ends with stop")
            // The same as InferenceSession's constrained decoding of the same request alone.
            var text = ""
            for try await event in try await session.generate(promptTokens: prompt,
                                                              options: GenerationOptions(sampling: sampling, maxTokens: maxTokens,
                                                                                         stopTokens: server.engine.defaultStopTokens,
                                                                                         responseFormat: compiled[which])) {
                if case .text(let t) = event { text += t }
            }
            #expect(text == result.text, "schema \(which)")
        }
        let freeResult = await collectAll(free)
        #expect(freeResult.usage?.tokens == (try alone(model, [1, 6, 500], steps: 8)))
    }

    @Test func forcedPrefixesStartTheAnswer() async throws {
        let server = try chunkedServer(chunk: 16)
        defer { server.engine.shutdown() }
        let tokenizer = server.engine.tokenizer
        let start = try #require(tokenizer.id(for: "<|tool_call_start|>"))
        let weather = [start] + tokenizer.encode("[get_weather(", addSpecialTokens: false)
        let time = [start] + tokenizer.encode("[get_time(", addSpecialTokens: false)
        let one = await collectAll(try server.engine.submit(GenerationJob(promptTokens: [1, 2, 3],
                                                                          options: GenerationOptions(sampling: .greedy, maxTokens: 10, stopTokens: []),
                                                                          forcedPrefixes: [weather])))
        #expect(Array((one.usage?.tokens ?? []).prefix(weather.count)) == weather)
        // Two alternatives: sampled runs take one or the other, whole; the rest is free.
        var seen = Set<[Int]>()
        for seed in 0..<12 {
            let result = await collectAll(try server.engine.submit(GenerationJob(
                promptTokens: [1, 2, 3 + seed], options: GenerationOptions(sampling: SamplingParameters(temperature: 1.5, seed: UInt64(seed)), maxTokens: 12, stopTokens: []),
                forcedPrefixes: [weather, time])))
            let tokens = result.usage?.tokens ?? []
            let taken = [weather, time].first { tokens.starts(with: $0) }
            #expect(taken != nil, "\(tokens)")
            if let taken { seen.insert(taken) }
        }
        #expect(!seen.isEmpty)
    }
}

@Suite(.serialized) struct StructuredEndpointTests {
    static let schema: Value = try! Value.parseJSON(#"{"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}"#)

    @Test func jsonSchemaResponsesStreamedAndNot() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let format = Value.dict([("type", "json_schema"), ("json_schema", .dict([("name", "forecast"), ("schema", Self.schema), ("strict", true)]))])
        try await Application(router: server.makeRouter()).test(.router) { client in
            let whole = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                 body: body(chatBody("Weather?", maxTokens: 60, extra: [("response_format", format)]))) { response in
                #expect(response.status == .ok)
                return try json(response)
            }
            let content = try #require(whole["choices"]?[0]?["message"]?["content"]?.string)
            #expect(SchemaValidator(schema: Self.schema).firstError(try Value.parseJSON(content)) == nil, "\(content)")
            #expect(whole["choices"]?[0]?["finish_reason"]?.string == "stop")
            let events = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                  body: body(chatBody("Weather?", maxTokens: 60, stream: true, extra: [("response_format", format)]))) {
                sseEvents(String(buffer: $0.body))
            }
            let streamed = try events.dropLast().map { try Value.parseJSON($0) }
                .compactMap { $0["choices"]?[0]?["delta"]?["content"]?.string }.joined()
            #expect(streamed == content)
            // json_object: any object.
            let object = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                  body: body(chatBody("Weather?", maxTokens: 40, extra: [("response_format", .dict([("type", "json_object")]))]))) { try json($0) }
            let objectText = try #require(object["choices"]?[0]?["message"]?["content"]?.string)
            guard case .object? = try? Value.parseJSON(objectText) else { Issue.record("not an object: \(objectText)"); return }
            // Budget too small for the shortest value; a malformed wrapper.
            try expectError(try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                     body: body(chatBody("x", maxTokens: 3, extra: [("response_format", format)]))) { $0 },
                            status: 400)
            try expectError(try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                     body: body(chatBody("x", extra: [("response_format", .dict([("type", "json_schema")]))]))) { $0 },
                            status: 400, code: "invalid_response_format")
        }
    }

    @Test func toolChoiceForms() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let tools: Value = .array([.dict([("type", "function"), ("function", .dict([
            ("name", "get_weather"), ("description", "Weather for a city"),
            ("parameters", .dict([("type", "object"), ("properties", .dict([("city", .dict([("type", "string")]))]))])),
        ]))])])
        try await Application(router: server.makeRouter()).test(.router) { client in
            func post(_ extra: [(String, Value)], stream: Bool = false) async throws -> TestResponse {
                try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                         body: body(chatBody("Weather in Paris?", maxTokens: 6, stream: stream, extra: extra))) { $0 }
            }
            let auto = try json(try await post([("tools", tools), ("tool_choice", "auto")]))
            let none = try json(try await post([("tools", tools), ("tool_choice", "none")]))
            #expect((none["usage"]?["prompt_tokens"]?.int ?? 0) < (auto["usage"]?["prompt_tokens"]?.int ?? 0), "no tools offered")
            // A named function or "required" constrains the whole call (ToolChoiceTests): 6 tokens cannot hold one.
            let named = try expectError(try await post([("tools", tools), ("tool_choice", .dict([("type", "function"), ("function", .dict([("name", "get_weather")]))]))]),
                                        status: 400)
            #expect(named["param"]?.string == "max_tokens")
            let twoTools: Value = .array((tools.array ?? []) + [.dict([("type", "function"), ("function", .dict([("name", "get_time"), ("parameters", .dict([("type", "object")]))]))])])
            try expectError(try await post([("tools", twoTools), ("tool_choice", "required")]), status: 400)
            try expectError(try await post([("tools", tools), ("tool_choice", .dict([("type", "function"), ("function", .dict([("name", "nope")]))]))]),
                            status: 400)
            try expectError(try await post([("tools", tools), ("tool_choice", "sometimes")]), status: 400)
            try expectError(try await post([("tools", tools), ("tool_choice", "required"),
                                             ("response_format", .dict([("type", "json_object")]))]), status: 400, code: "unsupported_value")
        }
    }

    @Test func logprobShapes() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        try await Application(router: server.makeRouter()).test(.router) { client in
            let extra: [(String, Value)] = [("logprobs", true), ("top_logprobs", 3)]
            let whole = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                 body: body(chatBody("Hello there", maxTokens: 7, extra: extra))) { try json($0) }
            let choice = whole["choices"]?[0]
            let entries = choice?["logprobs"]?["content"]?.array ?? []
            #expect(choice?["logprobs"]?.keys == ["content", "refusal"])
            #expect(entries.count == whole["usage"]?["completion_tokens"]?.int)
            var bytes: [UInt8] = []
            for e in entries {
                #expect(e.keys == ["token", "logprob", "bytes", "top_logprobs"])
                #expect(e["top_logprobs"]?.array?.count == 3)
                guard case .double(let lp)? = e["logprob"] else { Issue.record("logprob not a number: \(e)"); continue }
                #expect(lp <= 0)
                bytes += (e["bytes"]?.array ?? []).compactMap { $0.int.map(UInt8.init) }
            }
            #expect(String(decoding: bytes, as: UTF8.self) == choice?["message"]?["content"]?.string)
            // Streamed: the entries of all chunks equal the whole answer's.
            let events = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                  body: body(chatBody("Hello there", maxTokens: 7, stream: true, extra: extra))) {
                sseEvents(String(buffer: $0.body))
            }
            let streamed = try events.dropLast().map { try Value.parseJSON($0) }.flatMap { $0["choices"]?[0]?["logprobs"]?["content"]?.array ?? [] }
            #expect(streamed == entries)
            // Without logprobs the field is null.
            let plain = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                 body: body(chatBody("Hello there", maxTokens: 3))) { try json($0) }
            #expect(plain["choices"]?[0]?["logprobs"]?.isNull == true)
            try expectError(try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                     body: body(chatBody("x", extra: [("top_logprobs", 2)]))) { $0 }, status: 400)
            try expectError(try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                     body: body(chatBody("x", extra: [("logprobs", true), ("top_logprobs", 21)]))) { $0 }, status: 400)
            // Legacy completions: tokens, token_logprobs, top_logprobs (dicts), text_offset.
            let request = Value.dict([("model", "tiny-lfm2"), ("prompt", "The cat"), ("max_tokens", 5), ("temperature", 0), ("logprobs", 2)])
            let completion = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: body(request)) { try json($0) }
            let lp = completion["choices"]?[0]?["logprobs"]
            #expect(lp?.keys == ["tokens", "token_logprobs", "top_logprobs", "text_offset"])
            let tokens = lp?["tokens"]?.array ?? []
            #expect(tokens.count == completion["usage"]?["completion_tokens"]?.int)
            #expect(lp?["token_logprobs"]?.array?.count == tokens.count)
            #expect(lp?["top_logprobs"]?.array?.allSatisfy { $0.keys.count >= 1 && $0.keys.count <= 2 } == true)
            let offsets = lp?["text_offset"]?.array?.compactMap(\.int) ?? []
            #expect(offsets.first == 0 && offsets == offsets.sorted())
            var streamRequest = request
            if case .object(var o) = streamRequest { o["stream"] = .bool(true); streamRequest = .object(o) }
            let completionEvents = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: body(streamRequest)) {
                sseEvents(String(buffer: $0.body))
            }
            let streamedTokens = try completionEvents.dropLast().map { try Value.parseJSON($0) }
                .flatMap { $0["choices"]?[0]?["logprobs"]?["tokens"]?.array ?? [] }
            #expect(streamedTokens == tokens)
        }
    }
}
