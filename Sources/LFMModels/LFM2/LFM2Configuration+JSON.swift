import Foundation

extension LFM2Configuration {
    /// A Hugging Face `config.json` for this configuration (transformers' current dialect:
    /// `layer_types`, `intermediate_size` with the auto-adjust rule switched off so the width is
    /// exact, `rope_parameters`, `tie_word_embeddings`), loadable by `Lfm2ForCausalLM`.
    public func huggingFaceConfig(dtype: String = "float32") -> [String: Any] {
        var config: [String: Any] = [
            "architectures": ["Lfm2ForCausalLM"],
            "model_type": "lfm2",
            "vocab_size": vocabularySize,
            "hidden_size": hiddenSize,
            "intermediate_size": feedForwardSize,
            "block_auto_adjust_ff_dim": false,
            "block_multiple_of": 256,
            "block_ffn_dim_multiplier": 1.0,
            "num_hidden_layers": layerCount,
            "num_attention_heads": attentionHeads,
            "num_key_value_heads": keyValueHeads,
            "layer_types": layerKinds.map(\.rawValue),
            "conv_L_cache": convKernel,
            "conv_bias": false,
            "norm_eps": Double(normEpsilon),
            "rope_parameters": ["rope_theta": ropeTheta, "rope_type": "default"],
            "max_position_embeddings": maxPositionEmbeddings,
            "tie_word_embeddings": tieEmbeddings,
            "torch_dtype": dtype,
            "eos_token_id": eosTokenIds.count == 1 ? eosTokenIds[0] as Any : eosTokenIds as Any,
        ]
        if headDim * attentionHeads != hiddenSize { config["head_dim"] = headDim }
        if let bosTokenId { config["bos_token_id"] = bosTokenId }
        if let padTokenId { config["pad_token_id"] = padTokenId }
        return config
    }

    /// `huggingFaceConfig` serialized with sorted keys.
    public func huggingFaceConfigData(dtype: String = "float32") throws -> Data {
        try JSONSerialization.data(withJSONObject: huggingFaceConfig(dtype: dtype), options: [.prettyPrinted, .sortedKeys])
    }
}
