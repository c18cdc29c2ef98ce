/// Errors of JSON-schema-constrained decoding.
public enum StructuredOutputError: Error, CustomStringConvertible, Equatable {
    /// The schema uses a keyword this compiler does not implement.
    case unsupportedKeyword(keyword: String, pointer: String)
    /// A keyword has a value of the wrong kind or out of range.
    case invalidKeyword(keyword: String, pointer: String, expected: String, found: String)
    /// A `$ref` that does not point inside the document, or points nowhere.
    case unresolvedReference(ref: String, pointer: String)
    /// The schema admits no finite JSON value (e.g. `false`, an empty enum, required infinite recursion).
    case unsatisfiable(pointer: String, detail: String)
    /// The `response_format` wrapper is malformed.
    case invalidResponseFormat(String)
    /// The token budget cannot hold even the shortest valid value.
    case budgetTooSmall(needed: Int, available: Int)
    /// No token can continue the output (the vocabulary lacks a byte the schema needs).
    case noAllowedToken(generated: String)
    /// A token outside the mask was fed to the decoder.
    case tokenNotAllowed(token: Int, generated: String)
    /// Compiling the schema (or preparing its first mask) went past a bound of `SchemaCompileOptions`:
    /// `bound` names it (e.g. "maxNodes 20000"), `detail` says what exceeded it.
    case tooComplex(bound: String, detail: String)

    public var description: String {
        switch self {
        case .unsupportedKeyword(let keyword, let pointer):
            return "JSON schema keyword '\(keyword)' at '\(pointer)' is not supported by constrained decoding"
        case .invalidKeyword(let keyword, let pointer, let expected, let found):
            return "JSON schema keyword '\(keyword)' at '\(pointer)': expected \(expected), found \(found)"
        case .unresolvedReference(let ref, let pointer):
            return "JSON schema $ref '\(ref)' at '\(pointer)' cannot be resolved (only local '#/...' references are supported)"
        case .unsatisfiable(let pointer, let detail):
            return "JSON schema at '\(pointer)' admits no value: \(detail)"
        case .invalidResponseFormat(let detail):
            return "invalid response_format: \(detail)"
        case .budgetTooSmall(let needed, let available):
            return "the shortest JSON value the schema allows needs \(needed) tokens but only \(available) may be generated"
        case .noAllowedToken(let generated):
            return "no token can continue the constrained output after \(generated.debugDescription)"
        case .tokenNotAllowed(let token, let generated):
            return "token \(token) is not allowed by the JSON schema after \(generated.debugDescription)"
        case .tooComplex(let bound, let detail):
            return "the JSON schema is too complex for constrained decoding: \(detail) (bound: \(bound))"
        }
    }
}
