import Foundation

extension Interpreter {
    /// Applies the filter `name` as jinja2 (with transformers' `tojson`) does.
    func applyFilter(_ name: String, _ value: Value, _ args: [Value], _ kwargs: [(String, Value)],
                     _ frame: Frame, at pos: SourcePos) throws -> Value {
        do {
            return try chargedFilter(name, value, Args(name, args, kwargs), pos)
        } catch let failure as TemplateFailure {
            throw failure.at(pos)
        }
    }

    /// Filters that turn every nested value into text, and so visit all of them.
    private static let deepReadingFilters: Set<String> = ["tojson", "string", "join", "format"]

    /// Runs a filter after charging the work budget for the value it reads (every nested value for filters that
    /// print it, n·log2 n for sorting) and then for what it returns.
    func chargedFilter(_ name: String, _ value: Value, _ a: Args, _ pos: SourcePos) throws -> Value {
        let read = WorkBudget.cost(of: value, deep: Interpreter.deepReadingFilters.contains(name), cap: budget.remaining)
        try budget.charge(1 + read)
        if name == "sort" || name == "dictsort" {
            try budget.charge(read * (Int.bitWidth - read.leadingZeroBitCount))
        }
        if name == "indent", case .string(let s) = value {
            // Each line may gain the indent: charge the widest result before building it.
            let width = a.get(0, "width").flatMap { w -> Int? in
                if case .string(let t) = w { return t.utf8.count }
                if let n = w.numeric, case .int(let i) = n { return max(0, min(i, 1024)) }
                return nil
            } ?? 4
            let lines = s.utf8.reduce(1) { $1 == 10 ? $0 + 1 : $0 }
            let (grown, overflow) = lines.multipliedReportingOverflow(by: width)
            try budget.chargeBytes(overflow ? Int.max : grown)
        }
        if name == "center", let width = try a.int(0, "width") {
            try budget.chargeBytes(max(0, width))
        }
        let result = try filter(name, value, a, pos)
        try budget.chargeReading(result)
        return result
    }

    private func requireDefined(_ v: Value) throws {
        if v.isUndefined { throw TemplateFailure.undefined("an undefined value was passed to a filter") }
    }

    private func length(_ v: Value) throws -> Int {
        switch v {
        case .undefined: return 0
        case .string(let s): return s.unicodeScalars.count
        case .array(let a), .tuple(let a): return a.count
        case .object(let o): return o.count
        default: throw TemplateFailure.type("object of type '\(v.typeName)' has no len()")
        }
    }

    /// jinja2 `make_attrgetter`: dotted paths, integer parts index lists.
    func attribute(_ item: Value, _ path: String) throws -> Value {
        var v = item
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            if v.isUndefined { throw TemplateFailure.undefined("'\(part)' is undefined") }
            if let i = Int(part) { v = try getitem(v, .int(i)) } else { v = try getitem(v, .string(String(part))) }
        }
        return v
    }

    func filter(_ name: String, _ value: Value, _ a: Args, _ pos: SourcePos) throws -> Value {
        switch name {
        case "tojson":
            try a.maxCount(4)
            var o = JSONDumpOptions(itemSeparator: ", ", keySeparator: ": ")
            o.ensureASCII = a.bool(0, "ensure_ascii", default: false)
            if let ind = a.get(1, "indent"), ind != .none {
                switch ind {
                case .string(let s): o.indent = s
                default:
                    guard let n = ind.numeric, case .int(let count) = n else {
                        throw TemplateFailure.type("indent must be an int or str, not \(ind.typeName)")
                    }
                    guard count <= 1024 else { throw TemplateFailure.limit("tojson indent above 1024") }
                    o.indent = String(repeating: " ", count: max(count, 0))
                }
                o.itemSeparator = ","
            }
            if let sep = a.get(2, "separators"), sep != .none {
                guard case let .array(items) = sep.asList, items.count == 2,
                      case .string(let item) = items[0], case .string(let key) = items[1] else {
                    throw TemplateFailure.type("separators must be a pair of strings")
                }
                o.itemSeparator = item
                o.keySeparator = key
            }
            o.sortKeys = a.bool(3, "sort_keys", default: false)
            return .string(try value.jsonDumps(o))
        case "length", "count":
            return .int(try length(value))
        case "string":
            return .string(value.pythonString)
        case "trim":
            return .string(Methods.stripChars(value.pythonString, try a.string(0, "chars"), left: true, right: true))
        case "upper": return .string(value.pythonString.uppercased())
        case "lower": return .string(value.pythonString.lowercased())
        case "capitalize": return .string(Methods.pyCapitalize(value.pythonString))
        case "title": return .string(jinjaTitle(value.pythonString))
        case "safe", "e", "escape", "forceescape":
            // jinja2 returns Markup, a str subclass: the value becomes its string form.
            if name == "safe" { return .string(value.pythonString) }
            return .string(htmlEscape(value.pythonString))
        case "default", "d":
            let fallback = a.get(0, "default_value") ?? .string("")
            let boolean = a.bool(1, "boolean", default: false)
            if value.isUndefined || (boolean && !value.isTruthy) { return fallback }
            return value
        case "first":
            let items = try iterate(value, at: pos)
            return items.first ?? .undefined
        case "last":
            if case .lazy = value { throw TemplateFailure.type("'\(value.typeName)' object is not reversible") }
            let items = try iterate(value, at: pos)
            return items.last ?? .undefined
        case "list":
            return .array(try iterate(value, at: pos))
        case "join":
            var items = try iterate(value, at: pos)
            if let attr = try a.string(1, "attribute") { items = try items.map { try attribute($0, attr) } }
            let sep = a.get(0, "d")?.pythonString ?? ""
            return .string(items.map(\.pythonString).joined(separator: sep))
        case "int":
            try requireDefined(value)
            let fallback = a.get(0, "default") ?? .int(0)
            let base = try a.int(1, "base") ?? 10
            guard (2...36).contains(base) else { throw TemplateFailure.type("int() base must be >= 2 and <= 36") }
            switch value {
            case .int: return value
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d):
                guard d.isFinite, abs(d) < 9.2e18 else { return fallback }
                return .int(Int(d))
            case .string(let s):
                let t = s.pyStrip.replacingOccurrences(of: "_", with: "")
                if let i = Int(t, radix: base) { return .int(i) }
                if let d = Double(t), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            try requireDefined(value)
            let fallback = a.get(0, "default") ?? .double(0)
            switch value {
            case .int(let i): return .double(Double(i))
            case .bool(let b): return .double(b ? 1 : 0)
            case .double: return value
            case .string(let s):
                let t = s.pyStrip.lowercased()
                if let d = Double(t) { return .double(d) }
                return fallback
            default: return fallback
            }
        case "abs":
            switch value.numeric {
            case .int(let i)?:
                guard i != Int.min else { throw TemplateFailure.limit("integer overflow") }
                return .int(abs(i))
            case .double(let d)?: return .double(abs(d))
            default:
                throw TemplateFailure.type("bad operand type for abs(): '\(value.isUndefined ? "Undefined" : value.typeName)'")
            }
        case "round":
            let precision = try a.int(0, "precision") ?? 0
            let method = try a.string(1, "method") ?? "common"
            guard value.numeric != nil else {
                throw TemplateFailure.type("type \(value.isUndefined ? "Undefined" : value.typeName) doesn't define __round__ method")
            }
            let d = Operators.asDouble(value)
            let scale = pow(10.0, Double(precision))
            switch method {
            case "common":
                // Python's round() keeps ints as ints.
                if case .int(let i)? = value.numeric, precision >= 0 { return .int(i) }
                return .double((d * scale).rounded(.toNearestOrEven) / scale)
            case "ceil": return .double((d * scale).rounded(.up) / scale)
            case "floor": return .double((d * scale).rounded(.down) / scale)
            default: throw TemplateFailure.type("method must be common, ceil or floor")
            }
        case "replace":
            guard let old = a.get(0, "old"), let new = a.get(1, "new") else {
                throw TemplateFailure.type("replace() missing required arguments 'old' and 'new'")
            }
            return .string(try Methods.replace(value.pythonString, old.pythonString, new.pythonString, try a.int(2, "count") ?? -1, budget: budget))
        case "items":
            // A generator in jinja2: the mapping check happens when it is consumed.
            return .lazy(LazySequence(name: "do_items") {
                switch value {
                case .undefined: return []
                case .object(let o): return o.pairs.map { .tuple([.string($0.0), $0.1]) }
                default: throw TemplateFailure.type("Can only get item pairs from a mapping.")
                }
            })
        case "dictsort":
            try requireDefined(value)
            guard case .object(let o) = value else { throw TemplateFailure.type("dictsort requires a mapping") }
            let caseSensitive = a.bool(0, "case_sensitive", default: false)
            let by = try a.string(1, "by") ?? "key"
            let reverse = a.bool(2, "reverse", default: false)
            let pairs = try sortValues(o.pairs.map { Value.tuple([.string($0.0), $0.1]) }, reverse: reverse) { p in
                guard case .tuple(let t) = p else { return p }
                let v = by == "value" ? t[1] : t[0]
                return caseSensitive ? v : lowered(v)
            }
            return .array(pairs)
        case "sort":
            let reverse = a.bool(0, "reverse", default: false)
            let caseSensitive = a.bool(1, "case_sensitive", default: false)
            let attr = try a.string(2, "attribute")
            return .array(try sortValues(try iterate(value, at: pos), reverse: reverse) { v in
                let key = try attr.map { try attribute(v, $0) } ?? v
                return caseSensitive ? key : lowered(key)
            })
        case "reverse":
            switch value {
            case .string(let str): return .string(String(String.UnicodeScalarView(str.unicodeScalars.reversed())))
            case .array(let a), .tuple(let a):
                return .lazy(LazySequence(name: "list_reverseiterator", isGenerator: false) { a.reversed() })
            case .object(let o):
                return .lazy(LazySequence(name: "dict_reversekeyiterator", isGenerator: false) { o.keys.reversed().map { .string($0) } })
            case .undefined:
                return .lazy(LazySequence(name: "reversed", isGenerator: false) { [] })
            case .lazy(let l):
                return .array(try l.drain().reversed())
            default:
                throw TemplateFailure.type("argument must be iterable")
            }
        case "unique":
            let caseSensitive = a.bool(0, "case_sensitive", default: false)
            let attr = try a.string(1, "attribute")
            return .lazy(LazySequence(name: "do_unique") { [self] in
                // Numbers and strings (all jinja2 accepts: it keeps a set) are found by hashing their
                // `equalityKey`; other values are compared with every other one seen.
                let items = try self.iterate(value, at: pos)
                try self.budget.charge(items.count)  // one hashing per item, charged before any
                var numbers = Set<Double>(), strings = Set<ExactKey>()
                var unkeyed: [Value] = []
                var out: [Value] = []
                for item in items {
                    var key = try attr.map { try self.attribute(item, $0) } ?? item
                    if !caseSensitive { key = self.lowered(key) }
                    switch key.equalityKey {
                    case .number(let n):
                        if numbers.isEmpty { numbers.reserveCapacity(items.count) }
                        if numbers.insert(n).inserted { out.append(item) }
                        continue
                    case .string(let s):
                        if strings.isEmpty { strings.reserveCapacity(items.count) }
                        if strings.insert(s).inserted { out.append(item) }
                        continue
                    case nil: break
                    }
                    try self.budget.charge(2 * unkeyed.count)  // comparisons are slower than other steps
                    var repeated = false
                    for seen in unkeyed {
                        try self.budget.chargeComparison(seen, key)  // what a deep comparison can visit
                        if seen.pyEquals(key) { repeated = true; break }
                    }
                    if !repeated { unkeyed.append(key); out.append(item) }
                }
                return out
            })
        case "sum":
            let attr = try a.string(0, "attribute")
            var total = a.get(1, "start") ?? .int(0)
            for item in try iterate(value, at: pos) {
                total = try Operators.binary("+", total, try attr.map { try attribute(item, $0) } ?? item)
            }
            return total
        case "min", "max":
            let items = try iterate(value, at: pos)
            guard var best = items.first else { return .undefined }
            let caseSensitive = a.bool(0, "case_sensitive", default: false)
            let attr = try a.string(1, "attribute")
            func key(_ v: Value) throws -> Value {
                let k = try attr.map { try attribute(v, $0) } ?? v
                return caseSensitive ? k : lowered(k)
            }
            for item in items.dropFirst() {
                try budget.chargeComparison(key(item), key(best))
                let better = name == "min" ? try Operators.less(key(item), key(best)) : try Operators.less(key(best), key(item))
                if better { best = item }
            }
            return best
        case "attr":
            // Python attributes only (methods, namespace attributes), never dict keys.
            guard let n = try a.string(0, "name") else { throw TemplateFailure.type("attr() needs a name") }
            if let method = Methods.bound(value, n, budget: budget) { return method }
            if case .namespace(let ns) = value { return ns.attributes[n] ?? .undefined }
            return .undefined
        case "map":
            // jinja2's map and select family are generators that do nothing for a falsy input.
            if let attr = a.keywords.first(where: { $0.0 == "attribute" })?.1.pythonString {
                let fallback = a.keywords.first { $0.0 == "default" }?.1
                return .lazy(LazySequence(name: "sync_do_map") { [self] in
                    guard value.isTruthy else { return [] }
                    return try self.iterate(value, at: pos).map { item in
                        let v = try self.attribute(item, attr)
                        if v.isUndefined, let fallback { return fallback }
                        return v
                    }
                })
            }
            guard let first = a.positional.first, case .string(let filterName) = first else {
                throw TemplateFailure.type("map requires a filter argument")
            }
            let rest = Args(filterName, Array(a.positional.dropFirst()), a.keywords)
            return .lazy(LazySequence(name: "sync_do_map") { [self] in
                guard value.isTruthy else { return [] }
                return try self.iterate(value, at: pos).map { try self.chargedFilter(filterName, $0, rest, pos) }
            })
        case "select", "reject", "selectattr", "rejectattr":
            let byAttr = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var positional = a.positional
            var attr: String? = nil
            if byAttr {
                guard let f = positional.first, case .string(let s) = f else {
                    throw TemplateFailure.type("\(name) requires an attribute name")
                }
                attr = s
                positional.removeFirst()
            }
            var testName: String? = nil
            if let f = positional.first {
                guard case .string(let s) = f else { throw TemplateFailure.type("\(name) test name must be a string") }
                testName = s
                positional.removeFirst()
            }
            let testArgs = positional
            return .lazy(LazySequence(name: "select_or_reject") { [self] in
                guard value.isTruthy else { return [] }
                var out: [Value] = []
                for item in try self.iterate(value, at: pos) {
                    let subject = try attr.map { try self.attribute(item, $0) } ?? item
                    let ok = try testName.map { try self.applyTest($0, subject, testArgs, at: pos) } ?? subject.isTruthy
                    if ok == keep { out.append(item) }
                }
                return out
            })
        case "indent":
            // jinja2 appends "\n" to the value, which only works for strings.
            try requireDefined(value)
            guard case .string = value else {
                throw TemplateFailure.type("unsupported operand type(s) for +=: '\(value.typeName)' and 'str'")
            }
            let width = a.get(0, "width") ?? .int(4)
            let indention: String
            if case .string(let s) = width { indention = s }
            else if let n = width.numeric, case .int(let w) = n {
                guard w <= 1024 else { throw TemplateFailure.limit("indent width above 1024") }
                indention = String(repeating: " ", count: max(w, 0))
            }
            else { throw TemplateFailure.type("indent width must be int or str") }
            let first = a.bool(1, "first", default: false)
            let blank = a.bool(2, "blank", default: false)
            let s = value.pythonString + "\n"
            var lines = s.components(separatedBy: "\n")
            lines.removeLast()
            var rv: String
            if blank {
                rv = lines.joined(separator: "\n" + indention)
            } else {
                rv = lines.first ?? ""
                let rest = lines.dropFirst()
                if !rest.isEmpty { rv += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
            }
            if first { rv = indention + rv }
            return .string(rv)
        case "wordcount":
            var count = 0
            var inWord = false
            for scalar in value.pythonString.unicodeScalars {
                let word = scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                if word && !inWord { count += 1 }
                inWord = word
            }
            return .int(count)
        case "center":
            let width = try a.int(0, "width") ?? 80
            let s = value.pythonString
            let n = s.unicodeScalars.count
            guard width > n else { return .string(s) }
            guard width <= Operators.maxSequence else { throw TemplateFailure.limit("center width too large") }
            let total = width - n
            let left = total / 2 + (total & width & 1)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: total - left))
        case "batch":
            guard let size = try a.int(0, "linecount"), size > 0 else {
                throw TemplateFailure.type("batch() needs a positive line count")
            }
            let fill = a.get(1, "fill_with")
            return .lazy(LazySequence(name: "do_batch") { [self] in
                var batches: [Value] = []
                var current: [Value] = []
                for item in try self.iterate(value, at: pos) {
                    current.append(item)
                    if current.count == size { batches.append(.array(current)); current = [] }
                }
                if !current.isEmpty {
                    if let fill, fill != .none { while current.count < size { current.append(fill) } }
                    batches.append(.array(current))
                }
                return batches
            })
        case "format":
            // jinja2: str(value) % (kwargs or args)
            if !a.positional.isEmpty && !a.keywords.isEmpty {
                throw TemplateFailure.type("can't handle positional and keyword arguments at the same time")
            }
            let arg: Value = a.keywords.isEmpty ? .tuple(a.positional) : .object(OrderedDict(a.keywords))
            return .string(try PercentFormat.format(value.pythonString, arg))
        case "slice", "groupby", "truncate", "striptags", "xmlattr", "urlencode", "urlize",
             "pprint", "filesizeformat", "random", "wordwrap", "truncatewords":
            throw TemplateFailure.type("the '\(name)' filter is not supported")
        default:
            // Reached only where jinja2 defers the check to run time (inside `if` or `a if b else c`).
            throw TemplateError(kind: .unknownFilter, message: "No filter named '\(name)' found.", line: pos.line, column: pos.column)
        }
    }

    func lowered(_ v: Value) -> Value {
        if case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    /// Stable sort by key with Python ordering (errors propagate).
    private func sortValues(_ items: [Value], reverse: Bool, key: (Value) throws -> Value) throws -> [Value] {
        let keyed = try items.enumerated().map { ($0.offset, try key($0.element), $0.element) }
        var failure: Error? = nil
        let sorted = keyed.sorted { x, y in
            do {
                try budget.chargeComparison(x.1, y.1)
                let lt = reverse ? try Operators.less(y.1, x.1) : try Operators.less(x.1, y.1)
                if lt { return true }
                let gt = reverse ? try Operators.less(x.1, y.1) : try Operators.less(y.1, x.1)
                return gt ? false : x.0 < y.0
            } catch {
                failure = error
                return x.0 < y.0
            }
        }
        if let failure { throw failure }
        return sorted.map { $0.2 }
    }

    /// jinja2's `title` filter: words start after whitespace, `-`, or an opening bracket.
    private func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atStart = true
        for scalar in s.unicodeScalars {
            let ch = String(scalar)
            if scalar.isPythonSpace || "-({[<".unicodeScalars.contains(scalar) {
                out += ch
                atStart = true
            } else {
                out += atStart ? ch.uppercased() : ch.lowercased()
                atStart = false
            }
        }
        return out
    }

    private func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    // MARK: - Tests

    /// Applies the test `name` (`x is name(args)`).
    func applyTest(_ name: String, _ v: Value, _ args: [Value], at pos: SourcePos) throws -> Bool {
        if Interpreter.unaryTests.contains(name) && !args.isEmpty {
            throw TemplateFailure.type("test_\(name)() takes 1 positional argument but \(args.count + 1) were given").at(pos)
        }
        func arg() throws -> Value {
            guard let a = args.first else { throw TemplateFailure.type("test '\(name)' needs an argument").at(pos) }
            return a
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true } else { return false }
        case "string": if case .string = v { return true } else { return false }
        case "number":
            switch v { case .int, .double, .bool: return true; default: return false }
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .double = v { return true } else { return false }
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "mapping": if case .object = v { return true } else { return false }
        case "iterable":
            switch v { case .string, .array, .tuple, .object, .undefined, .lazy: return true; default: return false }
        case "sequence":
            switch v { case .string, .array, .tuple, .object, .undefined: return true; default: return false }
        case "callable":
            // jinja2's Undefined defines __call__ (to raise), so Python's callable() says True for it.
            switch v { case .callable, .undefined: return true; default: return false }
        case "odd", "even", "divisibleby":
            // jinja2: value % 2 == 1, value % 2 == 0, value % num == 0, with Python's `%`.
            if v.isUndefined { throw TemplateFailure.undefined("an undefined value was tested").at(pos) }
            let divisor = name == "divisibleby" ? try arg() : .int(2)
            if divisor.isUndefined { throw TemplateFailure.undefined("an undefined value was tested").at(pos) }
            let r = try wrapValue(pos) { try Operators.binary("%", v, divisor) }
            return r.pyEquals(.int(name == "odd" ? 1 : 0))
        case "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "gt", "greaterthan", ">", "le", "<=", "ge", ">=":
            let other = try arg()
            try budget.chargeComparison(v, other)
            switch name {
            case "eq", "equalto", "==": return v.pyEquals(other)
            case "ne", "!=": return !v.pyEquals(other)
            case "lt", "lessthan", "<": return try wrap(pos) { try Operators.less(v, other) }
            case "gt", "greaterthan", ">": return try wrap(pos) { try Operators.less(other, v) }
            case "le", "<=": return try wrap(pos) { try Operators.compare("<=", v, other) }
            default: return try wrap(pos) { try Operators.compare(">=", v, other) }
            }
        case "in":
            let container = try arg()
            try budget.chargeContains(container, v)
            return try wrap(pos) { try Operators.contains(container, v) }
        case "sameas":
            let other = try arg()
            switch (v, other) {
            case (.none, .none), (.undefined, .undefined): return true
            case let (.bool(a), .bool(b)): return a == b
            case let (.namespace(a), .namespace(b)): return a === b
            default: return false
            }
        case "lower", "upper":
            // Python str.islower / str.isupper: at least one cased character and none of the other case.
            let str = v.pythonString
            let hasCased = str.unicodeScalars.contains { $0.properties.isCased }
            return hasCased && (name == "lower" ? str == str.lowercased() : str == str.uppercased())
        case "escaped": return false
        case "filter", "test":
            guard case .string(let n) = v else { return false }
            return name == "filter" ? StaticCheck.filters.contains(n) : StaticCheck.tests.contains(n)
        default:
            throw TemplateError(kind: .unknownTest, message: "No test named '\(name)' found.", line: pos.line, column: pos.column)
        }
    }

    /// Tests that take no argument besides the value.
    static let unaryTests: Set<String> = [
        "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false", "mapping",
        "iterable", "sequence", "callable", "odd", "even", "lower", "upper", "escaped", "filter", "test",
    ]

    private func wrapValue(_ pos: SourcePos, _ body: () throws -> Value) throws -> Value {
        do { return try body() } catch let f as TemplateFailure { throw f.at(pos) }
    }

    private func wrap(_ pos: SourcePos, _ body: () throws -> Bool) throws -> Bool {
        do { return try body() } catch let f as TemplateFailure { throw f.at(pos) }
    }
}

extension Value {
    /// Lists and tuples as a list; anything else unchanged.
    var asList: Value {
        switch self {
        case .tuple(let t): return .array(t)
        default: return self
        }
    }
}
