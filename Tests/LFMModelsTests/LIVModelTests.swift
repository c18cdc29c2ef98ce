import Foundation
import Testing
import LFMCore
import LFMFormats
import LFMKernels
@testable import LFMModels

/// A random LIV model with every class (conv, attention, gated sliding attention, recurrence, a
/// shared featurizer, experts) written as a folder loads through the registry and runs prefill
/// and decode consistently; its operators describe it.
@Suite struct LIVModelTests {
    static let everyClass = "h32x4x8 C3:48 A2:48 S2g:40e4 R4:32 A2^3:48 R4^2:32e3 C3^6:24"
    let tokens = [5, 1, 50, 22, 22, 9, 13, 44, 2, 31, 7, 19, 40, 3, 28, 11]

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count, !a.isEmpty else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func load(_ configuration: LIVConfiguration) throws -> DecoderModel {
        let directory = try LIVModelBuilder.make(configuration, seed: 9)
        let loaded = try ModelRegistry.load(path: directory.path, options: ModelLoadOptions(placement: .hugePages, backend: testBackend()))
        return try #require(loaded as? DecoderModel)
    }

    @Test(arguments: [(false, true), (true, false)])
    func everyClassLoadsAndPrefillEqualsDecode(sandwich: Bool, tied: Bool) throws {
        let configuration = try LIVModelBuilder.configuration(Self.everyClass, sandwich: sandwich, tied: tied)
        let model = try load(configuration)
        #expect(model.configuration.architecture == "lfm_liv")
        #expect(model.configuration.mixers.map(\.letter).joined() == "CASRARC")
        #expect(model.configuration.cacheShapes == [
            .convolution(rows: 2, channels: 32), .keyValue(width: 16, window: 0), .keyValue(width: 16, window: 5),
            .recurrent(channels: 32), .keyValue(width: 16, window: 0), .recurrent(channels: 32),
            .convolution(rows: 2, channels: 32)])
        #expect(model.configuration.parameterCount == configuration.genome.parameterCount(configuration.settings))
        var whole = model.makeState()
        let prefill = try model.forward(tokens, state: &whole, logits: .all)
        var chunked = model.makeState()
        let chunks = try model.forward(tokens, state: &chunked, logits: .all, chunkSize: 3)
        var stepped = model.makeState()
        let decoded = try tokens.flatMap { try model.forward([$0], state: &stepped) }
        #expect(prefill.allSatisfy { $0.isFinite })
        let chunkError = maxDifference(prefill, chunks), decodeError = maxDifference(prefill, decoded)
        #expect(chunkError <= 1e-4, "chunks \(chunkError)")
        #expect(decodeError <= 1e-4, "decode \(decodeError)")
        // The sliding window is exceeded, and logits differ from position to position.
        #expect(tokens.count > configuration.settings.slidingWindow)
        let v = configuration.settings.vocabularySize
        #expect(maxDifference(Array(prefill[0..<v]), Array(prefill[v..<(2 * v)])) > 1e-3)
    }

    @Test func sharedFeaturizersAreOneTensor() throws {
        let configuration = try LIVModelBuilder.configuration(Self.everyClass)
        let names = Set(configuration.genome.tensors(configuration.settings).map(\.name))
        #expect(names.contains("model.layers.1.self_attn.q_proj.weight"))
        #expect(!names.contains("model.layers.4.self_attn.q_proj.weight"))
        #expect(names.contains("model.layers.4.self_attn.o_proj.weight"))
        #expect(!names.contains("model.layers.5.recurrence.in_proj.weight"))
        #expect(!names.contains("model.layers.6.conv.in_proj.weight"))
        #expect(configuration.genome.featurizerOwner(of: 6) == 0)
        // Changing the owner's featurizer changes the sharing layer's output: the weights are used.
        var values = LIVModelBuilder.values(configuration, seed: 3)
        let a = try #require(try ModelRegistry.load(path: LIVModelBuilder.make(configuration, values: values).path) as? DecoderModel)
        values["model.layers.3.recurrence.in_proj.weight"] = values["model.layers.3.recurrence.in_proj.weight"]?.map { -$0 }
        let b = try #require(try ModelRegistry.load(path: LIVModelBuilder.make(configuration, values: values).path) as? DecoderModel)
        var sa = a.makeState(), sb = b.makeState()
        let la = try a.forward(tokens, state: &sa), lb = try b.forward(tokens, state: &sb)
        #expect(maxDifference(la, lb) > 1e-4)
    }

    @Test func hostileFoldersFailWithTypedErrors() throws {
        let configuration = try LIVModelBuilder.configuration("h16x2x8 R4:16 A1g:16")
        var values = LIVModelBuilder.values(configuration, seed: 1)
        let directory = try LIVModelBuilder.make(configuration, values: values)
        // A missing tensor is named.
        var writer = SafeTensorsWriter()
        for tensor in configuration.genome.tensors(configuration.settings) where tensor.name != "model.layers.0.recurrence.decay_bias" {
            writer.add(tensor.name, shape: tensor.shape, values: values[tensor.name] ?? [])
        }
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        #expect(throws: ModelLoadError.missingTensor(name: "model.layers.0.recurrence.decay_bias", source: directory.path)) {
            _ = try ModelRegistry.load(path: directory.path)
        }
        // A misshapen tensor is named with both shapes.
        values["model.layers.0.recurrence.decay_bias"] = [0, 0, 0]
        var misshapen = SafeTensorsWriter()
        for tensor in configuration.genome.tensors(configuration.settings) {
            let shape = tensor.name == "model.layers.0.recurrence.decay_bias" ? [3] : tensor.shape
            misshapen.add(tensor.name, shape: shape, values: values[tensor.name] ?? [])
        }
        try misshapen.write(to: directory.appendingPathComponent("model.safetensors"))
        #expect(throws: ModelLoadError.self) { _ = try ModelRegistry.load(path: directory.path) }
        // An invalid genome in config.json is a configuration error naming the layer.
        var json = configuration.huggingFaceConfig()
        json["genome"] = "h16x2x8 R5:16 A1g:16"
        json["genome_integers"] = nil
        try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("config.json"))
        #expect(throws: ConfigError.self) { _ = try ModelRegistry.load(path: directory.path) }
    }

    @Test func infoCarriesTheGenome() throws {
        let configuration = try LIVModelBuilder.configuration(Self.everyClass)
        let info = Dictionary(uniqueKeysWithValues: configuration.extraInfo.map { ($0.key, $0.json) })
        #expect(info["genome"] == "\"\(Self.everyClass)\"")
        let integers = try JSONSerialization.jsonObject(with: Data((info["genome_integers"] ?? "").utf8)) as? [Int]
        #expect(integers == configuration.genome.integers)
        #expect(configuration.recurrentStateBytes == 2 * 32 * 4)
        #expect(configuration.shortConvKernel == 3 && configuration.keyValueHeads == 2 && configuration.feedForwardSize == 48)
    }

    @Test func operatorsDescribeEveryLayer() throws {
        let configuration = try LIVModelBuilder.configuration(Self.everyClass)
        let operators = configuration.genome.operators(configuration.settings)
        #expect(operators.count == 14)
        let mixers = operators.filter { $0.livClass != nil }
        #expect(mixers.map(\.tokenMixing) == [.toeplitz(taps: 3), .dense, .banded(window: 5), .semiseparable(groups: 4), .dense,
                                              .semiseparable(groups: 4), .toeplitz(taps: 3)])
        #expect(mixers.map(\.gating) == [.inputOutput, .none, .perHeadSigmoid, .siluOutput, .none, .siluOutput, .inputOutput])
        #expect(mixers.map(\.featurizer.owner) == [0, 1, 2, 3, 1, 3, 0])
        #expect(mixers[4].featurizer.projections.first == "model.layers.1.self_attn.q_proj")
        #expect(mixers[1].channelMixing == .heads(query: 4, keyValueGroups: 2, headDim: 8))
        #expect(mixers[1].nonlinearity == .softmax && mixers[3].nonlinearity == .sigmoidDecay)
        let feedForwards = operators.filter { $0.livClass == nil }
        #expect(feedForwards.map(\.channelMixing) == [.swiGLU(width: 48), .swiGLU(width: 48), .experts(count: 4, topK: 2, width: 40),
                                                      .swiGLU(width: 32), .swiGLU(width: 48), .experts(count: 3, topK: 2, width: 32),
                                                      .swiGLU(width: 24)])
        #expect(feedForwards.allSatisfy { $0.tokenMixing == .none })
        // Every projection an operator names is in the tensor table.
        let names = Set(configuration.genome.tensors(configuration.settings).map(\.name))
        for op in operators {
            for projection in op.featurizer.projections + [op.outputProjection].compactMap({ $0 }) {
                #expect(names.contains(projection + ".weight"), "\(projection)")
            }
        }
    }

    /// LFM2's gated convolution and GQA, LFM3's gated sliding attention and LFM2-MoE's experts are instances.
    @Test func handWrittenFamiliesAreInstances() throws {
        let lfm2 = try LFM2Configuration(vocabularySize: 40, hiddenSize: 32, layerKinds: [.conv, .attention], attentionHeads: 4,
                                         keyValueHeads: 2, headDim: 8, feedForwardSize: 64).livDescription().configuration
        let ops = lfm2.genome.operators(lfm2.settings)
        #expect(ops[0].tokenMixing == .toeplitz(taps: 3) && ops[0].gating == .inputOutput)
        #expect(ops[2].tokenMixing == .dense && ops[2].channelMixing == .heads(query: 4, keyValueGroups: 2, headDim: 8))
        #expect(lfm2.genome.description == "h32x4x8 C3:64 A2:64")
    }
}
