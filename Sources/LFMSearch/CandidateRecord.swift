import Foundation
import LFMCore
import LFMModels

/// One line of a results database (`candidates.jsonl` or `references.jsonl`): a genome, what was
/// computed from it, and what the evaluator measured. Written once and never changed.
///
///     {"index":0,"generation":0,"genome":"h64x2x32 C3:64 A1:128","integers":[…],"perplexity":41.5,
///      "parameters":123456,"cache_bytes_per_token":256.0,"decode_ms_per_token":0.8,"train_seconds":12.0,
///      "tokens_trained":65536}
///
/// References carry `"name"` instead of `"generation"`. A perplexity that is not finite is written as null.
public struct CandidateRecord: Sendable, Equatable {
    /// 0-based position in the database.
    public var index: Int
    /// Generation that planned the candidate (nil for references).
    public var generation: Int?
    /// Reference name (nil for candidates).
    public var name: String?
    public var genome: LIVGenome
    public var perplexity: Double?
    public var parameters: Int
    public var cacheBytesPerToken: Double
    public var decodeMsPerToken: Double?
    public var trainSeconds: Double
    public var tokensTrained: Int

    public init(index: Int, generation: Int?, name: String? = nil, genome: LIVGenome, perplexity: Double?, parameters: Int,
                cacheBytesPerToken: Double, decodeMsPerToken: Double?, trainSeconds: Double = 0, tokensTrained: Int = 0) {
        self.index = index
        self.generation = generation
        self.name = name
        self.genome = genome
        self.perplexity = perplexity
        self.parameters = parameters
        self.cacheBytesPerToken = cacheBytesPerToken
        self.decodeMsPerToken = decodeMsPerToken
        self.trainSeconds = trainSeconds
        self.tokensTrained = tokensTrained
    }

    /// The record as one line of JSON (no newline), keys in a fixed order.
    public var jsonLine: String {
        var parts = ["\"index\":\(index)"]
        if let generation { parts.append("\"generation\":\(generation)") }
        if let name { parts.append("\"name\":\(jsonString(name))") }
        parts.append("\"genome\":\(jsonString(genome.description))")
        parts.append("\"integers\":[\(genome.integers.map(String.init).joined(separator: ","))]")
        parts.append("\"perplexity\":\(jsonNumber(perplexity))")
        parts.append("\"parameters\":\(parameters)")
        parts.append("\"cache_bytes_per_token\":\(jsonNumber(cacheBytesPerToken))")
        parts.append("\"decode_ms_per_token\":\(jsonNumber(decodeMsPerToken))")
        parts.append("\"train_seconds\":\(jsonNumber(trainSeconds))")
        parts.append("\"tokens_trained\":\(tokensTrained)")
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// Reads one line written by `jsonLine`; `path` and `line` name it in errors.
    public init(jsonLine: Substring, path: String, line: Int) throws {
        func corrupt(_ detail: String) -> SearchError { .corruptFile(path: path, line: line, detail: detail) }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(jsonLine.utf8)) } catch {
            throw corrupt("not JSON: \(error.localizedDescription)")
        }
        guard let fields = object as? [String: Any] else { throw corrupt("expected a JSON object") }
        func int(_ key: String) throws -> Int {
            guard let number = fields[key] as? NSNumber, let value = Int(exactly: number.doubleValue) else {
                throw corrupt("expected an integer '\(key)', found \(fields[key].map { "\($0)" } ?? "nothing")")
            }
            return value
        }
        func double(_ key: String) throws -> Double? {
            if fields[key] is NSNull { return nil }
            guard let number = fields[key] as? NSNumber else {
                throw corrupt("expected a number or null '\(key)', found \(fields[key].map { "\($0)" } ?? "nothing")")
            }
            return number.doubleValue
        }
        guard let text = fields["genome"] as? String else { throw corrupt("expected a string 'genome'") }
        let genome: LIVGenome
        do { genome = try LIVGenome(text: text) } catch { throw corrupt("\(error)") }
        index = try int("index")
        generation = fields["generation"] == nil ? nil : try int("generation")
        name = fields["name"] as? String
        self.genome = genome
        perplexity = try double("perplexity")
        parameters = try int("parameters")
        guard let cache = try double("cache_bytes_per_token") else { throw corrupt("'cache_bytes_per_token' is null") }
        cacheBytesPerToken = cache
        decodeMsPerToken = try double("decode_ms_per_token")
        trainSeconds = try double("train_seconds") ?? 0
        tokensTrained = try int("tokens_trained")
    }
}

/// A JSON string literal (the project's one escaper).
func jsonString(_ text: String) -> String { JSONStringLiteral.make(text) }

/// A JSON number in Swift's shortest round-trip form (non-finite and nil as null).
func jsonNumber(_ x: Double?) -> String {
    guard let x, x.isFinite else { return "null" }
    return "\(x)"
}
