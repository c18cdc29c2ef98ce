import Foundation

/// A value from `JSONSerialization` with its dotted path, for precise error messages.
struct JSONNode {
    let value: Any
    let path: String
    let source: String

    var isNull: Bool { value is NSNull }

    private func describeType() -> String {
        switch value {
        case is NSNull: return "null"
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case is NSNumber, is Int, is Double, is Bool: return "a number or boolean (\(value))"
        default: return String(describing: Swift.type(of: value))
        }
    }

    private func child(_ value: Any, _ name: String) -> JSONNode {
        JSONNode(value: value, path: path.isEmpty ? name : path + "." + name, source: source)
    }

    func object() throws -> [String: Any] {
        guard let object = value as? [String: Any] else {
            throw TokenizerError.invalidField(source: source, field: path, expected: "an object", found: describeType())
        }
        return object
    }

    /// A required field (null counts as missing).
    func field(_ name: String) throws -> JSONNode {
        guard let node = try optionalField(name) else {
            throw TokenizerError.missingField(source: source, field: path.isEmpty ? name : path + "." + name)
        }
        return node
    }

    /// An optional field; nil when absent or null.
    func optionalField(_ name: String) throws -> JSONNode? {
        guard let value = try object()[name], !(value is NSNull) else { return nil }
        return child(value, name)
    }

    func string() throws -> String {
        guard let s = value as? String else {
            throw TokenizerError.invalidField(source: source, field: path, expected: "a string", found: describeType())
        }
        return s
    }

    func bool() throws -> Bool {
        if let number = value as? NSNumber, !(value is String) {
            let raw = number.int64Value
            if raw == 0 || raw == 1, number.doubleValue == Double(raw) { return raw == 1 }
        }
        if let b = value as? Bool { return b }
        throw TokenizerError.invalidField(source: source, field: path, expected: "a boolean", found: describeType())
    }

    func int() throws -> Int {
        if let i = value as? Int { return i }
        if let number = value as? NSNumber, number.doubleValue == Double(number.int64Value) {
            return Int(number.int64Value)
        }
        throw TokenizerError.invalidField(source: source, field: path, expected: "an integer", found: describeType())
    }

    func double() throws -> Double {
        if let number = value as? NSNumber { return number.doubleValue }
        if let d = value as? Double { return d }
        throw TokenizerError.invalidField(source: source, field: path, expected: "a number", found: describeType())
    }

    func array() throws -> [JSONNode] {
        guard let array = value as? [Any] else {
            throw TokenizerError.invalidField(source: source, field: path, expected: "an array", found: describeType())
        }
        return array.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", source: source) }
    }

    /// Optional boolean field with a default.
    func bool(_ name: String, default fallback: Bool) throws -> Bool {
        try optionalField(name)?.bool() ?? fallback
    }

    /// The `type` field of a stage object.
    func type() throws -> String { try field("type").string() }
}
