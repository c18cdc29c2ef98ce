import Foundation

/// A failure of the architecture search: what went wrong, where, and what was expected.
public enum SearchError: Error, Equatable, CustomStringConvertible {
    /// The search space or its bounds admit no valid genome, or a setting is out of range.
    case invalidSpace(detail: String)
    /// An objective name that is not one of `SearchObjective`'s.
    case unknownObjective(name: String)
    /// A search directory holds a search started with other settings (only the budget may change).
    case settingsMismatch(directory: String, field: String, recorded: String, requested: String)
    /// A file of a search directory cannot be read as expected.
    case corruptFile(path: String, line: Int?, detail: String)
    /// A file of a search directory cannot be written.
    case writeFailed(path: String, detail: String)
    /// A search directory, candidate or model folder that does not exist.
    case missing(path: String, detail: String)
    /// The evaluator's measurements break the record's rules (for example a negative latency).
    case invalidMeasurement(index: Int, detail: String)

    public var description: String {
        switch self {
        case .invalidSpace(let detail): return "invalid search space: \(detail)"
        case .unknownObjective(let name):
            let known = SearchObjective.allCases.map(\.rawValue).joined(separator: ", ")
            return "unknown objective '\(name)': expected one of \(known) (or cache_bytes_per_token, decode_ms_per_token)"
        case .settingsMismatch(let directory, let field, let recorded, let requested):
            return "\(directory) holds a search with \(field) = \(recorded), not \(requested); only --budget may change when resuming (use another --out)"
        case .corruptFile(let path, let line, let detail):
            return "\(path)\(line.map { ", line \($0)" } ?? ""): \(detail)"
        case .writeFailed(let path, let detail): return "cannot write \(path): \(detail)"
        case .missing(let path, let detail): return "\(path): \(detail)"
        case .invalidMeasurement(let index, let detail): return "candidate \(index): invalid measurement: \(detail)"
        }
    }
}
