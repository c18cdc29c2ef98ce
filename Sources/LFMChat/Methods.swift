import Foundation

/// Argument reading for built-in functions, filters and methods, with Python-style errors.
struct Args {
    let name: String
    let positional: [Value]
    let keywords: [(String, Value)]

    init(_ name: String, _ positional: [Value], _ keywords: [(String, Value)]) {
        self.name = name
        self.positional = positional
        self.keywords = keywords
    }

    /// The argument at `index` or named `key`, or `nil` when not given.
    func get(_ index: Int, _ key: String) -> Value? {
        if index < positional.count { return positional[index] }
        return keywords.first { $0.0 == key }?.1
    }

    func string(_ index: Int, _ key: String) throws -> String? {
        guard let v = get(index, key) else { return nil }
        if case .none = v { return nil }
        guard case .string(let s) = v else {
            throw TemplateFailure.type("\(name)() argument '\(key)' must be str, not \(v.typeName)")
        }
        return s
    }

    func int(_ index: Int, _ key: String) throws -> Int? {
        guard let v = get(index, key) else { return nil }
        if case .none = v { return nil }
        guard let n = v.numeric, case .int(let i) = n else {
            throw TemplateFailure.type("\(name)() argument '\(key)' must be int, not \(v.typeName)")
        }
        return i
    }

    func bool(_ index: Int, _ key: String, default d: Bool) -> Bool {
        get(index, key)?.isTruthy ?? d
    }

    func maxCount(_ n: Int) throws {
        if positional.count > n {
            throw TemplateFailure.type("\(name)() takes at most \(n) argument(s) (\(positional.count) given)")
        }
    }
}

/// The Python methods of str, dict and list that templates call, as bound callables.
enum Methods {
    /// - Parameter budget: the render's work budget, which methods that can grow a string charge in advance.
    static func bound(_ obj: Value, _ attr: String, budget: WorkBudget) -> Value? {
        switch obj {
        case .string(let s): return stringMethod(s, attr, budget: budget)
        case .object(let o): return dictMethod(o, attr)
        case .array(let a), .tuple(let a):
            return listMethod(a, attr, isTuple: { if case .tuple = obj { return true } else { return false } }(), budget: budget)
        default: return nil
        }
    }

    private static func make(_ name: String, _ body: @escaping (Args) throws -> Value) -> Value {
        .callable(Callable(name: name) { args, kwargs in try body(Args(name, args, kwargs)) })
    }

    private static func unsafe(_ type: String, _ attr: String) -> Value {
        make(attr) { _ in
            throw TemplateFailure.security("access to attribute '\(attr)' of '\(type)' object is unsafe.")
        }
    }

    // MARK: str

    static func stripChars(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
        guard let chars else {
            if left && right { return s.pyStrip }
            return left ? s.pyLStrip : s.pyRStrip
        }
        let set = Set(chars.unicodeScalars)
        var scalars = Array(s.unicodeScalars)[...]
        if left { while let f = scalars.first, set.contains(f) { scalars = scalars.dropFirst() } }
        if right { while let l = scalars.last, set.contains(l) { scalars = scalars.dropLast() } }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    static func split(_ s: String, _ sep: String?, _ maxsplit: Int) throws -> [Value] {
        let scalars = Array(s.unicodeScalars)
        func str(_ r: ArraySlice<Unicode.Scalar>) -> Value {
            var v = String.UnicodeScalarView(); v.append(contentsOf: r); return .string(String(v))
        }
        guard let sep else {
            var parts: [Value] = []
            var i = 0
            while i < scalars.count {
                while i < scalars.count, scalars[i].isPythonSpace { i += 1 }
                if i >= scalars.count { break }
                if maxsplit >= 0 && parts.count == maxsplit {
                    var end = scalars.count
                    while end > i, scalars[end - 1].isPythonSpace { end -= 1 }
                    parts.append(str(scalars[i..<end]))
                    return parts
                }
                let start = i
                while i < scalars.count, !scalars[i].isPythonSpace { i += 1 }
                parts.append(str(scalars[start..<i]))
            }
            return parts
        }
        let needle = Array(sep.unicodeScalars)
        guard !needle.isEmpty else { throw TemplateFailure.type("empty separator") }
        var parts: [Value] = []
        var start = 0
        while maxsplit < 0 || parts.count < maxsplit, let idx = Operators.findScalars(scalars, needle, from: start) {
            parts.append(str(scalars[start..<idx]))
            start = idx + needle.count
        }
        parts.append(str(scalars[start...]))
        return parts
    }

    static func pyCapitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return "" }
        // Python uses title case for the first character.
        return String(first).uppercased() + String(s.unicodeScalars.dropFirst()).lowercased()
    }

    /// Python `str.title`: a cased character after an uncased one starts a word.
    static func pyTitle(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for scalar in s.unicodeScalars {
            let ch = String(scalar)
            let cased = scalar.properties.isCased
            out += previousCased ? ch.lowercased() : ch.uppercased()
            previousCased = cased
        }
        return out
    }

    /// Python `str.replace`; charges `budget` for the longest result it could make before making it.
    static func replace(_ s: String, _ old: String, _ new: String, _ count: Int, budget: WorkBudget) throws -> String {
        let hay = Array(s.unicodeScalars)
        let needle = Array(old.unicodeScalars)
        let newBytes = new.utf8.count
        var hits = needle.isEmpty ? hay.count + 1 : hay.count / needle.count
        if count >= 0 { hits = min(hits, count) }
        let (grown, overflow) = hits.multipliedReportingOverflow(by: newBytes)
        try budget.chargeBytes(overflow ? Int.max : s.utf8.count &+ grown)
        var out = String.UnicodeScalarView()
        var done = 0
        if needle.isEmpty {
            for (i, c) in hay.enumerated() {
                if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars); done += 1 }
                out.append(c)
                _ = i
            }
            if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        var i = 0
        while i < hay.count {
            if (count < 0 || done < count), let idx = Operators.findScalars(hay, needle, from: i) {
                out.append(contentsOf: hay[i..<idx])
                out.append(contentsOf: new.unicodeScalars)
                i = idx + needle.count
                done += 1
            } else {
                out.append(contentsOf: hay[i...])
                break
            }
        }
        return String(out)
    }

    private static func prefixTest(_ s: String, _ a: Args, suffix: Bool) throws -> Value {
        guard let arg = a.get(0, "prefix") else { throw TemplateFailure.type("\(a.name)() takes at least 1 argument (0 given)") }
        var candidates: [String] = []
        switch arg {
        case .string(let p): candidates = [p]
        case .tuple(let items), .array(let items):
            for item in items {
                guard case .string(let p) = item else {
                    throw TemplateFailure.type("tuple for \(a.name) must only contain str, not \(item.typeName)")
                }
                candidates.append(p)
            }
        default:
            throw TemplateFailure.type("\(a.name) first arg must be str or a tuple of str, not \(arg.typeName)")
        }
        let hay = Array(s.unicodeScalars)
        return .bool(candidates.contains { p in
            let n = Array(p.unicodeScalars)
            guard n.count <= hay.count else { return false }
            return suffix ? Array(hay[(hay.count - n.count)...]) == n : Array(hay[..<n.count]) == n
        })
    }

    private static func stringMethod(_ s: String, _ attr: String, budget: WorkBudget) -> Value? {
        switch attr {
        case "strip", "lstrip", "rstrip":
            return make(attr) { a in
                try a.maxCount(1)
                return .string(stripChars(s, try a.string(0, "chars"), left: attr != "rstrip", right: attr != "lstrip"))
            }
        case "split", "rsplit":
            return make(attr) { a in
                try a.maxCount(2)
                let sep = try a.string(0, "sep"), maxsplit = try a.int(1, "maxsplit") ?? -1
                if attr == "rsplit" && maxsplit >= 0 {
                    // Split from the right by reversing code points.
                    let rev = String(String.UnicodeScalarView(s.unicodeScalars.reversed()))
                    let rsep = sep.map { String(String.UnicodeScalarView($0.unicodeScalars.reversed())) }
                    let parts = try split(rev, rsep, maxsplit).reversed().map { v -> Value in
                        .string(String(String.UnicodeScalarView(v.pythonString.unicodeScalars.reversed())))
                    }
                    return .array(parts)
                }
                return .array(try split(s, sep, maxsplit))
            }
        case "splitlines":
            return make(attr) { _ in
                var lines = s.components(separatedBy: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
                if lines.last == "" { lines.removeLast() }
                return .array(lines.map { .string($0) })
            }
        case "startswith": return make(attr) { a in try prefixTest(s, a, suffix: false) }
        case "endswith": return make(attr) { a in try prefixTest(s, a, suffix: true) }
        case "upper": return make(attr) { _ in .string(s.uppercased()) }
        case "lower": return make(attr) { _ in .string(s.lowercased()) }
        case "title": return make(attr) { _ in .string(pyTitle(s)) }
        case "capitalize": return make(attr) { _ in .string(pyCapitalize(s)) }
        case "replace":
            return make(attr) { a in
                guard let old = try a.string(0, "old"), let new = try a.string(1, "new") else {
                    throw TemplateFailure.type("replace() takes at least 2 arguments")
                }
                return .string(try replace(s, old, new, try a.int(2, "count") ?? -1, budget: budget))
            }
        case "find", "rfind", "index", "rindex", "count":
            return make(attr) { a in
                guard let sub = try a.string(0, "sub") else { throw TemplateFailure.type("\(attr)() takes at least 1 argument") }
                let hay = Array(s.unicodeScalars), needle = Array(sub.unicodeScalars)
                var hits: [Int] = []
                var from = 0
                while let i = Operators.findScalars(hay, needle, from: from) {
                    hits.append(i)
                    from = i + max(needle.count, 1)
                    if from > hay.count { break }
                }
                switch attr {
                case "count": return .int(hits.count)
                case "find": return .int(hits.first ?? -1)
                case "rfind":
                    var last = -1
                    var j = hay.count - needle.count
                    while j >= 0 { if Array(hay[j..<(j + needle.count)]) == needle { last = j; break }; j -= 1 }
                    return .int(last)
                default:
                    guard let first = hits.first else { throw TemplateFailure.type("substring not found") }
                    return .int(first)
                }
            }
        case "join":
            return make(attr) { a in
                guard let items = a.get(0, "iterable") else { throw TemplateFailure.type("join() takes exactly one argument") }
                let list: [Value]
                switch items {
                case .array(let x), .tuple(let x): list = x
                case .object(let o): list = o.keys.map { .string($0) }
                case .string(let t): list = t.unicodeScalars.map { .string(String($0)) }
                default: throw TemplateFailure.type("can only join an iterable")
                }
                var parts: [String] = []
                for (i, item) in list.enumerated() {
                    guard case .string(let t) = item else {
                        throw TemplateFailure.type("sequence item \(i): expected str instance, \(item.typeName) found")
                    }
                    parts.append(t)
                }
                return .string(parts.joined(separator: s))
            }
        case "format":
            return make(attr) { a in .string(try pyFormat(s, a)) }
        case "isdigit", "isalpha", "isspace", "isupper", "islower", "isalnum":
            return make(attr) { _ in
                let sc = Array(s.unicodeScalars)
                switch attr {
                case "isdigit": return .bool(!sc.isEmpty && sc.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
                case "isalpha": return .bool(!sc.isEmpty && sc.allSatisfy { $0.properties.isAlphabetic })
                case "isalnum": return .bool(!sc.isEmpty && sc.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
                case "isspace": return .bool(!sc.isEmpty && sc.allSatisfy { $0.isPythonSpace })
                case "isupper": return .bool(sc.contains { $0.properties.isCased } && s == s.uppercased())
                default: return .bool(sc.contains { $0.properties.isCased } && s == s.lowercased())
                }
            }
        default: return nil
        }
    }

    /// `str.format` with `{}`, `{0}` and `{name}` fields (no format specs beyond an empty one).
    static func pyFormat(_ s: String, _ a: Args) throws -> String {
        var out = ""
        var auto = 0
        var chars = Array(s)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if c == "{" {
                if chars.first == "{" { out.append("{"); chars = chars.dropFirst(); continue }
                guard let close = chars.firstIndex(of: "}") else { throw TemplateFailure.type("Single '{' encountered in format string") }
                let field = String(chars[chars.startIndex..<close])
                chars = chars[(close + 1)...]
                let v: Value?
                if field.isEmpty { v = auto < a.positional.count ? a.positional[auto] : nil; auto += 1 }
                else if let i = Int(field) { v = i < a.positional.count ? a.positional[i] : nil }
                else { v = a.keywords.first { $0.0 == field }?.1 }
                guard let v else { throw TemplateFailure.type("Replacement index \(field) out of range for positional args tuple") }
                out += v.pythonString
            } else if c == "}" {
                if chars.first == "}" { chars = chars.dropFirst() }
                out.append("}")
            } else {
                out.append(c)
            }
        }
        return out
    }

    // MARK: dict and list

    private static func dictMethod(_ o: OrderedDict, _ attr: String) -> Value? {
        switch attr {
        case "items": return make(attr) { _ in .array(o.pairs.map { .tuple([.string($0.0), $0.1]) }) }
        case "keys": return make(attr) { _ in .array(o.keys.map { .string($0) }) }
        case "values": return make(attr) { _ in .array(o.values) }
        case "get":
            return make(attr) { a in
                guard let key = a.get(0, "key") else { throw TemplateFailure.type("get expected at least 1 argument, got 0") }
                let fallback = a.get(1, "default") ?? .none
                if case .string(let k) = key { return o[k] ?? fallback }
                return fallback
            }
        case "copy": return make(attr) { _ in .object(o) }
        case "update", "pop", "popitem", "setdefault", "clear", "__setitem__", "__delitem__":
            return unsafe("dict", attr)
        default: return nil
        }
    }

    private static func listMethod(_ a: [Value], _ attr: String, isTuple: Bool, budget: WorkBudget) -> Value? {
        switch attr {
        case "index":
            return make(attr) { args in
                guard let x = args.get(0, "value") else { throw TemplateFailure.type("index expected 1 argument") }
                try budget.chargeContains(.array(a), x)
                guard let i = a.firstIndex(where: { $0.pyEquals(x) }) else {
                    throw TemplateFailure.type("\(x.pythonRepr) is not in list")
                }
                return .int(i)
            }
        case "count":
            return make(attr) { args in
                guard let x = args.get(0, "value") else { throw TemplateFailure.type("count expected 1 argument") }
                try budget.chargeContains(.array(a), x)
                return .int(a.filter { $0.pyEquals(x) }.count)
            }
        case "append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear", "__setitem__":
            return isTuple ? nil : unsafe("list", attr)
        default: return nil
        }
    }
}
