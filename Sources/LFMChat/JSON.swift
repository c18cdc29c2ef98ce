import Foundation

/// A JSON text that could not be parsed.
public struct JSONParseError: Error, CustomStringConvertible, Equatable {
    /// What was wrong.
    public let message: String
    /// 1-based line and column of the offending character.
    public let line: Int
    public let column: Int
    public var description: String { "JSON error at line \(line), column \(column): \(message)" }
}

extension Value {
    /// Parses JSON text keeping object keys in the order written (as Python's `json.loads` does).
    /// Numbers without a fraction or exponent become `.int` (or `.double` when too large), like Python.
    public static func parseJSON(_ text: String) throws -> Value {
        var parser = JSONParser(Array(text.unicodeScalars))
        parser.skipSpace()
        let value = try parser.parseValue(depth: 0)
        parser.skipSpace()
        if parser.pos < parser.chars.count { throw parser.error("unexpected trailing text") }
        return value
    }

    /// Parses JSON bytes (UTF-8) keeping object key order.
    public static func parseJSON(data: Data) throws -> Value {
        guard let text = String(data: data, encoding: .utf8) else {
            throw JSONParseError(message: "the data is not valid UTF-8", line: 1, column: 1)
        }
        return try parseJSON(text)
    }
}

private struct JSONParser {
    let chars: [Unicode.Scalar]
    var pos = 0
    init(_ chars: [Unicode.Scalar]) { self.chars = chars }

    func error(_ message: String) -> JSONParseError {
        var line = 1, col = 1
        for c in chars[..<min(pos, chars.count)] {
            if c == "\n" { line += 1; col = 1 } else { col += 1 }
        }
        return JSONParseError(message: message, line: line, column: col)
    }

    mutating func skipSpace() {
        while pos < chars.count, [" ", "\t", "\n", "\r"].contains(chars[pos]) { pos += 1 }
    }

    mutating func expect(_ word: String, _ value: Value) throws -> Value {
        for c in word.unicodeScalars {
            guard pos < chars.count, chars[pos] == c else { throw error("expected '\(word)'") }
            pos += 1
        }
        return value
    }

    mutating func parseValue(depth: Int) throws -> Value {
        guard depth < 512 else { throw error("nesting deeper than 512 levels") }
        guard pos < chars.count else { throw error("unexpected end of input, expected a value") }
        switch chars[pos] {
        case "{":
            pos += 1
            var dict = OrderedDict()
            skipSpace()
            if pos < chars.count, chars[pos] == "}" { pos += 1; return .object(dict) }
            while true {
                skipSpace()
                guard pos < chars.count, chars[pos] == "\"" else { throw error("expected a string key") }
                let key = try parseString()
                skipSpace()
                guard pos < chars.count, chars[pos] == ":" else { throw error("expected ':' after an object key") }
                pos += 1
                skipSpace()
                dict[key] = try parseValue(depth: depth + 1)
                skipSpace()
                guard pos < chars.count else { throw error("unexpected end of input in an object") }
                if chars[pos] == "," { pos += 1; continue }
                if chars[pos] == "}" { pos += 1; return .object(dict) }
                throw error("expected ',' or '}' in an object, found '\(chars[pos])'")
            }
        case "[":
            pos += 1
            var items: [Value] = []
            skipSpace()
            if pos < chars.count, chars[pos] == "]" { pos += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                guard pos < chars.count else { throw error("unexpected end of input in an array") }
                if chars[pos] == "," { pos += 1; continue }
                if chars[pos] == "]" { pos += 1; return .array(items) }
                throw error("expected ',' or ']' in an array, found '\(chars[pos])'")
            }
        case "\"": return .string(try parseString())
        case "t": return try expect("true", .bool(true))
        case "f": return try expect("false", .bool(false))
        case "n": return try expect("null", .none)
        default: return try parseNumber()
        }
    }

    mutating func parseNumber() throws -> Value {
        let start = pos
        var isFloat = false
        if pos < chars.count, chars[pos] == "-" { pos += 1 }
        let digitsStart = pos
        while pos < chars.count, ("0"..."9").contains(chars[pos]) { pos += 1 }
        guard pos > digitsStart else { throw error("expected a value") }
        if pos < chars.count, chars[pos] == "." {
            isFloat = true; pos += 1
            let f = pos
            while pos < chars.count, ("0"..."9").contains(chars[pos]) { pos += 1 }
            guard pos > f else { throw error("expected digits after '.'") }
        }
        if pos < chars.count, chars[pos] == "e" || chars[pos] == "E" {
            isFloat = true; pos += 1
            if pos < chars.count, chars[pos] == "+" || chars[pos] == "-" { pos += 1 }
            let e = pos
            while pos < chars.count, ("0"..."9").contains(chars[pos]) { pos += 1 }
            guard pos > e else { throw error("expected digits in the exponent") }
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: chars[start..<pos])
        if !isFloat, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw error("bad number '\(text)'") }
        return .double(d)
    }

    mutating func parseHex4() throws -> UInt32 {
        guard pos + 4 <= chars.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let h = UInt32(String(chars[pos]), radix: 16) else { throw error("bad hex digit in \\u escape") }
            v = v * 16 + h
            pos += 1
        }
        return v
    }

    mutating func parseString() throws -> String {
        pos += 1  // opening quote
        var out = String.UnicodeScalarView()
        while true {
            guard pos < chars.count else { throw error("unterminated string") }
            let c = chars[pos]
            pos += 1
            if c == "\"" { return String(out) }
            if c.value < 0x20 { pos -= 1; throw error("control character in a string") }
            if c != "\\" { out.append(c); continue }
            guard pos < chars.count else { throw error("unterminated escape") }
            let e = chars[pos]
            pos += 1
            switch e {
            case "\"": out.append("\"")
            case "\\": out.append("\\")
            case "/": out.append("/")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "u":
                var v = try parseHex4()
                if (0xD800..<0xDC00).contains(v), pos + 1 < chars.count, chars[pos] == "\\", chars[pos + 1] == "u" {
                    let save = pos
                    pos += 2
                    let low = try parseHex4()
                    if (0xDC00..<0xE000).contains(low) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        pos = save
                    }
                }
                // Lone surrogates cannot live in a Swift string; use U+FFFD.
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default: pos -= 1; throw error("invalid escape '\\\(e)'")
            }
        }
    }
}

// MARK: - json.dumps

/// Options of Python's `json.dumps` as exposed by transformers' `tojson` filter.
struct JSONDumpOptions {
    var ensureASCII = false
    /// `nil`: single line. Otherwise the string used per nesting level.
    var indent: String?
    var itemSeparator: String
    var keySeparator: String
    var sortKeys = false
}

extension Value {
    /// Python `json.dumps(self, ...)`; throws for values JSON cannot hold (undefined, namespaces, callables).
    func jsonDumps(_ options: JSONDumpOptions) throws -> String {
        var out = ""
        try dump(into: &out, options, level: 0)
        return out
    }

    private func dump(into out: inout String, _ o: JSONDumpOptions, level: Int) throws {
        switch self {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" }
            else { out += Value.pythonFloatRepr(d) }
        case .string(let s): Value.jsonString(s, ensureASCII: o.ensureASCII, into: &out)
        case .array(let a), .tuple(let a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in a.enumerated() {
                if i > 0 { out += o.itemSeparator }
                if let ind = o.indent { out += "\n" + String(repeating: ind, count: level + 1) }
                try item.dump(into: &out, o, level: level + 1)
            }
            if let ind = o.indent { out += "\n" + String(repeating: ind, count: level) }
            out += "]"
        case .object(let d):
            if d.count == 0 { out += "{}"; return }
            var pairs = d.pairs
            if o.sortKeys { pairs.sort { Value.pyLess($0.0, $1.0) } }
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += o.itemSeparator }
                if let ind = o.indent { out += "\n" + String(repeating: ind, count: level + 1) }
                Value.jsonString(k, ensureASCII: o.ensureASCII, into: &out)
                out += o.keySeparator
                try v.dump(into: &out, o, level: level + 1)
            }
            if let ind = o.indent { out += "\n" + String(repeating: ind, count: level) }
            out += "}"
        case .undefined:
            throw TemplateFailure.type("Object of type Undefined is not JSON serializable")
        case .namespace:
            throw TemplateFailure.type("Object of type Namespace is not JSON serializable")
        case .callable(let c):
            throw TemplateFailure.type("Object of type \(c.isMacro ? "Macro" : "function") is not JSON serializable")
        case .lazy:
            throw TemplateFailure.type("Object of type \(typeName) is not JSON serializable")
        }
    }

    /// Python string ordering (by code point).
    static func pyLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    static func jsonString(_ s: String, ensureASCII: Bool, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else if ensureASCII && scalar.value > 0x7E {
                    if scalar.value < 0x10000 {
                        out += String(format: "\\u%04x", scalar.value)
                    } else {
                        let v = scalar.value - 0x10000
                        out += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
