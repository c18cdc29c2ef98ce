import Foundation

/// A dictionary key compared code point by code point, as Python compares `str` (Swift's `String` equality
/// would merge canonically equivalent spellings such as precomposed and decomposed "é").
struct ExactKey: Hashable {
    let string: String

    static func == (lhs: ExactKey, rhs: ExactKey) -> Bool { lhs.string.utf8.elementsEqual(rhs.string.utf8) }

    func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// See ``Value/equalityKey``: two values with keys are `pyEquals` exactly when their keys are equal.
enum EqualityKey: Hashable {
    case number(Double)
    case string(ExactKey)
}

/// A dictionary that keeps its keys in insertion order, like a Python `dict`.
public struct OrderedDict: Equatable, Sendable {
    /// The keys, in insertion order.
    public private(set) var keys: [String] = []
    private var storage: [ExactKey: Value] = [:]

    /// An empty dictionary.
    public init() {}

    /// A dictionary from key-value pairs; a repeated key keeps its first position and its last value.
    public init(_ pairs: [(String, Value)]) {
        for (key, value) in pairs { self[key] = value }
    }

    /// The number of entries.
    public var count: Int { keys.count }

    /// The entries, in insertion order.
    public var pairs: [(String, Value)] { keys.map { ($0, storage[ExactKey(string: $0)] ?? .none) } }

    /// The values, in insertion order.
    public var values: [Value] { keys.map { storage[ExactKey(string: $0)] ?? .none } }

    /// Reads, inserts (at the end), replaces (in place) or removes (with `nil`) an entry.
    public subscript(key: String) -> Value? {
        get { storage[ExactKey(string: key)] }
        set {
            let k = ExactKey(string: key)
            if let newValue {
                if storage.updateValue(newValue, forKey: k) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: k) != nil {
                keys.removeAll { ExactKey(string: $0) == k }
            }
        }
    }

    public static func == (lhs: OrderedDict, rhs: OrderedDict) -> Bool {
        // Python dict equality ignores order.
        lhs.storage == rhs.storage
    }
}

/// A mutable attribute bag made by `namespace(...)`; shared by reference like jinja2's `Namespace`.
public final class Namespace: @unchecked Sendable {
    // @unchecked: the one mutable property, `stored`, is only touched under `lock`.
    private let lock = NSLock()
    private var stored: OrderedDict
    /// The attributes, in insertion order.
    public var attributes: OrderedDict {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
    init(_ attributes: OrderedDict) { self.stored = attributes }
}

/// Something a template can call: a global function, a bound method, a macro or `loop.cycle`.
public struct Callable: @unchecked Sendable {
    // @unchecked: immutable, but `body` is not @Sendable: a callable is made by one render (its inits are
    // internal, so values passed in cannot hold one) and only called on that render's thread.
    /// A display name used in error messages and when the callable is printed.
    public let name: String
    /// Whether it prints like a jinja2 macro (`<Macro 'name'>`).
    let isMacro: Bool
    /// Attributes readable with `.name` (a recursive loop's `loop` is callable and has `index`, `depth`, ...).
    let attributes: OrderedDict?
    let body: (_ args: [Value], _ kwargs: [(String, Value)]) throws -> Value

    init(name: String, isMacro: Bool = false, attributes: OrderedDict? = nil,
         body: @escaping (_ args: [Value], _ kwargs: [(String, Value)]) throws -> Value) {
        self.name = name
        self.isMacro = isMacro
        self.attributes = attributes
        self.body = body
    }
}

/// A one-shot lazy sequence, like the Python generators that jinja2's `select`, `map`, `unique`, `items`,
/// `batch` (and `reverse`'s iterator) return: always truthy, without a length, and empty once consumed.
/// Errors of the producing filter surface when it is consumed, as in jinja2.
public final class LazySequence: @unchecked Sendable {
    // @unchecked: `producer` is only touched under `lock`; the closure is not @Sendable, but a lazy
    // sequence is made by one render (internal init) and consumed on that render's thread.
    /// The Python type or generator name (`select_or_reject`, `list_reverseiterator`, ...).
    public let name: String
    let isGenerator: Bool
    private let lock = NSLock()
    private var producer: (() throws -> [Value])?

    init(name: String, isGenerator: Bool = true, producer: @escaping () throws -> [Value]) {
        self.name = name
        self.isGenerator = isGenerator
        self.producer = producer
    }

    /// Consumes the sequence; a second call returns nothing, like an exhausted Python iterator.
    func drain() throws -> [Value] {
        lock.lock()
        let taken = producer
        producer = nil
        lock.unlock()
        guard let p = taken else { return [] }
        return try p()
    }
}

/// A value inside a template: the Python objects that jinja2 templates see, reduced to what chat templates use.
public enum Value: Equatable, Sendable {
    /// jinja2's `Undefined`: a missing variable, key or attribute.
    case undefined
    /// Python `None` (JSON `null`).
    case none
    /// Python `bool` (JSON `true`/`false`); counts as 0/1 in arithmetic like Python.
    case bool(Bool)
    /// Python `int`, limited to 64 bits.
    case int(Int)
    /// Python `float`.
    case double(Double)
    /// Python `str`; indexing, slicing and `length` count Unicode code points like Python.
    case string(String)
    /// A Python list (JSON array).
    case array([Value])
    /// A Python tuple; behaves like a list but prints with parentheses.
    case tuple([Value])
    /// A Python dict (JSON object) with insertion-ordered keys.
    case object(OrderedDict)
    /// A `namespace()` object.
    case namespace(Namespace)
    /// A function, macro or bound method.
    case callable(Callable)
    /// A lazy one-shot sequence (a Python generator or iterator).
    case lazy(LazySequence)

    public static func == (lhs: Value, rhs: Value) -> Bool { lhs.pyEquals(rhs) }

    /// A dict value from ordered pairs.
    public static func dict(_ pairs: [(String, Value)]) -> Value { .object(OrderedDict(pairs)) }

    /// Python truthiness.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a), .tuple(let a): return !a.isEmpty
        case .object(let o): return o.count > 0
        case .namespace, .callable, .lazy: return true
        }
    }

    /// Container nesting depth; stops counting once past `limit`.
    ///
    /// A list shared by many parents (`[[range(1000)] * 1000]` holds one 1,000-item list a thousand times) is
    /// walked once per depth it is reached at, not once per parent: lists and tuples are recognised by their
    /// storage, which stays alive (and so unique) while `self` holds it. Scalars are skipped without a visit.
    /// - Parameter work: increased by the number of items looked at.
    func nestingDepth(limit: Int, work: inout Int) -> Int {
        var deepest = 0
        // Storage of the lists walked so far → the deepest level each was walked at.
        var walked: [UnsafeRawPointer: Int] = [:]
        var stack: [(Value, Int)] = [(self, 1)]
        while let (v, d) = stack.popLast() {
            let items: [Value]
            switch v {
            case .array(let a), .tuple(let a):
                // (The outermost list cannot be shared with anything it is walked against.)
                if d > 1, let storage = a.withUnsafeBufferPointer({ $0.baseAddress.map { UnsafeRawPointer($0) } }) {
                    if let level = walked[storage], level >= d { continue }
                    walked[storage] = d
                }
                items = a
            case .object(let o): items = o.values
            default: continue
            }
            deepest = max(deepest, d)
            if deepest > limit { return deepest }
            work += items.count
            for item in items {
                switch item {
                case .array, .tuple, .object: stack.append((item, d + 1))
                default: continue
                }
            }
        }
        return deepest
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// The Python type name used in error messages (`'dict object'`).
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .tuple: return "tuple"
        case .object: return "dict"
        case .namespace: return "Namespace"
        case .callable(let c): return c.isMacro ? "Macro" : "function"
        case .lazy(let l): return l.isGenerator ? "generator" : l.name
        }
    }

    /// Python numeric view: bools count as ints.
    var numeric: Value? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int, .double: return self
        default: return nil
        }
    }

    /// A hashable key for the values whose Python `==` (``pyEquals(_:)``) is equality of keys, so that `unique`
    /// finds repeats by hashing as jinja2 does: strings by their code points, and numbers (bools included) by their
    /// `Double` value, which is how `pyEquals` compares mixed ints and floats, where that value is exact (below
    /// 2^53 in magnitude; an int beyond rounds to a Double of at least 2^53, so it cannot equal a keyed value).
    /// Values with a key are never equal to values without one. `nil` for the others (containers, `None`,
    /// callables, NaN, larger numbers), which are compared one by one.
    var equalityKey: EqualityKey? {
        let exact = 1 << 53  // every integer below it in magnitude is a distinct Double
        switch self {
        case .bool(let b): return .number(b ? 1 : 0)
        case .int(let i): return i.magnitude < UInt(exact) ? .number(Double(i)) : nil
        case .double(let d): return abs(d) < Double(exact) ? .number(d) : nil  // NaN fails the test
        case .string(let s): return .string(ExactKey(string: s))
        default: return nil
        }
    }

    /// Python `==`.
    func pyEquals(_ other: Value) -> Bool {
        if let a = numeric, let b = other.numeric {
            switch (a, b) {
            case let (.int(x), .int(y)): return x == y
            case let (.int(x), .double(y)): return Double(x) == y
            case let (.double(x), .int(y)): return x == Double(y)
            case let (.double(x), .double(y)): return x == y
            default: return false
            }
        }
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.array(a), .array(b)), let (.tuple(a), .tuple(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pyEquals($1) }
        case let (.object(a), .object(b)): return a == b
        case let (.namespace(a), .namespace(b)): return a === b
        case let (.lazy(a), .lazy(b)): return a === b
        default: return false
        }
    }
}

// MARK: - Python str() and repr()

extension Value {
    /// Python `str(value)`, which is what `{{ value }}`, `~` and `|string` produce.
    public var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return pythonRepr
        }
    }

    /// Python `repr(value)`.
    public var pythonRepr: String { repr(visiting: []) }

    /// `repr` with a guard against namespaces that contain themselves (Python prints `{...}` there).
    private func repr(visiting: Set<ObjectIdentifier>) -> String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return Value.pythonFloatRepr(d)
        case .string(let s): return Value.pythonStringRepr(s)
        case .array(let a): return "[" + a.map { $0.repr(visiting: visiting) }.joined(separator: ", ") + "]"
        case .tuple(let a):
            if a.count == 1 { return "(" + a[0].repr(visiting: visiting) + ",)" }
            return "(" + a.map { $0.repr(visiting: visiting) }.joined(separator: ", ") + ")"
        case .object(let o):
            return "{" + o.pairs.map { Value.pythonStringRepr($0.0) + ": " + $0.1.repr(visiting: visiting) }
                .joined(separator: ", ") + "}"
        case .namespace(let n):
            let id = ObjectIdentifier(n)
            if visiting.contains(id) { return "<Namespace {...}>" }
            let inner = visiting.union([id])
            return "<Namespace {" + n.attributes.pairs.map { Value.pythonStringRepr($0.0) + ": " + $0.1.repr(visiting: inner) }
                .joined(separator: ", ") + "}>"
        case .callable(let c): return c.isMacro ? "<Macro '\(c.name)'>" : "<function \(c.name)>"
        case .lazy(let l):
            // Python prints the object's address here, which no other implementation can reproduce.
            return l.isGenerator ? "<generator object \(l.name)>" : "<\(l.name) object>"
        }
    }

    /// Python `float.__repr__`: shortest round-trip digits, fixed notation for decimal exponents in [-4, 16),
    /// scientific (`1e+16`, `1.5e-05`) otherwise.
    static func pythonFloatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description gives the shortest round-trip digits; re-layout them the Python way.
        var text = "\(d.magnitude)"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        var intPart = text
        var fracPart = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = String(text[..<dot])
            fracPart = String(text[text.index(after: dot)...])
        }
        var digits = intPart + fracPart
        var pointPos = intPart.count + exponent  // decimal point after this many digits
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); pointPos -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let sci = pointPos - 1
        var out: String
        if sci >= -4 && sci < 16 {
            if pointPos <= 0 {
                out = "0." + String(repeating: "0", count: -pointPos) + digits
            } else if pointPos >= digits.count {
                out = digits + String(repeating: "0", count: pointPos - digits.count) + ".0"
            } else {
                let i = digits.index(digits.startIndex, offsetBy: pointPos)
                out = String(digits[..<i]) + "." + String(digits[i...])
            }
        } else {
            let first = String(digits.prefix(1))
            let rest = String(digits.dropFirst())
            let mantissa = rest.isEmpty ? first : first + "." + rest
            let expDigits = String(abs(sci))
            out = mantissa + "e" + (sci < 0 ? "-" : "+") + (expDigits.count < 2 ? "0" + expDigits : expDigits)
        }
        return d < 0 ? "-" + out : out
    }

    /// Python `str.__repr__`.
    static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote { out += "\\" + String(quote); continue }
                if isPythonPrintable(scalar) { out.unicodeScalars.append(scalar); continue }
                let v = scalar.value
                if v < 0x100 { out += String(format: "\\x%02x", v) }
                else if v < 0x10000 { out += String(format: "\\u%04x", v) }
                else { out += String(format: "\\U%08x", v) }
            }
        }
        out.append(quote)
        return out
    }

    /// Python `str.isprintable` for one code point: not Cc, Cf, Cs, Co, Cn, Zl, Zp, or Zs other than space.
    static func isPythonPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default: return true
        }
    }
}

// MARK: - Python whitespace

extension Unicode.Scalar {
    /// Python `str.isspace` for one code point.
    var isPythonSpace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0: return true
        default: return value > 0x7F && properties.isWhitespace
        }
    }
}

extension String {
    /// Python `str.strip()` with no argument.
    var pyStrip: String { pyRStrip.pyLStrip }
    /// Python `str.lstrip()` with no argument.
    var pyLStrip: String {
        let scalars = unicodeScalars
        guard let i = scalars.firstIndex(where: { !$0.isPythonSpace }) else { return "" }
        return String(scalars[i...])
    }
    /// Python `str.rstrip()` with no argument.
    var pyRStrip: String {
        let scalars = unicodeScalars
        guard let i = scalars.lastIndex(where: { !$0.isPythonSpace }) else { return "" }
        return String(scalars[...i])
    }
}

// MARK: - Literals and JSON output

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
                 ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    /// A dict literal keeps the order written.
    public init(dictionaryLiteral elements: (String, Value)...) { self = .object(OrderedDict(elements)) }

    /// The value as JSON text, exactly like Python's `json.dumps(value, ensure_ascii=False)` (the form transformers'
    /// `tojson` filter prints by default). Throws a ``TemplateError`` of kind `.type` for undefined values,
    /// namespaces and callables.
    public func jsonString(indent: Int? = nil, sortKeys: Bool = false) throws -> String {
        var o = JSONDumpOptions(itemSeparator: indent == nil ? ", " : ",", keySeparator: ": ")
        o.indent = indent.map { String(repeating: " ", count: max($0, 0)) }
        o.sortKeys = sortKeys
        do {
            return try jsonDumps(o)
        } catch let failure as TemplateFailure {
            throw failure.at(SourcePos(line: 0, column: 0))
        }
    }
}
