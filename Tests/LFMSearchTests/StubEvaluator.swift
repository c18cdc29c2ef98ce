import Foundation
import LFMModels
@testable import LFMSearch

/// Measurements that are a deterministic function of the genome: perplexity falls with the
/// parameter count and depends on the class mix, latency grows with depth and width.
struct StubEvaluator: CandidateEvaluator {
    var settings: LIVSettings
    /// Throw when asked for this candidate (simulates a kill mid-evaluation).
    var failAt: Int?
    /// Write a stand-in model folder (`directory/model/config.json` naming the genome).
    var saveModel = false
    /// Indices evaluated, in order (reference type so the test sees it).
    final class Log { var indices: [Int] = [] }
    var calls = Log()

    struct Killed: Error {}

    func evaluate(_ genome: LIVGenome, index: Int, directory: URL) throws -> CandidateMeasurements {
        if index == failAt { throw Killed() }
        calls.indices.append(index)
        if saveModel {
            let model = directory.appendingPathComponent("model")
            try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
            try Data("{\"genome\": \"\(genome)\"}".utf8).write(to: model.appendingPathComponent("config.json"))
        }
        let parameters = Double(genome.parameterCount(settings))
        let attention = Double(genome.layers.filter { $0.mixer.isAttention }.count)
        let recurrence = Double(genome.layers.filter { $0.mixer == .recurrence }.count)
        let depth = Double(genome.layers.count)
        let groupsTerm: Double = Double(genome.layers.map(\.groups).reduce(0, +) % 7) * 0.01
        let mixTerm: Double = 0.3 * recurrence - 1.7 * attention / depth
        let perplexity: Double = 400 / log(parameters) + mixTerm + groupsTerm
        let latency: Double = 0.05 * depth + Double(genome.hiddenSize) / 3000 + 0.02 * attention
        return CandidateMeasurements(perplexity: perplexity, decodeMsPerToken: latency, trainSeconds: 1.5,
                                     tokensTrained: 1000 * genome.layers.count)
    }
}

/// A fresh temporary directory.
func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("lfm-search-tests-\(name)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
    try? FileManager.default.removeItem(at: url)
    return url
}

/// The settings of the tests (the default model's vocabulary).
let testSettings = LIVSettings(vocabularySize: 4096)

/// A quick-space configuration.
func quickConfiguration(seed: UInt64, population: Int = 4, objectives: [SearchObjective] = SearchObjective.defaults)
    -> SearchConfiguration {
    SearchConfiguration(seed: seed, space: .quick, objectives: objectives, populationSize: population, quick: true,
                        corpusPath: "/corpus.txt", corpusSHA256: "abc", tokenizerPath: "/tokenizer.json",
                        tokenizerSHA256: "def", settings: testSettings)
}
