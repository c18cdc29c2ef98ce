// Errors reading an LFM2 model from GGUF metadata.
import LFMFormats

/// What is wrong with a GGUF file's model metadata; each case names the file and the key.
public enum GGUFModelError: Error, Equatable, CustomStringConvertible {
    /// `general.architecture` is not one this engine runs.
    case unsupportedArchitecture(file: String, found: String, supported: [String])
    /// A required key is absent.
    case missingKey(file: String, key: String)
    /// A key is present but unusable (wrong type, out of range, inconsistent with another key).
    case invalidValue(file: String, key: String, detail: String)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let file, let found, let supported):
            return "\(file): general.architecture is \"\(found)\", expected one of \(supported.map { "\"\($0)\"" }.joined(separator: ", "))"
        case .missingKey(let file, let key): return "\(file): missing required GGUF key '\(key)'"
        case .invalidValue(let file, let key, let detail): return "\(file): GGUF key '\(key)': \(detail)"
        }
    }
}

extension GGUFMetadata {
    /// Runs a typed look-up, turning `GGUFError`s into `GGUFModelError`s that name the file.
    func lookup<T>(_ key: String, file: String, _ body: (String) throws -> T) throws -> T {
        do { return try body(key) } catch let error as GGUFError {
            if case .missingKey = error { throw GGUFModelError.missingKey(file: file, key: key) }
            throw GGUFModelError.invalidValue(file: file, key: key, detail: error.description)
        }
    }

    /// The value of an optional key through `body`, nil when absent.
    func optional<T>(_ key: String, file: String, _ body: (String) throws -> T) throws -> T? {
        guard contains(key) else { return nil }
        return try lookup(key, file: file, body)
    }
}
