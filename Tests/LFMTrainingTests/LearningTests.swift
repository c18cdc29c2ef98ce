import Foundation
import Testing
import LFMKernels
@testable import LFMModels
@testable import LFMTraining

@Suite struct LearningTests {
    @Test func tinyModelMemorizesAShortTextAndRoundTripsToTheEngine() throws {
        let model = try TrainingFixtures.trainable("attn-first-f32")
        let text: [Int] = [1, 17, 42, 99, 5, 17, 42, 200, 13, 77, 17, 42, 99, 5, 2]
        let backend = CPUBackend(threads: 2)
        var optimizer = AdamW(weightDecay: 0)
        let parameters = model.orderedParameters.map(\.1)
        var losses: [Float] = []
        for step in 0..<60 {
            let tape = Tape()
            let ops = Ops(backend: backend, tape: tape)
            model.zeroGrad()
            let loss = model.loss(text, ops: ops)
            losses.append(loss.data[0])
            tape.backward(from: loss)
            clipGradientNorm(parameters, maxNorm: 1)
            optimizer.update(parameters, lr: CosineSchedule(peak: 1e-2, warmupSteps: 5, totalSteps: 60).rate(at: step))
        }
        #expect(losses[0] > 4, "starting loss \(losses[0])")
        #expect(losses.last! < 0.3, "loss after 60 steps: \(losses.last!)")

        // Export and load in the inference engine: identical logits.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trained-\(UUID().uuidString)")
        try model.save(to: directory)
        let engine = try LFM2Architecture.load(directory: directory, options: ModelLoadOptions(backend: backend))
        var state = engine.makeState()
        let logits = try engine.forward(Array(text.dropLast()), state: &state, logits: .all)
        let theirs = model.forward(Array(text.dropLast()), ops: Ops(backend: backend, tape: Tape()))
        let worst = zip(logits, theirs.data).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-4, "engine vs trainer logits: \(worst)")
    }
}
