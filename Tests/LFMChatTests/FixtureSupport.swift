import Foundation
import Testing
@testable import LFMChat

/// Loads the committed fixtures made by Scripts/reference/chat/make_chat_fixtures.py.
enum Fixtures {
    static func url(_ relative: String) throws -> URL {
        guard let base = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw ChatInputError(message: "Fixtures folder missing from the test bundle")
        }
        return base.appendingPathComponent(relative)
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: try url(relative), encoding: .utf8)
    }

    static func cases(_ file: String) throws -> [OrderedDict] {
        guard case .array(let items) = try Value.parseJSON(try text(file)) else {
            throw ChatInputError(message: "\(file) is not a JSON array")
        }
        return items.compactMap { if case .object(let o) = $0 { return o } else { return nil } }
    }

    /// The `TemplateError.Kind` a Python exception class corresponds to.
    static func kind(forPython type: String) -> TemplateError.Kind? {
        switch type {
        case "TemplateSyntaxError": return .syntax
        case "UndefinedError": return .undefined
        case "TypeError", "ZeroDivisionError", "TemplateRuntimeError", "ValueError": return .type
        case "TemplateError": return .raised
        case "SecurityError": return .security
        default: return nil
        }
    }

    /// The wall-clock time `FROZEN_NOW` ("YYYY-MM-DDTHH:MM:SS", naive local time) as a Date.
    static func localDate(_ text: String) -> Date? {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == "T" || $0 == ":" }).compactMap { Int($0) }
        guard parts.count == 6 else { return nil }
        var c = DateComponents()
        (c.year, c.month, c.day, c.hour, c.minute, c.second) = (parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = .current
        return cal.date(from: c)
    }
}

extension OrderedDict {
    func string(_ key: String) -> String? {
        if case .string(let s)? = self[key] { return s }
        return nil
    }
}
