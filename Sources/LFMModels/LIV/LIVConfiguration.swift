import Foundation
import LFMFormats

/// The configuration of an LIV model (Hugging Face `model_type` "lfm_liv"): a genome and the
/// settings it does not encode. `config.json` records the genome in both forms:
///
///     {"model_type": "lfm_liv", "architectures": ["LfmLivForCausalLM"],
///      "genome": "h128x4x32 C3:384 A2:384 …", "genome_integers": [128, 4, 32, 0, 3, 0, 0, 384, 0, …],
///      "vocab_size": 4096, "hidden_size": 128, "num_hidden_layers": 6, "sliding_window": 64,
///      "norm_eps": 1e-05, "use_sandwich_norm": false, "tie_word_embeddings": true,
///      "rope_parameters": {"full_attention": {…}, "sliding_attention": {…}},
///      "num_experts_per_tok": 2, "norm_topk_prob": true, "routed_scaling_factor": 1.0,
///      "use_expert_bias": true, "max_position_embeddings": 4096, "bos_token_id": 1, "eos_token_id": 7}
///
/// `genome` (text) is required; `genome_integers`, `hidden_size` and `num_hidden_layers`, when
/// present, must agree with it.
public struct LIVConfiguration: Sendable, Equatable {
    public var genome: LIVGenome
    public var settings: LIVSettings
    public var declaredDType: String?

    /// Wraps a genome and its settings, checking both.
    public init(genome: LIVGenome, settings: LIVSettings, declaredDType: String? = nil) throws {
        try genome.validate()
        try settings.validate(for: genome)
        self.genome = genome
        self.settings = settings
        self.declaredDType = declaredDType
    }

    /// Reads a `config.json` of `model_type` "lfm_liv".
    public init(huggingFace json: JSONObject) throws {
        let file = json.file
        func wrap<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch let error as LIVGenomeError {
                throw ConfigError.invalidValue(file: file, key: "genome", detail: error.description)
            }
        }
        guard let text = try json.string("genome") else { throw ConfigError.missingKey(file: file, key: "genome") }
        let genome = try wrap { try LIVGenome(text: text) }
        try wrap { try genome.validate() }
        if let integers = try json.ints("genome_integers"), integers != genome.integers {
            throw ConfigError.inconsistent(file: file, detail: "genome_integers \(integers) do not encode genome \"\(text)\" (\(genome.integers))")
        }
        if let hidden = try json.int("hidden_size"), hidden != genome.hiddenSize {
            throw ConfigError.inconsistent(file: file, detail: "hidden_size is \(hidden) but the genome's width is \(genome.hiddenSize)")
        }
        if let layers = try json.int("num_hidden_layers"), layers != genome.layers.count {
            throw ConfigError.inconsistent(file: file, detail: "num_hidden_layers is \(layers) but the genome has \(genome.layers.count) layers")
        }
        let maxPositions = try json.int("max_position_embeddings") ?? 4096
        let nested = try json.object("rope_parameters").map { $0.has("full_attention") || $0.has("sliding_attention") } ?? false
        func rope(_ layerType: String, _ fallback: RopeConfiguration) throws -> RopeConfiguration {
            guard json.has("rope_parameters") || json.has("rope_theta") else { return fallback }
            if nested {
                guard try json.object("rope_parameters")?.has(layerType) == true else { return fallback }
                return try RopeConfiguration.read(json, defaultTheta: fallback.theta, maxPositions: maxPositions, layerType: layerType)
            }
            return try RopeConfiguration.read(json, defaultTheta: fallback.theta, maxPositions: maxPositions)
        }
        let defaults = LIVSettings(vocabularySize: 1)
        let eps = try json.double("norm_eps") ?? json.double("rms_norm_eps") ?? Double(defaults.normEpsilon)
        guard let vocabulary = try json.int("vocab_size") else { throw ConfigError.missingKey(file: file, key: "vocab_size") }
        let settings = LIVSettings(
            vocabularySize: vocabulary,
            slidingWindow: try json.int("sliding_window") ?? defaults.slidingWindow,
            normEpsilon: Float(eps),
            sandwichNorm: try json.bool("use_sandwich_norm") ?? defaults.sandwichNorm,
            fullRope: try rope("full_attention", defaults.fullRope),
            slidingRope: try rope("sliding_attention", defaults.slidingRope),
            tieEmbeddings: try json.bool("tie_word_embeddings") ?? defaults.tieEmbeddings,
            expertsPerToken: try json.int("num_experts_per_tok") ?? defaults.expertsPerToken,
            normalizeTopK: try json.bool("norm_topk_prob") ?? defaults.normalizeTopK,
            routedScaling: Float(try json.double("routed_scaling_factor") ?? Double(defaults.routedScaling)),
            expertSelectionBias: try json.bool("use_expert_bias") ?? defaults.expertSelectionBias,
            maxPositionEmbeddings: maxPositions,
            bosTokenId: try json.int("bos_token_id"),
            eosTokenIds: try json.intOrInts("eos_token_id") ?? defaults.eosTokenIds)
        do { try settings.validate(for: genome) } catch let error as LIVGenomeError {
            throw ConfigError.invalidValue(file: file, key: "settings", detail: error.description)
        }
        self.genome = genome
        self.settings = settings
        declaredDType = try json.string("torch_dtype") ?? json.string("dtype")
    }

    /// The `config.json` object (`dtype`: the `torch_dtype` recorded, e.g. "float32").
    public func huggingFaceConfig(dtype: String = "float32") -> [String: Any] {
        func rope(_ r: RopeConfiguration) -> [String: Any] {
            switch r.kind {
            case .standard: return ["rope_type": "default", "rope_theta": r.theta]
            case .llama3(let factor, let low, let high, let original):
                return ["rope_type": "llama3", "rope_theta": r.theta, "factor": factor, "low_freq_factor": low,
                        "high_freq_factor": high, "original_max_position_embeddings": original]
            case .proportional(let partial, let factor):
                return ["rope_type": "proportional", "rope_theta": r.theta, "partial_rotary_factor": partial, "factor": factor]
            }
        }
        let s = settings
        var config: [String: Any] = [
            "architectures": ["LfmLivForCausalLM"], "model_type": LIVConfiguration.modelType,
            "genome": genome.description, "genome_integers": genome.integers,
            "vocab_size": s.vocabularySize, "hidden_size": genome.hiddenSize, "num_hidden_layers": genome.layers.count,
            "num_attention_heads": genome.attentionHeads, "head_dim": genome.headDim,
            "sliding_window": s.slidingWindow, "norm_eps": Double(s.normEpsilon), "use_sandwich_norm": s.sandwichNorm,
            "tie_word_embeddings": s.tieEmbeddings,
            "rope_parameters": ["full_attention": rope(s.fullRope), "sliding_attention": rope(s.slidingRope)],
            "num_experts_per_tok": s.expertsPerToken, "norm_topk_prob": s.normalizeTopK,
            "routed_scaling_factor": Double(s.routedScaling), "use_expert_bias": s.expertSelectionBias,
            "max_position_embeddings": s.maxPositionEmbeddings, "torch_dtype": dtype,
        ]
        if let bos = s.bosTokenId { config["bos_token_id"] = bos }
        config["eos_token_id"] = s.eosTokenIds.count == 1 ? s.eosTokenIds[0] as Any : s.eosTokenIds as Any
        return config
    }

    /// `huggingFaceConfig(dtype:)` as pretty-printed JSON with sorted keys.
    public func huggingFaceConfigData(dtype: String = "float32") throws -> Data {
        try JSONSerialization.data(withJSONObject: huggingFaceConfig(dtype: dtype), options: [.prettyPrinted, .sortedKeys])
    }

    /// The Hugging Face `model_type` of LIV models.
    public static let modelType = "lfm_liv"
}
