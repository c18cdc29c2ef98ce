/// An error from parsing or rendering a chat template. It names the template position it happened at.
public struct TemplateError: Error, CustomStringConvertible, Equatable {
    /// The family of the error, mirroring jinja2's exception classes.
    public enum Kind: String, Sendable {
        /// `TemplateSyntaxError` (also unknown filters and tests, which jinja2 reports at compile time).
        case syntax
        /// `UndefinedError`: an undefined value was used in a way that needs a real value.
        case undefined
        /// Python `TypeError` / `ValueError` from an operation on the wrong kind of value.
        case type
        /// `raise_exception(message)` was called by the template.
        case raised
        /// `SecurityError`: the sandbox refused an operation (mutating methods, private attributes).
        case security
        /// A filter name that does not exist.
        case unknownFilter
        /// A test name that does not exist.
        case unknownTest
        /// Recursion or output limits were exceeded.
        case limit
    }

    public let kind: Kind
    /// The message, worded like jinja2's where there is one.
    public let message: String
    /// 1-based line in the template source.
    public let line: Int
    /// 1-based column (in Unicode code points) in the template source.
    public let column: Int

    public init(kind: Kind, message: String, line: Int, column: Int) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        "chat template \(kind.rawValue) error at line \(line), column \(column): \(message)"
    }
}

/// A failure raised by a value operation before its template position is known.
enum TemplateFailure: Error {
    case undefined(String)
    case type(String)
    case raised(String)
    case security(String)
    case limit(String)

    func at(_ pos: SourcePos) -> TemplateError {
        switch self {
        case .undefined(let m): return TemplateError(kind: .undefined, message: m, line: pos.line, column: pos.column)
        case .type(let m): return TemplateError(kind: .type, message: m, line: pos.line, column: pos.column)
        case .raised(let m): return TemplateError(kind: .raised, message: m, line: pos.line, column: pos.column)
        case .security(let m): return TemplateError(kind: .security, message: m, line: pos.line, column: pos.column)
        case .limit(let m): return TemplateError(kind: .limit, message: m, line: pos.line, column: pos.column)
        }
    }
}

/// A position in the template source.
struct SourcePos: Equatable, Sendable {
    var line: Int
    var column: Int
}
