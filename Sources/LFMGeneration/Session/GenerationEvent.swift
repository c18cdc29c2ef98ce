import LFMChat

/// Why generation ended.
public enum FinishReason: String, Sendable, Equatable {
    /// An end-of-turn token or a stop string.
    case stop
    /// `maxTokens` reached.
    case length
    /// The model called tools.
    case toolCalls = "tool_calls"
    /// The consumer stopped listening (task cancelled).
    case cancelled
}

/// Counts and speeds of one generation.
public struct GenerationStatistics: Sendable, Equatable {
    /// Tokens of the prompt.
    public var promptTokens = 0
    /// Prompt tokens whose state was reused from the previous turn (not processed again).
    public var reusedPromptTokens = 0
    /// Tokens generated.
    public var completionTokens = 0
    /// Prompt tokens processed per second.
    public var prefillTokensPerSecond = 0.0
    /// Tokens generated per second.
    public var decodeTokensPerSecond = 0.0
    /// Seconds until the first token was sampled.
    public var timeToFirstToken = 0.0
}

/// What a generation stream yields.
public enum GenerationEvent: Sendable, Equatable {
    /// Text, never split inside a UTF-8 sequence; tool-call text never appears here.
    case text(String)
    /// Reasoning the model wrote before its answer (Qwen3's `<think>` block, markers removed); never
    /// part of the `.text` events.
    case reasoning(String)
    /// A parsed tool call.
    case toolCall(ToolCall)
    /// A warning (e.g. a malformed tool call that was passed on as text).
    case warning(String)
    /// The last event: why it ended, with statistics.
    case finished(FinishReason, GenerationStatistics)
}

/// Errors of a session.
public enum SessionError: Error, CustomStringConvertible, Equatable {
    case busy
    case emptyPrompt
    case noChatTemplate
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .busy: return "this session is already generating; wait for it to finish or cancel it"
        case .emptyPrompt: return "the prompt is empty"
        case .noChatTemplate: return "the model has no chat template"
        case .invalidOptions(let detail): return "invalid generation options: \(detail)"
        }
    }
}

/// Options of one generation.
public struct GenerationOptions: Sendable {
    /// How tokens are chosen.
    public var sampling: SamplingParameters
    /// Most tokens to generate.
    public var maxTokens: Int
    /// Token ids that end generation (not emitted); defaults come from the model.
    public var stopTokens: Set<Int>?
    /// Strings that end generation (not emitted).
    public var stopStrings: [String]
    /// Whether tool calls are parsed out of the output.
    public var parseToolCalls: Bool
    /// When set, the output is JSON valid under this schema (constrained decoding, see
    /// `ConstrainedDecoder`); tool calls are then not parsed out of it.
    public var responseFormat: JSONSchema?
    /// The tool-call syntax and reasoning markers of the output; nil: the session's (detected from its
    /// chat template), LFM2's for the server's engine.
    public var outputFormat: ChatOutputFormat?
    /// When set (and `responseFormat` is not), the output is one whole tool call (see `ToolCallConstraint`).
    public var toolCallConstraint: ToolCallConstraint?

    /// Creates options.
    public init(sampling: SamplingParameters = .greedy, maxTokens: Int = 256, stopTokens: Set<Int>? = nil,
                stopStrings: [String] = [], parseToolCalls: Bool = true, responseFormat: JSONSchema? = nil,
                outputFormat: ChatOutputFormat? = nil) {
        self.outputFormat = outputFormat
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
        self.parseToolCalls = parseToolCalls
        self.responseFormat = responseFormat
    }
}

/// Constrains an answer to one LFM2 tool call: the start marker token (forced), then
/// `[name(key=value, ...)]` following `schema` (see `JSONSchema(toolCalls:options:)`), then the
/// end marker token, after which generation ends.
public struct ToolCallConstraint: Sendable {
    /// The call's text, `[name(...)]`.
    public let schema: JSONSchema
    /// `<|tool_call_start|>`.
    public let startToken: Int
    /// `<|tool_call_end|>`: the only token allowed once the call is complete.
    public let endToken: Int

    /// Creates a constraint.
    public init(schema: JSONSchema, startToken: Int, endToken: Int) {
        self.schema = schema
        self.startToken = startToken
        self.endToken = endToken
    }

    /// Fewest tokens a whole call takes: the two markers and at most one token per byte between.
    public var shortestLength: Int { schema.shortestValueLength + 2 }
}
