import Foundation
import LFMCore
import LFMModels

/// What the search reports after each evaluation (for the progress display).
public struct SearchProgress: Sendable {
    /// The record just written.
    public var record: CandidateRecord
    /// The budget of this run (total candidates).
    public var budget: Int
    /// Seconds since this run started, and the estimated seconds left (nil before the first
    /// evaluation of this run finishes).
    public var elapsedSeconds: Double
    public var remainingSeconds: Double?
    /// Whether the record is a reference.
    public var isReference: Bool

    /// One line: `candidate 3/48 (gen 0) h64x2x32 C3:64 A1:128  ppl 41.5  params 1.2M  cache 256.0 B/tok  decode 0.80 ms/tok  ETA 5m12s`.
    public var line: String {
        let r = record
        let head = isReference ? "reference \(r.name ?? "?")" : "candidate \(r.index + 1)/\(budget) (gen \(r.generation ?? 0))"
        var parts = [head, r.genome.description, "ppl \(format(r.perplexity, digits: 2))", "params \(r.parameters)",
                     "cache \(format(r.cacheBytesPerToken, digits: 1)) B/tok", "decode \(format(r.decodeMsPerToken, digits: 3)) ms/tok"]
        if let remainingSeconds { parts.append("ETA \(duration(remainingSeconds))") }
        return parts.joined(separator: "  ")
    }
}

/// `x` with `digits` decimals ("n/a" when missing or not finite).
func format(_ x: Double?, digits: Int) -> String {
    guard let x, x.isFinite else { return "n/a" }
    return String(format: "%.\(digits)f", x)
}

/// Seconds as `1h02m`, `5m12s` or `42s`.
func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
    if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
    return "\(s)s"
}

/// A resumable, deterministic NSGA-II search over LIV genomes in a directory (see `SearchFiles`).
///
/// Generation 0 plans `populationSize` random genomes; every later generation keeps the
/// `populationSize` best of parents ∪ offspring (`NSGA2.environmentalSelection` on the recorded
/// measurements) and plans as many offspring, each from two binary tournaments, recombined with
/// probability `crossoverProbability`, then mutated (redrawn up to 64 times while it equals a genome
/// already evaluated or planned). The plan and the generator state are checkpointed before the
/// first offspring is evaluated, and every evaluation is appended to `candidates.jsonl`, so the
/// search stops after any candidate and continues, with a larger budget, exactly as it would have
/// without stopping. All randomness comes from one `SplitMix64` seeded with the configuration's seed.
public struct SearchRun {
    public let files: SearchFiles
    public let configuration: SearchConfiguration
    public let settings: LIVSettings
    let operators: GenomeOperators

    /// Opens (or starts) the search in `directory`; throws if the directory holds a search with
    /// other settings, or the settings are invalid.
    public init(directory: URL, configuration: SearchConfiguration, settings: LIVSettings) throws {
        try configuration.validate()
        guard configuration.matches(settings) else {
            throw SearchError.invalidSpace(detail: "the model settings do not match the configuration's (vocabulary, window, ties, norms, experts)")
        }
        files = SearchFiles(directory: directory)
        self.configuration = configuration
        self.settings = settings
        operators = try GenomeOperators(space: configuration.space, settings: settings)
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw SearchError.writeFailed(path: directory.path, detail: error.localizedDescription)
        }
        if FileManager.default.fileExists(atPath: files.settings.path) {
            let recorded = try SearchConfiguration.read(files.settings)
            if let difference = try recorded.firstDifference(from: configuration) {
                throw SearchError.settingsMismatch(directory: directory.path, field: difference.field,
                                                   recorded: difference.recorded, requested: difference.requested)
            }
        } else {
            try SearchFiles.writeAtomically(try configuration.encoded(), to: files.settings)
        }
    }

    /// Evaluates candidates until `budget` are recorded (none if there are already that many) and
    /// returns every record. An evaluator error stops the search after the last record written.
    @discardableResult
    public func run(budget: Int, evaluator: any CandidateEvaluator,
                    progress: ((SearchProgress) -> Void)? = nil) throws -> [CandidateRecord] {
        var records = try SearchFiles.readRecords(files.candidates)
        var checkpoint = try loadOrStartCheckpoint(records: records)
        let start = Date()
        var evaluatedHere = 0
        while records.count < budget {
            let planned = try checkpoint.plannedGenomes(path: files.checkpoint.path)
            let next = records.count
            guard next < checkpoint.plannedStart + planned.count else {
                checkpoint = try advance(checkpoint, records: records)
                try SearchFiles.writeAtomically(try encode(checkpoint), to: files.checkpoint)
                continue
            }
            let genome = planned[next - checkpoint.plannedStart]
            let record = try evaluate(genome, index: next, generation: checkpoint.generation, name: nil,
                                      directory: files.candidateDirectory(next), evaluator: evaluator, database: files.candidates)
            records.append(record)
            evaluatedHere += 1
            let elapsed = Date().timeIntervalSince(start)
            progress?(SearchProgress(record: record, budget: budget, elapsedSeconds: elapsed,
                                     remainingSeconds: elapsed / Double(evaluatedHere) * Double(budget - records.count),
                                     isReference: false))
        }
        return records
    }

    /// Evaluates the hand-designed references (`ReferenceArchitectures.all`) at `parameterTarget`
    /// into `references.jsonl`, skipping those already recorded; returns every reference record.
    @discardableResult
    public func runReferences(parameterTarget: Int, evaluator: any CandidateEvaluator,
                              progress: ((SearchProgress) -> Void)? = nil) throws -> [CandidateRecord] {
        let references = try ReferenceArchitectures.all(parameterTarget: parameterTarget, space: configuration.space,
                                                        settings: settings)
        var records = try SearchFiles.readRecords(files.references)
        for (k, record) in records.enumerated() where k < references.count {
            guard record.name == references[k].name, record.genome == references[k].genome else {
                throw SearchError.corruptFile(path: files.references.path, line: k + 1,
                                              detail: "expected reference \(references[k].name) \(references[k].genome), found \(record.name ?? "?") \(record.genome) (another parameter target?)")
            }
        }
        let start = Date()
        var evaluatedHere = 0
        for k in records.count..<max(records.count, references.count) {
            let reference = references[k]
            let record = try evaluate(reference.genome, index: k, generation: nil, name: reference.name,
                                      directory: files.referenceDirectory(reference.name), evaluator: evaluator,
                                      database: files.references)
            records.append(record)
            evaluatedHere += 1
            let elapsed = Date().timeIntervalSince(start)
            progress?(SearchProgress(record: record, budget: references.count, elapsedSeconds: elapsed,
                                     remainingSeconds: elapsed / Double(evaluatedHere) * Double(references.count - records.count),
                                     isReference: true))
        }
        return records
    }

    // MARK: steps

    func encode(_ checkpoint: SearchCheckpoint) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(checkpoint)
    }

    /// Reads the checkpoint and checks it against the database, or plans generation 0.
    func loadOrStartCheckpoint(records: [CandidateRecord]) throws -> SearchCheckpoint {
        let path = files.checkpoint.path
        guard FileManager.default.fileExists(atPath: path) else {
            guard records.isEmpty else {
                throw SearchError.corruptFile(path: path, line: nil, detail: "missing, but \(files.candidates.path) holds \(records.count) records")
            }
            var rng = SplitMix64(seed: configuration.seed)
            var planned: [LIVGenome] = []
            var seen = Set<LIVGenome>()
            for _ in 0..<configuration.populationSize {
                var genome = try operators.randomGenome(rng: &rng)
                for _ in 0..<operators.attempts where seen.contains(genome) { genome = try operators.randomGenome(rng: &rng) }
                seen.insert(genome)
                planned.append(genome)
            }
            let checkpoint = SearchCheckpoint(generation: 0, population: [], planned: planned, plannedStart: 0, rngState: rng.state)
            try SearchFiles.writeAtomically(try encode(checkpoint), to: files.checkpoint)
            return checkpoint
        }
        let checkpoint: SearchCheckpoint
        do { checkpoint = try JSONDecoder().decode(SearchCheckpoint.self, from: try Data(contentsOf: files.checkpoint)) } catch {
            throw SearchError.corruptFile(path: path, line: nil, detail: "not a search checkpoint: \(error)")
        }
        let planned = try checkpoint.plannedGenomes(path: path)
        _ = try checkpoint.state(path: path)
        guard checkpoint.plannedStart <= records.count, records.count <= checkpoint.plannedStart + planned.count,
              checkpoint.population.allSatisfy({ $0 >= 0 && $0 < checkpoint.plannedStart }) else {
            throw SearchError.corruptFile(path: path, line: nil,
                                          detail: "plans candidates \(checkpoint.plannedStart)…\(checkpoint.plannedStart + planned.count - 1) but the database holds \(records.count)")
        }
        for index in checkpoint.plannedStart..<records.count where records[index].genome != planned[index - checkpoint.plannedStart] {
            throw SearchError.corruptFile(path: files.candidates.path, line: index + 1,
                                          detail: "expected the planned genome \(planned[index - checkpoint.plannedStart]), found \(records[index].genome)")
        }
        return checkpoint
    }

    /// The objective vector of a record.
    func point(_ record: CandidateRecord) -> [Double] { configuration.objectives.map { $0.value(of: record) } }

    /// Selects the next parents from parents ∪ the evaluated generation and plans its offspring.
    func advance(_ checkpoint: SearchCheckpoint, records: [CandidateRecord]) throws -> SearchCheckpoint {
        let pool = checkpoint.population + Array(checkpoint.plannedStart..<records.count)
        let kept = NSGA2.environmentalSelection(pool.map { point(records[$0]) }, count: configuration.populationSize)
        let parents = kept.map { pool[$0] }
        let (rank, crowding) = NSGA2.rankAndCrowding(parents.map { point(records[$0]) })
        var rng = SplitMix64(seed: try checkpoint.state(path: files.checkpoint.path))
        var seen = Set(records.map(\.genome))
        var offspring: [LIVGenome] = []
        for _ in 0..<configuration.populationSize {
            var child: LIVGenome?
            for _ in 0..<operators.attempts {
                let a = records[parents[NSGA2.tournament(rank: rank, crowding: crowding, rng: &rng)]].genome
                let b = records[parents[NSGA2.tournament(rank: rank, crowding: crowding, rng: &rng)]].genome
                var candidate = rng.chance(configuration.crossoverProbability) ? try operators.recombine(a, b, rng: &rng) : a
                candidate = try operators.mutate(candidate, rng: &rng)
                child = candidate
                if !seen.contains(candidate) { break }
            }
            guard let child else { break }
            seen.insert(child)
            offspring.append(child)
        }
        return SearchCheckpoint(generation: checkpoint.generation + 1, population: parents, planned: offspring,
                                plannedStart: records.count, rngState: rng.state)
    }

    /// Evaluates one genome, appends its record to `database` and returns the record as read back.
    func evaluate(_ genome: LIVGenome, index: Int, generation: Int?, name: String?, directory: URL,
                  evaluator: any CandidateEvaluator, database: URL) throws -> CandidateRecord {
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw SearchError.writeFailed(path: directory.path, detail: error.localizedDescription)
        }
        let measured = try evaluator.evaluate(genome, index: index, directory: directory)
        for (label, value) in [("perplexity", measured.perplexity), ("decode_ms_per_token", measured.decodeMsPerToken),
                               ("train_seconds", measured.trainSeconds)] where value < 0 {
            throw SearchError.invalidMeasurement(index: index, detail: "\(label) must not be negative, found \(value)")
        }
        guard measured.tokensTrained >= 0 else {
            throw SearchError.invalidMeasurement(index: index, detail: "tokens_trained must not be negative, found \(measured.tokensTrained)")
        }
        let record = CandidateRecord(
            index: index, generation: generation, name: name, genome: genome,
            perplexity: measured.perplexity.isFinite ? measured.perplexity : nil, parameters: genome.parameterCount(settings),
            cacheBytesPerToken: genome.cacheBytesPerToken(context: configuration.cacheContext, settings),
            decodeMsPerToken: measured.decodeMsPerToken.isFinite ? measured.decodeMsPerToken : nil,
            trainSeconds: measured.trainSeconds.isFinite ? measured.trainSeconds : 0, tokensTrained: measured.tokensTrained)
        let line = record.jsonLine
        try SearchFiles.append(line, to: database)
        // Continue from the record as written, exactly what a resumed search reads.
        return try CandidateRecord(jsonLine: Substring(line), path: database.path, line: index + 1)
    }
}
