import Foundation
import LFMModels

/// One quantity the search minimises, chosen by name on the command line.
public enum SearchObjective: String, Sendable, Codable, CaseIterable {
    /// Validation perplexity after the evaluator's fixed training budget.
    case perplexity
    /// KV and recurrent-state bytes per token at a context of 2,048 (`cache_bytes_per_token`).
    case cache
    /// Measured decode latency per token on this machine (`decode_ms_per_token`).
    case latency
    /// Trainable parameters.
    case parameters

    /// The default objectives: perplexity, cache bytes per token and decode latency.
    public static let defaults: [SearchObjective] = [.perplexity, .cache, .latency]

    /// Reads a name: the case names, or the record keys `cache_bytes_per_token` and `decode_ms_per_token`.
    public init(name: String) throws {
        switch name.trimmingCharacters(in: .whitespaces).lowercased() {
        case "perplexity", "ppl": self = .perplexity
        case "cache", "cache_bytes_per_token": self = .cache
        case "latency", "decode_ms_per_token": self = .latency
        case "parameters", "params": self = .parameters
        default: throw SearchError.unknownObjective(name: name)
        }
    }

    /// Reads a comma-separated list (`perplexity,cache,latency`); duplicates and an empty list are errors.
    public static func parseList(_ text: String) throws -> [SearchObjective] {
        let names = text.split(separator: ",").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !names.isEmpty else { throw SearchError.unknownObjective(name: text) }
        var list: [SearchObjective] = []
        for name in names {
            let objective = try SearchObjective(name: name)
            guard !list.contains(objective) else {
                throw SearchError.invalidSpace(detail: "objective '\(objective.rawValue)' is listed twice in '\(text)'")
            }
            list.append(objective)
        }
        return list
    }

    /// The value of this objective in a record (a missing or non-finite value counts as +∞, the worst).
    public func value(of record: CandidateRecord) -> Double {
        let x: Double?
        switch self {
        case .perplexity: x = record.perplexity
        case .cache: x = record.cacheBytesPerToken
        case .latency: x = record.decodeMsPerToken
        case .parameters: x = Double(record.parameters)
        }
        guard let value = x, value.isFinite else { return .infinity }
        return value
    }
}

/// What an evaluator measured for one candidate. Parameters and cache bytes are not here: the
/// search computes them from the genome.
public struct CandidateMeasurements: Sendable, Equatable {
    /// Validation perplexity after training (non-finite when training diverged; recorded as null,
    /// ranked worst).
    public var perplexity: Double
    /// Decode latency per token measured on this machine, in milliseconds.
    public var decodeMsPerToken: Double
    /// Wall-clock training time, in seconds (0 if not measured).
    public var trainSeconds: Double
    /// Tokens the candidate was trained on.
    public var tokensTrained: Int

    public init(perplexity: Double, decodeMsPerToken: Double, trainSeconds: Double = 0, tokensTrained: Int = 0) {
        self.perplexity = perplexity
        self.decodeMsPerToken = decodeMsPerToken
        self.trainSeconds = trainSeconds
        self.tokensTrained = tokensTrained
    }
}

/// Trains and measures candidates; the search calls it once per candidate, in order.
///
/// `directory` is the candidate's own folder (`DIR/candidates/<index>`, or
/// `DIR/references/<name>` for a reference); an evaluator that keeps the trained model saves it in
/// `directory/model` so that `lfm search export` can copy it. Throwing stops the search; the
/// candidate is evaluated again when the search resumes.
public protocol CandidateEvaluator {
    func evaluate(_ genome: LIVGenome, index: Int, directory: URL) throws -> CandidateMeasurements
}
