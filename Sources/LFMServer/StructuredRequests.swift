import Foundation
import LFMChat
import LFMGeneration
import LFMTokenizer

/// `tool_choice` of a chat request.
enum ToolChoice: Equatable {
    /// `"none"`: no tools are offered and no calls are parsed.
    case noTools
    /// `"auto"` (the default): the model may call a tool.
    case auto
    /// `"required"`: the answer starts with a tool call.
    case required
    /// `{"type": "function", "function": {"name": N}}`: the answer starts with a call of `N`.
    case function(String)
}

/// Parsing of the constrained-output fields of a chat request: `response_format`, `tool_choice`,
/// `logprobs` / `top_logprobs`.
enum StructuredRequest {
    /// The JSON schema the answer must follow; nil for `{"type": "text"}` or no `response_format`.
    /// An invalid or unsupported schema is a 400 naming the keyword and where it is.
    static func responseFormat(_ format: Value?, f: JSONFields, options: SchemaCompileOptions) throws -> JSONSchema? {
        guard let format else { return nil }
        guard case .object(let fmt) = format, case .string(let type)? = fmt["type"] else {
            throw f.typeError("response_format", "an object with a 'type'", format)
        }
        guard ["text", "json_object", "json_schema"].contains(type) else {
            throw APIError.invalidRequest("response_format type must be 'text', 'json_object' or 'json_schema'; found '\(type)'.",
                                          param: "response_format")
        }
        var name = "response_format"
        if case .object(let wrapper)? = fmt["json_schema"], case .string(let n)? = wrapper["name"] { name = n }
        do {
            return try ResponseFormat.parse(format, options: options)
        } catch let error as StructuredOutputError {
            let code: String
            switch error {
            case .unsupportedKeyword: code = "unsupported_schema_feature"
            case .invalidResponseFormat: code = "invalid_response_format"
            case .tooComplex: code = "schema_too_complex"
            default: code = "invalid_schema"
            }
            let message: String
            if case .invalidResponseFormat = error { message = "\(error)." } else {
                message = "Invalid schema for response_format '\(name)': \(error)."
            }
            throw APIError.invalidRequest(message, param: "response_format", code: code)
        }
    }

    /// Prepares the first mask of `schema` (it is cached for the engine) within the schema's work
    /// bound and what is left of its time limit since `start`; a 400 naming the bound when exceeded.
    /// `vocabulary` is fetched first and its one-time construction is not counted.
    static func prepareFirstMask(_ schema: JSONSchema, vocabulary: () -> TokenVocabulary, start: ContinuousClock.Instant,
                                 param: String) throws {
        let before = ContinuousClock.now
        let vocabulary = vocabulary()
        let building = ContinuousClock.now - before
        let deadline = schema.options.timeLimit.map { start + building + .nanoseconds(Int64(min(max($0, 0), 1e6) * 1e9)) }
        do {
            try ConstrainedDecoder(schema: schema, vocabulary: vocabulary, stopTokens: []).prepareFirstMask(deadline: deadline)
        } catch let error as StructuredOutputError {
            throw APIError.invalidRequest("Invalid schema for \(param): \(error).", param: param, code: "schema_too_complex")
        }
    }

    /// Reads `tool_choice`; `tools` is the request's tool list (nil when none).
    static func toolChoice(_ choice: Value?, tools: [Value]?, f: JSONFields) throws -> ToolChoice {
        guard let choice else { return .auto }
        let parsed: ToolChoice
        switch choice {
        case .string("none"): return .noTools
        case .string("auto"): return .auto
        case .string("required"): parsed = .required
        case .object(let object):
            guard case .string("function")? = object["type"], case .object(let function)? = object["function"],
                  case .string(let name)? = function["name"] else {
                throw APIError.invalidRequest("tool_choice must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": ...}}.",
                                              param: "tool_choice")
            }
            parsed = .function(name)
        default: throw f.typeError("tool_choice", "'none', 'auto', 'required' or an object", choice)
        }
        guard let tools, !tools.isEmpty else {
            throw APIError.invalidRequest("tool_choice requires 'tools' to be a non-empty list.", param: "tool_choice")
        }
        if case .function(let name) = parsed {
            let names = tools.compactMap { tool -> String? in
                if case .object(let t) = tool, case .object(let fn)? = t["function"], case .string(let n)? = fn["name"] { return n }
                return nil
            }
            guard names.contains(name) else {
                throw APIError.invalidRequest("tool_choice names function '\(name)', which is not in 'tools' (\(names.joined(separator: ", "))).",
                                              param: "tool_choice")
            }
        }
        return parsed
    }

    /// The whole-call constraint for `choice` (nil for `none`/`auto`): the answer is
    /// `<|tool_call_start|>[name(key=value, ...)]<|tool_call_end|>` for the named function, or
    /// for `required` for one of the declared tools, with the arguments following the tool's
    /// `parameters` schema. Compiled within `options`' bounds (a 400 past them).
    static func toolCallConstraint(_ choice: ToolChoice, tools: [Value], tokenizer: Tokenizer,
                               options: SchemaCompileOptions) throws -> ToolCallConstraint? {
        switch choice {
        case .noTools, .auto: return nil
        case .required, .function:
            guard let start = tokenizer.id(for: ToolCallParser.startMarker), let end = tokenizer.id(for: ToolCallParser.endMarker) else {
                throw APIError.invalidRequest("tool_choice 'required' or a named function needs the model's \(ToolCallParser.startMarker) and \(ToolCallParser.endMarker) tokens, which this tokenizer lacks; use 'auto'.",
                                              param: "tool_choice", code: "unsupported_value")
            }
            var declared: [(name: String, parameters: Value?)] = []
            for (i, tool) in tools.enumerated() {
                guard case .object(let t) = tool, case .object(let function)? = t["function"], case .string(let name)? = function["name"] else { continue }
                if case .function(let wanted) = choice, wanted != name { continue }
                guard isCallName(name) else {
                    throw APIError.invalidRequest("tools[\(i)].function.name '\(name)' cannot be written in the model's tool-call syntax (letters, digits, '_', '.', '-', not starting with a digit); use tool_choice 'auto'.",
                                                  param: "tools[\(i)].function.name")
                }
                var parameters = function["parameters"]
                if parameters == Value.none { parameters = nil }
                declared.append((name, parameters))
            }
            do {
                return ToolCallConstraint(schema: try JSONSchema(toolCalls: declared, options: options), startToken: start, endToken: end)
            } catch let error as StructuredOutputError {
                let code: String
                switch error {
                case .tooComplex: code = "schema_too_complex"
                case .unsupportedKeyword: code = "unsupported_schema_feature"
                default: code = "invalid_schema"
                }
                throw APIError.invalidRequest("Invalid parameters schema in 'tools' for tool_choice: \(error).", param: "tools", code: code)
            }
        }
    }

    /// Whether `name` reads back as a function name in `ToolCallParser`.
    static func isCallName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || $0 == "." || $0 == "-" || $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0.properties.numericType != nil
        }
    }

    /// Chat `logprobs` (boolean) and `top_logprobs` (0...20): the alternatives per entry, or nil.
    static func chatLogprobs(_ f: JSONFields) throws -> Int? {
        let wanted = try f.bool("logprobs") ?? false
        let top = try f.int("top_logprobs")
        if let top {
            guard (0...20).contains(top) else {
                throw APIError.invalidRequest("'top_logprobs' must be between 0 and 20; found \(top).", param: "top_logprobs")
            }
            guard wanted else {
                throw APIError.invalidRequest("'top_logprobs' requires 'logprobs' to be true.", param: "top_logprobs")
            }
        }
        return wanted ? (top ?? 0) : nil
    }
}
