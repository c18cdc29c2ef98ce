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
    static func responseFormat(_ format: Value?, f: JSONFields) throws -> JSONSchema? {
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
            return try ResponseFormat.parse(format)
        } catch let error as StructuredOutputError {
            let code: String
            switch error {
            case .unsupportedKeyword: code = "unsupported_schema_feature"
            case .invalidResponseFormat: code = "invalid_response_format"
            default: code = "invalid_schema"
            }
            let message: String
            if case .invalidResponseFormat = error { message = "\(error)." } else {
                message = "Invalid schema for response_format '\(name)': \(error)."
            }
            throw APIError.invalidRequest(message, param: "response_format", code: code)
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

    /// The token sequences the answer must start with one of for `choice`: LFM2's
    /// `<|tool_call_start|>[name(` for the named function, or for `required` for each declared tool,
    /// so the model writes a declared function's arguments next.
    static func forcedPrefixes(_ choice: ToolChoice, tools: [Value], tokenizer: Tokenizer) throws -> [[Int]] {
        switch choice {
        case .noTools, .auto: return []
        case .required, .function:
            guard let start = tokenizer.id(for: ToolCallParser.startMarker) else {
                throw APIError.invalidRequest("tool_choice 'required' or a named function needs the model's \(ToolCallParser.startMarker) token, which this tokenizer lacks; use 'auto'.",
                                              param: "tool_choice", code: "unsupported_value")
            }
            var names: [String] = []
            if case .function(let name) = choice { names = [name] } else {
                names = tools.compactMap { tool -> String? in
                    if case .object(let t) = tool, case .object(let fn)? = t["function"], case .string(let n)? = fn["name"] { return n }
                    return nil
                }
            }
            return names.map { [start] + tokenizer.encode("[" + $0 + "(", addSpecialTokens: false) }
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
