import Foundation
import LFMCore
import LFMKernels
import LFMModels
import LFMTraining

/// How much training each candidate gets (equal for every candidate and reference).
public struct TrainingBudget: Sendable, Equatable, Codable {
    public var steps: Int
    public var batchSize: Int
    public var contextLength: Int
    public var learningRate: Float
    public var warmupSteps: Int
    public var weightDecay: Float
    /// Validation windows of `contextLength + 1` tokens, from the held-out split.
    public var validationWindows: Int

    public init(steps: Int, batchSize: Int, contextLength: Int, learningRate: Float, warmupSteps: Int,
                weightDecay: Float, validationWindows: Int) {
        self.steps = steps
        self.batchSize = batchSize
        self.contextLength = contextLength
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.weightDecay = weightDecay
        self.validationWindows = validationWindows
    }

    /// Tokens one candidate trains on.
    public var tokens: Int { steps * batchSize * contextLength }

    /// The budget of a full search (see Benchmarks/search/README.md for how it was chosen).
    public static let standard = TrainingBudget(steps: 200, batchSize: 8, contextLength: 128, learningRate: 3e-3,
                                                warmupSteps: 20, weightDecay: 0.1, validationWindows: 64)
    /// The budget of a `--quick` smoke search.
    public static let quick = TrainingBudget(steps: 60, batchSize: 4, contextLength: 64, learningRate: 3e-3,
                                             warmupSteps: 6, weightDecay: 0.1, validationWindows: 16)
}

/// How decode latency is measured: `depth` tokens are put in the context (untimed), then `steps`
/// single-token decode steps are timed, `repetitions` times from a copy of that state; the
/// median over repetitions of the mean per step is reported.
public struct LatencyProbe: Sendable, Equatable, Codable {
    public var depth: Int
    public var steps: Int
    public var repetitions: Int

    public init(depth: Int, steps: Int, repetitions: Int) {
        self.depth = depth
        self.steps = steps
        self.repetitions = repetitions
    }

    /// Decoding after 512 positions of context, 32 timed steps, median of 3.
    public static let standard = LatencyProbe(depth: 512, steps: 32, repetitions: 3)
    /// Decoding after 64 positions, 16 timed steps, median of 3.
    public static let quick = LatencyProbe(depth: 64, steps: 16, repetitions: 3)
}

/// The evaluator of a real search: trains each genome from the same seed with the same budget on
/// the corpus's training split (`Trainer`, AdamW, warm-up + cosine), measures the validation
/// perplexity on fixed held-out windows, saves the trained model (F32) with the tokenizer files
/// in `directory/model`, loads it back through the architecture registry and times decoding on
/// this machine.
public final class TrainingEvaluator: CandidateEvaluator {
    public let dataset: TokenDataset
    public let settings: LIVSettings
    public let budget: TrainingBudget
    public let probe: LatencyProbe
    public let threads: Int
    /// Seed of every candidate's initialization and batches.
    public let seed: UInt64
    /// Files copied next to each saved model (tokenizer.json, tokenizer_config.json, …).
    public let tokenizerFiles: [URL]
    /// Called with a progress line (training step, validation, latency) while evaluating.
    public var progress: ((String) -> Void)?

    public init(dataset: TokenDataset, settings: LIVSettings, budget: TrainingBudget, probe: LatencyProbe,
                threads: Int, seed: UInt64, tokenizerFiles: [URL]) {
        self.dataset = dataset
        self.settings = settings
        self.budget = budget
        self.probe = probe
        self.threads = threads
        self.seed = seed
        self.tokenizerFiles = tokenizerFiles
    }

    public func evaluate(_ genome: LIVGenome, index: Int, directory: URL) throws -> CandidateMeasurements {
        let model = try LIVTrainable(genome: genome, settings: settings, seed: seed)
        var options = TrainingOptions()
        options.steps = budget.steps
        options.batchSize = budget.batchSize
        options.contextLength = budget.contextLength
        options.learningRate = budget.learningRate
        options.warmupSteps = budget.warmupSteps
        options.weightDecay = budget.weightDecay
        options.seed = seed
        options.evaluationBatches = budget.validationWindows
        let backend = CPUBackend(threads: threads)
        let trainer = try Trainer(model: model, data: dataset, options: options, backend: backend)
        let started = DispatchTime.now().uptimeNanoseconds
        var diverged = false
        while trainer.step < budget.steps {
            do {
                let report = try trainer.trainStep()
                if report.step % 10 == 0 || report.step == budget.steps {
                    progress?(String(format: "train %d/%d loss %.3f", report.step, budget.steps, report.loss))
                }
            } catch TrainingError.nonFiniteLoss {
                diverged = true
                break
            }
        }
        let trainSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let validation = diverged ? Float.nan : trainer.evaluate()
        let perplexity = validation.isFinite ? exp(Double(validation)) : .infinity
        let folder = directory.appendingPathComponent("model")
        try? FileManager.default.removeItem(at: folder)
        try model.save(to: folder, dtype: .f32)
        for file in tokenizerFiles where FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.copyItem(at: file, to: folder.appendingPathComponent(file.lastPathComponent))
        }
        progress?("measuring decode latency")
        let latency = try decodeMilliseconds(folder: folder, backend: backend)
        return CandidateMeasurements(perplexity: perplexity, decodeMsPerToken: latency, trainSeconds: trainSeconds,
                                     tokensTrained: trainer.step * budget.batchSize * budget.contextLength)
    }

    /// Median over repetitions of the mean time of one decode step after `probe.depth` tokens.
    func decodeMilliseconds(folder: URL, backend: ComputeBackend) throws -> Double {
        let model = try ModelRegistry.load(path: folder.path, options: ModelLoadOptions(placement: .hugePages, backend: backend))
        var random = SplitMix64(seed: seed ^ 0x5EA7C4)
        let vocabulary = UInt64(settings.vocabularySize)
        let prompt = (0..<probe.depth).map { _ in Int(random.next() % vocabulary) }
        let decoded = (0..<probe.steps).map { _ in Int(random.next() % vocabulary) }
        var filled = model.makeState(maxContext: probe.depth + probe.steps + 1)
        if !prompt.isEmpty { _ = try model.forward(prompt, state: &filled, logits: .none, chunkSize: 512) }
        // Warm-up (page faults, thread start-up), not timed.
        var warm = filled
        warm.detach()
        for token in decoded.prefix(4) { _ = try model.forward([token], state: &warm) }
        var samples: [Double] = []
        for _ in 0..<max(1, probe.repetitions) {
            var state = filled
            state.detach()
            let start = DispatchTime.now().uptimeNanoseconds
            for token in decoded { _ = try model.forward([token], state: &state) }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(max(1, probe.steps)))
        }
        samples.sort()
        return samples[samples.count / 2]
    }
}
