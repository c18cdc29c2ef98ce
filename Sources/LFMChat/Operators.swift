import Foundation

/// Python semantics of the arithmetic and comparison operators.
enum Operators {
    static let maxSequence = 64 * 1024 * 1024

    static func binary(_ op: String, _ l: Value, _ r: Value) throws -> Value {
        if let a = l.numeric, let b = r.numeric { return try numeric(op, a, b) }
        switch (op, l, r) {
        case let ("+", .string(a), .string(b)): return .string(a + b)
        case let ("%", .string(fmt), arg): return .string(try PercentFormat.format(fmt, arg))
        case let ("+", .array(a), .array(b)): return .array(a + b)
        case let ("+", .tuple(a), .tuple(b)): return .tuple(a + b)
        case ("+", .string, _):
            throw TemplateFailure.type("can only concatenate str (not \"\(r.typeName)\") to str")
        case ("+", .array, _):
            throw TemplateFailure.type("can only concatenate list (not \"\(r.typeName)\") to list")
        case let ("*", .string(s), n), let ("*", n, .string(s)):
            guard let count = n.numeric, case .int(let c) = count else { break }
            let total = s.unicodeScalars.count.multipliedReportingOverflow(by: max(c, 0))
            guard !total.overflow && total.partialValue <= maxSequence else {
                throw TemplateFailure.limit("string repetition longer than \(maxSequence)")
            }
            return .string(c <= 0 ? "" : String(repeating: s, count: c))
        case let ("*", .array(a), n), let ("*", n, .array(a)):
            guard let count = n.numeric, case .int(let c) = count else { break }
            let total = a.count.multipliedReportingOverflow(by: max(c, 0))
            guard !total.overflow && total.partialValue <= maxSequence else {
                throw TemplateFailure.limit("list repetition longer than \(maxSequence)")
            }
            return .array(c <= 0 ? [] : Array([[Value]](repeating: a, count: c).joined()))
        default: break
        }
        throw TemplateFailure.type("unsupported operand type(s) for \(op): '\(l.typeName)' and '\(r.typeName)'")
    }

    private static func numeric(_ op: String, _ a: Value, _ b: Value) throws -> Value {
        if case .int(let x) = a, case .int(let y) = b {
            switch op {
            case "+": return try checked(x.addingReportingOverflow(y))
            case "-": return try checked(x.subtractingReportingOverflow(y))
            case "*": return try checked(x.multipliedReportingOverflow(by: y))
            case "/":
                guard y != 0 else { throw TemplateFailure.type("division by zero") }
                return .double(Double(x) / Double(y))
            case "//":
                guard y != 0 else { throw TemplateFailure.type("integer division or modulo by zero") }
                if x == Int.min && y == -1 { throw TemplateFailure.limit("integer overflow") }
                var q = x / y
                if (x % y != 0) && ((x < 0) != (y < 0)) { q -= 1 }
                return .int(q)
            case "%":
                guard y != 0 else { throw TemplateFailure.type("integer division or modulo by zero") }
                if y == -1 { return .int(0) }
                var m = x % y
                if m != 0 && ((m < 0) != (y < 0)) { m += y }
                return .int(m)
            case "**":
                if y < 0 { return .double(pow(Double(x), Double(y))) }
                var result = 1, base = x, e = y
                while e > 0 {
                    if e & 1 == 1 { result = try intOf(checked(result.multipliedReportingOverflow(by: base))) }
                    e >>= 1
                    if e > 0 { base = try intOf(checked(base.multipliedReportingOverflow(by: base))) }
                }
                return .int(result)
            default: break
            }
        }
        let x = asDouble(a), y = asDouble(b)
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/":
            guard y != 0 else { throw TemplateFailure.type("float division by zero") }
            return .double(x / y)
        case "//":
            guard y != 0 else { throw TemplateFailure.type("float floor division by zero") }
            return .double((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw TemplateFailure.type("float modulo") }
            var m = fmod(x, y)
            if m != 0 && ((m < 0) != (y < 0)) { m += y }
            return .double(m)
        case "**":
            if x == 0 && y < 0 { throw TemplateFailure.type("0.0 cannot be raised to a negative power") }
            return .double(pow(x, y))
        default:
            throw TemplateFailure.type("unsupported operator \(op)")
        }
    }

    private static func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Value {
        if r.overflow { throw TemplateFailure.limit("integer overflow (values beyond 64 bits are not supported)") }
        return .int(r.partialValue)
    }

    private static func intOf(_ v: Value) -> Int { if case .int(let i) = v { return i } else { return 0 } }

    static func asDouble(_ v: Value) -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return .nan
        }
    }

    /// Python `<` ordering; throws for types Python cannot order.
    static func less(_ l: Value, _ r: Value) throws -> Bool {
        if let a = l.numeric, let b = r.numeric {
            if case .int(let x) = a, case .int(let y) = b { return x < y }
            return asDouble(a) < asDouble(b)
        }
        switch (l, r) {
        case let (.string(a), .string(b)): return Value.pyLess(a, b)
        case let (.array(a), .array(b)), let (.tuple(a), .tuple(b)):
            for (x, y) in zip(a, b) where !x.pyEquals(y) { return try less(x, y) }
            return a.count < b.count
        default:
            if l.isUndefined || r.isUndefined { throw TemplateFailure.undefined("an undefined value was compared") }
            throw TemplateFailure.type("'<' not supported between instances of '\(l.typeName)' and '\(r.typeName)'")
        }
    }

    static func compare(_ op: String, _ l: Value, _ r: Value) throws -> Bool {
        switch op {
        case "==": return l.pyEquals(r)
        case "!=": return !l.pyEquals(r)
        case "<": return try less(l, r)
        case ">": return try less(r, l)
        case "<=": return try less(l, r) || l.pyEquals(r)
        case ">=": return try less(r, l) || l.pyEquals(r)
        case "in": return try contains(r, l)
        case "notin": return !(try contains(r, l))
        default: throw TemplateFailure.type("unknown comparison \(op)")
        }
    }

    /// Python `needle in container`.
    static func contains(_ container: Value, _ needle: Value) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let n) = needle else {
                if needle.isUndefined { throw TemplateFailure.undefined("an undefined value was used with 'in'") }
                throw TemplateFailure.type("'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            return scalarSearch(Array(s.unicodeScalars), Array(n.unicodeScalars))
        case .array(let a), .tuple(let a): return a.contains { $0.pyEquals(needle) }
        case .object(let o):
            switch needle {
            case .string(let k): return o[k] != nil
            case .array, .object: throw TemplateFailure.type("unhashable type: '\(needle.typeName)'")
            default: return false
            }
        case .namespace(let n):
            if case .string(let k) = needle { return n.attributes[k] != nil }
            return false
        case .undefined: return false
        case .lazy(let l): return try l.drain().contains { $0.pyEquals(needle) }
        default:
            throw TemplateFailure.type("argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// Code-point substring search (Swift's `contains` compares grapheme clusters).
    static func scalarSearch(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar]) -> Bool {
        findScalars(hay, needle, from: 0) != nil
    }

    static func findScalars(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar], from: Int) -> Int? {
        if needle.isEmpty { return from <= hay.count ? from : nil }
        guard hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
