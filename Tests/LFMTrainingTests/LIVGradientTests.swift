import Foundation
import Testing
import LFMFormats
import LFMKernels
@testable import LFMModels
@testable import LFMTraining

/// LIV descriptions of transformers models (LFM3, LFM2-MoE, LFM2) give PyTorch's loss and gradients.
@Suite struct LIVGradientTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/liv")

    /// LFM2 and LFM2-MoE name a few attention tensors differently from the LIV table.
    static let lfm2Names: @Sendable (String) -> String = { name in
        name.replacingOccurrences(of: "self_attn.o_proj", with: "self_attn.out_proj")
            .replacingOccurrences(of: "self_attn.q_norm", with: "self_attn.q_layernorm")
            .replacingOccurrences(of: "self_attn.k_norm", with: "self_attn.k_layernorm")
    }

    /// The fixture's config.json with the hand-written genome added, read as an LIV configuration.
    static func configuration(_ folder: URL, genome: String) throws -> LIVConfiguration {
        let data = try Data(contentsOf: folder.appendingPathComponent("config.json"))
        guard var values = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConfigError.missingKey(file: folder.path, key: "config")
        }
        values["genome"] = genome
        return try LIVConfiguration(huggingFace: JSONObject(file: folder.path, values: values))
    }

    /// Loss and every gradient of `model` on `tokens` against PyTorch's, named through `renaming`.
    static func compare(_ model: LIVTrainable, tokens: [Int], loss reference: Double, gradients folder: URL,
                        renaming: (String) -> String, case name: String) throws {
        let expected = try SafeTensorsFile(path: folder.appendingPathComponent("gradients.safetensors").path)
        let tape = Tape()
        let ops = Ops(backend: CPUBackend(threads: 2), tape: tape)
        let loss = model.loss(batch: [tokens], ops: ops)
        #expect(abs(Double(loss.data[0]) - reference) <= 1e-5 * max(1, abs(reference)), "\(name): loss \(loss.data[0]) vs \(reference)")
        tape.backward(from: loss)
        var checked = 0
        for (tableName, parameter) in model.orderedParameters {
            let theirName = renaming(tableName)
            guard let theirs = expected.tensor(named: theirName)?.floats() else {
                Issue.record("\(name): no PyTorch gradient for \(theirName)")
                continue
            }
            let error = relativeError(parameter.grad, theirs)
            #expect(error <= 1e-4, "\(name) \(tableName): relative error \(error)")
            checked += 1
        }
        #expect(checked == expected.tensorNames.count, "\(name): \(checked) of \(expected.tensorNames.count) gradients compared")
    }

    struct Reference: Decodable { let tokens: [Int]; let loss: Double }

    @Test(arguments: [
        // LFM3: conv (7 taps), sliding (window 5) / full gated attention, sandwich norms, proportional RoPE.
        ("lfm3", "h32x4x8 C7:48 S2g:48 A2g:48 S2g:48"),
        // LFM2-MoE: two dense layers, then 6 experts of width 12 (top-2, biased selection).
        ("moe", "h32x4x8 C3:40 A2:40 C3:12e6 A2:12e6"),
    ])
    func transformersModelAsGenome(name: String, genome: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name)
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("loss.json")))
        let configuration = try Self.configuration(folder, genome: genome)
        let renaming = name == "moe" ? Self.lfm2Names : { $0 }
        let model = try LIVTrainable(configuration: configuration, source: SafeTensorsCheckpoint(directory: folder),
                                     sourceName: folder.path, renaming: renaming)
        try Self.compare(model, tokens: reference.tokens, loss: reference.loss, gradients: folder, renaming: renaming, case: name)
    }

    /// The LIV genome of an LFM2 configuration: conv layers of `convKernel` taps, attention of
    /// `keyValueHeads` groups, dense SwiGLU of the (adjusted) feed-forward width.
    static func genome(of c: LFM2Configuration) -> LIVGenome {
        LIVGenome(hiddenSize: c.hiddenSize, attentionHeads: c.attentionHeads, headDim: c.headDim, layers: c.layerKinds.map { kind in
            switch kind {
            case .conv: return LIVGene(mixer: .conv, groups: c.convKernel, feedForward: c.feedForwardSize)
            case .attention: return LIVGene(mixer: .attention, groups: c.keyValueHeads, feedForward: c.feedForwardSize)
            }
        })
    }

    @Test(arguments: TrainingFixtures.cases())
    func lfm2AsGenomeMatchesPyTorch(name: String) throws {
        let lfm2 = try TrainingFixtures.trainable(name)
        let c = lfm2.configuration
        let settings = LIVSettings(vocabularySize: c.vocabularySize, normEpsilon: c.normEpsilon,
                                   fullRope: RopeConfiguration(theta: c.ropeTheta), tieEmbeddings: c.tieEmbeddings,
                                   maxPositionEmbeddings: c.maxPositionEmbeddings)
        let configuration = try LIVConfiguration(genome: Self.genome(of: c), settings: settings)
        let directory = TrainingFixtures.models.appendingPathComponent(name)
        let model = try LIVTrainable(configuration: configuration, source: SafeTensorsCheckpoint(directory: directory),
                                     sourceName: directory.path, renaming: Self.lfm2Names)
        let folder = TrainingFixtures.gradients.appendingPathComponent(name)
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("loss.json")))
        try Self.compare(model, tokens: reference.tokens, loss: reference.loss, gradients: folder, renaming: Self.lfm2Names, case: name)

        // And the same logits as the hand-written LFM2 trainer.
        let ops = Ops(backend: CPUBackend(threads: 2), tape: Tape(recording: false))
        let ours = model.forward(batch: [reference.tokens], ops: ops).data
        let theirs = lfm2.forward(batch: [reference.tokens], ops: ops).data
        let largest = zip(ours, theirs).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largest <= 1e-5, "\(name): logits differ from LFM2Trainable by \(largest)")
    }
}
