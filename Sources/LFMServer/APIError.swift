import Foundation
import LFMChat
import LFMGeneration
import LFMModels

/// An error answered in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with an HTTP status.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status code.
    public var status: Int
    /// Human-readable explanation.
    public var message: String
    /// OpenAI error type (`invalid_request_error`, `authentication_error`, ...).
    public var type: String
    /// The request field at fault, if any.
    public var param: String?
    /// A machine-readable code, if any.
    public var code: String?
    /// Seconds a client should wait before retrying (sent as `Retry-After`).
    public var retryAfter: Int?
    /// The methods the route answers (sent as `Allow` with a 405).
    public var allow: [String]?

    /// Creates an error.
    public init(status: Int, message: String, type: String, param: String? = nil, code: String? = nil, retryAfter: Int? = nil,
                allow: [String]? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
        self.allow = allow
    }

    public var description: String { "\(status) \(type): \(message)" }

    /// 400 invalid_request_error.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 401 for a missing or wrong API key.
    public static let unauthorized = APIError(status: 401, message: "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY'.",
                                              type: "invalid_request_error", code: "invalid_api_key")

    /// 404 for a model this server does not serve.
    public static func modelNotFound(_ requested: String, served: String) -> APIError {
        APIError(status: 404, message: "The model '\(requested)' does not exist; this server serves '\(served)'.",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// 404 for an unknown route.
    public static func routeNotFound(_ method: String, _ path: String) -> APIError {
        APIError(status: 404, message: "Unknown request URL: \(method) \(path).", type: "invalid_request_error", code: "unknown_url")
    }

    /// 405 for a known route asked with a method it does not answer.
    public static func methodNotAllowed(_ method: String, _ path: String, allowed: [String]) -> APIError {
        APIError(status: 405, message: "Method \(method) is not allowed on \(path); allowed: \(allowed.joined(separator: ", ")).",
                 type: "invalid_request_error", code: "method_not_allowed", allow: allowed)
    }

    /// 413 for a body over the limit.
    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: 413, message: "The request body is larger than this server's limit of \(limit) bytes.",
                 type: "invalid_request_error", code: "request_too_large")
    }

    /// 429 when the queue is full.
    public static func queueFull(retryAfter: Int) -> APIError {
        APIError(status: 429, message: "The server is busy: the request queue is full. Retry after \(retryAfter) s.",
                 type: "rate_limit_error", code: "queue_full", retryAfter: retryAfter)
    }

    /// 503 while shutting down.
    public static let shuttingDown = APIError(status: 503, message: "The server is shutting down.", type: "server_error",
                                              code: "shutting_down")

    /// 504-like timeout of one generation (sent as 408 Request Timeout).
    public static let timeout = APIError(status: 408, message: "The generation exceeded the server's per-request timeout.",
                                         type: "server_error", code: "timeout")

    /// 500 for anything unexpected.
    public static func internalError(_ message: String) -> APIError {
        APIError(status: 500, message: message, type: "server_error")
    }

    /// Maps engine/model errors.
    static func from(_ error: Error) -> APIError {
        if let api = error as? APIError { return api }
        if let sampling = error as? SamplingError { return .invalidRequest(sampling.description) }
        if case InferenceError.contextLengthExceeded(let requested, let limit) = error {
            return .invalidRequest("context length exceeded: \(requested) tokens requested, the limit is \(limit)",
                                   param: "max_tokens", code: "context_length_exceeded")
        }
        return .internalError("\(error)")
    }

    /// The error body.
    public var json: Value {
        .dict([("error", .dict([
            ("message", .string(message)),
            ("type", .string(type)),
            ("param", param.map(Value.string) ?? .none),
            ("code", code.map(Value.string) ?? .none),
        ]))])
    }
}
