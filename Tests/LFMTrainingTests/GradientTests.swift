import Foundation
import Testing
import LFMFormats
import LFMKernels
@testable import LFMModels
@testable import LFMTraining

enum TrainingFixtures {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LFMModelsTests/Fixtures/lfm2")
    static let gradients = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/gradients")

    static func cases() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: gradients.path)) ?? []).sorted()
    }

    static func trainable(_ name: String) throws -> LFM2Trainable {
        let directory = models.appendingPathComponent(name)
        let configuration = try LFM2Architecture.configuration(directory: directory)
        return try LFM2Trainable(source: SafeTensorsCheckpoint(directory: directory), sourceName: directory.path,
                                 configuration: configuration)
    }
}

/// ‖a − b‖ / ‖b‖.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a, b) { difference += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
    return (difference / max(norm, 1e-30)).squareRoot()
}

@Suite struct GradientTests {
    @Test func fixturesArePresent() { #expect(TrainingFixtures.cases().count >= 4) }

    @Test(arguments: TrainingFixtures.cases())
    func lossAndEveryGradientMatchPyTorch(name: String) throws {
        struct Reference: Decodable { let tokens: [Int]; let loss: Double }
        let folder = TrainingFixtures.gradients.appendingPathComponent(name)
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("loss.json")))
        let expected = try SafeTensorsFile(path: folder.appendingPathComponent("gradients.safetensors").path)

        let model = try TrainingFixtures.trainable(name)
        let tape = Tape()
        let ops = Ops(backend: CPUBackend(threads: 2), tape: tape)
        let loss = model.loss(reference.tokens, ops: ops)
        #expect(abs(Double(loss.data[0]) - reference.loss) <= 1e-5 * max(1, abs(reference.loss)))
        tape.backward(from: loss)
        var checked = 0
        for (role, parameter) in model.orderedParameters {
            guard let theirs = expected.tensor(named: role.huggingFaceName)?.floats() else {
                Issue.record("no PyTorch gradient for \(role.huggingFaceName)")
                continue
            }
            let error = relativeError(parameter.grad, theirs)
            #expect(error <= 1e-4, "\(name) \(role.huggingFaceName): relative error \(error)")
            checked += 1
        }
        #expect(checked == expected.tensorNames.count)
    }
}

/// Every backward op against central finite differences on small random shapes.
@Suite struct FiniteDifferenceTests {
    let backend = ReferenceBackend()

    func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var state = seed
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float(Double((z ^ (z >> 31)) >> 11) / Double(1 << 53) * 2 - 1) * scale
        }
        return Tensor(shape: shape, data: values, requiresGrad: true)
    }

    /// Checks d(Σ r ⊙ f(inputs))/d(inputs) of `f` against central differences in Double-ish precision.
    func check(_ name: String, inputs: [Tensor], _ f: @escaping (Ops) -> Tensor) {
        let probeTape = Tape()
        let probe = f(Ops(backend: backend, tape: probeTape))
        let weights = random(probe.shape, seed: 99)
        func objective() -> Double {
            let out = f(Ops(backend: backend, tape: Tape()))
            return zip(out.data, weights.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        for input in inputs { input.zeroGrad() }
        let tape = Tape()
        let ops = Ops(backend: backend, tape: tape)
        let out = f(ops)
        let weighted = ops.mul(out, Tensor(shape: out.shape, data: weights.data))
        let total = Tensor(shape: [1], data: [weighted.data.reduce(0, +)])
        _ = tape.record(total, inputs: [weighted]) { weighted.accumulate([Float](repeating: total.grad[0], count: weighted.count)) }
        tape.backward(from: total)
        let h: Float = 1e-2
        for (n, input) in inputs.enumerated() {
            for i in stride(from: 0, to: input.count, by: max(1, input.count / 23)) {
                let saved = input.data[i]
                input.data[i] = saved + h
                let plus = objective()
                input.data[i] = saved - h
                let minus = objective()
                input.data[i] = saved
                let numeric = (plus - minus) / Double(2 * h)
                let analytic = Double(input.grad[i])
                #expect(abs(numeric - analytic) <= 2e-2 * max(1, abs(numeric)), "\(name) input \(n)[\(i)]: \(analytic) vs \(numeric)")
            }
        }
    }

    @Test func linear() {
        let x = random([5, 7], seed: 1), w = random([3, 7], seed: 2)
        check("linear", inputs: [x, w]) { $0.linear(x, w) }
    }

    @Test func embeddingAndColumns() {
        let table = random([9, 6], seed: 3)
        check("embedding", inputs: [table]) { $0.columns($0.embedding(table, ids: [1, 4, 4, 8]), start: 2, count: 3) }
    }

    @Test func rmsNormPerRowAndPerHead() {
        let x = random([4, 12], seed: 4), g = random([12], seed: 5), gh = random([4], seed: 6)
        check("rmsNorm", inputs: [x, g]) { $0.rmsNorm(x, weight: g, dim: 12, eps: 1e-5) }
        check("rmsNorm heads", inputs: [x, gh]) { $0.rmsNorm(x, weight: gh, dim: 4, eps: 1e-5) }
    }

    @Test func elementwise() {
        let a = random([3, 5], seed: 7), b = random([3, 5], seed: 8)
        check("mul", inputs: [a, b]) { $0.mul(a, b) }
        check("add", inputs: [a, b]) { $0.add(a, b) }
        check("siluMul", inputs: [a, b]) { $0.siluMul(a, b) }
    }

    @Test func causalConvolution() {
        let v = random([6, 4], seed: 9), w = random([4, 3], seed: 10)
        check("causalConv", inputs: [v, w]) { $0.causalConv(v, weight: w, kernel: 3) }
    }

    @Test func ropeAndAttention() {
        let q = random([5, 8], seed: 11), k = random([5, 4], seed: 12), v = random([5, 4], seed: 13)
        let frequencies: [Float] = [1, 0.1]
        check("rope", inputs: [q]) { $0.rope(q, heads: 2, headDim: 4, inverseFrequencies: frequencies) }
        check("attention", inputs: [q, k, v]) { $0.attention(q: q, k: k, v: v, heads: 2, kvHeads: 1, headDim: 4, scale: 0.5) }
    }

    @Test func crossEntropy() {
        let logits = random([4, 6], seed: 14, scale: 3)
        check("crossEntropy", inputs: [logits]) { $0.crossEntropy(logits, targets: [0, 5, -100, 2]) }
    }
}
