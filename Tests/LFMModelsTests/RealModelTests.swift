import Foundation
import Testing
import LFMKernels
@testable import LFMModels

/// Checks on a real-size checkpoint, run only when `LFM_MODEL_DIR` names one (never in CI).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LFM_MODEL_DIR"] != nil))
struct RealModelTests {
    let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["LFM_MODEL_DIR"] ?? "/nonexistent")

    @Test func optimizedBackendAgreesWithReferenceAndWithItself() throws {
        let fast = try LFM2Architecture.load(directory: directory, options: ModelLoadOptions(backend: CPUBackend(threads: 2)))
        let reference = DecoderModel(configuration: fast.configuration, weights: fast.weights, backend: ReferenceBackend())
        let prompt = Array((0..<40).map { ($0 * 7919 + 13) % fast.configuration.vocabularySize })
        var chunked = fast.makeState()
        let all = try fast.forward(prompt, state: &chunked, logits: .all, chunkSize: 16)
        var stepwise = fast.makeState()
        let v = fast.configuration.vocabularySize
        var worst: Float = 0
        for (i, token) in prompt.enumerated() {
            let logits = try fast.forward([token], state: &stepwise)
            worst = max(worst, maxAbsDifference(logits, Array(all[(i * v)..<((i + 1) * v)])))
        }
        #expect(worst < 1e-3, "prefill vs decode: \(worst)")
        var slow = reference.makeState()
        let referenceLogits = try reference.forward(Array(prompt.prefix(3)), state: &slow, logits: .all)
        let difference = maxAbsDifference(referenceLogits, Array(all.prefix(3 * v)))
        #expect(difference < 1e-3, "CPU vs reference: \(difference)")
    }
}
