import Foundation
import Testing
import LFMCore
import LFMFormats
@testable import LFMModels

/// Configurations of every family: real shapes resolved without weights, and malformed configs.
@Suite struct FamilyConfigurationTests {
    static let configs = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/configs")

    /// The parameter counts transformers computes for the real shapes (also in each folder's
    /// counts.json, written by make_family_fixtures.py).
    @Test(arguments: [("lfm2-8b-a1b", "lfm2_moe", 8_339_929_856, 1_557_740_288),
                      ("lfm3-default", "lfm3", 1_728_801_536, 1_728_801_536),
                      ("qwen3-0.6b", "qwen3", 596_049_920, 596_049_920),
                      ("llama-3.2-1b", "llama", 1_235_814_400, 1_235_814_400)])
    func realShapesCountLikeTransformers(name: String, architecture: String, total: Int, active: Int) throws {
        let directory = Self.configs.appendingPathComponent(name)
        let c = try ModelRegistry.configuration(directory: directory)
        #expect(c.architecture == architecture)
        #expect(c.parameterCount == total)
        #expect(c.activeParameterCount == active)
        let counts = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("counts.json"))) as? [String: Any]
        #expect((counts?["parameters"] as? NSNumber)?.intValue == total)
        if let recorded = (counts?["active_parameters"] as? NSNumber)?.intValue { #expect(recorded == active) }
    }

    @Test func lfm2MoEShapeHasTheRealLayout() throws {
        let c = try #require(try ModelRegistry.configuration(directory: Self.configs.appendingPathComponent("lfm2-8b-a1b")) as? LFM2MoEConfiguration)
        #expect(c.mixers.indices.filter { c.mixers[$0] == .attention } == [2, 6, 10, 14, 18, 21])
        #expect(c.denseLayers == 2 && c.expertCount == 32 && c.expertsPerToken == 4 && c.expertFeedForwardSize == 1792)
    }

    @Test func lfm3DefaultLayoutAndRoPE() throws {
        let c = try #require(try ModelRegistry.configuration(directory: Self.configs.appendingPathComponent("lfm3-default")) as? LFM3Configuration)
        #expect(c.mixers.indices.filter { c.mixers[$0] == .attention } == [2, 6, 10, 14, 18, 22])
        #expect(c.mixers.indices.filter { c.mixers[$0] == .slidingAttention } == [4, 8, 12, 16, 20])
        let full = c.fullRope.inverseFrequencies(headDim: 128)
        #expect(full.count == 64 && full[31] > 0 && full[32...].allSatisfy { $0 == 0 })
        #expect(c.slidingRope.inverseFrequencies(headDim: 128).allSatisfy { $0 > 0 })
        #expect(c.cacheShapes.contains(.keyValue(width: 512, window: 256)))
    }

    // MARK: Malformed configurations: typed errors naming file and key

    func write(_ values: [String: Any]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-family-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: values).write(to: directory.appendingPathComponent("config.json"))
        return directory
    }

    // Computed: a global [String: Any] is not Sendable; each use gets a fresh copy, as a value type would.
    static var moe: [String: Any] { [
        "model_type": "lfm2_moe", "vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 3,
        "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 32, "moe_intermediate_size": 8,
        "num_dense_layers": 1, "num_experts": 4, "num_experts_per_tok": 2,
        "layer_types": ["conv", "full_attention", "conv"],
    ] }
    // Computed: a global [String: Any] is not Sendable; each use gets a fresh copy, as a value type would.
    static var lfm3: [String: Any] { [
        "model_type": "lfm3", "vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2,
        "num_key_value_heads": 1, "head_dim": 8, "intermediate_size": 32, "sliding_window": 4,
        "layer_types": ["conv", "sliding_attention", "full_attention"],
    ] }

    func error(_ values: [String: Any]) throws -> String {
        let directory = try write(values)
        do {
            _ = try ModelRegistry.configuration(directory: directory)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func unknownModelTypeIsNamed() throws {
        var values = Self.moe
        values["model_type"] = "mamba9"
        let message = try error(values)
        #expect(message.contains("config.json") && message.contains("mamba9") && message.contains("lfm2_moe"), "\(message)")
    }

    @Test func layerTypesMustMatchTheLayerCount() throws {
        for base in [Self.moe, Self.lfm3] {
            var values = base
            values["num_hidden_layers"] = 4
            let message = try error(values)
            #expect(message.contains("layer_types") && message.contains("num_hidden_layers"), "\(message)")
        }
    }

    @Test func moreExpertsPerTokenThanExpertsIsRejected() throws {
        var values = Self.moe
        values["num_experts_per_tok"] = 5
        let message = try error(values)
        #expect(message.contains("num_experts_per_tok") && message.contains("5"), "\(message)")
    }

    @Test func zeroSlidingWindowIsRejected() throws {
        var values = Self.lfm3
        values["sliding_window"] = 0
        let message = try error(values)
        #expect(message.contains("sliding_window"), "\(message)")
    }

    @Test func moeNeedsLayerTypes() throws {
        var values = Self.moe
        values["layer_types"] = nil
        #expect(try error(values).contains("layer_types"))
    }

    @Test func nullWhereRealConfigsWriteIt() throws {
        let values: [String: Any] = [
            "model_type": "qwen3", "vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
            "num_key_value_heads": 1, "head_dim": 8, "intermediate_size": 32, "sliding_window": NSNull(),
            "use_sliding_window": false, "bos_token_id": NSNull(), "eos_token_id": NSNull(), "rope_theta": 1_000_000.0,
        ]
        let c = try ModelRegistry.configuration(directory: write(values))
        #expect(c.architecture == "qwen3" && c.headDim == 8 && c.ropeTheta == 1_000_000)
    }

    /// A missing expert tensor is named (file and tensor) when the weights are bound.
    @Test func missingExpertTensorIsNamed() throws {
        let directory = try write(Self.moe)
        let c = try #require(try ModelRegistry.configuration(directory: directory) as? LFM2MoEConfiguration)
        var writer = SafeTensorsWriter()
        let names = LFM2Tensor.all(c.base).filter {
            switch $0 {
            case .ffnGate(let l), .ffnUp(let l), .ffnDown(let l): return !c.isSparse(l)
            default: return true
            }
        }
        for role in names { writer.add(role.huggingFaceName, shape: role.shape(c.base), values: [Float](repeating: 0.01, count: role.shape(c.base).reduce(1, *)), as: .f32) }
        for l in 1..<3 {
            writer.add("model.layers.\(l).feed_forward.gate.weight", shape: [4, 16], values: [Float](repeating: 0, count: 64), as: .f32)
            writer.add("model.layers.\(l).feed_forward.expert_bias", shape: [4], values: [0, 0, 0, 0], as: .f32)
            for e in 0..<4 where !(l == 2 && e == 3) {
                for part in ["w1", "w3"] {
                    writer.add("model.layers.\(l).feed_forward.experts.\(e).\(part).weight", shape: [8, 16], values: [Float](repeating: 0, count: 128), as: .f32)
                }
                writer.add("model.layers.\(l).feed_forward.experts.\(e).w2.weight", shape: [16, 8], values: [Float](repeating: 0, count: 128), as: .f32)
            }
        }
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        #expect(throws: ModelLoadError.missingTensor(name: "model.layers.2.feed_forward.experts.3.w1.weight", source: directory.path)) {
            _ = try ModelRegistry.load(path: directory.path)
        }
    }
}

/// The bad-input files of make_family_fixtures.py (each one defect, transformers' verdict in the README).
@Suite struct FamilyBadInputFixtureTests {
    static let bad = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/families/bad")

    @Test(arguments: [("unknown-model-type.json", "lfm9"), ("lfm3-layer-types-length.json", "layer_types"),
                      ("moe-layer-types-length.json", "layer_types"),
                      ("moe-experts-per-tok-gt-experts.json", "num_experts_per_tok"),
                      ("lfm3-sliding-window-zero.json", "sliding_window")])
    func configIsRefusedNamingFileAndKey(file: String, key: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.bad.appendingPathComponent(file), to: directory.appendingPathComponent("config.json"))
        #expect { _ = try ModelRegistry.configuration(directory: directory) } throws: { error in
            let message = "\(error)"
            return message.contains("config.json") && message.contains(key)
        }
    }

    @Test func missingExpertTensorIsNamed() throws {
        let folder = Self.bad.appendingPathComponent("moe-missing-expert")
        #expect { _ = try ModelRegistry.load(path: folder.path) } throws: { error in
            "\(error)".contains("model.layers.2.feed_forward.experts.3.w2.weight")
        }
    }
}
