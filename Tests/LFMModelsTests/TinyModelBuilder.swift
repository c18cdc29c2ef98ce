import Foundation
import LFMCore
import LFMFormats
@testable import LFMModels

/// A deterministic generator for test data.
typealias SeededGenerator = SplitMix64

/// Writes small random LFM2 model folders for tests that need a model but no reference values.
enum TinyModelBuilder {
    // Computed: a global [String: Any] is not Sendable; each use gets a fresh copy, as a value type would.
    static var defaultConfig: [String: Any] { [
        "model_type": "lfm2", "architectures": ["Lfm2ForCausalLM"],
        "vocab_size": 61, "hidden_size": 24, "num_hidden_layers": 4,
        "num_attention_heads": 4, "num_key_value_heads": 2,
        "layer_types": ["conv", "full_attention", "conv", "full_attention"],
        "block_ff_dim": 48, "block_auto_adjust_ff_dim": false,
        "conv_L_cache": 3, "norm_eps": 1e-5, "rope_theta": 10000.0,
        "max_position_embeddings": 256, "tie_embedding": true,
        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
    ] }

    /// Creates a folder with `config` and random weights; returns its URL.
    static func make(config: [String: Any] = defaultConfig, dtype: SafeTensorsDType = .f32, seed: UInt64 = 1,
                     skip: Set<String> = [],
                     mutate: ((inout SafeTensorsWriter, LFM2Configuration) -> Void)? = nil) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("lfm-tiny-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configData = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
        try configData.write(to: directory.appendingPathComponent("config.json"))
        let configuration = try LFM2Configuration(huggingFace: JSONObject(data: configData, file: "config.json"))
        var rng = SeededGenerator(seed: seed)
        var writer = SafeTensorsWriter()
        for role in LFM2Tensor.all(configuration) where !skip.contains(role.huggingFaceName) {
            let shape = role.shape(configuration)
            let count = shape.reduce(1, *)
            let values: [Float]
            switch role {
            case .finalNorm, .operatorNorm, .ffnNorm, .attentionQNorm, .attentionKNorm:
                values = (0..<count).map { _ in 1 + 0.1 * rng.normal() }
            default:
                let scale = 1 / Float(shape.last ?? 1).squareRoot()
                values = (0..<count).map { _ in scale * rng.normal() }
            }
            writer.add(role.huggingFaceName, shape: shape, values: values, as: dtype)
        }
        mutate?(&writer, configuration)
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        return directory
    }
}
