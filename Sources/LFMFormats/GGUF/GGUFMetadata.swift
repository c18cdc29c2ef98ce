// Ordered GGUF metadata with typed look-ups.

/// The key/value metadata of a GGUF file, in file order, with typed accessors that throw
/// `GGUFError.missingKey` / `.typeMismatch` instead of returning defaults.
public struct GGUFMetadata: Sendable, Equatable {
    /// All entries in file order.
    public let entries: [(key: String, value: GGUFValue)]
    private let index: [String: Int]

    /// Builds metadata from ordered entries; throws `GGUFError.duplicateKey` on a repeated key.
    public init(_ entries: [(key: String, value: GGUFValue)]) throws {
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() {
            guard index.updateValue(i, forKey: entry.key) == nil else { throw GGUFError.duplicateKey(entry.key) }
        }
        self.entries = entries
        self.index = index
    }

    public static func == (lhs: GGUFMetadata, rhs: GGUFMetadata) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value.bitwiseEquals($1.value) }
    }

    /// Number of entries.
    public var count: Int { entries.count }
    /// Keys in file order.
    public var keys: [String] { entries.map(\.key) }

    /// The value for `key`, or nil.
    public subscript(key: String) -> GGUFValue? {
        index[key].map { entries[$0].value }
    }

    /// Whether `key` is present.
    public func contains(_ key: String) -> Bool { index[key] != nil }

    /// The value for `key`; throws `GGUFError.missingKey` when absent.
    public func value(_ key: String) throws -> GGUFValue {
        guard let value = self[key] else { throw GGUFError.missingKey(key) }
        return value
    }

    private func mismatch(_ key: String, _ expected: String, _ found: GGUFValue) -> GGUFError {
        .typeMismatch(key: key, expected: expected, found: found.type == .array ? found.description : found.type.description)
    }

    /// The uint8 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func uint8(_ key: String) throws -> UInt8 {
        let v = try value(key)
        guard case .uint8(let x) = v else { throw mismatch(key, "uint8", v) }
        return x
    }
    /// The int8 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func int8(_ key: String) throws -> Int8 {
        let v = try value(key)
        guard case .int8(let x) = v else { throw mismatch(key, "int8", v) }
        return x
    }
    /// The uint16 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func uint16(_ key: String) throws -> UInt16 {
        let v = try value(key)
        guard case .uint16(let x) = v else { throw mismatch(key, "uint16", v) }
        return x
    }
    /// The int16 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func int16(_ key: String) throws -> Int16 {
        let v = try value(key)
        guard case .int16(let x) = v else { throw mismatch(key, "int16", v) }
        return x
    }
    /// The uint32 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func uint32(_ key: String) throws -> UInt32 {
        let v = try value(key)
        guard case .uint32(let x) = v else { throw mismatch(key, "uint32", v) }
        return x
    }
    /// The int32 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func int32(_ key: String) throws -> Int32 {
        let v = try value(key)
        guard case .int32(let x) = v else { throw mismatch(key, "int32", v) }
        return x
    }
    /// The uint64 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func uint64(_ key: String) throws -> UInt64 {
        let v = try value(key)
        guard case .uint64(let x) = v else { throw mismatch(key, "uint64", v) }
        return x
    }
    /// The int64 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func int64(_ key: String) throws -> Int64 {
        let v = try value(key)
        guard case .int64(let x) = v else { throw mismatch(key, "int64", v) }
        return x
    }
    /// The float32 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func float32(_ key: String) throws -> Float {
        let v = try value(key)
        guard case .float32(let x) = v else { throw mismatch(key, "float32", v) }
        return x
    }
    /// The float64 stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func float64(_ key: String) throws -> Double {
        let v = try value(key)
        guard case .float64(let x) = v else { throw mismatch(key, "float64", v) }
        return x
    }
    /// The bool stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard case .bool(let x) = v else { throw mismatch(key, "bool", v) }
        return x
    }
    /// The string stored under `key`; throws `missingKey` or `typeMismatch` (no conversion).
    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard case .string(let x) = v else { throw mismatch(key, "string", v) }
        return x
    }
    /// The array stored under `key`, of any element type.
    public func array(_ key: String) throws -> GGUFArray {
        let v = try value(key)
        guard case .array(let x) = v else { throw mismatch(key, "array", v) }
        return x
    }

    /// An integer of any stored integer type, converted exactly to `Int` (converters differ on
    /// whether they write e.g. a context length as uint32 or uint64); throws when it does not fit.
    public func integer(_ key: String) throws -> Int {
        let v = try value(key)
        guard let wide = v.integerValue else {
            if case .uint64(let big) = v { throw GGUFError.valueOutOfRange(key: key, value: "\(big)", expected: "Int") }
            throw mismatch(key, "an integer", v)
        }
        guard let x = Int(exactly: wide) else { throw GGUFError.valueOutOfRange(key: key, value: "\(wide)", expected: "Int") }
        return x
    }

    /// A float32 or float64 value as `Double` (float32 widens exactly).
    public func floatingPoint(_ key: String) throws -> Double {
        let v = try value(key)
        switch v {
        case .float32(let x): return Double(x)
        case .float64(let x): return x
        default: throw mismatch(key, "float32 or float64", v)
        }
    }

    /// The string array stored under `key`; throws `missingKey` or `typeMismatch`.
    public func stringArray(_ key: String) throws -> [String] {
        let a = try array(key)
        guard case .string(let x) = a else { throw GGUFError.typeMismatch(key: key, expected: "array of string", found: "array of \(a.elementType)") }
        return x
    }
    /// The int32 array stored under `key`; throws `missingKey` or `typeMismatch`.
    public func int32Array(_ key: String) throws -> [Int32] {
        let a = try array(key)
        guard case .int32(let x) = a else { throw GGUFError.typeMismatch(key: key, expected: "array of int32", found: "array of \(a.elementType)") }
        return x
    }
    /// The uint32 array stored under `key`; throws `missingKey` or `typeMismatch`.
    public func uint32Array(_ key: String) throws -> [UInt32] {
        let a = try array(key)
        guard case .uint32(let x) = a else { throw GGUFError.typeMismatch(key: key, expected: "array of uint32", found: "array of \(a.elementType)") }
        return x
    }
    /// The float32 array stored under `key`; throws `missingKey` or `typeMismatch`.
    public func float32Array(_ key: String) throws -> [Float] {
        let a = try array(key)
        guard case .float32(let x) = a else { throw GGUFError.typeMismatch(key: key, expected: "array of float32", found: "array of \(a.elementType)") }
        return x
    }
    /// The bool array stored under `key`; throws `missingKey` or `typeMismatch`.
    public func boolArray(_ key: String) throws -> [Bool] {
        let a = try array(key)
        guard case .bool(let x) = a else { throw GGUFError.typeMismatch(key: key, expected: "array of bool", found: "array of \(a.elementType)") }
        return x
    }

    /// An array of integers of any integer element type, converted exactly to `Int`
    /// (e.g. per-layer head counts, stored as int32 or uint32 depending on the converter).
    public func integerArray(_ key: String) throws -> [Int] {
        let a = try array(key)
        func convert<T: BinaryInteger>(_ xs: [T]) throws -> [Int] {
            try xs.map { x in
                guard let v = Int(exactly: x) else { throw GGUFError.valueOutOfRange(key: key, value: "\(x)", expected: "Int") }
                return v
            }
        }
        switch a {
        case .uint8(let x): return try convert(x)
        case .int8(let x): return try convert(x)
        case .uint16(let x): return try convert(x)
        case .int16(let x): return try convert(x)
        case .uint32(let x): return try convert(x)
        case .int32(let x): return try convert(x)
        case .uint64(let x): return try convert(x)
        case .int64(let x): return try convert(x)
        default: throw GGUFError.typeMismatch(key: key, expected: "array of integers", found: "array of \(a.elementType)")
        }
    }
}
