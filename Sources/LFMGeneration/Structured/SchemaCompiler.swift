import LFMChat

/// A JSON schema compiled for constrained decoding.
///
/// Supported: `type` (object, array, string, integer, number, boolean, null, or a list of them),
/// `properties`, `required`, `additionalProperties` (bool or schema), `items`, `minItems`,
/// `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum` (numbers), `enum`, `const`, `anyOf`, `oneOf` (generated as `anyOf`: make its
/// alternatives disjoint), a one-element `allOf`, local `$ref` (`#`, `#/$defs/…`,
/// `#/definitions/…`, recursion bounded by `maxNesting`), and the schema `{"type": "json_object"}`
/// meaning any object. Ignored as harmless: `title`, `description`, `default`, `examples`,
/// `$schema`, `$id`, `$comment`, `format`, `deprecated`, `readOnly`, `writeOnly`, `$defs`,
/// `definitions`. Any other keyword is an `unsupportedKeyword` error naming it and its place.
///
/// What is generated: compact JSON (no whitespace except one optional space after `:` and `,`),
/// declared properties in declared order, numbers without exponents, strings whose `\u` escapes
/// are not surrogates, and keys of additional properties without escapes.
public final class JSONSchema: Sendable {
    /// The schema as given.
    public let source: Value
    /// The limits used.
    public let options: SchemaCompileOptions
    let nodes: [SchemaNode]
    let root: Int
    /// Shortest serialization of each node in bytes (`JSONSchema.infinite` when none is finite).
    let minSize: [Int]

    static let infinite = Int.max / 4

    /// Compiles `schema` (a JSON schema document).
    public init(_ schema: Value, options: SchemaCompileOptions = SchemaCompileOptions()) throws {
        var compiler = SchemaCompiler(document: schema, options: options)
        let root = try compiler.compile(schema, pointer: "")
        var nodes = compiler.nodes
        try SchemaCompiler.checkNoEmptyCycles(nodes)
        let minSize = SchemaCompiler.minimalSizes(nodes)
        guard minSize[root] < JSONSchema.infinite else {
            throw StructuredOutputError.unsatisfiable(pointer: "", detail: "no finite value satisfies it (required recursion?)")
        }
        for i in nodes.indices {
            guard case .object(var object) = nodes[i] else { continue }
            var cost = [Int](repeating: 0, count: object.properties.count + 1)
            for j in stride(from: object.properties.count - 1, through: 0, by: -1) {
                let p = object.properties[j]
                cost[j] = cost[j + 1] + (p.required ? p.literal.count + 2 + minSize[p.node] : 0)
                cost[j] = min(cost[j], JSONSchema.infinite)
            }
            object.requiredCost = cost
            nodes[i] = .object(object)
        }
        self.source = schema
        self.options = options
        self.nodes = nodes
        self.root = root
        self.minSize = minSize
    }

    /// Compiles a JSON schema given as JSON text.
    public convenience init(json: String, options: SchemaCompileOptions = SchemaCompileOptions()) throws {
        let value: Value
        do { value = try Value.parseJSON(json) } catch {
            throw StructuredOutputError.invalidResponseFormat("the schema is not valid JSON: \(error)")
        }
        try self.init(value, options: options)
    }

    /// Bytes of the shortest JSON text the schema accepts.
    public var shortestValueLength: Int { minSize[root] }
}

/// Walks a schema document and appends nodes.
struct SchemaCompiler {
    let document: Value
    let options: SchemaCompileOptions
    var nodes: [SchemaNode] = []
    private var byPointer: [String: Int] = [:]
    private var anyNodes: [Int: Int] = [:]

    init(document: Value, options: SchemaCompileOptions) {
        self.document = document
        self.options = options
    }

    static let ignored: Set<String> = ["title", "description", "default", "examples", "$schema", "$id", "$comment",
                                       "format", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"]
    static let known: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "minItems",
                                     "maxItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                                     "exclusiveMaximum", "enum", "const", "anyOf", "oneOf", "allOf", "$ref"]

    private mutating func add(_ node: SchemaNode) -> Int {
        nodes.append(node)
        return nodes.count - 1
    }

    /// Compiles the schema at `pointer` (memoized, so `$ref` cycles close).
    mutating func compile(_ schema: Value, pointer: String) throws -> Int {
        if let index = byPointer[pointer] { return index }
        let index = add(.anyOf([]))
        byPointer[pointer] = index
        nodes[index] = try body(schema, pointer: pointer)
        return index
    }

    private func invalid(_ keyword: String, _ pointer: String, _ expected: String, _ found: Value) -> StructuredOutputError {
        .invalidKeyword(keyword: keyword, pointer: pointer, expected: expected, found: (try? found.jsonString()) ?? "\(found)")
    }

    private mutating func body(_ schema: Value, pointer: String) throws -> SchemaNode {
        switch schema {
        case .bool(true): return .anyOf([anyValue(depth: options.anyValueDepth)])
        case .bool(false): throw StructuredOutputError.unsatisfiable(pointer: pointer, detail: "the schema is false")
        case .object: break
        default: throw invalid("schema", pointer, "an object or a boolean", schema)
        }
        guard case .object(let dict) = schema else { return .anyOf([]) }
        for key in dict.keys where !Self.known.contains(key) && !Self.ignored.contains(key) {
            throw StructuredOutputError.unsupportedKeyword(keyword: key, pointer: pointer + "/" + escape(key))
        }
        if let ref = dict["$ref"] {
            guard case .string(let target) = ref else { throw invalid("$ref", pointer, "a string", ref) }
            try onlyAnnotations(dict, besides: "$ref", pointer: pointer)
            return .anyOf([try reference(target, pointer: pointer)])
        }
        if let all = dict["allOf"] {
            guard case .array(let items) = all, items.count == 1 else {
                throw StructuredOutputError.unsupportedKeyword(keyword: "allOf", pointer: pointer + "/allOf")
            }
            try onlyAnnotations(dict, besides: "allOf", pointer: pointer)
            return .anyOf([try compile(items[0], pointer: pointer + "/allOf/0")])
        }
        for keyword in ["anyOf", "oneOf"] {
            guard let alternatives = dict[keyword] else { continue }
            guard case .array(let items) = alternatives, !items.isEmpty else {
                throw invalid(keyword, pointer, "a non-empty array of schemas", alternatives)
            }
            try onlyAnnotations(dict, besides: keyword, pointer: pointer)
            var out: [Int] = []
            for (i, item) in items.enumerated() { out.append(try compile(item, pointer: "\(pointer)/\(keyword)/\(i)")) }
            return .anyOf(out)
        }
        if let constant = dict["const"] { return .literals(try literals([constant], dict, pointer: pointer)) }
        if let values = dict["enum"] {
            guard case .array(let items) = values, !items.isEmpty else {
                throw invalid("enum", pointer, "a non-empty array", values)
            }
            return .literals(try literals(items, dict, pointer: pointer))
        }
        var types: [String]
        switch dict["type"] {
        case .string(let t): types = [t]
        case .array(let list):
            types = []
            for t in list {
                guard case .string(let name) = t else { throw invalid("type", pointer, "a type name", t) }
                types.append(name)
            }
            guard !types.isEmpty else { throw invalid("type", pointer, "a non-empty list", .array(list)) }
        case nil:
            if dict["properties"] != nil || dict["additionalProperties"] != nil || dict["required"] != nil { types = ["object"] }
            else if dict["items"] != nil { types = ["array"] }
            else if dict["minLength"] != nil || dict["maxLength"] != nil { types = ["string"] }
            else if dict["minimum"] != nil || dict["maximum"] != nil { types = ["number"] }
            else { return .anyOf([anyValue(depth: options.anyValueDepth)]) }
        case .some(let other): throw invalid("type", pointer, "a string or a list of strings", other)
        }
        var alternatives: [Int] = []
        for type in types {
            alternatives.append(add(try typed(type, dict, pointer: pointer)))
        }
        return alternatives.count == 1 ? nodes.removeLast() : .anyOf(alternatives)
    }

    private func onlyAnnotations(_ dict: OrderedDict, besides keyword: String, pointer: String) throws {
        for key in dict.keys where key != keyword && !Self.ignored.contains(key) {
            throw StructuredOutputError.unsupportedKeyword(keyword: key, pointer: pointer + "/" + escape(key) + " (beside \(keyword))")
        }
    }

    private func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private mutating func reference(_ target: String, pointer: String) throws -> Int {
        guard target == "#" || target.hasPrefix("#/") else {
            throw StructuredOutputError.unresolvedReference(ref: target, pointer: pointer)
        }
        var current = document
        let path = target == "#" ? [] : target.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        for part in path {
            switch current {
            case .object(let dict):
                guard let next = dict[part] else { throw StructuredOutputError.unresolvedReference(ref: target, pointer: pointer) }
                current = next
            case .array(let items):
                guard let i = Int(part), items.indices.contains(i) else {
                    throw StructuredOutputError.unresolvedReference(ref: target, pointer: pointer)
                }
                current = items[i]
            default: throw StructuredOutputError.unresolvedReference(ref: target, pointer: pointer)
            }
        }
        return try compile(current, pointer: target == "#" ? "" : String(target.dropFirst()))
    }

    private func integerKeyword(_ dict: OrderedDict, _ key: String, _ pointer: String) throws -> Int? {
        guard let value = dict[key] else { return nil }
        switch value {
        case .int(let i) where i >= 0: return i
        case .double(let d) where d >= 0 && d == d.rounded() && d < 1e9: return Int(d)
        default: throw invalid(key, pointer, "a non-negative integer", value)
        }
    }

    private func numberKeyword(_ dict: OrderedDict, _ key: String, _ pointer: String) throws -> Double? {
        guard let value = dict[key] else { return nil }
        switch value {
        case .int(let i): return Double(i)
        case .double(let d) where d.isFinite: return d
        default: throw invalid(key, pointer, "a number", value)
        }
    }

    private mutating func typed(_ type: String, _ dict: OrderedDict, pointer: String) throws -> SchemaNode {
        switch type {
        case "string":
            let minLength = try integerKeyword(dict, "minLength", pointer) ?? 0
            let maxLength = try integerKeyword(dict, "maxLength", pointer) ?? max(options.defaultMaxStringLength, minLength)
            guard minLength <= maxLength else {
                throw StructuredOutputError.unsatisfiable(pointer: pointer, detail: "minLength \(minLength) > maxLength \(maxLength)")
            }
            return .string(minLength: minLength, maxLength: maxLength)
        case "integer", "number":
            var c = NumberConstraint(integer: type == "integer", maxIntegerDigits: options.maxIntegerDigits,
                                     maxFractionDigits: type == "integer" ? 0 : options.maxFractionDigits)
            c.minimum = try numberKeyword(dict, "minimum", pointer)
            c.maximum = try numberKeyword(dict, "maximum", pointer)
            for (key, isMinimum) in [("exclusiveMinimum", true), ("exclusiveMaximum", false)] {
                guard let value = dict[key] else { continue }
                if case .bool(let flag) = value {        // draft 4 form
                    if isMinimum { c.exclusiveMinimum = flag } else { c.exclusiveMaximum = flag }
                } else if let bound = try numberKeyword(dict, key, pointer) {
                    if isMinimum {
                        if c.minimum.map({ bound >= $0 }) ?? true { c.minimum = bound; c.exclusiveMinimum = true }
                    } else if c.maximum.map({ bound <= $0 }) ?? true { c.maximum = bound; c.exclusiveMaximum = true }
                }
            }
            guard NumberMatcher.start(c).flatMap({ NumberMatcher.distance($0, c) }) != nil else {
                throw StructuredOutputError.unsatisfiable(pointer: pointer, detail: "no \(type) within the bounds has at most \(c.maxIntegerDigits) integer and \(c.maxFractionDigits) fraction digits")
            }
            return .number(c)
        case "boolean": return .literals([Array("false".utf8), Array("true".utf8)])
        case "null": return .literals([Array("null".utf8)])
        case "array":
            let items: Int
            if let schema = dict["items"] {
                if case .array = schema { throw StructuredOutputError.unsupportedKeyword(keyword: "items (tuple form)", pointer: pointer + "/items") }
                items = try compile(schema, pointer: pointer + "/items")
            } else {
                items = anyValue(depth: options.anyValueDepth - 1)
            }
            let minItems = try integerKeyword(dict, "minItems", pointer) ?? 0
            let maxItems = try integerKeyword(dict, "maxItems", pointer) ?? max(options.defaultMaxItems, minItems)
            guard minItems <= maxItems else {
                throw StructuredOutputError.unsatisfiable(pointer: pointer, detail: "minItems \(minItems) > maxItems \(maxItems)")
            }
            return .array(items: items, minItems: minItems, maxItems: maxItems)
        case "object", "json_object":
            return .object(try object(dict, pointer: pointer))
        default:
            throw invalid("type", pointer, "object, array, string, integer, number, boolean or null", .string(type))
        }
    }

    private mutating func object(_ dict: OrderedDict, pointer: String) throws -> ObjectSchema {
        var required: [String] = []
        if let list = dict["required"] {
            guard case .array(let names) = list else { throw invalid("required", pointer, "an array of strings", list) }
            for name in names {
                guard case .string(let s) = name else { throw invalid("required", pointer, "an array of strings", list) }
                required.append(s)
            }
        }
        var properties: [PropertySchema] = []
        if let props = dict["properties"] {
            guard case .object(let map) = props else { throw invalid("properties", pointer, "an object", props) }
            for (name, sub) in map.pairs {
                let node = try compile(sub, pointer: pointer + "/properties/" + escape(name))
                properties.append(PropertySchema(name: name, literal: Array(JSONText.string(name).utf8), node: node,
                                                 required: required.contains(name)))
            }
        }
        for name in required where !properties.contains(where: { $0.name == name }) {
            throw StructuredOutputError.unsupportedKeyword(keyword: "required (\"\(name)\" without a declared property)", pointer: pointer + "/required")
        }
        var additional: Int?
        switch dict["additionalProperties"] {
        case nil:
            let isAnyObject = dict["type"] == .string("json_object") || (dict["properties"] == nil && dict["type"] == .string("object"))
            if options.additionalPropertiesByDefault || isAnyObject { additional = anyValue(depth: options.anyValueDepth - 1) }
        case .bool(let allowed)?: if allowed { additional = anyValue(depth: options.anyValueDepth - 1) }
        case let schema?: additional = try compile(schema, pointer: pointer + "/additionalProperties")
        }
        if additional != nil && properties.count > 4096 {
            throw StructuredOutputError.unsupportedKeyword(keyword: "additionalProperties (with over 4096 properties)", pointer: pointer)
        }
        var object = ObjectSchema(properties: properties, additional: additional, maxAdditional: options.maxAdditionalProperties)
        object.allKeys = properties.map(\.literal).sorted { $0.lexicographicallyPrecedes($1) }
        for start in 0...properties.count {
            let end = object.firstRequired(from: start).map { $0 + 1 } ?? properties.count
            object.keyTables.append((start..<end).map { KeyEntry(literal: properties[$0].literal, property: $0) }
                .sorted { $0.literal.lexicographicallyPrecedes($1.literal) })
        }
        return object
    }

    private func literals(_ values: [Value], _ dict: OrderedDict, pointer: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for value in values {
            guard let text = JSONText.compact(value) else { throw invalid("enum", pointer, "JSON values", value) }
            if let type = dict["type"], !SchemaValidator.matchesType(value, type) { continue }
            out.append(Array(text.utf8))
        }
        guard !out.isEmpty else { throw StructuredOutputError.unsatisfiable(pointer: pointer, detail: "no enum value has the given type") }
        return Array(Set(out)).sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Node of any JSON value nested at most `depth` containers deep.
    private mutating func anyValue(depth: Int) -> Int {
        let depth = max(depth, 0)
        if let index = anyNodes[depth] { return index }
        var alternatives = [
            add(.string(minLength: 0, maxLength: options.defaultMaxStringLength)),
            add(.number(NumberConstraint(integer: false, maxIntegerDigits: options.maxIntegerDigits, maxFractionDigits: options.maxFractionDigits))),
            add(.literals([Array("false".utf8), Array("null".utf8), Array("true".utf8)])),
        ]
        if depth > 0 {
            let inner = anyValue(depth: depth - 1)
            alternatives.append(add(.array(items: inner, minItems: 0, maxItems: options.defaultMaxItems)))
            alternatives.append(add(.object(ObjectSchema(properties: [], additional: inner, maxAdditional: options.maxAdditionalProperties,
                                                         keyTables: [[]], allKeys: [], requiredCost: [0]))))
        }
        let index = add(.anyOf(alternatives))
        anyNodes[depth] = index
        return index
    }

    /// Rejects `anyOf` cycles that consume nothing (`$ref` loops such as `A: {$ref: B}, B: {$ref: A}`).
    static func checkNoEmptyCycles(_ nodes: [SchemaNode]) throws {
        var state = [UInt8](repeating: 0, count: nodes.count)   // 0 new, 1 on the path, 2 done
        func visit(_ i: Int) throws {
            if state[i] == 2 { return }
            if state[i] == 1 { throw StructuredOutputError.unsatisfiable(pointer: "", detail: "a $ref/anyOf cycle that never reaches a value") }
            state[i] = 1
            if case .anyOf(let alternatives) = nodes[i] { for a in alternatives { try visit(a) } }
            state[i] = 2
        }
        for i in nodes.indices { try visit(i) }
    }

    /// Shortest serialization of every node, by fixed-point iteration (recursion allowed).
    static func minimalSizes(_ nodes: [SchemaNode]) -> [Int] {
        let inf = JSONSchema.infinite
        var size = [Int](repeating: inf, count: nodes.count)
        func add(_ a: Int, _ b: Int) -> Int { min(a + b, inf) }
        var changed = true
        while changed {
            changed = false
            for i in nodes.indices {
                let new: Int
                switch nodes[i] {
                case .anyOf(let alternatives): new = alternatives.map { size[$0] }.min() ?? inf
                case .string(let minLength, _): new = 2 + minLength
                case .number(let c): new = NumberMatcher.start(c).flatMap { NumberMatcher.distance($0, c) } ?? inf
                case .literals(let texts): new = texts.map(\.count).min() ?? inf
                case .array(let items, let minItems, _):
                    new = minItems == 0 ? 2 : add(2, min(inf, minItems * min(add(size[items], 1), inf / max(minItems, 1))) - 1)
                case .object(let object):
                    var total = 2, count = 0
                    for p in object.properties where p.required {
                        total = add(total, add(p.literal.count + 1, size[p.node]))
                        count += 1
                    }
                    new = count > 0 ? add(total, count - 1) : total
                }
                if new < size[i] { size[i] = new; changed = true }
            }
        }
        return size
    }
}

/// Compact JSON text of values (what enum/const literals must look like in the output).
enum JSONText {
    static func string(_ s: String) -> String { Value.jsonStringLiteral(s) }

    static func compact(_ value: Value) -> String? {
        switch value {
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            guard d.isFinite else { return nil }
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return "\(d)"
        case .string(let s): return string(s)
        case .array(let items), .tuple(let items):
            var parts: [String] = []
            for item in items { guard let t = compact(item) else { return nil }; parts.append(t) }
            return "[" + parts.joined(separator: ",") + "]"
        case .object(let dict):
            var parts: [String] = []
            for (k, v) in dict.pairs { guard let t = compact(v) else { return nil }; parts.append(string(k) + ":" + t) }
            return "{" + parts.joined(separator: ",") + "}"
        default: return nil
        }
    }
}
