import LFMFormats

/// Hyper-parameters of LFM2-MoE (transformers `Lfm2MoeConfig`): LFM2's convolutions and
/// attention, dense feed-forwards in the first `num_dense_layers` layers, and a sparse mixture of
/// SwiGLU experts with a sigmoid router in the others.
public struct LFM2MoEConfiguration: Sendable, Equatable {
    /// Everything LFM2-MoE shares with LFM2 (`feedForwardSize` = the dense layers' width, used as is).
    public var base: LFM2Configuration
    /// Width of one expert.
    public var expertFeedForwardSize: Int
    /// Layers `0 ..< denseLayers` have dense feed-forwards.
    public var denseLayers: Int
    public var expertCount: Int
    public var expertsPerToken: Int
    /// Whether `expert_bias` shifts the selection scores.
    public var useExpertBias: Bool
    public var normalizeTopK: Bool
    public var routedScalingFactor: Double

    /// Reads a Hugging Face `config.json` of `model_type` "lfm2_moe".
    public init(huggingFace json: JSONObject) throws {
        let file = json.file
        // transformers derives no layer pattern for LFM2-MoE: layer_types is required.
        guard json.has("layer_types") else { throw ConfigError.missingKey(file: file, key: "layer_types") }
        for key in ["block_ff_dim", "block_auto_adjust_ff_dim"] where json.has(key) {
            throw ConfigError.invalidValue(file: file, key: key, detail: "LFM2-MoE uses intermediate_size as is; this key has no meaning here")
        }
        var values = json.values
        values["model_type"] = "lfm2"
        values["block_auto_adjust_ff_dim"] = false
        values["intermediate_size"] = try json.int("intermediate_size") ?? 7168
        base = try LFM2Configuration(huggingFace: JSONObject(file: file, values: values))
        expertFeedForwardSize = try json.int("moe_intermediate_size") ?? 1792
        denseLayers = try json.int("num_dense_layers") ?? 2
        expertCount = try json.int("num_experts") ?? 32
        expertsPerToken = try json.int("num_experts_per_tok") ?? 4
        useExpertBias = try json.bool("use_expert_bias") ?? true
        normalizeTopK = try json.bool("norm_topk_prob") ?? true
        routedScalingFactor = try json.double("routed_scaling_factor") ?? 1
        try validate(file: file, prefix: "")
    }

    /// Reads an `lfm2moe` GGUF file's metadata (llama.cpp normalises the top-k weights and applies
    /// no scaling; it requires the expert bias).
    init(gguf source: GGUFTensorSource) throws {
        let metadata = source.file.metadata, file = source.path
        base = try LFM2Configuration(gguf: metadata, file: file, architectures: LFM2MoEArchitecture.ggufArchitectures)
        base.tieEmbeddings = source.tensor(named: LFM2Tensor.outputHead.ggufName) == nil
        let g = try GGUFHyperparameters(metadata, file: file)
        expertCount = try g.positive("expert_count")
        expertsPerToken = try g.positive("expert_used_count")
        denseLayers = try g.optionalInt("leading_dense_block_count") ?? 0
        let widthKey = g.prefix + "expert_feed_forward_length"
        if case .array? = metadata[widthKey] {
            let widths = try metadata.lookup(widthKey, file: file) { try metadata.integerArray($0) }
            guard let width = widths.first(where: { $0 > 0 }), widths.allSatisfy({ $0 == width || $0 == 0 }) else {
                throw GGUFModelError.invalidValue(file: file, key: widthKey, detail: "expected one positive expert width (found \(widths))")
            }
            expertFeedForwardSize = width
        } else {
            expertFeedForwardSize = try g.positive("expert_feed_forward_length")
        }
        if let gating = try g.optionalInt("expert_gating_func"), gating != 2 {
            throw GGUFModelError.invalidValue(file: file, key: g.prefix + "expert_gating_func", detail: "only 2 (sigmoid) is supported (found \(gating))")
        }
        useExpertBias = source.tensor(named: "blk.\(denseLayers).exp_probs_b.bias") != nil
        normalizeTopK = true
        routedScalingFactor = try g.optionalDouble("expert_weights_scale").flatMap { $0 == 0 ? nil : $0 } ?? 1
        try validate(file: file, prefix: g.prefix)
    }

    private func validate(file: String, prefix: String) throws {
        func invalid(_ key: String, _ detail: String) -> Error {
            prefix.isEmpty ? ConfigError.invalidValue(file: file, key: key, detail: detail)
                : GGUFModelError.invalidValue(file: file, key: prefix + key, detail: detail)
        }
        guard expertCount > 0 else { throw invalid(prefix.isEmpty ? "num_experts" : "expert_count", "must be positive (found \(expertCount))") }
        guard expertsPerToken >= 1, expertsPerToken <= expertCount else {
            throw invalid(prefix.isEmpty ? "num_experts_per_tok" : "expert_used_count",
                          "must be between 1 and the number of experts \(expertCount) (found \(expertsPerToken))")
        }
        guard expertFeedForwardSize > 0 else {
            throw invalid(prefix.isEmpty ? "moe_intermediate_size" : "expert_feed_forward_length", "must be positive (found \(expertFeedForwardSize))")
        }
        guard denseLayers >= 0, denseLayers <= base.layerCount else {
            throw invalid(prefix.isEmpty ? "num_dense_layers" : "leading_dense_block_count",
                          "must be between 0 and the layer count \(base.layerCount) (found \(denseLayers))")
        }
        guard routedScalingFactor.isFinite else { throw invalid("routed_scaling_factor", "must be finite") }
    }

    /// Whether layer `l` routes its tokens to experts.
    public func isSparse(_ l: Int) -> Bool { l >= denseLayers }

    /// Parameters of one expert.
    var expertParameters: Int { 3 * base.hiddenSize * expertFeedForwardSize }
}

extension LFM2MoEConfiguration: ModelConfiguration {
    public var architecture: String { LFM2MoEArchitecture.name }
    public var vocabularySize: Int { base.vocabularySize }
    public var hiddenSize: Int { base.hiddenSize }
    public var mixers: [MixerKind] { base.mixers }
    public var feedForwardSize: Int { base.feedForwardSize }
    public var attentionHeads: Int { base.attentionHeads }
    public var keyValueHeads: Int { base.keyValueHeads }
    public var headDim: Int { base.headDim }
    public var shortConvKernel: Int? { base.convKernel }
    public var ropeTheta: Double { base.ropeTheta }
    public var maxPositionEmbeddings: Int { base.maxPositionEmbeddings }
    public var tieEmbeddings: Bool { base.tieEmbeddings }
    public var bosTokenId: Int? { base.bosTokenId }
    public var eosTokenIds: [Int] { base.eosTokenIds }
    public var declaredDType: String? { base.declaredDType }
    public var cacheShapes: [LayerCacheShape] { base.cacheShapes }

    /// LFM2's count with each sparse layer's dense feed-forward replaced by its router and experts
    /// (the expert bias is a buffer, not a parameter).
    public var parameterCount: Int {
        let h = hiddenSize
        let sparse = (0..<base.layerCount).filter(isSparse).count
        return base.parameterCount - sparse * 3 * h * base.feedForwardSize
            + sparse * (expertCount * h + expertCount * expertParameters)
    }

    /// Without the experts a token does not choose.
    public var activeParameterCount: Int {
        let sparse = (0..<base.layerCount).filter(isSparse).count
        return parameterCount - sparse * (expertCount - expertsPerToken) * expertParameters
    }

    public var extraInfo: [(key: String, json: String)] {
        [("experts", "\(expertCount)"), ("experts_per_token", "\(expertsPerToken)"),
         ("expert_feed_forward_size", "\(expertFeedForwardSize)"), ("dense_layers", "\(denseLayers)")]
    }
}
