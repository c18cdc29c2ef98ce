import Foundation

/// A function call the model asked for: a name and JSON-object arguments (keys in the order the
/// model wrote them).
public struct ToolCall: Equatable, Sendable {
    /// The function's name.
    public var name: String
    /// The arguments, always a `.object`.
    public var arguments: Value

    /// Creates a call.
    public init(name: String, arguments: Value) {
        self.name = name
        self.arguments = arguments
    }

    /// The arguments as compact JSON (`{"city": "Paris"}` with `", "`/`": "` separators, non-ASCII kept),
    /// the way OpenAI's API carries them.
    public var argumentsJSON: String {
        (try? arguments.jsonDumps(JSONDumpOptions(ensureASCII: false, indent: nil, itemSeparator: ", ", keySeparator: ": "))) ?? "{}"
    }
}

/// Why a tool-call text could not be parsed (the text is then kept as plain output).
public struct ToolCallParseError: Error, CustomStringConvertible, Equatable {
    public let message: String
    /// Character offset in the parsed text.
    public let offset: Int
    public var description: String { "tool call parse error at offset \(offset): \(message)" }
}

/// Parses LFM2's Pythonic tool calls: `[name(arg="x", n=1, flag=True, none=None, nested=[1, {"k": 2}]), other()]`,
/// the text between `<|tool_call_start|>` and `<|tool_call_end|>` (LFM2) or bare at the start of an
/// answer (LFM2.5).
public enum ToolCallParser {
    /// The markers LFM2 wraps calls in.
    public static let startMarker = "<|tool_call_start|>"
    public static let endMarker = "<|tool_call_end|>"

    /// Parses a list of calls; throws `ToolCallParseError` for anything that is not exactly one.
    public static func parse(_ text: String) throws -> [ToolCall] {
        var scanner = PythonLiteralScanner(Array(text.unicodeScalars))
        scanner.skipSpace()
        try scanner.expect("[")
        var calls: [ToolCall] = []
        scanner.skipSpace()
        if scanner.peek() == "]" { scanner.advance() } else {
            while true {
                calls.append(try scanner.call())
                scanner.skipSpace()
                if scanner.peek() == "," { scanner.advance(); scanner.skipSpace(); continue }
                try scanner.expect("]")
                break
            }
        }
        scanner.skipSpace()
        guard scanner.isAtEnd else { throw scanner.error("unexpected text after the call list") }
        return calls
    }

    /// Splits a whole answer into plain text and calls: every `<|tool_call_start|>…<|tool_call_end|>`
    /// section becomes calls; a malformed section stays in the text and its error is returned.
    public static func extract(from answer: String) -> (text: String, calls: [ToolCall], errors: [ToolCallParseError]) {
        var text = ""
        var calls: [ToolCall] = []
        var errors: [ToolCallParseError] = []
        var rest = Substring(answer)
        while let start = rest.range(of: startMarker) {
            text += rest[..<start.lowerBound]
            let afterStart = rest[start.upperBound...]
            guard let end = afterStart.range(of: endMarker) else {
                text += rest[start.lowerBound...]
                errors.append(ToolCallParseError(message: "\(startMarker) without \(endMarker)", offset: 0))
                rest = ""
                break
            }
            let body = String(afterStart[..<end.lowerBound])
            do { calls += try parse(body) } catch let error as ToolCallParseError {
                errors.append(error)
                text += rest[start.lowerBound..<end.upperBound]
            } catch {}
            rest = afterStart[end.upperBound...]
        }
        text += rest
        // LFM2.5: a bare call list as the whole answer.
        if calls.isEmpty, errors.isEmpty, looksLikeBareCall(text), let parsed = try? parse(text) {
            return ("", parsed, [])
        }
        return (text, calls, errors)
    }

    /// Whether `text` (after leading spaces) starts like `[identifier(`: a possible bare call list.
    public static func looksLikeBareCall(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars.drop { $0.properties.isWhitespace })
        guard scalars.first == "[" else { return false }
        var i = 1
        while i < scalars.count, scalars[i] == " " { i += 1 }
        let nameStart = i
        while i < scalars.count, scalars[i] == "_" || scalars[i] == "." || scalars[i] == "-" || scalars[i].properties.isAlphabetic || ("0"..."9").contains(scalars[i]) { i += 1 }
        return i > nameStart && i < scalars.count && scalars[i] == "("
    }

    /// Whether `prefix` could still grow into a bare call list (used while streaming).
    public static func couldBeBareCallPrefix(_ prefix: String) -> Bool {
        let scalars = Array(prefix.unicodeScalars.drop { $0.properties.isWhitespace })
        guard let first = scalars.first else { return true }
        guard first == "[" else { return false }
        var i = 1
        while i < scalars.count, scalars[i] == " " { i += 1 }
        while i < scalars.count, scalars[i] == "_" || scalars[i] == "." || scalars[i] == "-" || scalars[i].properties.isAlphabetic || ("0"..."9").contains(scalars[i]) { i += 1 }
        return i == scalars.count || scalars[i] == "("
    }
}

/// A scanner over Python literals and call syntax.
struct PythonLiteralScanner {
    let s: [Unicode.Scalar]
    var i = 0

    init(_ s: [Unicode.Scalar]) { self.s = s }

    var isAtEnd: Bool { i >= s.count }
    func peek() -> Unicode.Scalar? { i < s.count ? s[i] : nil }
    mutating func advance() { i += 1 }

    func error(_ message: String) -> ToolCallParseError { ToolCallParseError(message: message, offset: i) }

    mutating func skipSpace() {
        while let c = peek(), c.properties.isWhitespace { advance() }
    }

    mutating func expect(_ c: Unicode.Scalar) throws {
        skipSpace()
        guard peek() == c else { throw error("expected '\(c)', found \(peek().map { "'\($0)'" } ?? "end of text")") }
        advance()
    }

    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
    static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        isIdentifierStart(c) || ("0"..."9").contains(c) || c.properties.numericType != nil
    }

    mutating func identifier(allowDots: Bool) throws -> String {
        skipSpace()
        guard let c = peek(), Self.isIdentifierStart(c) else { throw error("expected a name") }
        var name = ""
        while let c = peek(), Self.isIdentifierPart(c) || (allowDots && (c == "." || c == "-")) {
            name.unicodeScalars.append(c)
            advance()
        }
        return name
    }

    /// `name(key=value, ...)`.
    mutating func call() throws -> ToolCall {
        let name = try identifier(allowDots: true)
        try expect("(")
        var arguments = OrderedDict()
        skipSpace()
        if peek() == ")" { advance(); return ToolCall(name: name, arguments: .object(arguments)) }
        while true {
            let key = try identifier(allowDots: false)
            try expect("=")
            skipSpace()
            let value = try literal(depth: 0)
            guard arguments[key] == nil else { throw error("argument '\(key)' given twice") }
            arguments[key] = value
            skipSpace()
            if peek() == "," {
                advance(); skipSpace()
                if peek() == ")" { advance(); break }
                continue
            }
            try expect(")")
            break
        }
        return ToolCall(name: name, arguments: .object(arguments))
    }

    /// A Python literal: string, number, True/False/None (also JSON's true/false/null), list, tuple, dict.
    mutating func literal(depth: Int) throws -> Value {
        guard depth < 64 else { throw error("literal nested too deeply") }
        skipSpace()
        guard let c = peek() else { throw error("expected a value, found end of text") }
        switch c {
        case "\"", "'": return .string(try string())
        case "[": return .array(try sequence(close: "]", depth: depth))
        case "(": return .array(try sequence(close: ")", depth: depth))
        case "{":
            advance()
            var object = OrderedDict()
            skipSpace()
            if peek() == "}" { advance(); return .object(object) }
            while true {
                skipSpace()
                let key: String
                switch try literal(depth: depth + 1) {
                case .string(let k): key = k
                case .int(let n): key = String(n)
                default: throw error("dict keys must be strings or integers")
                }
                try expect(":")
                object[key] = try literal(depth: depth + 1)
                skipSpace()
                if peek() == "," { advance(); skipSpace(); if peek() == "}" { advance(); break }; continue }
                try expect("}")
                break
            }
            return .object(object)
        case "-", "+", ".", "0"..."9": return try number()
        default:
            let word = try identifier(allowDots: false)
            switch word {
            case "True", "true": return .bool(true)
            case "False", "false": return .bool(false)
            case "None", "null": return .none
            default: throw error("unexpected name '\(word)' where a value was expected")
            }
        }
    }

    mutating func sequence(close: Unicode.Scalar, depth: Int) throws -> [Value] {
        advance()
        var items: [Value] = []
        skipSpace()
        if peek() == close { advance(); return items }
        while true {
            items.append(try literal(depth: depth + 1))
            skipSpace()
            if peek() == "," { advance(); skipSpace(); if peek() == close { advance(); break }; continue }
            try expect(close)
            break
        }
        return items
    }

    mutating func number() throws -> Value {
        var text = ""
        while let c = peek(), "+-.0123456789eE_xXabcdefABCDEF".unicodeScalars.contains(c) {
            if c != "_" { text.unicodeScalars.append(c) }
            advance()
        }
        if let n = Int(text) { return .int(n) }
        if text.lowercased().hasPrefix("0x") || text.lowercased().hasPrefix("-0x"), let n = Int(text.replacingOccurrences(of: "0x", with: "").replacingOccurrences(of: "0X", with: ""), radix: 16) {
            return .int(n)
        }
        if let d = Double(text), d.isFinite { return .double(d) }
        throw error("'\(text)' is not a number")
    }

    mutating func string() throws -> String {
        guard let quote = peek() else { throw error("expected a string") }
        advance()
        var out = ""
        while true {
            guard let c = peek() else { throw error("unterminated string") }
            advance()
            if c == quote { return out }
            if c == "\\" {
                guard let e = peek() else { throw error("unterminated escape") }
                advance()
                switch e {
                case "n": out += "\n"
                case "t": out += "\t"
                case "r": out += "\r"
                case "0": out += "\0"
                case "\\", "'", "\"": out.unicodeScalars.append(e)
                case "u", "x", "U":
                    let length = e == "x" ? 2 : (e == "u" ? 4 : 8)
                    var hex = ""
                    for _ in 0..<length {
                        guard let h = peek(), h.properties.isASCIIHexDigit else { throw error("bad \\\(e) escape") }
                        hex.unicodeScalars.append(h)
                        advance()
                    }
                    guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else { throw error("bad \\\(e) escape") }
                    out.unicodeScalars.append(scalar)
                default:
                    out += "\\"
                    out.unicodeScalars.append(e)
                }
            } else {
                out.unicodeScalars.append(c)
            }
        }
    }
}
