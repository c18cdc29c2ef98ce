import Foundation
import Testing
import LFMFormats
@testable import LFMModels

@Suite struct ConfigurationTests {
    func parse(_ json: String) throws -> LFM2Configuration {
        try LFM2Configuration(huggingFace: JSONObject(data: Data(json.utf8), file: "config.json"))
    }

    let base = #""model_type":"lfm2","vocab_size":100,"hidden_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2"#

    @Test func layerTypesAndFullAttentionIndicesAgree() throws {
        let a = try parse("{\(base),\"block_ff_dim\":96,\"layer_types\":[\"conv\",\"full_attention\",\"conv\",\"full_attention\"]}")
        let b = try parse("{\(base),\"block_ff_dim\":96,\"full_attn_idxs\":[1,3]}")
        #expect(a.layerKinds == [.conv, .attention, .conv, .attention])
        #expect(a.layerKinds == b.layerKinds)
        // Neither: every layer is attention (transformers' default).
        #expect(try parse("{\(base),\"block_ff_dim\":96}").layerKinds == Array(repeating: .attention, count: 4))
    }

    @Test func feedForwardRule() throws {
        // 2/3 · 6656 = 4437 → multiplier 1.0 → round up to 256: 4608 (LFM2-350M).
        #expect(try parse("{\(base),\"block_ff_dim\":6656,\"block_multiple_of\":256,\"block_ffn_dim_multiplier\":1.0}").feedForwardSize == 4608)
        #expect(try parse("{\(base),\"intermediate_size\":12288}").feedForwardSize == 8192)
        // block_ff_dim wins over intermediate_size.
        #expect(try parse("{\(base),\"block_ff_dim\":12288,\"intermediate_size\":8192}").feedForwardSize == 8192)
        #expect(try parse("{\(base),\"block_ff_dim\":100,\"block_auto_adjust_ff_dim\":false}").feedForwardSize == 100)
        // A null multiplier: transformers leaves 2/3·ff unrounded, llama.cpp rounds; both are allowed.
        let null = try parse("{\(base),\"block_ff_dim\":300,\"block_multiple_of\":64,\"block_ffn_dim_multiplier\":null}")
        #expect(null.feedForwardCandidates == [200, 256])
    }

    @Test func ropeTieAndEOSDialects() throws {
        let a = try parse("{\(base),\"block_ff_dim\":96,\"rope_theta\":500000.0,\"tie_embedding\":false,\"eos_token_id\":7}")
        #expect(a.ropeTheta == 500000 && !a.tieEmbeddings && a.eosTokenIds == [7])
        let b = try parse("{\(base),\"block_ff_dim\":96,\"rope_parameters\":{\"rope_theta\":250000.0,\"rope_type\":\"default\"},\"tie_word_embeddings\":true,\"eos_token_id\":[7,2]}")
        #expect(b.ropeTheta == 250000 && b.tieEmbeddings && b.eosTokenIds == [7, 2])
    }

    @Test func realShapesHaveTheirPublishedParameterCounts() throws {
        let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/configs")
        #expect(try LFM2Architecture.configuration(directory: root.appendingPathComponent("lfm2-350m")).parameterCount == 354_483_968)
        #expect(try LFM2Architecture.configuration(directory: root.appendingPathComponent("lfm2-1.2b")).parameterCount == 1_170_340_608)
    }

    @Test func invalidConfigurationsAreTypedErrors() throws {
        let cases: [(String, ConfigError)] = [
            (#"{"model_type":"llama","vocab_size":1}"#,
             .unsupportedModelType(file: "config.json", modelType: "llama", supported: ["lfm2"])),
            ("{\(base)}", .missingKey(file: "config.json", key: "block_ff_dim (or intermediate_size)")),
            ("{\(base),\"block_ff_dim\":96,\"layer_types\":[\"conv\"]}",
             .inconsistent(file: "config.json", detail: "layer_types has 1 entries but num_hidden_layers is 4")),
            ("{\(base),\"block_ff_dim\":96,\"layer_types\":[\"conv\",\"conv\",\"mamba\",\"conv\"]}",
             .invalidValue(file: "config.json", key: "layer_types[2]", detail: "expected \"conv\" or \"full_attention\", found \"mamba\"")),
            ("{\(base),\"block_ff_dim\":96,\"full_attn_idxs\":[9]}",
             .invalidValue(file: "config.json", key: "full_attn_idxs", detail: "index 9 is outside 0..<4")),
            ("{\(base),\"block_ff_dim\":96,\"layer_types\":[\"conv\",\"conv\",\"conv\",\"conv\"],\"full_attn_idxs\":[1]}",
             .inconsistent(file: "config.json", detail: "full_attn_idxs [1] disagrees with layer_types (attention at [])")),
            (#"{"model_type":"lfm2","vocab_size":100,"hidden_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":3,"block_ff_dim":9}"#,
             .inconsistent(file: "config.json", detail: "num_attention_heads 4 is not a multiple of num_key_value_heads 3")),
            (#"{"model_type":"lfm2","vocab_size":100,"hidden_size":"64","num_hidden_layers":4,"num_attention_heads":4}"#,
             .wrongType(file: "config.json", key: "hidden_size", expected: "an integer", found: "a string")),
            ("{\(base),\"block_ff_dim\":96,\"rope_parameters\":{\"rope_type\":\"yarn\",\"factor\":4}}",
             .invalidValue(file: "config.json", key: "rope_parameters.rope_type", detail: "only \"default\" RoPE is supported (found \"yarn\")")),
            ("{\(base),\"block_ff_dim\":96,\"tie_embedding\":1}",
             .wrongType(file: "config.json", key: "tie_embedding", expected: "a boolean", found: "the number 1")),
        ]
        for (json, expected) in cases {
            #expect(throws: expected, "\(json)") { try parse(json) }
        }
        #expect(throws: ConfigError.self) { try LFM2Configuration(huggingFace: JSONObject(data: Data("[1]".utf8), file: "c")) }
        #expect(throws: ConfigError.self) { try LFM2Configuration(huggingFace: JSONObject(data: Data("{\"a\":".utf8), file: "c")) }
    }
}

@Suite struct LoadErrorTests {
    @Test func missingConfigAndWeights() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(throws: Error.self) { try LFM2Architecture.load(directory: empty) }
        let configOnly = try TinyModelBuilder.make()
        try FileManager.default.removeItem(at: configOnly.appendingPathComponent("model.safetensors"))
        #expect { try LFM2Architecture.load(directory: configOnly) } throws: { "\($0)".contains("model.safetensors") }
    }

    @Test func missingTensorIsNamed() throws {
        let directory = try TinyModelBuilder.make(skip: ["model.layers.1.self_attn.k_proj.weight"])
        #expect(throws: ModelLoadError.missingTensor(name: "model.layers.1.self_attn.k_proj.weight", source: directory.path)) {
            try LFM2Architecture.load(directory: directory)
        }
    }

    @Test func wrongShapeIsNamed() throws {
        let directory = try TinyModelBuilder.make(skip: ["model.layers.2.conv.out_proj.weight"]) { writer, _ in
            writer.add("model.layers.2.conv.out_proj.weight", shape: [24, 23], values: Array(repeating: 0, count: 24 * 23))
        }
        #expect(throws: ModelLoadError.shapeMismatch(name: "model.layers.2.conv.out_proj.weight",
                                                     file: directory.appendingPathComponent("model.safetensors").path,
                                                     expected: [24, 24], found: [24, 23])) {
            try LFM2Architecture.load(directory: directory)
        }
    }

    @Test func leftoverTensorIsAnError() throws {
        let directory = try TinyModelBuilder.make { writer, _ in
            writer.add("model.layers.0.self_attn.q_proj.weight", shape: [2], values: [0, 0])
        }
        #expect(throws: ModelLoadError.unexpectedTensors(names: ["model.layers.0.self_attn.q_proj.weight"], source: directory.path)) {
            try LFM2Architecture.load(directory: directory)
        }
    }

    @Test func feedForwardWidthMustFitTheConfig() throws {
        var config = TinyModelBuilder.defaultConfig
        let directory = try TinyModelBuilder.make(config: config)
        config["block_ff_dim"] = 40
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
        #expect { try LFM2Architecture.load(directory: directory) } throws: { error in
            guard case ModelLoadError.feedForwardMismatch(_, _, let allowed, let found) = error else { return false }
            return allowed == [40] && found == 48
        }
    }

    @Test func corruptWeightsFileIsAnError() throws {
        let directory = try TinyModelBuilder.make()
        let url = directory.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 2).write(to: url)
        #expect(throws: SafeTensorsError.self) { try LFM2Architecture.load(directory: directory) }
    }
}
