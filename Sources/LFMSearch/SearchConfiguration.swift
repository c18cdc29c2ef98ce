import Foundation
import LFMModels

/// The settings of one search, recorded in `DIR/search.json`; resuming requires the same
/// settings (only the budget, which is not among them, may change). The corpus and tokenizer are
/// compared by their SHA-256, not their paths, so a search resumes from another working directory
/// or build; the recorded tokenizer path is where `lfm search export` copies the tokenizer from.
public struct SearchConfiguration: Sendable, Equatable, Codable {
    /// Seed of the search's `SplitMix64`.
    public var seed: UInt64
    public var space: SearchSpace
    public var objectives: [SearchObjective]
    /// Parents kept per generation, and offspring planned per generation.
    public var populationSize: Int
    /// Whether this is a `--quick` smoke search (the evaluator trains less).
    public var quick: Bool
    public var corpusPath: String
    /// SHA-256 of the corpus file, hex.
    public var corpusSHA256: String
    public var tokenizerPath: String
    /// SHA-256 of the tokenizer file, hex.
    public var tokenizerSHA256: String
    /// The model settings the parameter and cache counts depend on.
    public var vocabularySize: Int
    public var slidingWindow: Int
    public var tieEmbeddings: Bool
    public var sandwichNorm: Bool
    public var expertsPerToken: Int
    public var expertSelectionBias: Bool
    /// Context of the cache objective (bytes at this context / this context).
    public var cacheContext: Int
    /// Probability that an offspring is a recombination of two parents (then always mutated).
    public var crossoverProbability: Double
    /// The training every candidate gets (nil: the evaluator's own, e.g. a test stub's).
    public var training: TrainingBudget?
    /// How decode latency is measured (nil: the evaluator's own).
    public var latency: LatencyProbe?

    enum CodingKeys: String, CodingKey {
        case seed, space, objectives, quick
        case populationSize = "population", corpusPath = "corpus", corpusSHA256 = "corpus_sha256", tokenizerPath = "tokenizer"
        case tokenizerSHA256 = "tokenizer_sha256"
        case vocabularySize = "vocab_size", slidingWindow = "sliding_window", tieEmbeddings = "tie_embeddings"
        case sandwichNorm = "sandwich_norm", expertsPerToken = "experts_per_token", expertSelectionBias = "expert_selection_bias"
        case cacheContext = "cache_context", crossoverProbability = "crossover_probability"
        case training, latency
    }

    public init(seed: UInt64, space: SearchSpace, objectives: [SearchObjective] = SearchObjective.defaults,
                populationSize: Int, quick: Bool, corpusPath: String, corpusSHA256: String, tokenizerPath: String,
                tokenizerSHA256: String, settings: LIVSettings, cacheContext: Int = 2048, crossoverProbability: Double = 0.9,
                training: TrainingBudget? = nil, latency: LatencyProbe? = nil) {
        self.seed = seed
        self.space = space
        self.objectives = objectives
        self.populationSize = populationSize
        self.quick = quick
        self.corpusPath = corpusPath
        self.corpusSHA256 = corpusSHA256
        self.tokenizerPath = tokenizerPath
        self.tokenizerSHA256 = tokenizerSHA256
        vocabularySize = settings.vocabularySize
        slidingWindow = settings.slidingWindow
        tieEmbeddings = settings.tieEmbeddings
        sandwichNorm = settings.sandwichNorm
        expertsPerToken = settings.expertsPerToken
        expertSelectionBias = settings.expertSelectionBias
        self.cacheContext = cacheContext
        self.crossoverProbability = crossoverProbability
        self.training = training
        self.latency = latency
    }

    /// Whether `settings` agree with the recorded model settings.
    public func matches(_ settings: LIVSettings) -> Bool {
        vocabularySize == settings.vocabularySize && slidingWindow == settings.slidingWindow
            && tieEmbeddings == settings.tieEmbeddings && sandwichNorm == settings.sandwichNorm
            && expertsPerToken == settings.expertsPerToken && expertSelectionBias == settings.expertSelectionBias
    }

    /// Checks the ranges.
    public func validate() throws {
        try space.validate()
        guard populationSize >= 2 else {
            throw SearchError.invalidSpace(detail: "the population must be at least 2, found \(populationSize)")
        }
        guard !objectives.isEmpty else { throw SearchError.invalidSpace(detail: "no objectives") }
        guard cacheContext >= 1 else { throw SearchError.invalidSpace(detail: "cache context must be positive, found \(cacheContext)") }
        guard (0...1).contains(crossoverProbability) else {
            throw SearchError.invalidSpace(detail: "crossover probability must be in 0…1, found \(crossoverProbability)")
        }
    }

    /// The JSON of `search.json` (sorted keys, so equal settings give equal bytes).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }

    /// Reads `search.json`.
    public static func read(_ url: URL) throws -> SearchConfiguration {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SearchError.missing(path: url.path, detail: "no search settings here (not a search directory?): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(SearchConfiguration.self, from: data) } catch {
            throw SearchError.corruptFile(path: url.path, line: nil, detail: "not the search settings: \(error)")
        }
    }

    /// Fields `firstDifference` ignores: the paths (their hashes are compared).
    public static let pathFields: Set<String> = ["corpus", "tokenizer"]

    /// The first setting that differs from `other`, as (field, self's value, other's value).
    public func firstDifference(from other: SearchConfiguration) throws -> (field: String, recorded: String, requested: String)? {
        func fields(_ c: SearchConfiguration) throws -> [String: Any] {
            (try JSONSerialization.jsonObject(with: try c.encoded()) as? [String: Any]) ?? [:]
        }
        func text(_ value: Any?) -> String {
            guard let value else { return "nothing" }
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]),
               let string = String(data: data, encoding: .utf8) { return string }
            return "\(value)"
        }
        let mine = try fields(self), theirs = try fields(other)
        for key in Set(mine.keys).union(theirs.keys).sorted() where !Self.pathFields.contains(key) {
            let a = text(mine[key]), b = text(theirs[key])
            if a != b { return (key, a, b) }
        }
        return nil
    }
}

/// The state of a search between evaluations, in `DIR/checkpoint.json`: written (atomically)
/// before the generation's offspring are evaluated, so a killed search resumes at the first
/// unevaluated one.
public struct SearchCheckpoint: Sendable, Equatable, Codable {
    /// Generation of the planned candidates (0 = the random initial population).
    public var generation: Int
    /// Database indices of the current parents (empty in generation 0).
    public var population: [Int]
    /// The candidates of this generation, in evaluation order, as numeric genomes.
    public var planned: [[Int]]
    /// Database index of `planned[0]`.
    public var plannedStart: Int
    /// `SplitMix64.state` after planning, as 16 hex digits.
    public var rngState: String

    enum CodingKeys: String, CodingKey {
        case generation, population, planned
        case plannedStart = "planned_start", rngState = "rng_state"
    }

    public init(generation: Int, population: [Int], planned: [LIVGenome], plannedStart: Int, rngState: UInt64) {
        self.generation = generation
        self.population = population
        self.planned = planned.map(\.integers)
        self.plannedStart = plannedStart
        let hex = String(rngState, radix: 16)
        self.rngState = String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    /// The generator state.
    public func state(path: String) throws -> UInt64 {
        guard let value = UInt64(rngState, radix: 16) else {
            throw SearchError.corruptFile(path: path, line: nil, detail: "rng_state must be 16 hex digits, found '\(rngState)'")
        }
        return value
    }

    /// The planned genomes.
    public func plannedGenomes(path: String) throws -> [LIVGenome] {
        try planned.enumerated().map { k, integers in
            do { return try LIVGenome(integers: integers) } catch {
                throw SearchError.corruptFile(path: path, line: nil, detail: "planned candidate \(k): \(error)")
            }
        }
    }
}
