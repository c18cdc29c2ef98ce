import ArgumentParser
import Foundation
import LFMModels
import LFMSearch
import LFMTokenizer

/// `lfm search`: multi-objective architecture search over LIV genomes (NSGA-II with the hardware
/// in the loop), its Pareto front, and exporting a candidate.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Evolve LIV architectures against perplexity, cache size and measured decode latency (NSGA-II).",
        discussion: """
        A search directory holds search.json (the settings), checkpoint.json (population, generator \
        state, planned offspring), candidates.jsonl (one record per evaluated candidate, never \
        rewritten), references.jsonl and candidates/<i>/model (each trained model). Running again \
        on the same directory with a larger --budget resumes exactly where it stopped.

        Examples:
          lfm search --corpus corpus.txt --budget 48 --seed 1 --out runs/search
          lfm search --corpus corpus.txt --budget 8 --seed 1 --out runs/smoke --quick
          lfm search show runs/search --plot front.svg
          lfm search show runs/search --json
          lfm search export runs/search --candidate 17 --out models/found
        """,
        subcommands: [SearchRunCommand.self, SearchShowCommand.self, SearchExportCommand.self],
        defaultSubcommand: SearchRunCommand.self
    )
}

/// Writes a line to standard error.
private func searchLog(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Parses `--objectives` (nil: the defaults).
private func parseObjectives(_ text: String?) throws -> [SearchObjective] {
    guard let text else { return SearchObjective.defaults }
    return try SearchObjective.parseList(text)
}

/// SHA-256 of a file, hex (a typed error naming the file when it cannot be read).
private func sha256(of url: URL) throws -> String {
    do { return try fileSHA256(url) } catch {
        throw SearchError.missing(path: url.path, detail: "cannot read the file: \(error.localizedDescription)")
    }
}

/// `lfm search --corpus FILE --budget N --seed S --out DIR`: runs (or resumes) a search.
struct SearchRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run or resume a search (the default subcommand: `lfm search --corpus …` is `lfm search run --corpus …`)."
    )

    @Option(help: "UTF-8 text corpus to train and validate candidates on.") var corpus: String
    @Option(help: "Evaluated candidates in total (a larger budget on the same --out resumes).") var budget: Int
    @Option(help: "Seed of the search (every random choice comes from it).") var seed: UInt64
    @Option(help: "Search directory (created, or resumed).") var out: String
    @Flag(help: "The smallest candidates and training budget, for smoke runs of a few minutes.") var quick = false
    @Option(help: "Objectives to minimise, comma-separated: perplexity, cache, latency, parameters.")
    var objectives: String = "perplexity,cache,latency"
    @Option(help: "Parents kept and offspring evaluated per generation.") var population: Int = 8
    @Option(help: "tokenizer.json (default: the bundled default model's).") var tokenizer: String?
    @Flag(help: "Also evaluate the three hand-designed references (llama, lfm2, lfm3) into references.jsonl.")
    var references = false
    @Option(name: .customLong("reference-parameters"), help: "Parameter count the references are scaled to (default: ~3.2M, or ~320k with --quick).")
    var referenceParameters: Int?
    @Option(name: [.customShort("t"), .long], help: "Worker threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("train-steps"), help: "Training steps per candidate (default: 200, or 60 with --quick); recorded in search.json.")
    var trainSteps: Int?

    func validate() throws {
        guard budget >= 0 else { throw ValidationError("--budget must be at least 0, found \(budget)") }
        guard population >= 2 else { throw ValidationError("--population must be at least 2, found \(population)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, found \(threads)") }
        if let trainSteps, trainSteps < 1 { throw ValidationError("--train-steps must be at least 1, found \(trainSteps)") }
        if let referenceParameters, referenceParameters < 1 {
            throw ValidationError("--reference-parameters must be positive, found \(referenceParameters)")
        }
    }

    func run() throws {
        let corpusURL = URL(fileURLWithPath: corpus).standardizedFileURL
        guard FileManager.default.fileExists(atPath: corpusURL.path) else {
            throw SearchError.missing(path: corpusURL.path, detail: "no such corpus file")
        }
        let tokenizerURL = URL(fileURLWithPath: tokenizer ?? (bundledModelPath() + "/tokenizer.json")).standardizedFileURL
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw SearchError.missing(path: tokenizerURL.path, detail: "no tokenizer.json here (pass --tokenizer FILE)")
        }
        let vocabulary = try Tokenizer(contentsOf: tokenizerURL)
        let settings = LIVSettings(vocabularySize: vocabulary.vocabularySize, bosTokenId: vocabulary.bosTokenId,
                                   eosTokenIds: vocabulary.eosTokenId.map { [$0] } ?? [])
        let space: SearchSpace = quick ? .quick : .standard
        var training: TrainingBudget = quick ? .quick : .standard
        if let trainSteps {
            training.steps = trainSteps
            training.warmupSteps = max(1, trainSteps / 10)
        }
        let probe: LatencyProbe = quick ? .quick : .standard
        let configuration = SearchConfiguration(
            seed: seed, space: space, objectives: try parseObjectives(objectives), populationSize: population, quick: quick,
            corpusPath: corpusURL.path, corpusSHA256: try sha256(of: corpusURL), tokenizerPath: tokenizerURL.path,
            tokenizerSHA256: try sha256(of: tokenizerURL), settings: settings, training: training, latency: probe)
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let search = try SearchRun(directory: URL(fileURLWithPath: out), configuration: configuration, settings: settings)
        let evaluator = try makeSearchEvaluator(
            corpus: corpusURL, tokenizer: tokenizerURL, packed: URL(fileURLWithPath: out).appendingPathComponent("corpus.tokens"),
            settings: settings, budget: training, probe: probe, seed: seed, threads: threadCount) { line in
            FileHandle.standardError.write(Data(("\r\u{1B}[K  " + line).utf8))
        }
        let done = try SearchFiles.readRecords(search.files.candidates).count
        searchLog(done == 0
            ? "search: \(budget) candidates, population \(population), seed \(seed)\(quick ? ", quick" : "") → \(out)"
            : "search: resuming \(out) at candidate \(done + 1) of \(budget)")
        let records = try search.run(budget: budget, evaluator: evaluator) { searchLog("\r\u{1B}[K" + $0.line) }
        if references {
            let target = referenceParameters ?? space.referenceParameterTarget
            searchLog("search: references at \(target) parameters")
            try search.runReferences(parameterTarget: target, evaluator: evaluator) { searchLog("\r\u{1B}[K" + $0.line) }
        }
        let report = SearchReport(candidates: records,
                                  references: try SearchFiles.readRecords(search.files.references),
                                  objectives: configuration.objectives)
        print(report.table)
    }
}

/// `lfm search show DIR`: the Pareto front as a table, as JSON, and as an SVG plot.
struct SearchShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a search's Pareto front (a table, or one line of JSON with --json) and plot it as SVG."
    )

    @Argument(help: "Search directory.") var directory: String
    @Flag(help: "Print {\"candidates\": [{\"genome\", \"perplexity\", \"parameters\", \"cache_bytes_per_token\", \"decode_ms_per_token\", …}], \"pareto\": [indices], \"references\": […]} as one line.")
    var json = false
    @Option(help: "Write the front as an SVG plot (perplexity vs decode latency and vs cache bytes per token).")
    var plot: String?
    @Option(help: "Objectives of the front, comma-separated (default: perplexity,cache,latency).") var objectives: String?

    func run() throws {
        let report = try SearchReport(directory: URL(fileURLWithPath: directory), objectives: try parseObjectives(objectives))
        if let plot {
            try ParetoPlot.write(report, to: URL(fileURLWithPath: plot))
            searchLog("search: plot written to \(plot)")
        }
        print(json ? report.json : report.table)
    }
}

/// `lfm search export DIR --candidate I --out MODEL`: a candidate's trained model folder.
struct SearchExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Copy a candidate's trained model folder (with the tokenizer) to a new model folder."
    )

    @Argument(help: "Search directory.") var directory: String
    @Option(help: "0-based candidate index (as in `lfm search show`).") var candidate: Int
    @Option(help: "Model folder to write (must not exist, or be empty).") var out: String

    func run() throws {
        let record = try SearchExport.export(directory: URL(fileURLWithPath: directory), candidate: candidate,
                                             to: URL(fileURLWithPath: out))
        searchLog("search: candidate \(candidate) (\(record.genome)) exported to \(out)")
    }
}
