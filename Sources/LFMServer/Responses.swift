import Foundation
import LFMChat
import LFMGeneration

/// JSON shapes of OpenAI responses and stream chunks.
enum OpenAIShapes {
    static func usage(_ u: JobUsage) -> Value {
        .dict([
            ("prompt_tokens", .int(u.promptTokens)),
            ("completion_tokens", .int(u.completionTokens)),
            ("total_tokens", .int(u.promptTokens + u.completionTokens)),
            ("prompt_tokens_details", .dict([("cached_tokens", .int(u.cachedPromptTokens))])),
        ])
    }

    static func toolCall(_ call: ToolCall, id: String, index: Int?) -> Value {
        var pairs: [(String, Value)] = []
        if let index { pairs.append(("index", .int(index))) }
        pairs += [
            ("id", .string(id)),
            ("type", .string("function")),
            ("function", .dict([("name", .string(call.name)), ("arguments", .string(call.argumentsJSON))])),
        ]
        return .dict(pairs)
    }

    static func finishReason(_ reason: FinishReason) -> Value {
        switch reason {
        case .stop, .cancelled: return .string("stop")
        case .length: return .string("length")
        case .toolCalls: return .string("tool_calls")
        }
    }

    /// A complete `chat.completion` object.
    /// `reasoning` (Qwen3's `<think>` text) becomes `reasoning_content`, as llama.cpp's and vLLM's servers write it.
    static func chatCompletion(id: String, created: Int, model: String, text: String, calls: [(String, ToolCall)],
                               reason: FinishReason, usage: JobUsage, logprobs: Value = .none, reasoning: String = "") -> Value {
        var message: [(String, Value)] = [("role", .string("assistant"))]
        if !reasoning.isEmpty { message.append(("reasoning_content", .string(reasoning))) }
        message.append(("content", text.isEmpty && !calls.isEmpty ? .none : .string(text)))
        if !calls.isEmpty { message.append(("tool_calls", .array(calls.map { toolCall($0.1, id: $0.0, index: nil) }))) }
        return .dict([
            ("id", .string(id)),
            ("object", .string("chat.completion")),
            ("created", .int(created)),
            ("model", .string(model)),
            ("choices", .array([.dict([
                ("index", .int(0)),
                ("message", .dict(message)),
                ("logprobs", logprobs),
                ("finish_reason", finishReason(reason)),
            ])])),
            ("usage", OpenAIShapes.usage(usage)),
            ("system_fingerprint", .none),
        ])
    }

    /// One `chat.completion.chunk`; `choice` nil gives the usage-only chunk (empty `choices`).
    static func chatChunk(id: String, created: Int, model: String, delta: Value?, reason: FinishReason?,
                          usage u: JobUsage?, includeUsage: Bool, logprobs: Value = .none) -> Value {
        var pairs: [(String, Value)] = [
            ("id", .string(id)),
            ("object", .string("chat.completion.chunk")),
            ("created", .int(created)),
            ("model", .string(model)),
            ("system_fingerprint", .none),
        ]
        if let delta {
            pairs.append(("choices", .array([.dict([
                ("index", .int(0)),
                ("delta", delta),
                ("logprobs", logprobs),
                ("finish_reason", reason.map(finishReason) ?? .none),
            ])])))
        } else {
            pairs.append(("choices", .array([])))
        }
        if includeUsage { pairs.append(("usage", u.map(usage) ?? .none)) }
        return .dict(pairs)
    }

    /// A complete `text_completion` object, or one streamed chunk of it (same shape).
    static func textCompletion(id: String, created: Int, model: String, text: String?, reason: FinishReason?,
                               usage u: JobUsage?, includeUsageField: Bool, logprobs: Value = .none) -> Value {
        var pairs: [(String, Value)] = [
            ("id", .string(id)),
            ("object", .string("text_completion")),
            ("created", .int(created)),
            ("model", .string(model)),
        ]
        if let text {
            pairs.append(("choices", .array([.dict([
                ("text", .string(text)),
                ("index", .int(0)),
                ("logprobs", logprobs),
                ("finish_reason", reason.map(finishReason) ?? .none),
            ])])))
        } else {
            pairs.append(("choices", .array([])))
        }
        if includeUsageField { pairs.append(("usage", u.map(usage) ?? .none)) }
        return .dict(pairs)
    }

    static func newID(_ prefix: String) -> String {
        var bytes = ""
        for _ in 0..<12 { bytes += String(format: "%02x", UInt8.random(in: 0...255)) }
        return prefix + bytes
    }
}

/// JSON text of a value (compact, keys in insertion order).
func jsonText(_ value: Value) -> String {
    (try? value.jsonString()) ?? "{}"
}

/// A short description of a JSON value's type for error messages.
func jsonTypeName(_ value: Value) -> String {
    switch value {
    case .none: return "null"
    case .bool: return "a boolean"
    case .int, .double: return "a number"
    case .string: return "a string"
    case .array, .tuple: return "an array"
    case .object: return "an object"
    default: return "an unsupported value"
    }
}
