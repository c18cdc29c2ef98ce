import Foundation
import LFMChat
import LFMGeneration
import LFMTokenizer

/// Typed reads of a JSON request object, each failing with a 400 that names the field.
struct JSONFields {
    let object: OrderedDict

    init(_ value: Value) throws {
        guard case .object(let object) = value else {
            throw APIError.invalidRequest("The request body must be a JSON object.")
        }
        self.object = object
    }

    /// The value, treating JSON null as absent.
    func raw(_ key: String) -> Value? {
        guard let value = object[key] else { return nil }
        if case .none = value { return nil }
        return value
    }

    func string(_ key: String) throws -> String? {
        guard let value = raw(key) else { return nil }
        guard case .string(let s) = value else { throw typeError(key, "a string", value) }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = raw(key) else { return nil }
        guard case .bool(let b) = value else { throw typeError(key, "a boolean", value) }
        return b
    }

    func int(_ key: String) throws -> Int? {
        guard let value = raw(key) else { return nil }
        switch value {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: throw typeError(key, "an integer", value)
        }
    }

    func number(_ key: String) throws -> Double? {
        guard let value = raw(key) else { return nil }
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw typeError(key, "a number", value)
        }
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let n = try number(key) else { return nil }
        guard range.contains(n) else {
            throw APIError.invalidRequest("'\(key)' must be between \(range.lowerBound) and \(range.upperBound); found \(n).", param: key)
        }
        return n
    }

    func typeError(_ key: String, _ expected: String, _ found: Value) -> APIError {
        .invalidRequest("'\(key)' must be \(expected); found \(jsonTypeName(found)).", param: key, code: "invalid_type")
    }
}

/// A parsed generation request, whatever the endpoint.
struct GenerationRequest {
    var model: String
    var promptTokens: [Int]
    var options: GenerationOptions
    var stream: Bool
    var includeUsage: Bool
    var cacheBoundaries: [Int]
    /// Tokens the answer must start with (tool_choice "required" or a named function).
    var forcedPrefixes: [[Int]] = []
    /// Alternatives per log-probability entry; nil: none requested.
    var logprobs: Int?
}

/// The model, tokenizer and template a request is rendered with.
struct PromptContext {
    let servedModel: String
    let tokenizer: Tokenizer
    let template: ChatTemplate?
    let bosToken: String?
    let eosToken: String?
    let maxContext: Int
    /// Whether a bounded KV cache policy lets prompts and answers exceed `maxContext` (which then
    /// bounds the cache, not the text).
    var unboundedLength = false
    /// Builds (once) the token bytes JSON-schema masks need.
    let vocabulary: @Sendable () -> TokenVocabulary
    /// How the model writes tool calls and reasoning.
    var outputFormat: ChatOutputFormat = .lfm2
}

/// Parsing of `/v1/chat/completions` and `/v1/completions` bodies.
enum RequestParser {
    /// Reads the fields shared by both endpoints.
    static func common(_ f: JSONFields, context: PromptContext) throws -> (model: String, sampling: SamplingParameters, stop: [String],
                                                                        maxTokens: Int?, stream: Bool, includeUsage: Bool) {
        guard let model = try f.string("model") else {
            throw APIError.invalidRequest("You must provide a model parameter.", param: "model")
        }
        guard model == context.servedModel else { throw APIError.modelNotFound(model, served: context.servedModel) }
        if let n = try f.int("n"), n != 1 {
            throw APIError.invalidRequest("Only n=1 is supported; found n=\(n).", param: "n", code: "unsupported_value")
        }
        var sampling = SamplingParameters()
        if let t = try f.number("temperature", in: 0...2) { sampling.temperature = Float(t) }
        if let p = try f.number("top_p", in: 0...1) {
            guard p > 0 else { throw APIError.invalidRequest("'top_p' must be greater than 0; found 0.", param: "top_p") }
            sampling.topP = Float(p)
        }
        if let v = try f.number("frequency_penalty", in: -2...2) { sampling.frequencyPenalty = Float(v) }
        if let v = try f.number("presence_penalty", in: -2...2) { sampling.presencePenalty = Float(v) }
        if let seed = try f.int("seed") { sampling.seed = UInt64(bitPattern: Int64(seed)) } else { sampling.seed = UInt64.random(in: 0...UInt64.max) }
        if let bias = f.raw("logit_bias") {
            guard case .object(let pairs) = bias else { throw f.typeError("logit_bias", "an object of token id to bias", bias) }
            for (key, value) in pairs.pairs {
                guard let id = Int(key), id >= 0, id < context.tokenizer.vocabularySize else {
                    throw APIError.invalidRequest("logit_bias key '\(key)' is not a token id of this model.", param: "logit_bias")
                }
                let amount: Double
                switch value {
                case .int(let i): amount = Double(i)
                case .double(let d): amount = d
                default: throw f.typeError("logit_bias", "an object with numeric values", value)
                }
                guard (-100...100).contains(amount) else {
                    throw APIError.invalidRequest("logit_bias values must be between -100 and 100; found \(amount).", param: "logit_bias")
                }
                sampling.logitBias[id] = Float(amount)
            }
        }
        var stop: [String] = []
        if let s = f.raw("stop") {
            switch s {
            case .string(let one): stop = [one]
            case .array(let list):
                for item in list {
                    guard case .string(let one) = item else { throw f.typeError("stop", "a string or a list of strings", s) }
                    stop.append(one)
                }
                guard stop.count <= 4 else { throw APIError.invalidRequest("'stop' takes at most 4 sequences.", param: "stop") }
            default: throw f.typeError("stop", "a string or a list of strings", s)
            }
        }
        let maxTokens = try f.int("max_completion_tokens") ?? f.int("max_tokens")
        if let m = maxTokens, m < 1 {
            throw APIError.invalidRequest("'max_tokens' must be at least 1; found \(m).", param: "max_tokens")
        }
        let stream = try f.bool("stream") ?? false
        var includeUsage = false
        if let options = f.raw("stream_options") {
            guard case .object = options else { throw f.typeError("stream_options", "an object", options) }
            includeUsage = try JSONFields(options).bool("include_usage") ?? false
        }
        return (model, sampling, stop, maxTokens, stream, includeUsage)
    }

    /// Parses a chat completion request and renders its prompt. A JSON schema is compiled and its
    /// first mask prepared here, in the request's task, within `schemaOptions`' bounds.
    static func chat(_ body: Value, context: PromptContext, schemaOptions: SchemaCompileOptions = ServerOptions.defaultSchemaOptions) throws -> GenerationRequest {
        let start = ContinuousClock.now
        let f = try JSONFields(body)
        let c = try common(f, context: context)
        guard let template = context.template else {
            throw APIError.invalidRequest("This model has no chat template; use /v1/completions.")
        }
        guard let rawMessages = f.raw("messages") else {
            throw APIError.invalidRequest("Missing required parameter: 'messages'.", param: "messages")
        }
        guard case .array(let list) = rawMessages, !list.isEmpty else {
            throw APIError.invalidRequest("'messages' must be a non-empty array.", param: "messages")
        }
        var messages: [Value] = []
        for (i, message) in list.enumerated() {
            messages.append(try normalize(message, index: i, format: context.outputFormat.toolCalls))
        }
        var tools: [Value]?
        var parseToolCalls = true
        if let rawTools = f.raw("tools") {
            guard case .array(let toolList) = rawTools else { throw f.typeError("tools", "an array", rawTools) }
            for (i, tool) in toolList.enumerated() {
                guard case .object(let t) = tool, case .object(let function)? = t["function"], case .string? = function["name"] else {
                    throw APIError.invalidRequest("tools[\(i)] must be {\"type\": \"function\", \"function\": {\"name\": ..., ...}}.",
                                                  param: "tools[\(i)]")
                }
            }
            tools = toolList.isEmpty ? nil : toolList
        }
        let toolChoice = try StructuredRequest.toolChoice(f.raw("tool_choice"), tools: tools, f: f)
        if toolChoice == .noTools { tools = nil; parseToolCalls = false }
        let responseFormat = try StructuredRequest.responseFormat(f.raw("response_format"), f: f, options: schemaOptions)
        if responseFormat != nil, toolChoice != .auto, toolChoice != .noTools {
            throw APIError.invalidRequest("response_format json_schema/json_object cannot be combined with tool_choice 'required' or a named function.",
                                          param: "tool_choice", code: "unsupported_value")
        }
        let logprobs = try StructuredRequest.chatLogprobs(f)
        let prompt: String
        do {
            prompt = try template.render(messages: messages, tools: tools, addGenerationPrompt: true,
                                         bosToken: context.bosToken, eosToken: context.eosToken)
        } catch {
            throw APIError.invalidRequest("The messages could not be rendered with the chat template: \(error)", param: "messages")
        }
        let tokens = context.tokenizer.encode(prompt, addSpecialTokens: false)
        try checkPromptLength(tokens.count, context: context, param: "messages")
        // Snapshot boundary: the rendered system part (system messages and tools), when it is a token prefix.
        var boundaries: [Int] = []
        let systemCount = messages.prefix { if case .object(let m) = $0, case .string("system")? = m["role"] { return true } else { return false } }.count
        if systemCount > 0, systemCount < messages.count,
           let head = try? template.render(messages: Array(messages.prefix(systemCount)), tools: tools, addGenerationPrompt: false,
                                           bosToken: context.bosToken, eosToken: context.eosToken) {
            let headTokens = context.tokenizer.encode(head, addSpecialTokens: false)
            if !headTokens.isEmpty, headTokens.count < tokens.count, tokens.starts(with: headTokens) { boundaries.append(headTokens.count) }
        }
        let maxTokens = c.maxTokens ?? (context.unboundedLength ? context.maxContext : max(1, context.maxContext - tokens.count))
        if let responseFormat {
            try StructuredRequest.prepareFirstMask(responseFormat, vocabulary: context.vocabulary, start: start, param: "response_format")
        }
        var options = GenerationOptions(sampling: c.sampling, maxTokens: maxTokens, stopStrings: c.stop, parseToolCalls: parseToolCalls,
                                        responseFormat: responseFormat, outputFormat: context.outputFormat)
        var forced: [[Int]] = []
        if context.outputFormat.toolCalls != .lfm2 {
            // Other families' calls: the answer starts with the call's opening for one of the tools.
            forced = try StructuredRequest.forcedPrefixes(toolChoice, tools: tools ?? [], format: context.outputFormat.toolCalls,
                                                          tokenizer: context.tokenizer)
        } else if let constraint = try StructuredRequest.toolCallConstraint(toolChoice, tools: tools ?? [], tokenizer: context.tokenizer,
                                                                             options: schemaOptions) {
            // Counted like response_format: the whole call must close within the tokens that may be generated.
            let budget = min(maxTokens, context.unboundedLength ? .max : context.maxContext - tokens.count)
            guard constraint.shortestLength <= budget else {
                throw APIError.invalidRequest("The shortest tool call tool_choice allows needs \(constraint.shortestLength) tokens, but only \(budget) may be generated (max_tokens / context).",
                                              param: "max_tokens")
            }
            try StructuredRequest.prepareFirstMask(constraint.schema, vocabulary: context.vocabulary, start: start, param: "tools")
            options.toolCallConstraint = constraint
            forced = [[constraint.startToken]]
        }
        return GenerationRequest(model: c.model, promptTokens: tokens, options: options, stream: c.stream,
                                 includeUsage: c.includeUsage, cacheBoundaries: boundaries, forcedPrefixes: forced,
                                 logprobs: logprobs)
    }

    /// A prompt must leave room for at least one generated token; `param` names the field it came from.
    static func checkPromptLength(_ count: Int, context: PromptContext, param: String) throws {
        guard context.unboundedLength || count < context.maxContext else {
            throw APIError.invalidRequest("The prompt has \(count) tokens; this server's context is \(context.maxContext) tokens, "
                                          + "which must also hold at least one generated token.",
                                          param: param, code: "context_length_exceeded")
        }
    }

    /// Checks one message and turns text-part lists into plain strings.
    /// Earlier tool calls are written into the content in LFM2's syntax for `.lfm2`; the other formats'
    /// templates write `tool_calls` themselves (arguments given as a JSON string become an object).
    static func normalize(_ message: Value, index i: Int, format: ToolCallFormat = .lfm2) throws -> Value {
        guard case .object(var m) = message else {
            throw APIError.invalidRequest("messages[\(i)] must be an object.", param: "messages[\(i)]")
        }
        guard case .string(let role)? = m["role"] else {
            throw APIError.invalidRequest("messages[\(i)].role must be a string.", param: "messages[\(i)].role")
        }
        guard ["system", "developer", "user", "assistant", "tool"].contains(role) else {
            throw APIError.invalidRequest("messages[\(i)].role '\(role)' is not one of system, developer, user, assistant, tool.",
                                          param: "messages[\(i)].role")
        }
        if role == "developer" { m["role"] = .string("system") }
        switch m["content"] {
        case .string?, .none?, nil: break
        case .array(let parts)?:
            var text = ""
            for part in parts {
                guard case .object(let p) = part, case .string("text")? = p["type"], case .string(let t)? = p["text"] else {
                    throw APIError.invalidRequest("messages[\(i)].content: only text parts are supported.", param: "messages[\(i)].content")
                }
                text += t
            }
            m["content"] = .string(text)
        default:
            throw APIError.invalidRequest("messages[\(i)].content must be a string, an array of text parts, or null.",
                                          param: "messages[\(i)].content")
        }
        if role == "assistant", case .array(let calls)? = m["tool_calls"], !calls.isEmpty {
            // LFM2's template shows earlier calls only through the content, in the model's own syntax:
            // <|tool_call_start|>[name(arg="value", ...)]<|tool_call_end|>.
            var rendered: [String] = []
            var parsedCalls: [Value] = []
            for (j, call) in calls.enumerated() {
                guard case .object(let c) = call, case .object(let function)? = c["function"], case .string(let name)? = function["name"] else {
                    throw APIError.invalidRequest("messages[\(i)].tool_calls[\(j)] must have function.name.", param: "messages[\(i)].tool_calls")
                }
                var arguments: Value = .dict([])
                switch function["arguments"] {
                case .string(let text)?:
                    guard let parsed = try? Value.parseJSON(text), case .object = parsed else {
                        throw APIError.invalidRequest("messages[\(i)].tool_calls[\(j)].function.arguments must be a JSON object string.",
                                                      param: "messages[\(i)].tool_calls")
                    }
                    arguments = parsed
                case .object?: arguments = function["arguments"] ?? .dict([])
                case nil, .none?: break
                default:
                    throw APIError.invalidRequest("messages[\(i)].tool_calls[\(j)].function.arguments must be a JSON object string.",
                                                  param: "messages[\(i)].tool_calls")
                }
                rendered.append(pythonCall(name, arguments))
                if format != .lfm2, case .object(var entry) = call, case .object(var fn)? = entry["function"] {
                    fn["arguments"] = arguments
                    entry["function"] = .object(fn)
                    parsedCalls.append(.object(entry))
                }
            }
            if format != .lfm2 {
                m["tool_calls"] = .array(parsedCalls)
                if m["content"] == nil || m["content"] == Value.none { m["content"] = .string("") }
                return .object(m)
            }
            var text = "<|tool_call_start|>[" + rendered.joined(separator: ", ") + "]<|tool_call_end|>"
            if case .string(let content)? = m["content"] { text += content }
            m["content"] = .string(text)
            m["tool_calls"] = nil
        }
        if m["content"] == nil || m["content"] == Value.none { m["content"] = .string("") }
        return .object(m)
    }

    /// Parses a legacy completion request.
    static func completion(_ body: Value, context: PromptContext) throws -> GenerationRequest {
        let f = try JSONFields(body)
        let c = try common(f, context: context)
        guard let prompt = f.raw("prompt") else {
            throw APIError.invalidRequest("Missing required parameter: 'prompt'.", param: "prompt")
        }
        var tokens: [Int]
        func ids(_ list: [Value]) throws -> [Int] {
            try list.map {
                guard case .int(let id) = $0 else { throw f.typeError("prompt", "a string, a list of token ids, or a one-element list of either", prompt) }
                return id
            }
        }
        switch prompt {
        case .string(let text): tokens = context.tokenizer.encode(text, addSpecialTokens: true)
        case .array(let list) where list.count == 1:
            switch list[0] {
            case .string(let text): tokens = context.tokenizer.encode(text, addSpecialTokens: true)
            case .array(let inner): tokens = try ids(inner)
            case .int: tokens = try ids(list)
            default: throw f.typeError("prompt", "a string, a list of token ids, or a one-element list of either", prompt)
            }
        case .array(let list):
            if case .int? = list.first { tokens = try ids(list) } else {
                throw APIError.invalidRequest("Only one prompt per request is supported.", param: "prompt", code: "unsupported_value")
            }
        default: throw f.typeError("prompt", "a string or a list of token ids", prompt)
        }
        try checkPromptLength(tokens.count, context: context, param: "prompt")
        if try f.int("best_of").map({ $0 != 1 }) ?? false {
            throw APIError.invalidRequest("Only best_of=1 is supported.", param: "best_of", code: "unsupported_value")
        }
        let maxTokens = c.maxTokens ?? 16
        let options = GenerationOptions(sampling: c.sampling, maxTokens: maxTokens, stopStrings: c.stop, parseToolCalls: false)
        var logprobs: Int?
        if f.raw("logprobs") != nil {
            guard let k = try f.int("logprobs"), (0...5).contains(k) else {
                throw APIError.invalidRequest("'logprobs' must be an integer between 0 and 5.", param: "logprobs")
            }
            logprobs = k
        }
        if try f.bool("echo") == true {
            throw APIError.invalidRequest("echo=true is not supported.", param: "echo", code: "unsupported_value")
        }
        return GenerationRequest(model: c.model, promptTokens: tokens, options: options, stream: c.stream,
                                 includeUsage: c.includeUsage, cacheBoundaries: [], logprobs: logprobs)
    }
}

/// `name(key=literal, ...)` in the Python-like syntax LFM2 writes tool calls in.
func pythonCall(_ name: String, _ arguments: Value) -> String {
    guard case .object(let pairs) = arguments else { return name + "()" }
    return name + "(" + pairs.pairs.map { "\($0.0)=\(pythonLiteral($0.1))" }.joined(separator: ", ") + ")"
}

/// A JSON value as a Python literal (strings double-quoted with JSON escapes).
func pythonLiteral(_ value: Value) -> String {
    switch value {
    case .none, .undefined: return "None"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return String(i)
    case .double(let d): return String(d)
    case .string: return (try? value.jsonString()) ?? "\"\""
    case .array(let items), .tuple(let items): return "[" + items.map(pythonLiteral).joined(separator: ", ") + "]"
    case .object(let pairs):
        return "{" + pairs.pairs.map { "\(pythonLiteral(.string($0.0))): \(pythonLiteral($0.1))" }.joined(separator: ", ") + "}"
    default: return "None"
    }
}
