import Foundation
import Testing
import LFMFormats
import LFMKernels
@testable import LFMModels
@testable import LFMTraining

/// Shared featurizers, save and reload, and training an LIV model with every class.
@Suite(.serialized) struct LIVTrainableTests {
    let backend = CPUBackend(threads: 2)

    /// Every class, gated sliding attention, a recurrence and a mixture of experts.
    static let everyClass = "h32x4x8 C3:48 A2:48 S2g:48 R4:48 C3:24e4 R4^2:32"

    @Test func sharedFeaturizerAccumulatesBothLayersGradients() throws {
        let settings = LIVSettings(vocabularySize: 40, slidingWindow: 3)
        let shared = try LIVGenome(text: "h16x2x8 R2:16 R2^1:16 S1g:16 S1g^1:16 C3:16 C3^1:16")
        let unshared = try LIVGenome(text: "h16x2x8 R2:16 R2:16 S1g:16 S1g:16 C3:16 C3:16")
        let model = try LIVTrainable(genome: shared, settings: settings, seed: 3)
        // The unshared model holds copies of the shared tensors in both layers.
        var copies: [String: Tensor] = [:]
        for entry in unshared.tensors(settings) {
            var source = entry.name
            for l in unshared.layers.indices where shared.featurizerOwner(of: l) != l {
                let mine = shared.featurizerTensors(l).map(\.name), owners = shared.featurizerTensors(shared.featurizerOwner(of: l)).map(\.name)
                if let i = mine.firstIndex(of: entry.name) { source = owners[i] }
            }
            let original = try #require(model.parameters[source])
            copies[entry.name] = Tensor(shape: entry.shape, data: original.data, requiresGrad: entry.trainable)
        }
        let copy = try LIVTrainable(configuration: LIVConfiguration(genome: unshared, settings: settings), parameters: copies)
        let tokens = [[1, 5, 9, 2, 7, 3, 3, 8, 1, 0, 4, 6]]
        var losses: [Float] = []
        for m in [model, copy] {
            let tape = Tape()
            let loss = m.loss(batch: tokens, ops: Ops(backend: backend, tape: tape))
            tape.backward(from: loss)
            losses.append(loss.data[0])
        }
        #expect(losses[0] == losses[1])
        #expect(model.orderedParameters.count < copy.orderedParameters.count)
        for (name, parameter) in model.orderedParameters {
            var expected = try #require(copy.parameters[name]).grad
            for l in shared.layers.indices where shared.featurizerOwner(of: l) != l {
                let owners = shared.featurizerTensors(shared.featurizerOwner(of: l)).map(\.name)
                guard let i = owners.firstIndex(of: name) else { continue }
                let other = try #require(copy.parameters[unshared.featurizerTensors(l)[i].name]).grad
                expected = zip(expected, other).map { $0 + $1 }
            }
            #expect(relativeError(parameter.grad, expected) <= 1e-5, "\(name)")
        }
    }

    @Test func activationCheckpointingGivesTheSameGradients() throws {
        let model = try LIVTrainable(genome: LIVGenome(text: Self.everyClass), settings: LIVSettings(vocabularySize: 40, slidingWindow: 3), seed: 5)
        let tokens = [[1, 5, 9, 2, 7, 3, 3, 8, 1, 0, 4, 6], [2, 2, 9, 31, 7, 3, 12, 8, 1, 0, 4, 39]]
        var gradients: [[[Float]]] = []
        for checkpointing in [false, true] {
            model.zeroGrad()
            model.checkpointActivations = checkpointing
            let tape = Tape()
            tape.backward(from: model.loss(batch: tokens, ops: Ops(backend: backend, tape: tape)))
            gradients.append(model.orderedParameters.map(\.1.grad))
        }
        #expect(gradients[0] == gradients[1])
    }

    @Test func saveThenReloadGivesTheSameModel() throws {
        let settings = LIVSettings(vocabularySize: 50, slidingWindow: 4, sandwichNorm: true, tieEmbeddings: false,
                                   expertsPerToken: 2, routedScaling: 1.25)
        let model = try LIVTrainable(genome: LIVGenome(text: Self.everyClass), settings: settings, seed: 9)
        model.parameters["model.layers.4.feed_forward.expert_bias"]?.data = [0.1, -0.2, 0.3, 0]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liv-save-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try model.save(to: directory)
        let configuration = try LIVConfiguration(huggingFace: JSONObject(contentsOf: directory.appendingPathComponent("config.json")))
        #expect(configuration.genome == model.configuration.genome)
        #expect(configuration.settings == model.configuration.settings)
        let reloaded = try LIVTrainable(configuration: configuration, source: SafeTensorsCheckpoint(directory: directory),
                                        sourceName: directory.path)
        #expect(reloaded.parameters.count == model.parameters.count)
        for (name, tensor) in model.parameters {
            #expect(reloaded.parameters[name]?.data == tensor.data, "\(name)")
            #expect(reloaded.parameters[name]?.requiresGrad == tensor.requiresGrad, "\(name)")
        }
    }

    @Test func loadingRejectsAMissingOrMisshapenTensor() throws {
        let settings = LIVSettings(vocabularySize: 50)
        let model = try LIVTrainable(genome: LIVGenome(text: "h16x2x8 C3:16 R2:16"), settings: settings, seed: 1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liv-bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try model.save(to: directory)
        let source = try SafeTensorsCheckpoint(directory: directory)
        // A genome with four decay groups expects a [4] decay bias and a [36, 16] in_proj.
        let other = try LIVConfiguration(genome: LIVGenome(text: "h16x2x8 C3:16 R4:16"), settings: settings)
        #expect(throws: ModelLoadError.self) { try LIVTrainable(configuration: other, source: source, sourceName: "bad") }
        let renamed = { (name: String) in name.replacingOccurrences(of: "recurrence", with: "mixer") }
        #expect(throws: ModelLoadError.self) {
            try LIVTrainable(configuration: model.configuration, source: source, sourceName: "bad", renaming: renamed)
        }
    }

    @Test func everyClassTrainsAndItsLossFalls() throws {
        let settings = LIVSettings(vocabularySize: 48, slidingWindow: 6)
        let model = try LIVTrainable(genome: LIVGenome(text: Self.everyClass), settings: settings, seed: 4)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("liv-corpus-\(UUID().uuidString).tokens").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let phrases: [[Int]] = [[10, 11, 12, 13], [20, 21, 22], [30, 31, 32, 33, 34], [40, 41]]
        var state: UInt64 = 5, tokens: [Int] = []
        while tokens.count < 800 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            tokens += phrases[Int(state >> 33) % phrases.count]
        }
        try TokenDataset.write(tokens, to: path)
        var options = TrainingOptions()
        options.steps = 40
        options.batchSize = 4
        options.contextLength = 24
        options.learningRate = 1e-2
        options.warmupSteps = 4
        options.seed = 1
        let trainer = try Trainer(model: model, data: TokenDataset(path: path, validationFraction: 0.2), options: options,
                                  backend: backend)
        let before = trainer.evaluate()
        var reports: [StepReport] = []
        while trainer.step < options.steps { reports.append(try trainer.trainStep()) }
        let after = trainer.evaluate()
        // From about ln 48 ≈ 3.9 to the corpus's few-bits-per-token structure.
        #expect(after < 0.5 * before, "validation loss \(before) → \(after)")
        #expect(reports.suffix(5).map(\.loss).reduce(0, +) / 5 < 0.5 * reports[0].loss)
        // Every trainable tensor, the recurrence's decay bias and the routers included, received gradient.
        for (name, parameter) in model.orderedParameters {
            #expect(parameter.grad.contains { $0 != 0 }, "\(name) never received a gradient")
        }
    }
}
