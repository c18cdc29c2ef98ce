/// The syntax a model family writes tool calls in.
///
/// Facts the formats follow (read from the families' chat templates; no code taken from them):
/// - LFM2 / LFM3 (`lfm2`): Pythonic calls `[name(arg="x")]` between `<|tool_call_start|>` and
///   `<|tool_call_end|>`; LFM2.5 may write the bare list as the whole answer. The LFM2 template lists tools
///   between `<|tool_list_start|>` and `<|tool_list_end|>`. See ``ToolCallParser``.
/// - Qwen3 / Hermes (`hermes`): the Qwen3 template asks for "a json object with function name and arguments
///   within <tool_call></tool_call> XML tags" and writes earlier calls as
///   `<tool_call>\n{"name": "NAME", "arguments": ARGS}\n</tool_call>`, one block per call, blocks separated by
///   a newline; several calls per answer are allowed.
/// - Llama 3.x (`llama3`): the Llama 3.2 template asks to "respond in the format {"name": function name,
///   "parameters": dictionary of argument name and its value}" and writes an earlier call as the whole
///   assistant turn `{"name": "NAME", "parameters": ARGS}`; its system turn says `Environment: ipython` and
///   tool results come back in the `ipython` role. Llama 3.1 may put `<|python_tag|>` before a call (and
///   ends such a turn with `<|eom_id|>`); built-in tools are called as `<|python_tag|>name.call(arg="x")`.
///   llama.cpp also accepts `{"type": "function", "name": ..., "parameters": ...}`.
public enum ToolCallFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// LFM2 / LFM3 Pythonic calls.
    case lfm2
    /// Qwen3 / Hermes `<tool_call>` JSON blocks.
    case hermes
    /// Llama 3.x JSON calls.
    case llama3

    /// The format's name (`lfm2`, `hermes`, `llama3`).
    public var description: String { rawValue }

    /// The format of a model family, by its registry name (Hugging Face `model_type`: `lfm2`, `lfm2_moe`,
    /// `lfm3`, `qwen3`, `qwen3_moe`, `qwen2`, `llama`); nil for a family without a known format.
    public init?(family: String) {
        switch family.lowercased() {
        case "lfm2", "lfm2_moe", "lfm3", "lfm2_vl", "lfm2-moe": self = .lfm2
        case "qwen3", "qwen3_moe", "qwen2", "qwen2_moe", "hermes": self = .hermes
        case "llama", "llama3": self = .llama3
        default: return nil
        }
    }

    /// The format named by a user (command-line option, server setting): a format name (`lfm2`,
    /// `hermes`, `llama3`), `pythonic`, or a family name (see ``init(family:)``).
    public init?(name: String) {
        let lowered = name.lowercased()
        if let format = ToolCallFormat(rawValue: lowered) { self = format; return }
        if lowered == "pythonic" { self = .lfm2; return }
        guard let format = ToolCallFormat(family: lowered) else { return nil }
        self = format
    }

    /// The format a chat template and its tokenizer's special tokens point to, or nil when neither
    /// names one. The template text decides first (it shows how earlier calls are written); the
    /// tokens only when the template says nothing.
    /// - Parameters:
    ///   - templateSource: the Jinja chat template text, if any.
    ///   - hasToken: whether the tokenizer has this exact token (vocabulary or added token).
    public static func detect(templateSource: String?, hasToken: (String) -> Bool) -> ToolCallFormat? {
        if let source = templateSource {
            if source.contains(ToolCallParser.startMarker) || source.contains("<|tool_list_start|>") { return .lfm2 }
            if source.contains(HermesToolCalls.startMarker) { return .hermes }
            if source.contains(LlamaToolCalls.pythonTag) || source.contains("ipython") { return .llama3 }
        }
        if hasToken(ToolCallParser.startMarker) { return .lfm2 }
        if hasToken(HermesToolCalls.startMarker) { return .hermes }
        if hasToken(LlamaToolCalls.pythonTag) { return .llama3 }
        return nil
    }

    /// Splits a whole answer into plain text and calls; a malformed call stays in the text and its
    /// error is returned. Gives what streaming the answer through ``ToolCallStreamParser`` gives.
    public func extract(from answer: String) -> (text: String, calls: [ToolCall], errors: [ToolCallParseError]) {
        guard var parser = ToolCallStreamParser(format: self) else { return ToolCallParser.extract(from: answer) }
        var text = ""
        var calls: [ToolCall] = []
        var errors: [ToolCallParseError] = []
        for event in parser.feed(answer) + parser.finish() {
            switch event {
            case .text(let t): text += t
            case .call(let call): calls.append(call)
            case .malformed(let t, let error): text += t; errors.append(error)
            }
        }
        return (text, calls, errors)
    }

    /// The text an answer starts with when it calls `function` (its arguments come next), e.g. to
    /// force a call for `tool_choice`.
    public func callPrefix(function: String) -> String {
        switch self {
        case .lfm2: return ToolCallParser.startMarker + "[" + function + "("
        case .hermes: return HermesToolCalls.startMarker + "\n{\"name\": " + Value.jsonStringLiteral(function) + ", \"arguments\": "
        case .llama3: return "{\"name\": " + Value.jsonStringLiteral(function) + ", \"parameters\": "
        }
    }
}

/// What streaming an answer through a tool-call parser yields.
public enum ToolCallStreamEvent: Equatable, Sendable {
    /// Plain answer text.
    case text(String)
    /// A parsed call.
    case call(ToolCall)
    /// A section that looked like a call but did not parse: its text (pass it on as text) and why.
    case malformed(String, ToolCallParseError)
}

/// How the answer looks around reasoning and tool calls: the tool-call syntax and, for models that
/// think first (Qwen3), the reasoning markers.
public struct ChatOutputFormat: Sendable, Equatable, CustomStringConvertible {
    /// The tool-call syntax.
    public var toolCalls: ToolCallFormat
    /// The markers around reasoning at the start of an answer; nil when the model does not reason.
    public var reasoning: ReasoningMarkers?

    /// Creates a format.
    public init(toolCalls: ToolCallFormat, reasoning: ReasoningMarkers? = nil) {
        self.toolCalls = toolCalls
        self.reasoning = reasoning
    }

    /// LFM2's: Pythonic calls, no reasoning (what every path did before formats existed).
    public static let lfm2 = ChatOutputFormat(toolCalls: .lfm2)

    /// The format of a model family by its registry name (Qwen3 thinks in `<think>` blocks).
    public init?(family: String) {
        guard let calls = ToolCallFormat(family: family) else { return nil }
        let thinks = family.lowercased().hasPrefix("qwen3")
        self.init(toolCalls: calls, reasoning: thinks ? .think : nil)
    }

    /// The format a chat template (and the tokenizer's tokens) points to; LFM2's when nothing does.
    public static func detect(templateSource: String?, hasToken: (String) -> Bool) -> ChatOutputFormat {
        ChatOutputFormat(toolCalls: ToolCallFormat.detect(templateSource: templateSource, hasToken: hasToken) ?? .lfm2,
                         reasoning: ReasoningMarkers.detect(templateSource: templateSource))
    }

    /// E.g. `hermes with <think> reasoning`.
    public var description: String { reasoning.map { "\(toolCalls) with \($0.open) reasoning" } ?? toolCalls.description }
}
