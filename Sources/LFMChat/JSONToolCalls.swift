/// Qwen3 / Hermes calls: `<tool_call>\n{"name": "NAME", "arguments": {...}}\n</tool_call>`.
public enum HermesToolCalls {
    /// The markers around one call (added tokens in Qwen's tokenizers; plain text elsewhere).
    public static let startMarker = "<tool_call>"
    public static let endMarker = "</tool_call>"

    /// Parses the JSON object between the markers: `name` (a non-empty string) and `arguments` (an
    /// object, a string holding a JSON object, or absent for none; `parameters` is accepted too).
    public static func parse(body: String) throws -> ToolCall {
        let value: Value
        do { value = try Value.parseJSON(body) } catch let error as JSONParseError {
            throw ToolCallParseError(message: "invalid JSON in \(startMarker): \(error.message) (line \(error.line), column \(error.column))", offset: 0)
        }
        switch JSONCallShape.call(from: value) {
        case .call(let call): return call
        case .notACall(let why), .invalid(let why): throw ToolCallParseError(message: why, offset: 0)
        }
    }
}

/// Llama 3.x calls: `{"name": "NAME", "parameters": {...}}` as the answer, optionally after
/// `<|python_tag|>`, also `{"type": "function", "name": ..., "parameters": ...}`; several calls may follow
/// one another, separated by whitespace or `;`.
public enum LlamaToolCalls {
    /// The token Llama 3.1 puts before a tool call.
    public static let pythonTag = "<|python_tag|>"

    /// A built-in tool call after the tag: `name.call(arg="x")` (or `name(arg="x")`).
    static func parseBuiltin(_ text: String) throws -> ToolCall {
        var scanner = PythonLiteralScanner(Array(text.unicodeScalars))
        var call = try scanner.call()
        scanner.skipSpace()
        guard scanner.isAtEnd else { throw scanner.error("unexpected text after the call") }
        if call.name.hasSuffix(".call") { call.name = String(call.name.dropLast(".call".count)) }
        return call
    }
}

/// Reading `{"name": ..., "arguments"|"parameters": {...}}` objects.
enum JSONCallShape {
    enum Result {
        case call(ToolCall)
        /// A JSON value that is not a call (e.g. an answer that happens to be JSON).
        case notACall(String)
        /// A call with bad parts.
        case invalid(String)
    }

    /// - Parameter requireArguments: whether `arguments` / `parameters` must be present (Llama 3, where a
    ///   JSON answer with a `name` field is not a call); Hermes blocks may leave them out for none.
    static func call(from value: Value, requireArguments: Bool = false) -> Result {
        guard case .object(let object) = value else { return .notACall("a tool call must be a JSON object") }
        if let type = object["type"], type != .string("function") {
            return .notACall("\"type\" must be \"function\"")
        }
        guard let nameValue = object["name"] else { return .notACall("the object has no \"name\"") }
        guard case .string(let name) = nameValue, !name.isEmpty else { return .invalid("\"name\" must be a non-empty string") }
        let arguments = object["arguments"] ?? object["parameters"]
        if requireArguments && arguments == nil { return .notACall("the object has no \"parameters\"") }
        switch arguments {
        case nil, .none?: return .call(ToolCall(name: name, arguments: .object(OrderedDict())))
        case .object?: return .call(ToolCall(name: name, arguments: arguments ?? .object(OrderedDict())))
        case .string(let text)?:
            guard let parsed = try? Value.parseJSON(text), case .object = parsed else {
                return .invalid("the arguments of '\(name)' are a string that is not a JSON object")
            }
            return .call(ToolCall(name: name, arguments: parsed))
        default: return .invalid("the arguments of '\(name)' must be a JSON object")
        }
    }

    /// Whether a JSON object's text is a call object (`name`/`arguments` or `parameters` present).
    static func hasArguments(_ value: Value) -> Bool {
        guard case .object(let object) = value else { return false }
        return object["arguments"] != nil || object["parameters"] != nil || object["type"] == .string("function")
    }
}

/// Text as unicode scalars: marker search and partial-marker hold-back.
enum ScalarText {
    static func find(_ marker: [Unicode.Scalar], in text: [Unicode.Scalar], from start: Int = 0) -> Int? {
        guard !marker.isEmpty, text.count >= marker.count else { return nil }
        var i = start
        while i + marker.count <= text.count {
            if text[i] == marker[0], text[i..<(i + marker.count)].elementsEqual(marker) { return i }
            i += 1
        }
        return nil
    }

    /// The length of the longest proper prefix of `marker` that `text` ends with.
    static func partialSuffix(_ text: [Unicode.Scalar], _ marker: [Unicode.Scalar]) -> Int {
        var length = min(marker.count - 1, text.count)
        while length > 0 {
            if text[(text.count - length)...].elementsEqual(marker[..<length]) { return length }
            length -= 1
        }
        return 0
    }

    static func string<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    /// The index after the `}` closing the object that starts at `start` (a `{`), or nil when the
    /// text ends first. Brackets inside strings are skipped; mismatched brackets are left to the parser.
    static func objectEnd(_ text: [Unicode.Scalar], from start: Int) -> Int? {
        var scan = ObjectScan(start: start)
        return objectEnd(text, scan: &scan)
    }

    /// Where a scan for an object's end stopped, so that a growing text is read once.
    struct ObjectScan: Sendable {
        let start: Int
        var position: Int
        var depth = 0
        var inString = false
        var escaped = false
        init(start: Int) { self.start = start; position = start }
    }

    /// ``objectEnd(_:from:)`` resumed from `scan` (which is left where the text ended).
    static func objectEnd(_ text: [Unicode.Scalar], scan: inout ObjectScan) -> Int? {
        while scan.position < text.count {
            let c = text[scan.position]
            scan.position += 1
            if scan.inString {
                if scan.escaped { scan.escaped = false } else if c == "\\" { scan.escaped = true } else if c == "\"" { scan.inString = false }
            } else {
                switch c {
                case "\"": scan.inString = true
                case "{", "[": scan.depth += 1
                case "}", "]":
                    scan.depth -= 1
                    if scan.depth == 0 { return scan.position }
                default: break
                }
            }
        }
        return nil
    }

    /// Whether the object starting at `start` has a complete first key `name` or `type`.
    static func startsWithCallKey(_ text: [Unicode.Scalar], from start: Int) -> Bool {
        var i = start + 1
        while i < text.count, isSpace(text[i]) { i += 1 }
        guard i < text.count, text[i] == "\"" else { return false }
        for key in ["name", "type"] {
            let quoted = Array((key + "\"").unicodeScalars)
            if text.count >= i + 1 + quoted.count, text[(i + 1)..<(i + 1 + quoted.count)].elementsEqual(quoted) { return true }
        }
        return false
    }

    /// Whether an unfinished object starting at `start` can still become a call: its first key is
    /// (or may grow into) `name` or `type`.
    static func mayBeCallObject(_ text: [Unicode.Scalar], from start: Int) -> Bool {
        var i = start + 1
        while i < text.count, isSpace(text[i]) { i += 1 }
        guard i < text.count else { return true }
        guard text[i] == "\"" else { return false }
        i += 1
        var key = ""
        while i < text.count, text[i] != "\"" {
            key.unicodeScalars.append(text[i])
            i += 1
        }
        if i < text.count { return key == "name" || key == "type" }
        return "name".hasPrefix(key) || "type".hasPrefix(key)
    }
}

/// Streams an answer's text and splits out tool calls in the Hermes or Llama 3 format, so that no call
/// text reaches the `.text` events: text that may still become a marker or a call is held back until it
/// is decided. A call that does not parse comes back as `.malformed` with its original text.
/// Whitespace right next to a call (the newlines between `</tool_call>` and `<tool_call>`) is dropped.
///
/// Feeding the same text in any split gives the same events once adjacent `.text` events are joined.
public struct ToolCallStreamParser: Sendable {
    /// The format parsed.
    public let format: ToolCallFormat

    private enum Phase: Sendable {
        /// Llama 3: the start of the answer, which decides whether it is a call.
        case start
        /// Plain text, watching for a call marker.
        case text
        /// Hermes: inside `<tool_call>`; Llama 3: after `<|python_tag|>` or in a call list.
        case call
    }

    private let startMarker: [Unicode.Scalar]
    private let endMarker: [Unicode.Scalar]
    private var phase: Phase
    /// Text not yet decided.
    private var held: [Unicode.Scalar] = []
    /// Trailing whitespace of the text so far (dropped if a call follows).
    private var pendingSpace: [Unicode.Scalar] = []
    /// Right after a call: leading whitespace of the next text is dropped.
    private var dropLeadingSpace = false
    /// Llama 3: the text before the call section (leading whitespace, the tag) while no call is parsed,
    /// given back if the section turns out to be plain text.
    private var sectionPrefix: [Unicode.Scalar] = []
    /// Llama 3: whether the section began with `<|python_tag|>`.
    private var tagged = false
    /// Calls parsed so far.
    public private(set) var callCount = 0
    /// Hermes: the length of `held` already searched for the end marker.
    private var searched = 0
    /// Llama 3: the scan for the end of the object at the front of the section.
    private var objectScan: ScalarText.ObjectScan?

    /// A parser for `format`; nil for `.lfm2`, whose markers are special tokens (the session's output
    /// filter handles them by token id, ``ToolCallParser/extract(from:)`` whole answers).
    public init?(format: ToolCallFormat) {
        self.format = format
        switch format {
        case .lfm2: return nil
        case .hermes:
            startMarker = Array(HermesToolCalls.startMarker.unicodeScalars)
            endMarker = Array(HermesToolCalls.endMarker.unicodeScalars)
            phase = .text
        case .llama3:
            startMarker = Array(LlamaToolCalls.pythonTag.unicodeScalars)
            endMarker = []
            phase = .start
        }
    }

    /// Feeds the next piece of the answer; returns what it decides.
    public mutating func feed(_ chunk: String) -> [ToolCallStreamEvent] {
        held += chunk.unicodeScalars
        var events: [ToolCallStreamEvent] = []
        while step(&events, final: false) {}
        return events
    }

    /// Ends the answer: held text comes out, an unfinished call as `.malformed`.
    public mutating func finish() -> [ToolCallStreamEvent] {
        var events: [ToolCallStreamEvent] = []
        while step(&events, final: true) {}
        switch phase {
        case .start, .text:
            events += text(held[...])
            held = []
            if !dropLeadingSpace && !pendingSpace.isEmpty { events.append(.text(ScalarText.string(pendingSpace))) }
        case .call:
            if format == .hermes {
                let error = ToolCallParseError(message: "\(HermesToolCalls.startMarker) without \(HermesToolCalls.endMarker)", offset: 0)
                events.append(.malformed(ScalarText.string(pendingSpace + startMarker + held), error))
            } else {
                events += finishLlamaSection()
            }
            held = []
        }
        pendingSpace = []
        searched = 0
        objectScan = nil
        return events
    }

    // MARK: Steps

    /// Makes one decision on `held`; returns whether to try again.
    private mutating func step(_ events: inout [ToolCallStreamEvent], final: Bool) -> Bool {
        switch phase {
        case .start:
            guard let first = held.firstIndex(where: { !ScalarText.isSpace($0) }) else { return false }
            let rest = Array(held[first...])
            if rest.starts(with: startMarker) {
                sectionPrefix = Array(held[..<(first + startMarker.count)])
                dropHeld(first + startMarker.count)
                tagged = true
                phase = .call
                return true
            }
            if rest.first == "{" {
                sectionPrefix = Array(held[..<first])
                dropHeld(first)
                tagged = false
                phase = .call
                return true
            }
            if !final && startMarker.starts(with: rest) { return false }
            phase = .text
            return true
        case .text:
            if let start = ScalarText.find(startMarker, in: held) {
                events += text(held[..<start])
                dropHeld(start + startMarker.count)
                if format == .llama3 {
                    sectionPrefix = startMarker
                    tagged = true
                }
                phase = .call
                return true
            }
            let keep = final ? 0 : ScalarText.partialSuffix(held, startMarker)
            events += text(held[..<(held.count - keep)])
            dropHeld(held.count - keep)
            return false
        case .call:
            return format == .hermes ? hermesCall(&events) : llamaSection(&events, final: final)
        }
    }

    /// Removes the first `count` scalars of `held` (scans of it start again).
    private mutating func dropHeld(_ count: Int) {
        held.removeFirst(count)
        searched = 0
        objectScan = nil
    }

    private mutating func hermesCall(_ events: inout [ToolCallStreamEvent]) -> Bool {
        guard let end = ScalarText.find(endMarker, in: held, from: max(0, searched - endMarker.count + 1)) else {
            searched = held.count
            return false
        }
        let body = ScalarText.string(held[..<end])
        do {
            events.append(.call(try HermesToolCalls.parse(body: body)))
            callCount += 1
            pendingSpace = []
            dropLeadingSpace = true
        } catch {
            let parseError = error as? ToolCallParseError ?? ToolCallParseError(message: "\(error)", offset: 0)
            events.append(.malformed(ScalarText.string(pendingSpace + startMarker + held[..<(end + endMarker.count)]), parseError))
            pendingSpace = []
            dropLeadingSpace = false
        }
        dropHeld(end + endMarker.count)
        phase = .text
        return true
    }

    /// Llama 3: takes the next complete call object off the section.
    private mutating func llamaSection(_ events: inout [ToolCallStreamEvent], final: Bool) -> Bool {
        var i = 0
        while i < held.count, ScalarText.isSpace(held[i]) || (callCount > 0 && held[i] == ";") { i += 1 }
        guard i < held.count else { return false }
        guard held[i] == "{" else {
            // After the calls of an untagged answer, the rest is plain text; after the tag it is
            // decided at the end (a built-in call or a malformed section).
            guard !tagged && callCount > 0 else { return false }
            dropHeld(i)
            phase = .text
            return true
        }
        var scan = objectScan.flatMap { $0.start == i ? $0 : nil } ?? ScalarText.ObjectScan(start: i)
        let found = ScalarText.objectEnd(held, scan: &scan)
        objectScan = scan
        guard let end = found else {
            if !tagged && callCount == 0 && !ScalarText.mayBeCallObject(held, from: i) { becomeText(); return true }
            return false
        }
        // An answer that is JSON whose first key is not `name` or `type` (decided the same way while it streams).
        if !tagged && callCount == 0 && !ScalarText.startsWithCallKey(held, from: i) { becomeText(); return true }
        let body = ScalarText.string(held[i..<end])
        let value = try? Value.parseJSON(body)
        let shape = value.map { JSONCallShape.call(from: $0, requireArguments: true) }
        if case .call(let call)? = shape {
            events.append(.call(call))
            callCount += 1
            sectionPrefix = []
            dropHeld(end)
            dropLeadingSpace = true
            pendingSpace = []
            return true
        }
        if !tagged && callCount == 0, let value, !JSONCallShape.hasArguments(value) {
            // An answer that is JSON but not a call.
            becomeText()
            return true
        }
        let why: String
        switch shape {
        case .notACall(let message)?, .invalid(let message)?: why = message
        default: why = "invalid JSON in the tool call"
        }
        events.append(.malformed(ScalarText.string(pendingSpace + sectionPrefix + held[..<end]), ToolCallParseError(message: why, offset: 0)))
        pendingSpace = []
        sectionPrefix = []
        dropHeld(end)
        return true
    }

    /// Llama 3: the section is plain text after all (nothing was parsed from it).
    private mutating func becomeText() {
        let text = sectionPrefix + held
        dropHeld(held.count)
        held = text
        sectionPrefix = []
        tagged = false
        phase = .text
    }

    private mutating func finishLlamaSection() -> [ToolCallStreamEvent] {
        var i = 0
        while i < held.count, ScalarText.isSpace(held[i]) || (callCount > 0 && held[i] == ";") { i += 1 }
        guard i < held.count else { return [] }
        if !tagged && callCount == 0 && !ScalarText.startsWithCallKey(held, from: i) {
            // An unfinished object that never named a function: an answer cut short, not a call.
            return [.text(ScalarText.string(pendingSpace + sectionPrefix + held))]
        }
        let rest = ScalarText.string(held[i...])
        if tagged && held[i] != "{", let call = try? LlamaToolCalls.parseBuiltin(rest) {
            callCount += 1
            return [.call(call)]
        }
        let why = held[i] == "{" ? "the tool call's JSON object is not closed" : "the text after \(LlamaToolCalls.pythonTag) is not a tool call"
        return [.malformed(ScalarText.string(pendingSpace + sectionPrefix + held), ToolCallParseError(message: why, offset: 0))]
    }

    /// Plain text: emitted without its trailing whitespace, which waits for what follows (dropped
    /// before a call); after a call, leading whitespace is dropped.
    private mutating func text(_ slice: ArraySlice<Unicode.Scalar>) -> [ToolCallStreamEvent] {
        guard !slice.isEmpty else { return [] }
        var scalars = pendingSpace + slice
        pendingSpace = []
        if dropLeadingSpace {
            guard let first = scalars.firstIndex(where: { !ScalarText.isSpace($0) }) else { return [] }
            scalars.removeFirst(first)
            dropLeadingSpace = false
        }
        var end = scalars.count
        while end > 0, ScalarText.isSpace(scalars[end - 1]) { end -= 1 }
        pendingSpace = Array(scalars[end...])
        return end > 0 ? [.text(ScalarText.string(scalars[..<end]))] : []
    }
}
