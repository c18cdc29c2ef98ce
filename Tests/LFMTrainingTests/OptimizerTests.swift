import Foundation
import Testing
@testable import LFMTraining

@Suite struct OptimizerTests {
    struct Fixture: Decodable {
        struct Step: Decodable { let grads: [[Float]]; let norm: Float; let lr: Float; let params: [[Float]] }
        struct Schedule: Decodable { let peak: Float; let warmup: Int; let total: Int; let min_ratio: Float }
        let shapes: [[Int]]
        let initial: [[Float]]
        let weight_decay: Float
        let max_norm: Float
        let schedule: Schedule
        let steps: [Step]
    }

    @Test func tenStepsMatchTorchAdamW() throws {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/adamw.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let parameters = zip(fixture.shapes, fixture.initial).map { Tensor(shape: $0, data: $1, requiresGrad: true) }
        var optimizer = AdamW(weightDecay: fixture.weight_decay)
        let schedule = CosineSchedule(peak: fixture.schedule.peak, warmupSteps: fixture.schedule.warmup,
                                      totalSteps: fixture.schedule.total, minimumRatio: fixture.schedule.min_ratio)
        for (index, step) in fixture.steps.enumerated() {
            for (p, g) in zip(parameters, step.grads) { p.grad = g }
            let norm = clipGradientNorm(parameters, maxNorm: fixture.max_norm)
            #expect(abs(norm - step.norm) <= 1e-5 * max(1, step.norm))
            let lr = schedule.rate(at: index)
            #expect(abs(lr - step.lr) <= 1e-7)
            optimizer.update(parameters, lr: lr)
            for (p, expected) in zip(parameters, step.params) {
                let worst = zip(p.data, expected).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-5, "step \(index): max |Δ| = \(worst)")
            }
        }
        #expect(optimizer.step == 10)
    }

    @Test func scheduleShape() {
        let s = CosineSchedule(peak: 1, warmupSteps: 4, totalSteps: 14, minimumRatio: 0.1)
        #expect(s.rate(at: 0) == 0.25 && s.rate(at: 3) == 1)
        #expect(abs(s.rate(at: 14) - 0.1) < 1e-6 && abs(s.rate(at: 100) - 0.1) < 1e-6)
        #expect(s.rate(at: 9) < s.rate(at: 5))
    }
}
