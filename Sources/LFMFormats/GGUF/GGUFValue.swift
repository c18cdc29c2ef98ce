// GGUF metadata values.

/// The type tag of a GGUF metadata value (`gguf_type` in ggml).
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0
    case int8 = 1
    case uint16 = 2
    case int16 = 3
    case uint32 = 4
    case int32 = 5
    case float32 = 6
    case bool = 7
    case string = 8
    case array = 9
    case uint64 = 10
    case int64 = 11
    case float64 = 12

    /// Encoded size of one value of a fixed-size type; `nil` for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// Smallest number of bytes one value of this type takes in a file (a string is at least its
    /// 8-byte length, an array its 4-byte element type and 8-byte count).
    var minimumEncodedSize: Int {
        switch self {
        case .string: return 8
        case .array: return 12
        default: return fixedSize ?? 1
        }
    }

    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }
}

/// A typed GGUF array. Elements keep their stored type; arrays may nest.
public enum GGUFArray: Equatable, Sendable {
    case uint8([UInt8])
    case int8([Int8])
    case uint16([UInt16])
    case int16([Int16])
    case uint32([UInt32])
    case int32([Int32])
    case float32([Float])
    case bool([Bool])
    case string([String])
    case uint64([UInt64])
    case int64([Int64])
    case float64([Double])
    /// An array of arrays. GGUF stores one element type for the outer array (`array`); the inner arrays
    /// each carry their own element type.
    case array([GGUFArray])

    /// The element type tag.
    public var elementType: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        case .array: return .array
        }
    }

    /// Number of elements.
    public var count: Int {
        switch self {
        case .uint8(let a): return a.count
        case .int8(let a): return a.count
        case .uint16(let a): return a.count
        case .int16(let a): return a.count
        case .uint32(let a): return a.count
        case .int32(let a): return a.count
        case .float32(let a): return a.count
        case .bool(let a): return a.count
        case .string(let a): return a.count
        case .uint64(let a): return a.count
        case .int64(let a): return a.count
        case .float64(let a): return a.count
        case .array(let a): return a.count
        }
    }

    /// Equality that compares floats by bit pattern (so NaN payloads and -0 round-trip exactly).
    public func bitwiseEquals(_ other: GGUFArray) -> Bool {
        switch (self, other) {
        case (.float32(let a), .float32(let b)): return a.map(\.bitPattern) == b.map(\.bitPattern)
        case (.float64(let a), .float64(let b)): return a.map(\.bitPattern) == b.map(\.bitPattern)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.bitwiseEquals($1) }
        default: return self == other
        }
    }
}

/// A GGUF metadata value.
public enum GGUFValue: Equatable, Sendable, CustomStringConvertible {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The type tag.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// The value as an exact integer if it has an integer type (any width or signedness).
    public var integerValue: Int64? {
        switch self {
        case .uint8(let v): return Int64(v)
        case .int8(let v): return Int64(v)
        case .uint16(let v): return Int64(v)
        case .int16(let v): return Int64(v)
        case .uint32(let v): return Int64(v)
        case .int32(let v): return Int64(v)
        case .uint64(let v): return Int64(exactly: v)
        case .int64(let v): return v
        default: return nil
        }
    }

    /// Equality that compares floats by bit pattern.
    public func bitwiseEquals(_ other: GGUFValue) -> Bool {
        switch (self, other) {
        case (.float32(let a), .float32(let b)): return a.bitPattern == b.bitPattern
        case (.float64(let a), .float64(let b)): return a.bitPattern == b.bitPattern
        case (.array(let a), .array(let b)): return a.bitwiseEquals(b)
        default: return self == other
        }
    }

    public var description: String {
        switch self {
        case .uint8(let v): return "uint8 \(v)"
        case .int8(let v): return "int8 \(v)"
        case .uint16(let v): return "uint16 \(v)"
        case .int16(let v): return "int16 \(v)"
        case .uint32(let v): return "uint32 \(v)"
        case .int32(let v): return "int32 \(v)"
        case .float32(let v): return "float32 \(v)"
        case .bool(let v): return "bool \(v)"
        case .string(let v): return "string \(v.count > 60 ? String(v.prefix(60)) + "…" : v)"
        case .array(let a): return "array of \(a.count) \(a.elementType)"
        case .uint64(let v): return "uint64 \(v)"
        case .int64(let v): return "int64 \(v)"
        case .float64(let v): return "float64 \(v)"
        }
    }
}
