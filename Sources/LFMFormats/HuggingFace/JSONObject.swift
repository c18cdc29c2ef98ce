import Foundation

/// Errors reading JSON configuration files; each names the file and key.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, detail: String)
    case notAnObject(file: String)
    case missingKey(file: String, key: String)
    case wrongType(file: String, key: String, expected: String, found: String)
    case invalidValue(file: String, key: String, detail: String)
    case inconsistent(file: String, detail: String)
    case unsupportedModelType(file: String, modelType: String, supported: [String])

    public var description: String {
        switch self {
        case .unreadable(let file, let detail): return "\(file): cannot read: \(detail)"
        case .notAnObject(let file): return "\(file): expected a JSON object at the top level"
        case .missingKey(let file, let key): return "\(file): missing required key '\(key)'"
        case .wrongType(let file, let key, let expected, let found):
            return "\(file): key '\(key)' should be \(expected), found \(found)"
        case .invalidValue(let file, let key, let detail): return "\(file): key '\(key)': \(detail)"
        case .inconsistent(let file, let detail): return "\(file): inconsistent configuration: \(detail)"
        case .unsupportedModelType(let file, let modelType, let supported):
            return "\(file): model_type '\(modelType)' is not supported (supported: \(supported.joined(separator: ", ")))"
        }
    }
}

/// A parsed JSON object with typed, error-reporting accessors (for config.json and friends).
public struct JSONObject: @unchecked Sendable {
    // @unchecked: immutable; `values` holds parsed JSON (strings, numbers, arrays, dictionaries), never mutated.
    /// File the object came from (for messages).
    public let file: String
    /// The raw dictionary.
    public let values: [String: Any]

    /// Wraps `values` read from `file`.
    public init(file: String, values: [String: Any]) {
        self.file = file
        self.values = values
    }

    /// Reads and parses the JSON object in `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError.unreadable(file: url.path, detail: error.localizedDescription)
        }
        try self.init(data: data, file: url.path)
    }

    /// Parses `data` as a JSON object.
    public init(data: Data, file: String) throws {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw ConfigError.unreadable(file: file, detail: "invalid JSON: \(error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else { throw ConfigError.notAnObject(file: file) }
        self.init(file: file, values: object)
    }

    /// True when `key` is present and not JSON null.
    public func has(_ key: String) -> Bool {
        guard let value = values[key] else { return false }
        return !(value is NSNull)
    }

    private func typeName(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case let n as NSNumber: return CFGetTypeIDIsBool(n) ? "a boolean" : "the number \(n)"
        default: return "\(type(of: value))"
        }
    }

    /// An integer value, or nil when absent/null.
    public func int(_ key: String) throws -> Int? {
        guard has(key), let value = values[key] else { return nil }
        guard let number = value as? NSNumber, !CFGetTypeIDIsBool(number) else {
            throw ConfigError.wrongType(file: file, key: key, expected: "an integer", found: typeName(value))
        }
        let double = number.doubleValue
        guard double == double.rounded(), abs(double) < 9.0e15 else {
            throw ConfigError.wrongType(file: file, key: key, expected: "an integer", found: typeName(value))
        }
        return number.intValue
    }

    /// A required integer.
    public func requiredInt(_ key: String) throws -> Int {
        guard let value = try int(key) else { throw ConfigError.missingKey(file: file, key: key) }
        return value
    }

    /// A number, or nil when absent/null.
    public func double(_ key: String) throws -> Double? {
        guard has(key), let value = values[key] else { return nil }
        guard let number = value as? NSNumber, !CFGetTypeIDIsBool(number) else {
            throw ConfigError.wrongType(file: file, key: key, expected: "a number", found: typeName(value))
        }
        return number.doubleValue
    }

    /// A boolean, or nil when absent/null.
    public func bool(_ key: String) throws -> Bool? {
        guard has(key), let value = values[key] else { return nil }
        guard let number = value as? NSNumber, CFGetTypeIDIsBool(number) else {
            throw ConfigError.wrongType(file: file, key: key, expected: "a boolean", found: typeName(value))
        }
        return number.boolValue
    }

    /// A string, or nil when absent/null.
    public func string(_ key: String) throws -> String? {
        guard has(key), let value = values[key] else { return nil }
        guard let string = value as? String else {
            throw ConfigError.wrongType(file: file, key: key, expected: "a string", found: typeName(value))
        }
        return string
    }

    /// An array of strings, or nil when absent/null.
    public func strings(_ key: String) throws -> [String]? {
        guard has(key), let value = values[key] else { return nil }
        guard let array = value as? [Any], let strings = array as? [String], strings.count == array.count else {
            throw ConfigError.wrongType(file: file, key: key, expected: "an array of strings", found: typeName(value))
        }
        return strings
    }

    /// An array of integers, or nil when absent/null.
    public func ints(_ key: String) throws -> [Int]? {
        guard has(key), let value = values[key] else { return nil }
        guard let array = value as? [Any] else {
            throw ConfigError.wrongType(file: file, key: key, expected: "an array of integers", found: typeName(value))
        }
        return try array.map { element in
            guard let number = element as? NSNumber, !CFGetTypeIDIsBool(number),
                  number.doubleValue == number.doubleValue.rounded() else {
                throw ConfigError.wrongType(file: file, key: key, expected: "an array of integers", found: "an element \(element)")
            }
            return number.intValue
        }
    }

    /// An integer or a list of integers (e.g. `eos_token_id`), or nil when absent/null.
    public func intOrInts(_ key: String) throws -> [Int]? {
        guard has(key), let value = values[key] else { return nil }
        if value is [Any] { return try ints(key) }
        return [try requiredInt(key)]
    }

    /// A nested object, or nil when absent/null.
    public func object(_ key: String) throws -> JSONObject? {
        guard has(key), let value = values[key] else { return nil }
        guard let dictionary = value as? [String: Any] else {
            throw ConfigError.wrongType(file: file, key: key, expected: "an object", found: typeName(value))
        }
        return JSONObject(file: "\(file) (\(key))", values: dictionary)
    }
}

/// True when `number` holds a JSON boolean (Foundation bridges booleans to NSNumber).
func CFGetTypeIDIsBool(_ number: NSNumber) -> Bool {
    #if canImport(Darwin)
    return CFGetTypeID(number) == CFBooleanGetTypeID()
    #else
    // swift-corelibs-foundation parses JSON true/false into its boolean NSNumber subclass.
    return type(of: number) != NSNumber.self && String(cString: number.objCType) == "c"
    #endif
}
