import Foundation
import Testing
import LFMFormats
import LFMKernels
@testable import LFMModels
@testable import LFMTraining

@Suite(.serialized) struct TrainerTests {
    let backend = CPUBackend(threads: 2)

    func corpus(_ count: Int = 600, vocabulary: Int = 256) throws -> TokenDataset {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID().uuidString).tokens").path
        // A repetitive "language": short phrases in random order.
        let phrases: [[Int]] = [[10, 11, 12, 13], [20, 21, 22], [30, 31, 32, 33, 34], [40, 41]]
        var state: UInt64 = 5, tokens: [Int] = []
        while tokens.count < count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            tokens += phrases[Int(state >> 33) % phrases.count]
        }
        try TokenDataset.write(Array(tokens.prefix(count)).map { $0 % vocabulary }, to: path)
        return try TokenDataset(path: path, validationFraction: 0.2)
    }

    var options: TrainingOptions {
        var o = TrainingOptions()
        o.steps = 6
        o.batchSize = 2
        o.contextLength = 16
        o.learningRate = 3e-3
        o.warmupSteps = 2
        o.seed = 42
        return o
    }

    @Test func resumedRunEqualsUninterruptedRun() throws {
        let data = try corpus()
        let straight = try Trainer(model: try TrainingFixtures.trainable("attn-first-f32"), data: data, options: options, backend: backend)
        for _ in 0..<6 { _ = try straight.trainStep() }

        let first = try Trainer(model: try TrainingFixtures.trainable("attn-first-f32"), data: data, options: options, backend: backend)
        for _ in 0..<3 { _ = try first.trainStep() }
        let checkpoint = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        try first.saveCheckpoint(to: checkpoint)

        let configuration = try LFM2Architecture.configuration(directory: checkpoint)
        let reloaded = try LFM2Trainable(source: SafeTensorsCheckpoint(directory: checkpoint), sourceName: checkpoint.path,
                                         configuration: configuration)
        let second = try Trainer(model: reloaded, data: data, options: options, backend: backend)
        try second.resume(from: checkpoint)
        #expect(second.step == 3)
        for _ in 0..<3 { _ = try second.trainStep() }
        for ((role, a), (_, b)) in zip(straight.model.orderedParameters, second.model.orderedParameters) {
            let worst = zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
            #expect(worst == 0, "\(role.huggingFaceName) differs by \(worst)")
        }
    }

    @Test func lossFallsAndValidationIsReported() throws {
        var o = options
        o.steps = 30
        o.evaluationInterval = 30
        let trainer = try Trainer(model: try TrainingFixtures.trainable("attn-first-f32"), data: try corpus(), options: o, backend: backend)
        let before = trainer.evaluate()
        var last: StepReport?
        for _ in 0..<30 { last = try trainer.trainStep() }
        #expect(last?.validationLoss != nil)
        #expect((last?.validationLoss ?? 99) < before - 1, "validation loss \(before) → \(last?.validationLoss ?? .nan)")
    }

    @Test func nonFiniteLossStopsWithoutUpdating() throws {
        let model = try TrainingFixtures.trainable("attn-first-f32")
        let trainer = try Trainer(model: model, data: try corpus(), options: options, backend: backend)
        model.parameters[.finalNorm]!.data[0] = .nan
        let snapshot = model.parameters[.ffnGate(0)]!.data
        #expect(throws: TrainingError.nonFiniteLoss(step: 0, lastCheckpoint: "ckpt")) { try trainer.trainStep(lastCheckpoint: "ckpt") }
        #expect(model.parameters[.ffnGate(0)]!.data == snapshot)
        #expect(trainer.step == 0)
    }

    @Test func badDataAndCheckpointsAreTypedErrors() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).tokens").path
        try TokenDataset.write([], to: empty)
        #expect(throws: TrainingError.emptyCorpus(path: empty)) { try TokenDataset(path: empty) }
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("garbage-\(UUID().uuidString)").path
        try Data("not tokens at all".utf8).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: TrainingError.self) { try TokenDataset(path: garbage) }
        let small = try corpus(20)
        #expect(throws: TrainingError.self) {
            try Trainer(model: try TrainingFixtures.trainable("attn-first-f32"), data: small, options: options, backend: backend)
        }
        let trainer = try Trainer(model: try TrainingFixtures.trainable("attn-first-f32"), data: try corpus(), options: options, backend: backend)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("badckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter()
        writer.metadata = ["step": "2", "optimizer_step": "2", "parameters": "1"]
        try writer.write(to: folder.appendingPathComponent("optimizer.safetensors"))
        #expect(throws: TrainingError.self) { try trainer.resume(from: folder) }
    }

    @Test func loraTrainsAdaptersOnlyAndMergesIntoAnEngineModel() throws {
        let model = try TrainingFixtures.trainable("attn-first-f32")
        let base = model.parameters[.ffnGate(0)]!.data
        let adapters = model.addAdapters(rank: 4, alpha: 8, targets: [.q, .v, .w1, .w3, .convInProj])
        #expect(!adapters.isEmpty)
        var o = options
        o.steps = 20
        o.learningRate = 1e-2
        let trainer = try Trainer(model: model, data: try corpus(), options: o, backend: backend, trainable: adapters)
        let before = trainer.evaluate()
        for _ in 0..<20 { _ = try trainer.trainStep() }
        #expect(trainer.evaluate() < before)
        #expect(model.parameters[.ffnGate(0)]!.data == base, "LoRA changed a frozen weight")

        let prompt = [10, 11, 12, 13, 20, 21]
        let adapted = model.forward(prompt, ops: Ops(backend: backend, tape: Tape())).data
        model.mergeAdapters()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("merged-\(UUID().uuidString)")
        try model.save(to: directory)
        let engine = try LFM2Architecture.load(directory: directory, options: ModelLoadOptions(backend: backend))
        var state = engine.makeState()
        let logits = try engine.forward(prompt, state: &state, logits: .all)
        #expect(zip(adapted, logits).map { abs($0 - $1) }.max()! < 1e-3)
    }
}
