/// A parsed JSON value with its dotted path, for precise error messages.
struct JSONNode {
    let value: JSONValue
    let path: String
    let source: String

    private func child(_ value: JSONValue, _ name: String) -> JSONNode {
        JSONNode(value: value, path: path.isEmpty ? name : path + "." + name, source: source)
    }

    private func mismatch(_ expected: String) -> TokenizerError {
        .invalidField(source: source, field: path.isEmpty ? "(root)" : path, expected: expected, found: value.summary)
    }

    /// Members of an object, in document order.
    func members() throws -> [(String, JSONValue)] {
        guard case let .object(members) = value else { throw mismatch("an object") }
        return members
    }

    /// A required field (null counts as missing).
    func field(_ name: String) throws -> JSONNode {
        guard let node = try optionalField(name) else {
            throw TokenizerError.missingField(source: source, field: path.isEmpty ? name : path + "." + name)
        }
        return node
    }

    /// An optional field; nil when absent or null. A repeated key takes its last value.
    func optionalField(_ name: String) throws -> JSONNode? {
        guard let found = try members().last(where: { $0.0 == name })?.1 else { return nil }
        if case .null = found { return nil }
        return child(found, name)
    }

    func string() throws -> String {
        guard case let .string(s) = value else { throw mismatch("a string") }
        return s
    }

    func bool() throws -> Bool {
        guard case let .bool(b) = value else { throw mismatch("a boolean") }
        return b
    }

    func int() throws -> Int {
        guard case let .number(_, integer?) = value else { throw mismatch("an integer") }
        return integer
    }

    func double() throws -> Double {
        guard case let .number(d, _) = value else { throw mismatch("a number") }
        return d
    }

    func array() throws -> [JSONNode] {
        guard case let .array(items) = value else { throw mismatch("an array") }
        return items.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", source: source) }
    }

    /// Optional boolean field with a default.
    func bool(_ name: String, default fallback: Bool) throws -> Bool {
        try optionalField(name)?.bool() ?? fallback
    }

    /// The `type` field of a stage object.
    func type() throws -> String { try field("type").string() }
}
