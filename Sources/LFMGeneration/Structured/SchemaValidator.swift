import LFMChat

/// Checks JSON values against a JSON schema, for the keywords `JSONSchema` compiles (and with
/// JSON Schema's own defaults: `additionalProperties` absent means allowed, `oneOf` means exactly
/// one). Independent of the compiler, so it can check what constrained decoding produced.
public struct SchemaValidator: Sendable {
    /// The schema document (`$ref`s resolve inside it).
    public let schema: Value

    /// A validator for `schema`.
    public init(schema: Value) { self.schema = schema }

    /// The first violation found (a JSON pointer into the value and what is wrong), or nil when valid.
    public func firstError(_ value: Value) -> String? {
        check(value, schema, path: "", depth: 0)
    }

    /// Whether `value` is valid.
    public func isValid(_ value: Value) -> Bool { firstError(value) == nil }

    private func resolve(_ ref: String) -> Value? {
        guard ref == "#" || ref.hasPrefix("#/") else { return nil }
        var current = schema
        if ref == "#" { return current }
        for raw in ref.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let part = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current {
            case .object(let d): guard let next = d[part] else { return nil }; current = next
            case .array(let a): guard let i = Int(part), a.indices.contains(i) else { return nil }; current = a[i]
            default: return nil
            }
        }
        return current
    }

    private func check(_ value: Value, _ schema: Value, path: String, depth: Int) -> String? {
        guard depth < 256 else { return "\(path): schema recursion deeper than 256" }
        switch schema {
        case .bool(let b): return b ? nil : "\(path): the schema is false"
        case .object: break
        default: return "\(path): the schema is not an object"
        }
        guard case .object(let s) = schema else { return nil }
        if case .string(let ref)? = s["$ref"] {
            guard let target = resolve(ref) else { return "\(path): unresolvable $ref \(ref)" }
            if let e = check(value, target, path: path, depth: depth + 1) { return e }
        }
        if case .array(let all)? = s["allOf"] {
            for sub in all { if let e = check(value, sub, path: path, depth: depth + 1) { return e } }
        }
        if case .array(let any)? = s["anyOf"] {
            if !any.contains(where: { check(value, $0, path: path, depth: depth + 1) == nil }) { return "\(path): matches no anyOf alternative" }
        }
        if case .array(let one)? = s["oneOf"] {
            let matches = one.filter { check(value, $0, path: path, depth: depth + 1) == nil }.count
            if matches != 1 { return "\(path): matches \(matches) oneOf alternatives, expected exactly 1" }
        }
        if let c = s["const"], !SchemaValidator.jsonEqual(value, c) { return "\(path): differs from const" }
        if case .array(let options)? = s["enum"], !options.contains(where: { SchemaValidator.jsonEqual(value, $0) }) {
            return "\(path): not one of the enum values"
        }
        if let type = s["type"], !SchemaValidator.matchesType(value, type) { return "\(path): wrong type" }
        switch value {
        case .string(let text):
            let length = text.unicodeScalars.count
            if let n = number(s["minLength"]), Double(length) < n { return "\(path): shorter than minLength" }
            if let n = number(s["maxLength"]), Double(length) > n { return "\(path): longer than maxLength" }
        case .int, .double:
            let v = number(value) ?? 0
            if let n = number(s["minimum"]), v < n { return "\(path): below minimum" }
            if let n = number(s["maximum"]), v > n { return "\(path): above maximum" }
            if let n = number(s["exclusiveMinimum"]), v <= n { return "\(path): not above exclusiveMinimum" }
            if let n = number(s["exclusiveMaximum"]), v >= n { return "\(path): not below exclusiveMaximum" }
            if s["exclusiveMinimum"] == .bool(true), let n = number(s["minimum"]), v <= n { return "\(path): not above minimum" }
            if s["exclusiveMaximum"] == .bool(true), let n = number(s["maximum"]), v >= n { return "\(path): not below maximum" }
        case .array(let items):
            if let n = number(s["minItems"]), Double(items.count) < n { return "\(path): fewer than minItems" }
            if let n = number(s["maxItems"]), Double(items.count) > n { return "\(path): more than maxItems" }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() {
                    if let e = check(item, itemSchema, path: "\(path)/\(i)", depth: depth + 1) { return e }
                }
            }
        case .object(let object):
            var declared = OrderedDict()
            if case .object(let props)? = s["properties"] { declared = props }
            if case .array(let required)? = s["required"] {
                for case .string(let name) in required where object[name] == nil { return "\(path): missing required \(name)" }
            }
            for (key, v) in object.pairs {
                if let sub = declared[key] {
                    if let e = check(v, sub, path: "\(path)/\(key)", depth: depth + 1) { return e }
                } else if let extra = s["additionalProperties"] {
                    if let e = check(v, extra, path: "\(path)/\(key)", depth: depth + 1) { return e }
                }
            }
        default: break
        }
        return nil
    }

    private func number(_ v: Value?) -> Double? {
        switch v {
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: return nil
        }
    }

    /// Whether `value` has the JSON type (or one of the types) named by `type`.
    public static func matchesType(_ value: Value, _ type: Value) -> Bool {
        switch type {
        case .array(let list): return list.contains { matchesType(value, $0) }
        case .string(let name):
            switch (name, value) {
            case ("null", .none), ("boolean", .bool), ("string", .string), ("array", .array),
                 ("object", .object), ("json_object", .object), ("number", .int), ("number", .double), ("integer", .int):
                return true
            case ("integer", .double(let d)): return d.isFinite && d == d.rounded()
            default: return false
            }
        default: return false
        }
    }

    /// JSON equality: numbers compare by value, booleans are not numbers, objects ignore key order.
    public static func jsonEqual(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { jsonEqual($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.pairs.allSatisfy { key, v in y[key].map { jsonEqual(v, $0) } ?? false }
        default: return false
        }
    }
}
