import Foundation
import HTTPTypes

/// The server's endpoints. A request path is normalised once (`RoutePath.segments`) and mapped to
/// one of these (`Endpoint.init`); authorisation, method checks, dispatch and metrics all use that
/// one answer, so no spelling of a path can be routed one way and authorised another.
enum Endpoint: Equatable, Sendable {
    case health
    case metrics
    case models
    case model(String)
    case chatCompletions
    case completions

    /// Maps normalised segments to an endpoint; nil for an unknown path. The fixed segments match
    /// in any letter case; a model id keeps its case.
    init?(_ segments: [String]) {
        let fixed = segments.map { $0.lowercased() }
        switch fixed.count {
        case 1 where fixed[0] == "health": self = .health
        case 1 where fixed[0] == "metrics": self = .metrics
        case 2 where fixed == ["v1", "models"]: self = .models
        case 2 where fixed == ["v1", "completions"]: self = .completions
        case 3 where fixed == ["v1", "chat", "completions"]: self = .chatCompletions
        case 3 where fixed[0] == "v1" && fixed[1] == "models": self = .model(segments[2])
        default: return nil
        }
    }

    /// Probes open to anyone; every other endpoint (and any unknown path) needs the API key.
    var isPublic: Bool { self == .health || self == .metrics }

    /// The methods the endpoint answers (HEAD wherever GET is).
    var methods: [HTTPRequest.Method] {
        switch self {
        case .health, .metrics, .models, .model: return [.get, .head]
        case .chatCompletions, .completions: return [.post]
        }
    }

    /// The `route` label of the request counters.
    var label: String {
        switch self {
        case .health: return "/health"
        case .metrics: return "/metrics"
        case .models: return "/v1/models"
        case .model: return "/v1/models/{id}"
        case .chatCompletions: return "/v1/chat/completions"
        case .completions: return "/v1/completions"
        }
    }
}

/// Normalisation of a request path.
enum RoutePath {
    /// A path whose percent-encoding is broken or does not decode to UTF-8.
    struct Malformed: Error, CustomStringConvertible {
        let path: String
        var description: String { "The request path '\(path)' has an invalid percent-encoding." }
    }

    /// The path's segments the way every spelling of it is routed: percent-decoded once (so an
    /// encoded slash separates segments and an encoded dot is a dot), then split on `/`, with empty
    /// and `.` segments dropped and `..` removing the segment before it (never above the root).
    /// - Throws: `Malformed` for a `%` not followed by two hex digits, or bytes that are not UTF-8.
    static func segments(_ path: String) throws -> [String] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(path.utf8.count)
        var input = path.utf8.makeIterator()
        while let byte = input.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = input.next().flatMap(hexValue), let low = input.next().flatMap(hexValue) else {
                throw Malformed(path: path)
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(bytes: bytes, encoding: .utf8) else { throw Malformed(path: path) }
        var segments: [String] = []
        for part in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(String(part))
            }
        }
        return segments
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Reads `Authorization: Bearer KEY` (the scheme in any case, RFC 9110 §11.1).
enum BearerToken {
    /// The token of the one `Authorization` field, or nil when there is none, several, or another scheme.
    static func parse(_ fields: HTTPFields) -> String? {
        let values = fields[values: .authorization]
        guard values.count == 1 else { return nil }
        let value = values[0].trimmingCharacters(in: .whitespaces)
        guard let space = value.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
        guard value[..<space].lowercased() == "bearer" else { return nil }
        let token = value[space...].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
