import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import LFMChat
import LFMServer
import Testing

@Suite(.serialized) struct EndpointTests {
    @Test func modelsHealthAndMetrics() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .ok)
                let list = try json(response)
                #expect(list["object"]?.string == "list")
                #expect(list["data"]?[0]?["id"]?.string == "tiny-lfm2")
                #expect(list["data"]?[0]?["object"]?.string == "model")
                #expect(list["data"]?[0]?["owned_by"]?.string != nil && list["data"]?[0]?["created"]?.int != nil)
            }
            try await client.execute(uri: "/v1/models/tiny-lfm2", method: .get) { response in
                let object = try json(response)
                #expect(object["id"]?.string == "tiny-lfm2")
            }
            try await client.execute(uri: "/v1/models/gpt-4o", method: .get) { response in
                try expectError(response, status: 404, code: "model_not_found")
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["status"]?.string == "ok")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(chatBody("Hi"))) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains("lfm_http_requests_total{replica=\"local\",model=\"tiny-lfm2\",route=\"/v1/models\",status=\"200\"} 1"))
                #expect(text.contains("lfm_http_requests_total{replica=\"local\",model=\"tiny-lfm2\",route=\"/v1/chat/completions\",status=\"200\"} 1"))
                #expect(text.contains("lfm_http_requests_total{replica=\"local\",model=\"tiny-lfm2\",route=\"/v1/models/{id}\",status=\"200\"} 1"))
                #expect(text.contains("lfm_http_requests_total{replica=\"local\",model=\"tiny-lfm2\",route=\"/v1/models/{id}\",status=\"404\"} 1"))
                #expect(text.contains("# TYPE lfm_time_to_first_token_seconds histogram"))
                #expect(text.contains("lfm_time_to_first_token_seconds_count{replica=\"local\",model=\"tiny-lfm2\"} 1"))
                for name in ["lfm_prompt_tokens_total", "lfm_completion_tokens_total", "lfm_queue_depth", "lfm_running_sequences",
                             "lfm_prefill_tokens_per_second", "lfm_decode_tokens_per_second"] {
                    #expect(text.contains("\n\(name){replica=\"local\",model=\"tiny-lfm2\"} "), "\(name)")
                }
                // Every sample line is "name{labels} number".
                for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                    #expect(line.split(separator: " ").count == 2 && Double(line.split(separator: " ")[1]) != nil, "\(line)")
                }
            }
        }
    }

    @Test func chatCompletionShape() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                     body: body(chatBody("Hello there", system: "Be brief.", maxTokens: 5))) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.headers[HTTPField.Name("x-request-id")!] != nil)
                let object = try json(response)
                #expect(object["id"]?.string?.hasPrefix("chatcmpl-") == true)
                #expect(object["object"]?.string == "chat.completion")
                #expect(object["created"]?.int != nil)
                #expect(object["model"]?.string == "tiny-lfm2")
                let choice = object["choices"]?[0]
                #expect(object["choices"]?.array?.count == 1)
                #expect(choice?["index"]?.int == 0)
                #expect(choice?["logprobs"]?.isNull == true)
                #expect(["stop", "length"].contains(choice?["finish_reason"]?.string ?? ""))
                #expect(choice?["message"]?["role"]?.string == "assistant")
                #expect(choice?["message"]?["content"]?.string != nil)
                let usage = object["usage"]
                let prompt = usage?["prompt_tokens"]?.int ?? -1, completion = usage?["completion_tokens"]?.int ?? -1
                #expect(prompt > 5 && completion >= 1 && completion <= 5)
                #expect(usage?["total_tokens"]?.int == prompt + completion)
                if choice?["finish_reason"]?.string == "length" { #expect(completion == 5) }
            }
        }
    }

    @Test func streamingMatchesNonStreaming() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            let whole = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                                                 body: body(chatBody("Count to ten", maxTokens: 12))) { try json($0) }
            let streamed = try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                body: body(chatBody("Count to ten", maxTokens: 12, stream: true,
                                    extra: [("stream_options", .dict([("include_usage", true)]))]))) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                return String(buffer: response.body)
            }
            let events = sseEvents(streamed)
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map { try Value.parseJSON($0) }
            #expect(chunks.count >= 3)
            let id = chunks.first?["id"]?.string
            var text = ""
            var finish: [String] = []
            for (i, chunk) in chunks.enumerated() {
                #expect(chunk["id"]?.string == id)
                #expect(chunk["object"]?.string == "chat.completion.chunk")
                #expect(chunk["model"]?.string == "tiny-lfm2" && chunk["created"]?.int != nil)
                #expect(chunk.keys.contains("usage"))
                if i == chunks.count - 1 {
                    // Usage-only chunk: empty choices.
                    #expect(chunk["choices"]?.array?.isEmpty == true)
                    for key in ["prompt_tokens", "completion_tokens", "total_tokens"] {
                        #expect(chunk["usage"]?[key] == whole["usage"]?[key], "\(key)")
                    }
                    continue
                }
                #expect(chunk["usage"]?.isNull == true)
                let choice = chunk["choices"]?[0]
                #expect(choice?["index"]?.int == 0 && choice?["logprobs"]?.isNull == true)
                if i == 0 { #expect(choice?["delta"]?["role"]?.string == "assistant") }
                text += choice?["delta"]?["content"]?.string ?? ""
                if let reason = choice?["finish_reason"]?.string { finish.append(reason) }
            }
            #expect(finish == [whole["choices"]?[0]?["finish_reason"]?.string ?? "?"])
            #expect(text == whole["choices"]?[0]?["message"]?["content"]?.string)
        }
    }

    @Test func completionsWithTextAndTokens() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            let request = Value.dict([("model", "tiny-lfm2"), ("prompt", .array([.int(1), .int(1784), .int(3093)])),
                                      ("max_tokens", 6), ("temperature", 0)])
            let first = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: body(request)) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["object"]?.string == "text_completion")
                #expect(object["id"]?.string?.hasPrefix("cmpl-") == true)
                #expect(object["choices"]?[0]?["text"]?.string != nil)
                #expect(object["choices"]?[0]?["logprobs"]?.isNull == true)
                #expect(object["usage"]?["prompt_tokens"]?.int == 3)
                return object
            }
            var streaming = request
            if case .object(var o) = streaming { o["stream"] = true; streaming = .object(o) }
            let events = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: body(streaming)) {
                sseEvents(String(buffer: $0.body))
            }
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map { try Value.parseJSON($0) }
            let text = chunks.compactMap { $0["choices"]?[0]?["text"]?.string }.joined()
            #expect(text == first["choices"]?[0]?["text"]?.string)
            #expect(chunks.last?["choices"]?[0]?["finish_reason"]?.string == first["choices"]?[0]?["finish_reason"]?.string)
            #expect(chunks.allSatisfy { $0["object"]?.string == "text_completion" })
            let textPrompt = Value.dict([("model", "tiny-lfm2"), ("prompt", "Once upon a time"), ("max_tokens", 3)])
            try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: body(textPrompt)) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["usage"]?["completion_tokens"]?.int ?? 0 >= 1)
            }
        }
    }

    @Test func errorShapesAndCodes() async throws {
        let server = try TestModel.server(maxBody: 2048)
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            func post(_ text: String, uri: String = "/v1/chat/completions") async throws -> TestResponse {
                try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: ByteBuffer(string: text))
            }
            try expectError(try await post("{not json"), status: 400, type: "invalid_request_error", code: "invalid_json")
            try expectError(try await post("[1, 2]"), status: 400, type: "invalid_request_error")
            let wrongType = try expectError(try await post(#"{"model": "tiny-lfm2", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}"#),
                                            status: 400, code: "invalid_type")
            #expect(wrongType["param"]?.string == "temperature")
            try expectError(try await post(#"{"model": "tiny-lfm2", "messages": "hello"}"#), status: 400)
            try expectError(try await post(#"{"model": "tiny-lfm2", "messages": []}"#), status: 400)
            try expectError(try await post(#"{"model": "tiny-lfm2", "messages": [{"role": "wizard", "content": "x"}]}"#), status: 400)
            try expectError(try await post(#"{"messages": [{"role": "user", "content": "x"}]}"#), status: 400)
            try expectError(try await post(#"{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}"#),
                            status: 404, code: "model_not_found")
            let n = try expectError(try await post(#"{"model": "tiny-lfm2", "n": 2, "messages": [{"role": "user", "content": "x"}]}"#), status: 400)
            #expect(n["param"]?.string == "n")
            try expectError(try await post(#"{"model": "tiny-lfm2", "temperature": 3, "messages": [{"role": "user", "content": "x"}]}"#), status: 400)
            let schema = try expectError(try await post(#"{"model": "tiny-lfm2", "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "^a"}}}, "messages": [{"role": "user", "content": "x"}]}"#),
                                         status: 400, code: "unsupported_schema_feature")
            #expect(schema["message"]?.string?.contains("'pattern'") == true && schema["param"]?.string == "response_format")
            try expectError(try await post(#"{"model": "tiny-lfm2", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}"#), status: 400)
            try expectError(try await post(#"{"model": "tiny-lfm2", "logit_bias": {"abc": 1}, "messages": [{"role": "user", "content": "x"}]}"#), status: 400)
            try expectError(try await post(#"{"model": "tiny-lfm2", "prompt": [1, 99999999]}"#, uri: "/v1/completions"), status: 400)
            try expectError(try await post(#"{"model": "tiny-lfm2", "prompt": 5}"#, uri: "/v1/completions"), status: 400)
            let big = "{\"model\": \"tiny-lfm2\", \"messages\": [{\"role\": \"user\", \"content\": \"" + String(repeating: "a", count: 4000) + "\"}]}"
            try expectError(try await post(big), status: 413, code: "request_too_large")
            try expectError(try await client.execute(uri: "/v1/nothing", method: .get), status: 404)
        }
    }

    @Test func bearerAuth() async throws {
        let server = try TestModel.server(apiKey: "sk-test-123")
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            try expectError(try await client.execute(uri: "/v1/models", method: .get), status: 401, code: "invalid_api_key")
            try expectError(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-test-124"]),
                            status: 401)
            try expectError(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "sk-test-123"]),
                            status: 401)
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-test-123"]) {
                #expect($0.status == .ok)
            }
            // Health stays open for probes.
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func fullQueueAnswers429WithRetryAfter() async throws {
        let server = try TestModel.server(maxQueue: 0)
        defer { server.engine.shutdown() }
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(chatBody("Hi")))
            try expectError(response, status: 429, type: "rate_limit_error", code: "queue_full")
            #expect(response.headers[.retryAfter] == "1")
        }
    }

    @Test func shuttingDownAnswers503() async throws {
        let server = try TestModel.server()
        defer { server.engine.shutdown() }
        server.engine.beginDraining()
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            try expectError(try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(chatBody("Hi"))),
                            status: 503)
            try await client.execute(uri: "/health", method: .get) { #expect($0.status.code == 503) }
        }
    }
}
