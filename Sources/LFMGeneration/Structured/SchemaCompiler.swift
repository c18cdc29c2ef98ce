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
    /// Tokens that must still fit after the value (the end marker of a tool call).
    public let trailingTokens: Int

    static let infinite = Int.max / 4

    /// Compiles `schema` (a JSON schema document).
    /// - Throws: `StructuredOutputError`; `tooComplex` naming the bound of `options` (nodes,
    ///   literals, live alternatives, time) that the schema exceeds.
    public convenience init(_ schema: Value, options: SchemaCompileOptions = SchemaCompileOptions()) throws {
        try self.init(source: schema, options: options, trailingTokens: 0) { try $0.compile(schema, pointer: "") }
    }

    /// The schema of one LFM2 tool call of any of `tools`: `[name(key=value, ...)]` with the
    /// arguments following the tool's JSON-schema `parameters` (nil: none), written as Python
    /// literals, as `ToolCallParser` reads them. `trailingTokens` is 1: the end marker must fit too.
    public convenience init(toolCalls tools: [(name: String, parameters: Value?)], options: SchemaCompileOptions = SchemaCompileOptions()) throws {
        guard !tools.isEmpty else { throw StructuredOutputError.invalidResponseFormat("no tools to call") }
        var python = options
        python.pythonLiterals = true
        let source = Value.array(tools.map { .dict([("name", .string($0.name)), ("parameters", $0.parameters ?? .none)]) })
        try self.init(source: source, options: python, trailingTokens: 1) { compiler in
            var roots: [Int] = []
            for (i, tool) in tools.enumerated() {
                roots.append(try compiler.compileCall(name: tool.name, parameters: tool.parameters, pointer: "/tools/\(i)/parameters"))
            }
            if roots.count == 1 { return roots[0] }
            compiler.nodes.append(.anyOf(roots))
            return compiler.nodes.count - 1
        }
    }

    private init(source schema: Value, options: SchemaCompileOptions, trailingTokens: Int,
                 compile: (inout SchemaCompiler) throws -> Int) throws {
        var compiler = SchemaCompiler(document: schema, options: options)
        let root = try compile(&compiler)
        var nodes = compiler.nodes
        try SchemaCompiler.checkNoEmptyCycles(nodes)
        try compiler.checkAlternatives(root: root)
        let minSize = SchemaCompiler.minimalSizes(nodes)
        guard minSize[root] < JSONSchema.infinite else {
            throw StructuredOutputError.unsatisfiable(pointer: "", detail: "no finite value satisfies it (required recursion?)")
        }
        for i in nodes.indices {
            guard case .object(var object) = nodes[i] else { continue }
            var cost = [Int](repeating: 0, count: object.properties.count + 1)
            for j in stride(from: object.properties.count - 1, through: 0, by: -1) {
                let p = object.properties[j]
                let separators = object.style.quotedKeys ? 2 : 1   // a bare key's literal holds its `=`
                cost[j] = cost[j + 1] + (p.required ? p.literal.count + separators + minSize[p.node] : 0)
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
        self.trailingTokens = trailingTokens
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
    var document: Value
    let options: SchemaCompileOptions
    var nodes: [SchemaNode] = []
    var byPointer: [String: Int] = [:]
    private var anyNodes: [Int: Int] = [:]
    /// Enum values, declared properties and key-table entries so far (bounded by `maxLiterals`).
    private var literalCount = 0
    /// The time limit.
    private let clock: WorkMeter

    init(document: Value, options: SchemaCompileOptions) {
        self.document = document
        self.options = options
        clock = WorkMeter(limit: .max, bound: "", options: options)
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
        guard nodes.count < options.maxNodes else {
            throw StructuredOutputError.tooComplex(bound: "maxNodes \(options.maxNodes)",
                                                   detail: "the schema compiles to more than \(options.maxNodes) nodes (at '\(pointer)')")
        }
        try clock.checkClock("compiling the schema")
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
        case "boolean": return .literals([Array(spelling(false).utf8), Array(spelling(true).utf8)])
        case "null": return .literals([Array(nullSpelling.utf8)])
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

    /// Counts `count` more literals (enum values, properties, key-table entries) against `maxLiterals`.
    private mutating func countLiterals(_ count: Int, _ pointer: String) throws {
        literalCount += count
        guard literalCount <= options.maxLiterals else {
            throw StructuredOutputError.tooComplex(bound: "maxLiterals \(options.maxLiterals)",
                                                   detail: "the schema has more than \(options.maxLiterals) enum values, properties and property-order entries (at '\(pointer)')")
        }
    }

    private mutating func object(_ dict: OrderedDict, pointer: String) throws -> ObjectSchema {
        var required: Set<String> = []
        if let list = dict["required"] {
            guard case .array(let names) = list else { throw invalid("required", pointer, "an array of strings", list) }
            try countLiterals(names.count, pointer)
            for name in names {
                guard case .string(let s) = name else { throw invalid("required", pointer, "an array of strings", list) }
                required.insert(s)
            }
        }
        var properties: [PropertySchema] = []
        if let props = dict["properties"] {
            guard case .object(let map) = props else { throw invalid("properties", pointer, "an object", props) }
            try countLiterals(map.pairs.count, pointer)
            for (name, sub) in map.pairs {
                let node = try compile(sub, pointer: pointer + "/properties/" + escape(name))
                properties.append(PropertySchema(name: name, literal: Array(JSONText.string(name).utf8), node: node,
                                                 required: required.contains(name)))
            }
        }
        let declared = Set(properties.map(\.name))
        for name in required.sorted() where !declared.contains(name) {
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
        try buildKeyTables(&object, pointer: pointer)
        return object
    }

    /// The sorted key literals and, per next-declared index, the keys that may come next.
    private mutating func buildKeyTables(_ object: inout ObjectSchema, pointer: String) throws {
        let properties = object.properties
        object.allKeys = properties.map(\.literal).sorted { $0.lexicographicallyPrecedes($1) }
        object.keyTables = []
        for start in 0...properties.count {
            let end = object.firstRequired(from: start).map { $0 + 1 } ?? properties.count
            try countLiterals(end - start, pointer)
            object.keyTables.append((start..<end).map { KeyEntry(literal: properties[$0].literal, property: $0) }
                .sorted { $0.literal.lexicographicallyPrecedes($1.literal) })
        }
    }

    private func spelling(_ flag: Bool) -> String {
        options.pythonLiterals ? (flag ? "True" : "False") : (flag ? "true" : "false")
    }

    private var nullSpelling: String { options.pythonLiterals ? "None" : "null" }

    /// Compiles the keyword arguments of a call of `name` whose parameters are the JSON schema
    /// `parameters` (nil: none): a copy of its object node spelled `[name(key=value, ...)]`.
    /// Only arguments whose names are identifiers can be written; additional ones are not allowed.
    mutating func compileCall(name: String, parameters: Value?, pointer: String) throws -> Int {
        var object = ObjectSchema(properties: [], additional: nil, maxAdditional: 0)
        if let parameters, parameters != .dict([]) {
            let document = self.document
            self.document = parameters
            byPointer = [:]
            defer { self.document = document; byPointer = [:] }
            var node = try compile(parameters, pointer: "")
            // Through single-alternative wrappers ($ref, one-element allOf) to the object itself.
            while case .anyOf(let alternatives) = nodes[node], alternatives.count == 1 { node = alternatives[0] }
            guard case .object(let compiled) = nodes[node] else {
                throw StructuredOutputError.invalidKeyword(keyword: "parameters", pointer: pointer, expected: "an object schema",
                                                           found: (try? parameters.jsonString()) ?? "\(parameters)")
            }
            object = compiled
        }
        var properties: [PropertySchema] = []
        for p in object.properties {
            guard SchemaCompiler.isIdentifier(p.name) else {
                if p.required {
                    throw StructuredOutputError.unsupportedKeyword(keyword: "required argument name '\(p.name)' (not an identifier, so it cannot be written in LFM2's call syntax)",
                                                                   pointer: pointer + "/properties")
                }
                continue
            }
            properties.append(PropertySchema(name: p.name, literal: Array((p.name + "=").utf8), node: p.node, required: p.required))
        }
        var call = ObjectSchema(properties: properties, additional: nil, maxAdditional: 0)
        call.style = .call(name)
        try buildKeyTables(&call, pointer: pointer)
        return add(.object(call))
    }

    /// Whether `name` is a Python identifier as LFM2's call parser reads argument names.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0.properties.numericType != nil }
    }

    private mutating func literals(_ values: [Value], _ dict: OrderedDict, pointer: String) throws -> [[UInt8]] {
        try countLiterals(values.count, pointer)
        var out: [[UInt8]] = []
        for value in values {
            guard let text = JSONText.compact(value, python: options.pythonLiterals) else { throw invalid("enum", pointer, "JSON values", value) }
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
            add(.literals([Array(spelling(false).utf8), Array(nullSpelling.utf8), Array(spelling(true).utf8)])),
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

    /// Rejects schemas where more than `maxAlternatives` alternatives can be alive at one place of
    /// the output. The count at a node: the sum over an `anyOf`'s alternatives, the largest over a
    /// container's children (one child is written at a time), 1 for the rest. Round `k` counts
    /// with at most `k` container levels (the matcher nests at most `maxNesting`), each round in
    /// an order where `anyOf` alternatives come before the node (their graph is acyclic), so the
    /// cost is (`maxNesting` + 2) passes over the nodes.
    func checkAlternatives(root: Int) throws {
        let cap = options.maxAlternatives
        // Post-order of the anyOf edges, iteratively (chains can be long).
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        var seen = [Bool](repeating: false, count: nodes.count)
        for start in nodes.indices where !seen[start] {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            seen[start] = true
            while let top = stack.last {
                let alternatives: [Int]
                if case .anyOf(let list) = nodes[top.node] { alternatives = list } else { alternatives = [] }
                if top.next < alternatives.count {
                    stack[stack.count - 1].next += 1
                    let child = alternatives[top.next]
                    if !seen[child] { seen[child] = true; stack.append((child, 0)) }
                } else {
                    order.append(top.node)
                    stack.removeLast()
                }
            }
        }
        var previous = [Int](repeating: 1, count: nodes.count)
        var live = previous
        for _ in 0...(options.maxNesting + 1) {
            for i in order {
                switch nodes[i] {
                case .anyOf(let alternatives): live[i] = min(alternatives.reduce(0) { $0 + live[$1] }, cap + 1)
                case .object(let object):
                    var widest = object.additional.map { previous[$0] } ?? 1
                    for p in object.properties { widest = max(widest, previous[p.node]) }
                    live[i] = widest
                case .array(let items, _, _): live[i] = previous[items]
                case .string, .number, .literals: live[i] = 1
                }
            }
            if live == previous || live[root] > cap { break }
            previous = live
        }
        guard live[root] > cap else { return }
        // Name the outermost place (shortest pointer) whose alternatives exceed the bound by themselves.
        var place: String?
        for (pointer, index) in byPointer where live[index] > cap {
            if let current = place, (current.count, current) <= (pointer.count, pointer) { continue }
            place = pointer
        }
        throw StructuredOutputError.tooComplex(
            bound: "maxAlternatives \(cap)",
            detail: "more than \(cap) anyOf/oneOf alternatives can be alive at once at '\(place ?? "")' (nested alternatives add up)")
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
                    var total = object.style.open.count + object.style.close.count, count = 0
                    for p in object.properties where p.required {
                        total = add(total, add(p.literal.count + (object.style.quotedKeys ? 1 : 0), size[p.node]))
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

    /// The compact text of `value`; with `python`, `True`, `False` and `None` for the JSON literals.
    static func compact(_ value: Value, python: Bool = false) -> String? {
        switch value {
        case .none: return python ? "None" : "null"
        case .bool(let b): return python ? (b ? "True" : "False") : (b ? "true" : "false")
        case .int(let i): return String(i)
        case .double(let d):
            guard d.isFinite else { return nil }
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return "\(d)"
        case .string(let s): return string(s)
        case .array(let items), .tuple(let items):
            var parts: [String] = []
            for item in items { guard let t = compact(item, python: python) else { return nil }; parts.append(t) }
            return "[" + parts.joined(separator: ",") + "]"
        case .object(let dict):
            var parts: [String] = []
            for (k, v) in dict.pairs { guard let t = compact(v, python: python) else { return nil }; parts.append(string(k) + ":" + t) }
            return "{" + parts.joined(separator: ",") + "}"
        default: return nil
        }
    }
}
