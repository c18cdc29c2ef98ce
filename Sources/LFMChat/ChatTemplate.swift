import Foundation

/// A chat template input that `apply_chat_template` would reject.
public struct ChatInputError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { "chat template input error: \(message)" }
}

/// One chat message in the OpenAI shape. `extra` holds other fields (`tool_calls`, `tool_call_id`, `name`,
/// `reasoning_content`, ...) in the order they should appear to the template.
public struct ChatMessage: Equatable, Sendable {
    public var role: String
    /// A string, a list of content parts, or `.none`.
    public var content: Value
    public var extra: [(String, Value)]

    public init(role: String, content: Value, extra: [(String, Value)] = []) {
        self.role = role
        self.content = content
        self.extra = extra
    }

    /// A message with plain text content.
    public init(role: String, text: String) {
        self.init(role: role, content: .string(text))
    }

    /// The message as the dict a template sees.
    public var value: Value { .dict([("role", .string(role)), ("content", content)] + extra) }

    public static func == (lhs: ChatMessage, rhs: ChatMessage) -> Bool { lhs.value == rhs.value }
}

/// A Hugging Face Jinja chat template, rendered like transformers' `apply_chat_template(tokenize=False)`
/// (jinja2 sandbox, `trim_blocks`, `lstrip_blocks`, loop controls, transformers' `tojson`,
/// `raise_exception` and `strftime_now`).
///
/// The output is byte-identical to transformers 5.24 / Jinja2 3.1.6 on the committed fixtures (real and
/// look-alike chat templates, one case per construct, and random expressions and whitespace layouts).
/// Known differences, all outside what chat templates do:
/// - `select`, `reject`, `map`, `selectattr`, `rejectattr`, `unique`, `batch`, `items` and `reverse` return
///   one-shot lazy sequences as jinja2's generators do (always truthy, no length, errors when consumed), but
///   printing one cannot show Python's object address; a generator is consumed whole even by `first`.
/// - `range()` is a list (jinja2 prints `range(0, 3)`); `dict.items()`/`keys()`/`values()` print as lists (Python
///   prints `dict_items([...])`); `safe`/`escape` give plain strings (inside a printed list Python shows `Markup('...')`).
/// - Dict keys are strings (a literal `{1: 'a'}` stores key `"1"`); integers are 64-bit, and overflow throws
///   a `.limit` error where Python would grow the integer.
/// - Not supported: `include`/`extends`/`block`/`import`, `*args`/`**kwargs`
///   in calls, extra macro arguments through `varargs`/`kwargs`, and the filters `groupby`, `slice`,
///   `truncate`, `striptags`, `xmlattr`, `urlencode`, `urlize`, `pprint`, `filesizeformat`, `random`,
///   `wordwrap` (using one throws a `.type` error).
/// - Errors carry jinja2's message for the common cases and the line it reports; the column is an addition.
///
/// Untrusted templates cannot crash or exhaust the process: nesting, recursion, loop iterations, output size
/// and integer ranges are bounded, and each render has a work budget (``workBudget``) charged by loop
/// iterations, evaluated nodes, the items ranges, filters and methods make or read, and string bytes; running
/// out of any of them is reported as ``TemplateError`` of kind `.limit`.
public struct ChatTemplate: Sendable {
    /// The template source text.
    public let source: String
    private let body: [StmtNode]

    /// The default ``workBudget``: far above what real chat templates need (a 500-message conversation with
    /// tools through the LFM2, Qwen3- or Llama-3-style template fits in half of it), and low enough that the most
    /// expensive hostile template ends within a fraction of a second.
    public static let defaultWorkBudget = 1_000_000

    /// The work one render may do, in steps: 1 per evaluated expression node or statement,
    /// 4 per loop iteration or macro call, 1 per item created or read by `range()`, filters, methods and operators
    /// (n·log2 n for sorting), and 1 per 16 bytes of strings made, read by filters or written out.
    /// A render that runs out throws ``TemplateError`` of kind `.limit`.
    public var workBudget: Int = ChatTemplate.defaultWorkBudget

    /// Parses a template; throws ``TemplateError`` (kind `.syntax`) with the line and column of the problem.
    public init(_ source: String) throws {
        self.source = source
        self.body = try Parser.parse(source)
        try StaticCheck.check(body)
    }

    /// Renders with an explicit set of template variables.
    /// - Parameter now: the clock used by `strftime_now`.
    public func render(context: [String: Value], now: @escaping () -> Date = Date.init) throws -> String {
        let budget = WorkBudget(limit: workBudget)
        let interpreter = Interpreter(globals: Globals.make(now: now, budget: budget), budget: budget)
        return try interpreter.render(body, context: context)
    }

    /// Renders a conversation the way `tokenizer.apply_chat_template(messages, tools=..., documents=...,
    /// tokenize=False, add_generation_prompt=..., continue_final_message=...)` does: top-level `None` fields of
    /// messages are dropped, reasoning fields are aliased (`reasoning_content`/`thinking`/`reasoning`), and the
    /// special tokens and `extraContext` are passed as template variables.
    /// - Parameter continueFinalMessage: end the prompt inside the last message's `content` (for prefilling the
    ///   start of an assistant reply), cutting what the template adds after it; incompatible with
    ///   `addGenerationPrompt`.
    public func render(messages: [Value], tools: [Value]? = nil, documents: [Value]? = nil, addGenerationPrompt: Bool,
                       continueFinalMessage: Bool = false, extraContext: [String: Value] = [:],
                       bosToken: String? = nil, eosToken: String? = nil,
                       now: @escaping () -> Date = Date.init) throws -> String {
        guard !messages.isEmpty else {
            throw ChatInputError(message: "Cannot apply chat template to an empty conversation. Provide at least one message.")
        }
        if continueFinalMessage && addGenerationPrompt {
            throw ChatInputError(message: "continue_final_message and add_generation_prompt are not compatible. Use continue_final_message when you want the model to continue the final message, and add_generation_prompt when you want to add a header that will prompt it to start a new assistant message instead.")
        }
        var prepared: [Value] = []
        for (i, message) in messages.enumerated() {
            guard case .object(let dict) = message else {
                throw ChatInputError(message: "Chat messages should be dicts, but message \(i) is \(message.typeName)")
            }
            let hasNone = dict.values.contains { if case .none = $0 { return true } else { return false } }
            var kept = hasNone
                ? OrderedDict(dict.pairs.filter { if case .none = $0.1 { return false } else { return true } })
                : dict
            let reasoning = ChatTemplate.reasoningFields.lazy.compactMap { kept[$0] }.first
            if let reasoning {
                var aliased = OrderedDict()
                aliased["thinking"] = reasoning
                for (k, v) in kept.pairs where k != "thinking" { aliased[k] = v }
                aliased["reasoning_content"] = reasoning
                kept = aliased
            }
            prepared.append(.object(kept))
        }
        if let tools {
            for (i, tool) in tools.enumerated() {
                guard case .object = tool else {
                    throw ChatInputError(message: "Tools should be JSON schema objects, but tool \(i) is \(tool.typeName)")
                }
            }
        }
        if let documents {
            for document in documents {
                guard case .object = document else {
                    throw ChatInputError(message: "Documents should be a list of dicts with 'title' and 'text' keys!")
                }
            }
        }
        var finalText: String? = nil
        if continueFinalMessage {
            finalText = try tagFinalMessage(&prepared)
        }
        var context: [String: Value] = [:]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (k, v) in extraContext { context[k] = v }
        context["messages"] = .array(prepared)
        context["tools"] = tools.map { Value.array($0) } ?? Value.none
        context["documents"] = documents.map { Value.array($0) } ?? Value.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        let rendered = try render(context: context, now: now)
        guard let finalText else { return rendered }
        return try cutAtFinalMessage(rendered, finalText)
    }

    private static let continueTag = "CONTINUE_FINAL_MESSAGE_TAG "

    /// Appends transformers' marker to the last message's content (or its last text block) and returns the
    /// original text.
    private func tagFinalMessage(_ prepared: inout [Value]) throws -> String {
        guard let lastIndex = prepared.indices.last, case .object(var last) = prepared[lastIndex],
              let content = last["content"] else {
            throw ChatInputError(message: "continue_final_message is set but the final message has no \"content\" to continue!")
        }
        guard source.contains("content") else {
            throw ChatInputError(message: "continue_final_message is set to \"content\" but this is not an accepted field in the chat_template")
        }
        let original: String
        switch content {
        case .string(let text):
            original = text
            last["content"] = .string(text + ChatTemplate.continueTag)
        case .array(var blocks), .tuple(var blocks):
            guard let b = blocks.lastIndex(where: { if case .object(let o) = $0 { return o["text"] != nil } else { return false } }),
                  case .object(var block) = blocks[b], let text = block["text"] else {
                throw ChatInputError(message: "continue_final_message is set but we could not find any text to continue in the final message!")
            }
            guard case .string(let t) = text else {
                throw ChatInputError(message: "the final message's last text block is not a string")
            }
            original = t
            block["text"] = .string(t + ChatTemplate.continueTag)
            blocks[b] = .object(block)
            last["content"] = .array(blocks)
        default:
            throw ChatInputError(message: "continue_final_message needs a string (or text blocks) as the final message's content")
        }
        prepared[lastIndex] = .object(last)
        return original
    }

    /// Cuts the rendering where the marker was, like transformers (keeping spacing when the template kept it).
    private func cutAtFinalMessage(_ rendered: String, _ finalText: String) throws -> String {
        let marker = ChatTemplate.continueTag.pyStrip
        let hay = Array(rendered.unicodeScalars)
        guard Operators.scalarSearch(hay, Array(finalText.pyStrip.unicodeScalars)),
              var at = Operators.findScalars(hay, Array(marker.unicodeScalars), from: 0) else {
            throw ChatInputError(message: "continue_final_message is set but the final message does not appear in the chat after applying the chat template! This can happen if the chat template deletes portions of the final message. Please verify the chat template and final message in your chat to ensure they are compatible.")
        }
        while let next = Operators.findScalars(hay, Array(marker.unicodeScalars), from: at + 1) { at = next }
        var head = String.UnicodeScalarView()
        head.append(contentsOf: hay[..<at])
        let tag = Array(ChatTemplate.continueTag.unicodeScalars)
        if at + tag.count <= hay.count, Array(hay[at..<(at + tag.count)]) == tag { return String(head) }
        return String(head).pyRStrip
    }

    /// Names a message's reasoning may come under; transformers copies the first one found to `thinking` and
    /// `reasoning_content`.
    static let reasoningFields = ["reasoning_content", "thinking", "reasoning"]

    /// Renders ``ChatMessage`` values; see
    /// ``render(messages:tools:documents:addGenerationPrompt:continueFinalMessage:extraContext:bosToken:eosToken:now:)``.
    public func render(chat: [ChatMessage], tools: [Value]? = nil, addGenerationPrompt: Bool,
                       continueFinalMessage: Bool = false, extraContext: [String: Value] = [:],
                       bosToken: String? = nil, eosToken: String? = nil,
                       now: @escaping () -> Date = Date.init) throws -> String {
        try render(messages: chat.map(\.value), tools: tools, addGenerationPrompt: addGenerationPrompt,
                   continueFinalMessage: continueFinalMessage, extraContext: extraContext,
                   bosToken: bosToken, eosToken: eosToken, now: now)
    }
}
