import Foundation
@testable import LFMFormats

/// Fixture paths and JSON helpers shared by the GGUF tests.
enum GGUFFixtures {
    static var directory: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw CocoaError(.fileNoSuchFile)
            }
            return url.appendingPathComponent("gguf")
        }
    }

    static func path(_ name: String) throws -> String { try directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))) }

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// A temporary file path that is removed by `cleanup`.
    static func temporaryPath(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("lfm-gguf-\(UUID().uuidString)-\(suffix)").path
    }
}

/// Decodes the fixture JSON form of a metadata value (see make_gguf_fixtures.py: scalars are strings,
/// floats are their bit patterns, arrays are {"array": TYPE, "items": [...]}).
enum FixtureValue {
    struct BadFixture: Error { let message: String }

    static func decode(type: String, _ json: Any) throws -> GGUFValue {
        if type == "ARRAY" { return .array(try decodeArray(json)) }
        guard let s = json as? String else { throw BadFixture(message: "scalar \(json)") }
        func int<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard let v = T(s) else { throw BadFixture(message: "\(type) \(s)") }
            return v
        }
        switch type {
        case "UINT8": return .uint8(try int(UInt8.self))
        case "INT8": return .int8(try int(Int8.self))
        case "UINT16": return .uint16(try int(UInt16.self))
        case "INT16": return .int16(try int(Int16.self))
        case "UINT32": return .uint32(try int(UInt32.self))
        case "INT32": return .int32(try int(Int32.self))
        case "UINT64": return .uint64(try int(UInt64.self))
        case "INT64": return .int64(try int(Int64.self))
        case "FLOAT32": return .float32(Float(bitPattern: try int(UInt32.self)))
        case "FLOAT64": return .float64(Double(bitPattern: try int(UInt64.self)))
        case "BOOL": return .bool(s == "true")
        case "STRING": return .string(s)
        default: throw BadFixture(message: "type \(type)")
        }
    }

    static func decodeArray(_ json: Any) throws -> GGUFArray {
        guard let dict = json as? [String: Any], let type = dict["array"] as? String, let items = dict["items"] as? [Any] else {
            throw BadFixture(message: "array \(json)")
        }
        let values = try items.map { try decode(type: type, $0) }
        func all<T>(_ extract: (GGUFValue) -> T?) throws -> [T] {
            try values.map { v in
                guard let x = extract(v) else { throw BadFixture(message: "mixed array") }
                return x
            }
        }
        switch type {
        case "UINT8": return .uint8(try all { if case .uint8(let x) = $0 { return x } else { return nil } })
        case "INT8": return .int8(try all { if case .int8(let x) = $0 { return x } else { return nil } })
        case "UINT16": return .uint16(try all { if case .uint16(let x) = $0 { return x } else { return nil } })
        case "INT16": return .int16(try all { if case .int16(let x) = $0 { return x } else { return nil } })
        case "UINT32": return .uint32(try all { if case .uint32(let x) = $0 { return x } else { return nil } })
        case "INT32": return .int32(try all { if case .int32(let x) = $0 { return x } else { return nil } })
        case "UINT64": return .uint64(try all { if case .uint64(let x) = $0 { return x } else { return nil } })
        case "INT64": return .int64(try all { if case .int64(let x) = $0 { return x } else { return nil } })
        case "FLOAT32": return .float32(try all { if case .float32(let x) = $0 { return x } else { return nil } })
        case "FLOAT64": return .float64(try all { if case .float64(let x) = $0 { return x } else { return nil } })
        case "BOOL": return .bool(try all { if case .bool(let x) = $0 { return x } else { return nil } })
        case "STRING": return .string(try all { if case .string(let x) = $0 { return x } else { return nil } })
        case "ARRAY": return .array(try all { if case .array(let x) = $0 { return x } else { return nil } })
        default: throw BadFixture(message: "array type \(type)")
        }
    }
}
