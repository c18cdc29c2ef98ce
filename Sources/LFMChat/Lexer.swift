/// Splits a template into text and tag tokens the way jinja2's lexer does with
/// `trim_blocks=True, lstrip_blocks=True` and `keep_trailing_newline=False`.
struct Token: Equatable {
    enum Kind: Equatable {
        case data(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case int(Int)
        case float(Double)
        case op(String)
        case eof
    }
    var kind: Kind
    var pos: SourcePos
}

struct Lexer {
    private let src: [Unicode.Scalar]
    private var pos = 0
    private var tokens: [Token] = []
    /// Line start offsets, to turn offsets into line and column.
    private var lineStarts: [Int] = [0]

    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = Lexer(source)
        try lexer.run()
        return lexer.tokens
    }

    private init(_ source: String) {
        src = Lexer.normalizedScalars(source)
        for (i, c) in src.enumerated() where c == "\n" { lineStarts.append(i + 1) }
    }

    /// `source` as the lexer reads it: every line break (`\r\n`, `\r` or `\n`, as jinja2's `\r\n|\r|\n`)
    /// becomes one `"\n"`, and one trailing line break is dropped, like jinja2 with `keep_trailing_newline=False`.
    static func normalizedScalars(_ source: String) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        let it = Array(source.unicodeScalars)
        var i = 0
        while i < it.count {
            if it[i] == "\r" {
                scalars.append("\n")
                if i + 1 < it.count, it[i + 1] == "\n" { i += 1 }
            } else {
                scalars.append(it[i])
            }
            i += 1
        }
        if scalars.last == "\n" { scalars.removeLast() }
        return scalars
    }

    /// The number of lines error positions can name in `source` (lines are counted after
    /// ``normalizedScalars(_:)``, so this is at least 1).
    static func lineCount(of source: String) -> Int {
        normalizedScalars(source).reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
    }

    private func position(_ offset: Int) -> SourcePos {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourcePos(line: lo + 1, column: offset - lineStarts[lo] + 1)
    }

    private func fail(_ message: String, at offset: Int) -> TemplateError {
        let p = position(offset)
        return TemplateError(kind: .syntax, message: message, line: p.line, column: p.column)
    }

    private func at(_ offset: Int, _ s: String) -> Bool {
        var i = offset
        for c in s.unicodeScalars {
            guard i < src.count, src[i] == c else { return false }
            i += 1
        }
        return true
    }

    private func string(_ range: Range<Int>) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: src[range])
        return String(s)
    }

    private mutating func emit(_ kind: Token.Kind, _ offset: Int) {
        tokens.append(Token(kind: kind, pos: position(offset)))
    }

    /// After a `-` closing marker: skip all whitespace. After a plain block end: skip one newline (trim_blocks).
    private mutating func skipWhitespace() {
        while pos < src.count, src[pos].isPythonSpace { pos += 1 }
    }

    private mutating func run() throws {
        var lineStarting = true
        while pos < src.count {
            // Find the next tag opener.
            var j = pos
            var kind: Character = " "
            while j + 1 < src.count {
                if src[j] == "{", src[j + 1] == "{" || src[j + 1] == "%" || src[j + 1] == "#" {
                    kind = Character(src[j + 1])
                    break
                }
                j += 1
            }
            if kind == " " {
                emit(.data(string(pos..<src.count)), pos)
                pos = src.count
                break
            }
            var sign: Unicode.Scalar? = nil
            if j + 2 < src.count, src[j + 2] == "-" || src[j + 2] == "+" { sign = src[j + 2] }
            var text = Array(src[pos..<j])
            if sign == "-" {
                while let last = text.last, last.isPythonSpace { text.removeLast() }
            } else if sign != "+" && kind != "{" {
                let lPos = (text.lastIndex(of: "\n") ?? -1) + 1
                if lPos > 0 || lineStarting {
                    let tail = text[lPos...]
                    if !tail.isEmpty && tail.allSatisfy({ $0.isPythonSpace }) { text.removeSubrange(lPos...) }
                }
            }
            if !text.isEmpty {
                var s = String.UnicodeScalarView()
                s.append(contentsOf: text)
                emit(.data(String(s)), pos)
            }
            let tagStart = j
            pos = j + 2 + (sign == nil ? 0 : 1)
            switch kind {
            case "#":
                try lexComment(start: tagStart)
            case "%":
                if try lexRaw(start: tagStart) { break }
                emit(.blockBegin, tagStart)
                try lexTag(isBlock: true, start: tagStart)
            default:
                emit(.variableBegin, tagStart)
                try lexTag(isBlock: false, start: tagStart)
            }
            lineStarting = pos > 0 && src[pos - 1] == "\n"
        }
        emit(.eof, src.count)
    }

    private mutating func lexComment(start: Int) throws {
        var q = pos
        while q + 1 < src.count, !(src[q] == "#" && src[q + 1] == "}") { q += 1 }
        guard q + 1 < src.count else { throw fail("Missing end of comment tag", at: start) }
        let marker: Unicode.Scalar? = q > pos ? src[q - 1] : nil
        pos = q + 2
        if marker == "-" { skipWhitespace() }
        else if marker != "+", pos < src.count, src[pos] == "\n" { pos += 1 }
    }

    /// Handles `{% raw %}...{% endraw %}`; returns false (consuming nothing) when the tag is not `raw`.
    private mutating func lexRaw(start: Int) throws -> Bool {
        var p = pos
        while p < src.count, src[p].isPythonSpace { p += 1 }
        guard at(p, "raw") else { return false }
        p += 3
        while p < src.count, src[p].isPythonSpace { p += 1 }
        if at(p, "-%}") {
            p += 3
            while p < src.count, src[p].isPythonSpace { p += 1 }
        } else if at(p, "%}") {
            p += 2
        } else {
            return false
        }
        // Find "{%[-+]? endraw [-+]?%}".
        var q = p
        while q < src.count {
            if at(q, "{%") {
                var r = q + 2
                var sign: Unicode.Scalar? = nil
                if r < src.count, src[r] == "-" || src[r] == "+" { sign = src[r]; r += 1 }
                while r < src.count, src[r].isPythonSpace { r += 1 }
                if at(r, "endraw") {
                    r += 6
                    while r < src.count, src[r].isPythonSpace { r += 1 }
                    var endSign: Unicode.Scalar? = nil
                    if r < src.count, src[r] == "-" || src[r] == "+" { endSign = src[r]; r += 1 }
                    if at(r, "%}") {
                        var text = Array(src[p..<q])
                        if sign == "-" {
                            while let last = text.last, last.isPythonSpace { text.removeLast() }
                        } else if sign != "+" {
                            let lPos = (text.lastIndex(of: "\n") ?? -1) + 1
                            let tail = text[lPos...]
                            if lPos > 0 && !tail.isEmpty && tail.allSatisfy({ $0.isPythonSpace }) {
                                text.removeSubrange(lPos...)
                            }
                        }
                        if !text.isEmpty {
                            var s = String.UnicodeScalarView()
                            s.append(contentsOf: text)
                            emit(.data(String(s)), p)
                        }
                        pos = r + 2
                        if endSign == "-" { skipWhitespace() }
                        else if endSign != "+", pos < src.count, src[pos] == "\n" { pos += 1 }
                        return true
                    }
                }
            }
            q += 1
        }
        throw fail("Missing end of raw directive", at: start)
    }

    private static let operators: [String] = [
        "//", "**", "==", "!=", ">=", "<=",
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", "<", ">", "=", ".", ":", "|", ",", ";",
    ]

    private mutating func lexTag(isBlock: Bool, start: Int) throws {
        var depth: [Unicode.Scalar] = []
        while true {
            skipWhitespace()
            guard pos < src.count else {
                throw fail(isBlock ? "Unexpected end of template, expected '%}'" : "Unexpected end of template, expected '}}'", at: start)
            }
            if depth.isEmpty {
                let close = isBlock ? "%}" : "}}"
                if at(pos, "-" + close) {
                    emit(isBlock ? .blockEnd : .variableEnd, pos)
                    pos += 3
                    skipWhitespace()
                    return
                }
                if isBlock && at(pos, "+%}") {
                    emit(.blockEnd, pos)
                    pos += 3
                    return
                }
                if at(pos, close) {
                    emit(isBlock ? .blockEnd : .variableEnd, pos)
                    pos += 2
                    if isBlock, pos < src.count, src[pos] == "\n" { pos += 1 }
                    return
                }
            }
            let c = src[pos]
            if c == "_" || c.properties.isAlphabetic {
                var e = pos + 1
                while e < src.count, src[e] == "_" || src[e].properties.isAlphabetic || src[e].properties.numericType != nil { e += 1 }
                emit(.name(string(pos..<e)), pos)
                pos = e
            } else if ("0"..."9").contains(c) {
                try lexNumber()
            } else if c == "'" || c == "\"" {
                try lexString(quote: c)
            } else if let op = Lexer.operators.first(where: { at(pos, $0) }) {
                switch op {
                case "(", "[", "{": depth.append(op.unicodeScalars.first ?? "(")
                case ")", "]", "}":
                    let expected: Unicode.Scalar = op == ")" ? "(" : op == "]" ? "[" : "{"
                    guard let open = depth.popLast() else { throw fail("unexpected '\(op)'", at: pos) }
                    guard open == expected else {
                        throw fail("unexpected '\(op)', expected '\(open == "(" ? ")" : open == "[" ? "]" : "}")'", at: pos)
                    }
                default: break
                }
                emit(.op(op), pos)
                pos += op.unicodeScalars.count
            } else {
                throw fail("unexpected char '\(Character(c))' at \(pos)", at: pos)
            }
        }
    }

    private mutating func lexNumber() throws {
        let start = pos
        func digits() { while pos < src.count, ("0"..."9").contains(src[pos]) || src[pos] == "_" { pos += 1 } }
        digits()
        var isFloat = false
        if pos + 1 < src.count, src[pos] == ".", ("0"..."9").contains(src[pos + 1]) {
            isFloat = true
            pos += 1
            digits()
        }
        if pos < src.count, src[pos] == "e" || src[pos] == "E" {
            var p = pos + 1
            if p < src.count, src[p] == "+" || src[p] == "-" { p += 1 }
            if p < src.count, ("0"..."9").contains(src[p]) {
                isFloat = true
                pos = p
                digits()
            }
        }
        let text = string(start..<pos).replacingOccurrences(of: "_", with: "")
        if isFloat {
            guard let d = Double(text) else { throw fail("bad number '\(text)'", at: start) }
            emit(.float(d), start)
        } else {
            guard let i = Int(text) else { throw fail("integer literal '\(text)' is too large", at: start) }
            emit(.int(i), start)
        }
    }

    private mutating func lexString(quote: Unicode.Scalar) throws {
        let start = pos
        pos += 1
        var out = String.UnicodeScalarView()
        while true {
            guard pos < src.count else { throw fail("unexpected end of string", at: start) }
            let c = src[pos]
            pos += 1
            if c == quote { break }
            if c != "\\" { out.append(c); continue }
            guard pos < src.count else { throw fail("unexpected end of string", at: start) }
            let e = src[pos]
            pos += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "a": out.append("\u{07}")
            case "\n": break
            case "0"..."7":
                var v = e.value - 48
                var n = 1
                while n < 3, pos < src.count, ("0"..."7").contains(src[pos]) { v = v * 8 + src[pos].value - 48; pos += 1; n += 1 }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            case "x", "u", "U":
                let n = e == "x" ? 2 : e == "u" ? 4 : 8
                guard pos + n <= src.count, let v = UInt32(string(pos..<(pos + n)), radix: 16) else {
                    throw fail("truncated \\\(e) escape in a string", at: pos - 2)
                }
                pos += n
                guard let s = Unicode.Scalar(v) else { throw fail("invalid code point in a string escape", at: pos - n - 2) }
                out.append(s)
            default:
                // Python keeps unknown escapes as written.
                out.append("\\")
                out.append(e)
            }
        }
        emit(.string(String(out)), start)
    }
}
