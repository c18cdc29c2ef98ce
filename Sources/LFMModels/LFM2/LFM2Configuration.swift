import Foundation
import LFMFormats

/// The operator a layer uses to mix information across positions.
public enum LFM2LayerKind: String, Sendable, Equatable {
    /// Double-gated short convolution (keeps `kernel - 1` columns of state).
    case conv
    /// Grouped-query attention with QK-norm and RoPE (keeps a KV cache).
    case attention = "full_attention"
}

/// Hyper-parameters of an LFM2 dense model, whatever file format they came from.
///
/// Built from a Hugging Face `config.json` in any of the dialects the released checkpoints use
/// (`layer_types` or `full_attn_idxs`; `block_ff_dim` or `intermediate_size` with the auto-adjust
/// rule; `rope_theta` or `rope_parameters`; `tie_embedding` or `tie_word_embeddings`; `eos_token_id`
/// as an int or a list), or from GGUF metadata.
public struct LFM2Configuration: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    /// Per-layer operator, `layerKinds.count` layers.
    public var layerKinds: [LFM2LayerKind]
    public var attentionHeads: Int
    public var keyValueHeads: Int
    public var headDim: Int
    /// Candidate SwiGLU widths the config allows (the checkpoint's `w1` shape decides among them;
    /// two differ only when `block_ffn_dim_multiplier` is null, where transformers and llama.cpp
    /// round differently).
    public var feedForwardCandidates: [Int]
    /// The SwiGLU width in use (set from the weights at load; the first candidate before).
    public var feedForwardSize: Int
    /// Short-convolution kernel length (`conv_L_cache`).
    public var convKernel: Int
    public var normEpsilon: Float
    public var ropeTheta: Double
    public var maxPositionEmbeddings: Int
    public var tieEmbeddings: Bool
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var padTokenId: Int?
    /// `torch_dtype` / `dtype` from the config, informational.
    public var declaredDType: String?

    /// Number of layers.
    public var layerCount: Int { layerKinds.count }
    /// Width of one position's keys (or values) in an attention layer.
    public var keyValueDim: Int { keyValueHeads * headDim }

    /// Memberwise initializer; `validate()` checks the values.
    public init(vocabularySize: Int, hiddenSize: Int, layerKinds: [LFM2LayerKind], attentionHeads: Int,
                keyValueHeads: Int, headDim: Int, feedForwardSize: Int, convKernel: Int = 3,
                normEpsilon: Float = 1e-5, ropeTheta: Double = 1_000_000, maxPositionEmbeddings: Int = 128_000,
                tieEmbeddings: Bool = true, bosTokenId: Int? = 1, eosTokenIds: [Int] = [7], padTokenId: Int? = 0) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerKinds = layerKinds
        self.attentionHeads = attentionHeads
        self.keyValueHeads = keyValueHeads
        self.headDim = headDim
        self.feedForwardCandidates = [feedForwardSize]
        self.feedForwardSize = feedForwardSize
        self.convKernel = convKernel
        self.normEpsilon = normEpsilon
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieEmbeddings = tieEmbeddings
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.padTokenId = padTokenId
        self.declaredDType = nil
    }

    /// Model types this configuration reads.
    public static let supportedModelTypes = ["lfm2"]

    /// Reads a Hugging Face `config.json`.
    public init(huggingFace json: JSONObject) throws {
        let file = json.file
        let modelType = try json.string("model_type")
        if let modelType {
            guard Self.supportedModelTypes.contains(modelType) else {
                throw ConfigError.unsupportedModelType(file: file, modelType: modelType, supported: Self.supportedModelTypes)
            }
        } else {
            let architectures = try json.strings("architectures") ?? []
            guard architectures.contains("Lfm2ForCausalLM") else {
                throw ConfigError.missingKey(file: file, key: "model_type")
            }
        }
        let shape = try AttentionShapeKeys(json)
        let (hidden, layers, heads, kvHeads) = (shape.hidden, shape.layers, shape.heads, shape.kvHeads)
        let headDim: Int
        if let explicit = try json.int("head_dim") {
            headDim = explicit
        } else {
            guard hidden % heads == 0 else {
                throw ConfigError.inconsistent(file: file, detail: "hidden_size \(hidden) is not divisible by num_attention_heads \(heads)")
            }
            headDim = hidden / heads
        }
        guard headDim > 0, headDim % 2 == 0 else {
            throw ConfigError.invalidValue(file: file, key: "head_dim", detail: "must be positive and even for RoPE (found \(headDim))")
        }

        // Layer pattern: layer_types wins; else full_attn_idxs; else every layer is attention (HF default).
        var kinds: [LFM2LayerKind]
        let attentionIndices = try json.ints("full_attn_idxs")
        if let types = try json.strings("layer_types") {
            guard types.count == layers else {
                throw ConfigError.inconsistent(file: file, detail: "layer_types has \(types.count) entries but num_hidden_layers is \(layers)")
            }
            kinds = try types.enumerated().map { index, name in
                guard let kind = LFM2LayerKind(rawValue: name) else {
                    throw ConfigError.invalidValue(file: file, key: "layer_types[\(index)]",
                                                   detail: "expected \"conv\" or \"full_attention\", found \"\(name)\"")
                }
                return kind
            }
            if let attentionIndices {
                let fromTypes = kinds.indices.filter { kinds[$0] == .attention }
                guard Set(attentionIndices) == Set(fromTypes) else {
                    throw ConfigError.inconsistent(file: file, detail: "full_attn_idxs \(attentionIndices) disagrees with layer_types (attention at \(fromTypes))")
                }
            }
        } else {
            let indices = attentionIndices ?? Array(0..<layers)
            for index in indices where index < 0 || index >= layers {
                throw ConfigError.invalidValue(file: file, key: "full_attn_idxs", detail: "index \(index) is outside 0..<\(layers)")
            }
            kinds = (0..<layers).map { indices.contains($0) ? .attention : .conv }
        }

        // SwiGLU width: block_ff_dim over intermediate_size, then the auto-adjust rule.
        guard let rawFF = try json.int("block_ff_dim") ?? json.int("intermediate_size") else {
            throw ConfigError.missingKey(file: file, key: "block_ff_dim (or intermediate_size)")
        }
        let autoAdjust = try json.bool("block_auto_adjust_ff_dim") ?? true
        let multipleOf = try json.int("block_multiple_of") ?? 256
        let multiplier: Double? = json.has("block_ffn_dim_multiplier") ? try json.double("block_ffn_dim_multiplier") : (json.values["block_ffn_dim_multiplier"] == nil ? 1.0 : nil)
        guard multipleOf > 0 else {
            throw ConfigError.invalidValue(file: file, key: "block_multiple_of", detail: "must be positive (found \(multipleOf))")
        }
        var candidates: [Int]
        if autoAdjust {
            var f = Int(2.0 * Double(rawFF) / 3.0)
            let roundUp = { (v: Int) in multipleOf * ((v + multipleOf - 1) / multipleOf) }
            if let multiplier {
                f = Int(multiplier * Double(f))
                candidates = [roundUp(f)]
            } else {
                // transformers leaves it unrounded; llama.cpp and MLX round up.
                candidates = [f, roundUp(f)]
            }
        } else {
            candidates = [rawFF]
        }
        guard candidates.allSatisfy({ $0 > 0 }) else {
            throw ConfigError.invalidValue(file: file, key: "block_ff_dim", detail: "gives a non-positive feed-forward width \(candidates)")
        }

        if try json.bool("conv_bias") == true {
            throw ConfigError.invalidValue(file: file, key: "conv_bias", detail: "true is not supported (no released LFM2 uses conv biases)")
        }
        let kernel = try json.int("conv_L_cache") ?? 3
        guard kernel >= 1 else {
            throw ConfigError.invalidValue(file: file, key: "conv_L_cache", detail: "must be at least 1 (found \(kernel))")
        }

        var theta = try json.double("rope_theta") ?? 1_000_000
        if let rope = try json.object("rope_parameters") ?? json.object("rope_scaling") {
            let ropeType = try rope.string("rope_type") ?? rope.string("type") ?? "default"
            guard ropeType == "default" else {
                throw ConfigError.invalidValue(file: file, key: "rope_parameters.rope_type", detail: "only \"default\" RoPE is supported (found \"\(ropeType)\")")
            }
            if let nested = try rope.double("rope_theta") { theta = nested }
        }
        guard theta > 0 else { throw ConfigError.invalidValue(file: file, key: "rope_theta", detail: "must be positive (found \(theta))") }

        let vocabulary = try json.requiredInt("vocab_size")
        guard vocabulary > 0 else { throw ConfigError.invalidValue(file: file, key: "vocab_size", detail: "must be positive") }
        let eps = try json.double("norm_eps") ?? json.double("rms_norm_eps") ?? 1e-5
        let tie = try json.bool("tie_word_embeddings") ?? json.bool("tie_embedding") ?? true

        self.init(vocabularySize: vocabulary, hiddenSize: hidden, layerKinds: kinds, attentionHeads: heads,
                  keyValueHeads: kvHeads, headDim: headDim, feedForwardSize: candidates[0], convKernel: kernel,
                  normEpsilon: Float(eps), ropeTheta: theta,
                  maxPositionEmbeddings: try json.int("max_position_embeddings") ?? 128_000,
                  tieEmbeddings: tie, bosTokenId: try json.int("bos_token_id"),
                  eosTokenIds: try json.intOrInts("eos_token_id") ?? [], padTokenId: try json.int("pad_token_id"))
        feedForwardCandidates = candidates
        declaredDType = try json.string("torch_dtype") ?? json.string("dtype")
    }

    /// Number of parameters, counting the tied head once.
    public var parameterCount: Int {
        let h = hiddenSize, f = feedForwardSize
        var total = vocabularySize * h + h // embedding + final norm
        if !tieEmbeddings { total += vocabularySize * h }
        for kind in layerKinds {
            total += 3 * h * f + 2 * h // SwiGLU + the two norms
            switch kind {
            case .conv: total += 3 * h * h + convKernel * h + h * h
            case .attention:
                total += h * attentionHeads * headDim + 2 * h * keyValueDim + attentionHeads * headDim * h + 2 * headDim
            }
        }
        return total
    }
}
