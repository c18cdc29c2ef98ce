/// The compiled form of a JSON schema: a graph of nodes (indices into `JSONSchema.nodes`) that the
/// byte-level matcher walks. Cycles come from recursive `$ref`s.
enum SchemaNode: Sendable {
    /// Any of the alternatives (`anyOf`, `oneOf`, type lists).
    case anyOf([Int])
    /// An object with properties written in declared order.
    case object(ObjectSchema)
    /// An array of `items` with a length between `minItems` and `maxItems`.
    case array(items: Int, minItems: Int, maxItems: Int)
    /// A string with a code-point count in `minLength...maxLength`.
    case string(minLength: Int, maxLength: Int)
    /// An integer or a number.
    case number(NumberConstraint)
    /// One of a fixed set of JSON texts (enum, const, booleans, null), sorted bytewise.
    case literals([[UInt8]])
}

/// A property of an object schema.
struct PropertySchema: Sendable {
    /// The property name.
    let name: String
    /// The key as written: the JSON string literal with its quotes.
    let literal: [UInt8]
    /// The value's node.
    let node: Int
    /// Whether it must appear.
    let required: Bool
}

/// An entry of a key table: a key literal and the property it names.
struct KeyEntry: Sendable {
    let literal: [UInt8]
    let property: Int
}

/// How an object is spelled: JSON (`{"key": value}`) or the keyword arguments of an LFM2 tool
/// call (`[name(key=value, ...)]`, bare identifier keys and `=`).
struct ObjectStyle: Sendable, Equatable {
    /// Bytes that open it (`{`, or `[name(`).
    var open: [UInt8]
    /// Bytes that close it (`}`, or `)]`).
    var close: [UInt8]
    /// Whether keys are JSON string literals (else bare identifiers).
    var quotedKeys: Bool
    /// The byte between a key and its value (`:` or `=`).
    var separator: UInt8

    static let json = ObjectStyle(open: [0x7B], close: [0x7D], quotedKeys: true, separator: 0x3A)

    /// The keyword arguments of a call of `name`, in a one-call list.
    static func call(_ name: String) -> ObjectStyle {
        ObjectStyle(open: Array("[\(name)(".utf8), close: Array(")]".utf8), quotedKeys: false, separator: 0x3D)
    }
}

/// An object schema. Declared properties come in declared order (optional ones may be left
/// out); additional properties, when allowed, come after the last required property.
struct ObjectSchema: Sendable {
    var properties: [PropertySchema]
    /// The node of additional property values, or nil when none are allowed.
    var additional: Int?
    /// Most additional properties one object may hold.
    var maxAdditional: Int
    /// For each next-declared index `i`, the keys that may come next (sorted bytewise): the
    /// properties from `i` up to and including the first required one.
    var keyTables: [[KeyEntry]] = []
    /// Every declared key literal, sorted (an additional key must differ from all of them).
    var allKeys: [[UInt8]] = []
    /// `requiredCost[i]`: bytes of the required properties from `i` on, each with its comma.
    var requiredCost: [Int] = []
    /// Its spelling.
    var style = ObjectStyle.json

    /// Index of the first required property at or after `i` (nil: none).
    func firstRequired(from i: Int) -> Int? {
        var j = i
        while j < properties.count {
            if properties[j].required { return j }
            j += 1
        }
        return nil
    }
}

/// Bounds and digit limits of an integer or number.
struct NumberConstraint: Sendable, Hashable {
    var integer: Bool
    var minimum: Double?
    var maximum: Double?
    var exclusiveMinimum = false
    var exclusiveMaximum = false
    var maxIntegerDigits: Int
    var maxFractionDigits: Int

    var isBounded: Bool { minimum != nil || maximum != nil }
}

/// Limits that keep generation finite, and defaults for what schemas leave open.
public struct SchemaCompileOptions: Sendable, Equatable {
    /// Longest string when a schema gives no `maxLength` (code points).
    public var defaultMaxStringLength = 256
    /// Longest object key of additional properties (code points).
    public var maxKeyLength = 64
    /// Most array items when a schema gives no `maxItems`.
    public var defaultMaxItems = 64
    /// Most additional properties in one object.
    public var maxAdditionalProperties = 16
    /// Most integer digits of a number (at most 15 so values stay exact in a Double).
    public var maxIntegerDigits = 15
    /// Most fraction digits of a number.
    public var maxFractionDigits = 5
    /// Nesting depth of "any JSON value" (`{}`, `json_object`, `additionalProperties: true`).
    public var anyValueDepth = 3
    /// Deepest nesting of objects and arrays (bounds recursive schemas).
    public var maxNesting = 24
    /// Whether values are written as Python literals (`True`, `False`, `None`; strings without the
    /// `\/`, `\b` and `\f` escapes), as inside LFM2's tool calls.
    public var pythonLiterals = false
    /// Whether objects without an `additionalProperties` keyword allow additional properties.
    /// JSON Schema says yes; the default here is no, as OpenAI's strict mode requires and as is
    /// usual for constrained decoding (the output then holds only declared properties).
    public var additionalPropertiesByDefault = false
    /// Most compiled nodes (bounds the memory and time of compiling; each schema object, type
    /// alternative and enum value list is about one node).
    public var maxNodes = 20_000
    /// Most enum/const values in all, and most declared properties in all.
    public var maxLiterals = 100_000
    /// Most alternatives that can be alive at one place of the output: `anyOf`/`oneOf` widths
    /// add up through nesting (an `anyOf` of 50 `anyOf`s of 100 has 5,000). Every live
    /// alternative is followed on every generated token, so this bounds the cost of each mask.
    public var maxAlternatives = 256
    /// Most matcher steps (one live alternative fed one byte) spent on the first token mask,
    /// which the server computes before queueing a request. Deterministic, unlike `timeLimit`.
    public var maxFirstMaskWork = 4_000_000
    /// Wall-clock seconds compiling and preparing the first mask may take (nil: no limit).
    public var timeLimit: Double? = nil

    /// The defaults.
    public init() {}
}
