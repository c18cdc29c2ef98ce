import LFMChat

/// OpenAI-style `response_format` values.
public enum ResponseFormat {
    /// Reads `{"type": "json_schema", "json_schema": {"name": …, "schema": {…}, "strict": …}}`,
    /// `{"type": "json_object"}` (any JSON object) or `{"type": "text"}` (no constraint: nil).
    /// `strict` and `name` are accepted; the schema is enforced either way.
    public static func parse(_ format: Value, options: SchemaCompileOptions = SchemaCompileOptions()) throws -> JSONSchema? {
        guard case .object(let dict) = format else { throw StructuredOutputError.invalidResponseFormat("expected an object") }
        guard case .string(let type)? = dict["type"] else {
            throw StructuredOutputError.invalidResponseFormat("expected a string field 'type'")
        }
        switch type {
        case "text": return nil
        case "json_object": return try anyObject(options: options)
        case "json_schema":
            guard case .object(let wrapper)? = dict["json_schema"] else {
                throw StructuredOutputError.invalidResponseFormat("type json_schema needs an object field 'json_schema'")
            }
            for key in wrapper.keys where !["name", "schema", "strict", "description"].contains(key) {
                throw StructuredOutputError.invalidResponseFormat("unknown field json_schema.\(key)")
            }
            if let strict = wrapper["strict"], case .bool = strict {} else if wrapper["strict"] != nil {
                throw StructuredOutputError.invalidResponseFormat("json_schema.strict should be a boolean")
            }
            guard let schema = wrapper["schema"] else { return try anyObject(options: options) }
            return try JSONSchema(schema, options: options)
        default:
            throw StructuredOutputError.invalidResponseFormat("unknown type '\(type)' (expected text, json_object or json_schema)")
        }
    }

    /// Any JSON object (nesting bounded by `options.anyValueDepth`).
    public static func anyObject(options: SchemaCompileOptions = SchemaCompileOptions()) throws -> JSONSchema {
        try JSONSchema(.dict([("type", .string("json_object"))]), options: options)
    }
}
