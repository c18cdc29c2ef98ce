import Foundation
import LFMCore

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
        var copy = text
        return try copy.withUTF8 { try parseJSON(bytes: $0) }
    }

    /// Parses JSON bytes (UTF-8) keeping object key order. Bytes that are not valid UTF-8 are an error.
    public static func parseJSON(data: Data) throws -> Value {
        var decoder = UTF8()
        var iterator = data.makeIterator()
        var offset = 0
        decode: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: break decode
            case .error:
                throw JSONParseError(message: "invalid UTF-8 near byte \(offset)", line: 1, column: 1)
            }
        }
        return try data.withUnsafeBytes { raw in
            try parseJSON(bytes: UnsafeBufferPointer(start: raw.bindMemory(to: UInt8.self).baseAddress, count: raw.count))
        }
    }

    private static func parseJSON(bytes: UnsafeBufferPointer<UInt8>) throws -> Value {
        var parser = JSONParser(bytes)
        if parser.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.pos = 3 }
        parser.skipSpace()
        let value = try parser.parseValue(depth: 0)
        parser.skipSpace()
        if parser.pos < parser.bytes.count { throw parser.error("unexpected trailing text") }
        return value
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String) -> JSONParseError {
        var line = 1, col = 1
        for b in bytes[..<min(pos, bytes.count)] {
            if b == 0x0A { line += 1; col = 1 } else if b & 0xC0 != 0x80 { col += 1 }
        }
        return JSONParseError(message: message, line: line, column: col)
    }

    private var current: String {
        guard pos < bytes.count else { return "end of input" }
        return String(decoding: bytes[pos..<min(pos + 1, bytes.count)], as: UTF8.self)
    }

    mutating func skipSpace() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x09 || bytes[pos] == 0x0A || bytes[pos] == 0x0D {
            pos += 1
        }
    }

    mutating func expect(_ word: String, _ value: Value) throws -> Value {
        for c in word.utf8 {
            guard pos < bytes.count, bytes[pos] == c else { throw error("expected '\(word)'") }
            pos += 1
        }
        return value
    }

    mutating func parseValue(depth: Int) throws -> Value {
        guard depth < 512 else { throw error("nesting deeper than 512 levels") }
        guard pos < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            var dict = OrderedDict()
            skipSpace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(dict) }
            while true {
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try parseString()
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
                pos += 1
                skipSpace()
                dict[key] = try parseValue(depth: depth + 1)
                skipSpace()
                guard pos < bytes.count else { throw error("unexpected end of input in an object") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(dict) }
                throw error("expected ',' or '}' in an object, found '\(current)'")
            }
        case UInt8(ascii: "["):
            pos += 1
            var items: [Value] = []
            skipSpace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                guard pos < bytes.count else { throw error("unexpected end of input in an array") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                throw error("expected ',' or ']' in an array, found '\(current)'")
            }
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .none)
        default: return try parseNumber()
        }
    }

    private func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }

    mutating func parseNumber() throws -> Value {
        let start = pos
        var isFloat = false
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        let digitsStart = pos
        while isDigit(pos) { pos += 1 }
        guard pos > digitsStart else { throw error("expected a value, found '\(current)'") }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isFloat = true; pos += 1
            let f = pos
            while isDigit(pos) { pos += 1 }
            guard pos > f else { throw error("expected digits after '.'") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isFloat = true; pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            let e = pos
            while isDigit(pos) { pos += 1 }
            guard pos > e else { throw error("expected digits in the exponent") }
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        if !isFloat, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw error("bad number '\(text)'") }
        return .double(d)
    }

    mutating func parseHex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let h: UInt32
            switch b {
            case 0x30...0x39: h = UInt32(b - 0x30)
            case 0x41...0x46: h = UInt32(b - 0x41 + 10)
            case 0x61...0x66: h = UInt32(b - 0x61 + 10)
            default: throw error("bad hex digit in \\u escape")
            }
            v = v * 16 + h
            pos += 1
        }
        return v
    }

    mutating func parseString() throws -> String {
        pos += 1  // opening quote
        var out = ""
        var runStart = pos
        while true {
            guard pos < bytes.count else { throw error("unterminated string") }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                out += String(decoding: bytes[runStart..<pos], as: UTF8.self)
                pos += 1
                return out
            }
            if c < 0x20 { throw error("control character in a string") }
            if c != UInt8(ascii: "\\") { pos += 1; continue }
            out += String(decoding: bytes[runStart..<pos], as: UTF8.self)
            pos += 1
            guard pos < bytes.count else { throw error("unterminated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out += "\""
            case UInt8(ascii: "\\"): out += "\\"
            case UInt8(ascii: "/"): out += "/"
            case UInt8(ascii: "b"): out += "\u{08}"
            case UInt8(ascii: "f"): out += "\u{0C}"
            case UInt8(ascii: "n"): out += "\n"
            case UInt8(ascii: "r"): out += "\r"
            case UInt8(ascii: "t"): out += "\t"
            case UInt8(ascii: "u"):
                var v = try parseHex4()
                if (0xD800..<0xDC00).contains(v), pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"),
                   bytes[pos + 1] == UInt8(ascii: "u") {
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
                out.unicodeScalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default:
                pos -= 1
                throw error("invalid escape '\\\(String(decoding: [e], as: UTF8.self))'")
            }
            runStart = pos
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

    /// `s` as a JSON string literal (quotes included), escaped like Python's `json.dumps`.
    public static func jsonStringLiteral(_ s: String, ensureASCII: Bool = false) -> String {
        JSONStringLiteral.make(s, ensureASCII: ensureASCII)
    }

    static func jsonString(_ s: String, ensureASCII: Bool, into out: inout String) {
        JSONStringLiteral.append(s, ensureASCII: ensureASCII, to: &out)
    }
}
