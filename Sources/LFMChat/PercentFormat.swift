import Foundation

/// Python's `str % args` (printf-style formatting) for the conversions templates use: s r d i f F e E g G x X o c %.
enum PercentFormat {
    static func format(_ fmt: String, _ arg: Value) throws -> String {
        var items: [Value]
        var single = false
        switch arg {
        case .tuple(let t): items = t
        default: items = [arg]; single = true
        }
        // Python treats any non-tuple, non-str object with __getitem__ (list, dict) as a mapping argument.
        var mapping: OrderedDict? = nil
        var mappingLike = false
        switch arg {
        case .object(let o): mapping = o; mappingLike = true
        case .array: mappingLike = true
        default: break
        }
        var index = 0
        var out = ""
        let chars = Array(fmt.unicodeScalars)
        var i = 0
        func next() throws -> Value {
            guard index < items.count else { throw TemplateFailure.type("not enough arguments for format string") }
            defer { index += 1 }
            return items[index]
        }
        while i < chars.count {
            let c = chars[i]
            i += 1
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            guard i < chars.count else { throw TemplateFailure.type("incomplete format") }
            var value: Value? = nil
            if chars[i] == "(" {
                guard let m = mapping else { throw TemplateFailure.type("format requires a mapping") }
                var j = i + 1
                var key = String.UnicodeScalarView()
                while j < chars.count, chars[j] != ")" { key.append(chars[j]); j += 1 }
                guard j < chars.count else { throw TemplateFailure.type("incomplete format key") }
                let k = String(key)
                guard let v = m[k] else { throw TemplateFailure.type("KeyError: '\(k)'") }
                value = v
                i = j + 1
            }
            var leftAlign = false, zeroPad = false, plus = false, space = false
            while i < chars.count, "-+ 0#".unicodeScalars.contains(chars[i]) {
                switch chars[i] {
                case "-": leftAlign = true
                case "0": zeroPad = true
                case "+": plus = true
                case " ": space = true
                default: break
                }
                i += 1
            }
            var width = 0
            while i < chars.count, ("0"..."9").contains(chars[i]) {
                width = min(width * 10 + Int(chars[i].value - 48), 100_000)
                i += 1
            }
            var precision: Int? = nil
            if i < chars.count, chars[i] == "." {
                i += 1
                var p = 0
                while i < chars.count, ("0"..."9").contains(chars[i]) { p = min(p * 10 + Int(chars[i].value - 48), 1000); i += 1 }
                precision = p
            }
            guard i < chars.count else { throw TemplateFailure.type("incomplete format") }
            let conv = chars[i]
            i += 1
            if conv == "%" { out += "%"; continue }
            let v = try value ?? next()
            var body: String
            var numeric = false
            switch conv {
            case "s": body = v.pythonString; if let p = precision { body = String(body.unicodeScalars.prefix(p)) }
            case "r", "a": body = v.pythonRepr
            case "d", "i", "u":
                numeric = true
                guard let n = v.numeric else {
                    throw TemplateFailure.type("%\(conv) format: a real number is required, not \(v.typeName)")
                }
                if case .int(let x) = n { body = String(x) }
                else {
                    let d = Operators.asDouble(n)
                    guard d.isFinite, abs(d) < 9.2e18 else { throw TemplateFailure.type("cannot convert float to integer") }
                    body = String(Int(d))
                }
            case "f", "F", "e", "E", "g", "G":
                numeric = true
                guard v.numeric != nil else {
                    throw TemplateFailure.type("must be real number, not \(v.typeName)")
                }
                body = String(format: "%.\(precision ?? 6)\(Character(conv))", Operators.asDouble(v))
            case "x", "X", "o":
                numeric = true
                guard let n = v.numeric, case .int(let x) = n else {
                    throw TemplateFailure.type("%\(conv) format: an integer is required, not \(v.typeName)")
                }
                let radix = conv == "o" ? 8 : 16
                body = (x < 0 ? "-" : "") + String(x.magnitude, radix: radix, uppercase: conv == "X")
            case "c":
                if case .string(let s) = v, s.unicodeScalars.count == 1 { body = s }
                else if let n = v.numeric, case .int(let x) = n, let u = Unicode.Scalar(UInt32(clamping: max(x, 0))) { body = String(u) }
                else { throw TemplateFailure.type("%c requires an int or a unicode character") }
            default:
                throw TemplateFailure.type("unsupported format character '\(Character(conv))' (0x\(String(conv.value, radix: 16)))")
            }
            if numeric && !body.hasPrefix("-") {
                if plus { body = "+" + body } else if space { body = " " + body }
            }
            let len = body.unicodeScalars.count
            if len < width {
                let padCount = width - len
                if leftAlign { body += String(repeating: " ", count: padCount) }
                else if zeroPad && numeric {
                    let sign = body.hasPrefix("-") || body.hasPrefix("+") || body.hasPrefix(" ")
                    let head = sign ? String(body.prefix(1)) : ""
                    body = head + String(repeating: "0", count: padCount) + (sign ? String(body.dropFirst()) : body)
                } else { body = String(repeating: " ", count: padCount) + body }
            }
            out += body
        }
        if !mappingLike {
            if single ? index == 0 : index < items.count {
                throw TemplateFailure.type("not all arguments converted during string formatting")
            }
        }
        return out
    }
}
