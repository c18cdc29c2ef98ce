import Foundation

/// JSON string literals, escaped as Python's `json.dumps` escapes them: the one escaper of the
/// project (chat templates' `tojson`, safetensors headers, command-line JSON output).
public enum JSONStringLiteral {
    /// `s` as a JSON string literal, quotes included.
    /// - Parameter ensureASCII: escape every scalar above U+007E (as `\uXXXX`, surrogate pairs
    ///   above U+FFFF), like Python's default `ensure_ascii=True`.
    public static func make(_ s: String, ensureASCII: Bool = false) -> String {
        var out = ""
        append(s, ensureASCII: ensureASCII, to: &out)
        return out
    }

    /// Appends `s` as a JSON string literal to `out`.
    public static func append(_ s: String, ensureASCII: Bool = false, to out: inout String) {
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
