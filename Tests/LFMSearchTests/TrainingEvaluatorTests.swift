import Foundation
import LFMModels
import LFMSearch
import LFMTraining
import Testing

/// The real evaluator on a tiny corpus: it trains, measures a perplexity that training lowers,
/// saves a model the registry loads, and times decoding.
@Suite struct TrainingEvaluatorTests {
    /// A corpus of a repeating 7-token phrase over a vocabulary of 48 (learnable in a few dozen steps).
    func dataset(_ root: URL) throws -> TokenDataset {
        let phrase = [5, 17, 9, 33, 2, 41, 12]
        let tokens = (0..<3000).map { phrase[$0 % phrase.count] }
        let path = root.appendingPathComponent("corpus.tokens").path
        try TokenDataset.write(tokens, to: path)
        return try TokenDataset(path: path)
    }

    func evaluator(_ root: URL, steps: Int) throws -> TrainingEvaluator {
        let budget = TrainingBudget(steps: steps, batchSize: 4, contextLength: 16, learningRate: 1e-2, warmupSteps: 2,
                                    weightDecay: 0, validationWindows: 4)
        return TrainingEvaluator(dataset: try dataset(root), settings: LIVSettings(vocabularySize: 48, slidingWindow: 4),
                                 budget: budget, probe: LatencyProbe(depth: 8, steps: 4, repetitions: 3), threads: 2,
                                 seed: 3, tokenizerFiles: [])
    }

    @Test func trainsMeasuresAndSavesALoadableModel() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-evaluator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let genome = try LIVGenome(text: "h32x2x16 C3:32 S1g:32 R2:32")
        try genome.validate()

        let untrained = try evaluator(root, steps: 0).evaluate(genome, index: 0, directory: root.appendingPathComponent("a"))
        let trained = try evaluator(root, steps: 40).evaluate(genome, index: 0, directory: root.appendingPathComponent("b"))
        // Untrained: about the vocabulary size; trained on a 7-token cycle: far below it.
        #expect(untrained.perplexity > 20)
        #expect(trained.perplexity < untrained.perplexity / 4, "\(trained.perplexity) vs \(untrained.perplexity)")
        #expect(trained.tokensTrained == 40 * 4 * 16)
        #expect(trained.decodeMsPerToken > 0 && trained.decodeMsPerToken.isFinite)

        let folder = root.appendingPathComponent("b/model")
        let model = try ModelRegistry.load(path: folder.path)
        let configuration = try #require(model.configuration as? LIVConfiguration)
        #expect(configuration.genome == genome)
        #expect(configuration.parameterCount == genome.parameterCount(configuration.settings))
    }
}
