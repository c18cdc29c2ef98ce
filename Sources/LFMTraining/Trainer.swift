import Foundation
import LFMCore
import LFMFormats
import LFMKernels
import LFMModels

/// Settings of a training run.
public struct TrainingOptions: Sendable {
    public var steps = 100
    public var batchSize = 4
    public var contextLength = 128
    public var learningRate: Float = 1e-3
    public var warmupSteps = 10
    public var minimumLearningRateRatio: Float = 0.1
    public var weightDecay: Float = 0.01
    public var maxGradientNorm: Float = 1
    /// Micro-batches whose gradients are summed before each optimizer step.
    public var gradientAccumulation = 1
    public var seed: UInt64 = 0
    /// Evaluate validation loss every this many steps (0: only at the end).
    public var evaluationInterval = 0
    /// Validation windows per evaluation.
    public var evaluationBatches = 8
    /// Write a checkpoint every this many steps (0: only at the end).
    public var checkpointInterval = 0
    /// Recompute each layer's forward during the backward pass instead of keeping its
    /// activations (less memory, about a third more compute; identical gradients).
    public var checkpointActivations = false
    /// Format of the matrix products (`bf16`: BF16 operands, F32 accumulation and master weights).
    public var precision: TrainingPrecision = .f32

    public init() {}
}

/// What one optimizer step did.
public struct StepReport: Sendable {
    public let step: Int
    public let loss: Float
    public let learningRate: Float
    public let gradientNorm: Float
    public let tokensPerSecond: Double
    public let validationLoss: Float?
}

/// Trains a `TrainableLanguageModel` (`LFM2Trainable`, `LIVTrainable`) on a `TokenDataset`:
/// AdamW, clipping, warm-up + cosine, gradient accumulation, deterministic batches (a function
/// of seed and step, so a resumed run equals an uninterrupted one), checkpoints with optimizer state.
public final class Trainer<Model: TrainableLanguageModel> {
    public let model: Model
    public let data: TokenDataset
    public let options: TrainingOptions
    public let backend: ComputeBackend
    /// Parameters being optimized (all, or the LoRA adapters).
    public let trainable: [Tensor]
    public private(set) var optimizer: AdamW
    /// Steps done.
    public private(set) var step = 0

    /// Creates a trainer; `trainable` defaults to every parameter.
    public init(model: Model, data: TokenDataset, options: TrainingOptions, backend: ComputeBackend,
                trainable: [Tensor]? = nil) throws {
        let needed = options.contextLength + 2
        guard data.trainCount >= needed, data.count - data.trainCount >= 2 else {
            throw TrainingError.corpusTooSmall(path: data.path, tokens: data.count, needed: needed * 2)
        }
        // Every token, training and validation part, must index the embedding: checked once here.
        let vocabulary = model.vocabularySize
        for i in 0..<data.count where data[i] >= vocabulary {
            throw TrainingError.tokenOutOfRange(token: data[i], vocabularySize: vocabulary)
        }
        // Fail now, not at the first step, when the CPU cannot run the requested precision.
        _ = try Ops(backend: backend, tape: Tape(recording: false), precision: options.precision)
        self.model = model
        self.data = data
        self.options = options
        self.backend = backend
        self.trainable = trainable ?? model.namedParameters.map(\.tensor)
        optimizer = AdamW(weightDecay: options.weightDecay)
    }

    var schedule: CosineSchedule {
        CosineSchedule(peak: options.learningRate, warmupSteps: options.warmupSteps, totalSteps: options.steps,
                       minimumRatio: options.minimumLearningRateRatio)
    }

    /// The training windows of step `step` (deterministic).
    func windows(step: Int) -> [[Int]] {
        var random = SplitMix64(seed: options.seed &+ UInt64(step) &* 0x9E37_79B9)
        let span = data.trainCount - (options.contextLength + 1)
        return (0..<(options.batchSize * options.gradientAccumulation)).map { _ in
            let start = Int(random.next() % UInt64(span + 1))
            return data.tokens(start..<(start + options.contextLength + 1))
        }
    }

    /// One optimizer step; throws `nonFiniteLoss` (without updating anything) when the loss is NaN/∞.
    public func trainStep(lastCheckpoint: String? = nil) throws -> StepReport {
        let started = DispatchTime.now().uptimeNanoseconds
        for p in trainable { p.zeroGrad() }
        model.zeroGrad()
        let batch = windows(step: step)
        model.checkpointActivations = options.checkpointActivations
        var total: Float = 0
        // One graph per micro-batch (its windows side by side); gradients are summed over the
        // micro-batches, then divided by their number below.
        let microBatches = stride(from: 0, to: batch.count, by: options.batchSize).map {
            Array(batch[$0..<min($0 + options.batchSize, batch.count)])
        }
        for windows in microBatches {
            let tape = Tape()
            let ops = try Ops(backend: backend, tape: tape, precision: options.precision)
            let loss = model.loss(batch: windows, ops: ops)
            tape.backward(from: loss)
            total += loss.data[0] * Float(windows.count)
        }
        let meanLoss = total / Float(batch.count)
        guard meanLoss.isFinite else { throw TrainingError.nonFiniteLoss(step: step, lastCheckpoint: lastCheckpoint) }
        if microBatches.count > 1 {
            let scale = 1 / Float(microBatches.count)
            for p in trainable where !p.grad.isEmpty { for i in p.grad.indices { p.grad[i] *= scale } }
        }
        let norm = clipGradientNorm(trainable, maxNorm: options.maxGradientNorm, backend: backend)
        guard norm.isFinite else { throw TrainingError.nonFiniteLoss(step: step, lastCheckpoint: lastCheckpoint) }
        let lr = schedule.rate(at: step)
        optimizer.update(trainable, lr: lr, backend: backend)
        step += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        var validation: Float?
        if options.evaluationInterval > 0, step % options.evaluationInterval == 0 { validation = evaluate() }
        return StepReport(step: step, loss: meanLoss, learningRate: lr, gradientNorm: norm,
                          tokensPerSecond: Double(batch.count * options.contextLength) / max(seconds, 1e-9),
                          validationLoss: validation)
    }

    /// Mean loss over fixed validation windows.
    public func evaluate() -> Float {
        let available = data.count - data.trainCount
        let length = min(options.contextLength + 1, available)
        guard length >= 2 else { return .nan }
        let windows = max(1, min(options.evaluationBatches, available / length))
        // One forward-only graph over all windows (equal lengths: its mean is the mean of theirs).
        let batch = (0..<windows).map { w -> [Int] in
            let start = data.trainCount + w * length
            return data.tokens(start..<(start + length))
        }
        let ops = Ops(backend: backend, tape: Tape(recording: false))
        return model.loss(batch: batch, ops: ops).data[0]
    }

    // MARK: - Checkpoints

    /// Saves the model (a Hugging Face folder), the optimizer moments and the step.
    public func saveCheckpoint(to directory: URL) throws {
        let staging = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).partial")
        try? FileManager.default.removeItem(at: staging)
        try model.save(to: staging, dtype: .f32)
        var writer = SafeTensorsWriter()
        for (i, p) in trainable.enumerated() where i < optimizer.firstMoments.count {
            writer.add("param.\(i).exp_avg", shape: [p.count], values: optimizer.firstMoments[i])
            writer.add("param.\(i).exp_avg_sq", shape: [p.count], values: optimizer.secondMoments[i])
        }
        for (i, p) in trainable.enumerated() where !model.namedParameters.contains(where: { $0.tensor === p }) {
            writer.add("adapter.\(i)", shape: p.shape, values: p.data)
        }
        writer.metadata = ["step": String(step), "optimizer_step": String(optimizer.step), "parameters": String(trainable.count)]
        try writer.write(to: staging.appendingPathComponent("optimizer.safetensors"))
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.moveItem(at: staging, to: directory)
    }

    /// Restores optimizer moments, adapters and the step from `directory` (the model weights are
    /// loaded by the caller from the same folder).
    public func resume(from directory: URL) throws {
        let path = directory.appendingPathComponent("optimizer.safetensors").path
        let file = try SafeTensorsFile(path: path)
        guard let stepText = file.metadata["step"], let saved = Int(stepText),
              let optimizerText = file.metadata["optimizer_step"], let optimizerStep = Int(optimizerText),
              file.metadata["parameters"] == String(trainable.count) else {
            throw TrainingError.badCheckpoint(path: path, detail: "missing or mismatched step/parameter metadata")
        }
        var first: [[Float]] = [], second: [[Float]] = []
        for (i, p) in trainable.enumerated() {
            if let adapter = file.tensor(named: "adapter.\(i)")?.floats() {
                guard adapter.count == p.count else { throw TrainingError.badCheckpoint(path: path, detail: "adapter \(i) has \(adapter.count) values, expected \(p.count)") }
                p.data = adapter
            }
            guard optimizerStep > 0 else { continue }
            guard let m = file.tensor(named: "param.\(i).exp_avg")?.floats(), let v = file.tensor(named: "param.\(i).exp_avg_sq")?.floats(),
                  m.count == p.count, v.count == p.count else {
                throw TrainingError.badCheckpoint(path: path, detail: "optimizer state for parameter \(i) is missing or has the wrong size")
            }
            first.append(m)
            second.append(v)
        }
        optimizer.restore(step: optimizerStep, firstMoments: first, secondMoments: second)
        step = saved
    }
}
