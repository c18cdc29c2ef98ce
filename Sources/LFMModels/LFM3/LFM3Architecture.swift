import LFMFormats
import LFMKernels

/// LFM3 (`Lfm3ForCausalLM`), from Hugging Face folders.
public enum LFM3Architecture: ModelArchitecture {
    public static let name = "lfm3"
    public static let huggingFaceModelTypes = ["lfm3"]
    public static let huggingFaceArchitectures = ["Lfm3ForCausalLM"]
    /// The llama.cpp this project pins has no LFM3, so there is no GGUF form to read.
    public static let ggufArchitectures: [String] = []

    public static func configuration(huggingFace json: JSONObject) throws -> any ModelConfiguration {
        try LFM3Configuration(huggingFace: json)
    }

    public static func configuration(gguf source: GGUFTensorSource) throws -> any ModelConfiguration {
        throw GGUFModelError.unsupportedArchitecture(file: source.path, found: name, supported: ModelRegistry.ggufArchitectures)
    }

    public static func bind(_ configuration: any ModelConfiguration, source: TensorSource, naming: TensorNaming,
                            sourceName: String, placement: WeightPlacement) throws -> (any ModelConfiguration, DecoderWeights) {
        guard let c = configuration as? LFM3Configuration, naming == .huggingFace else {
            throw InferenceError.stateMismatch(detail: "LFM3 binds Hugging Face checkpoints with an LFM3 configuration")
        }
        let h = c.hiddenSize, f = c.feedForwardSize
        func layer(_ l: Int, _ name: String) -> String { "model.layers.\(l).\(name).weight" }
        func notLFM3(_ l: Int) -> Error {
            ConfigError.invalidValue(file: sourceName, key: "layer_types[\(l)]", detail: "LFM3 has no recurrence layers (an LIV model does)")
        }
        var specs = [TensorSpec("model.embed_tokens.weight", shape: [c.vocabularySize, h], kind: .matrix),
                     TensorSpec("model.embedding_norm.weight", shape: [h], kind: .vector)]
        if !c.tieEmbeddings { specs.append(TensorSpec("lm_head.weight", shape: [c.vocabularySize, h], kind: .matrix)) }
        for (l, mixer) in c.mixers.enumerated() {
            specs += [TensorSpec(layer(l, "operator_norm"), shape: [h], kind: .vector),
                      TensorSpec(layer(l, "ffn_norm"), shape: [h], kind: .vector),
                      TensorSpec(layer(l, "feed_forward.w1"), shape: [f, h], kind: .matrix),
                      TensorSpec(layer(l, "feed_forward.w3"), shape: [f, h], kind: .matrix),
                      TensorSpec(layer(l, "feed_forward.w2"), shape: [h, f], kind: .matrix)]
            if c.useSandwichNorm {
                specs += [TensorSpec(layer(l, "post_operator_norm"), shape: [h], kind: .vector),
                          TensorSpec(layer(l, "post_ffn_norm"), shape: [h], kind: .vector)]
            }
            switch mixer {
            case .recurrence: throw notLFM3(l)
            case .conv:
                specs += [TensorSpec(layer(l, "conv.in_proj"), shape: [3 * h, h], kind: .matrix),
                          TensorSpec(layer(l, "conv.conv"), shape: [h, 1, c.convKernel], kind: .vector,
                                     alternativeShapes: [[h, c.convKernel]]),
                          TensorSpec(layer(l, "conv.out_proj"), shape: [h, h], kind: .matrix)]
            case .attention, .slidingAttention:
                specs += [TensorSpec(layer(l, "self_attn.q_proj"), shape: [c.queryDim, h], kind: .matrix),
                          TensorSpec(layer(l, "self_attn.k_proj"), shape: [c.keyValueDim, h], kind: .matrix),
                          TensorSpec(layer(l, "self_attn.v_proj"), shape: [c.keyValueDim, h], kind: .matrix),
                          TensorSpec(layer(l, "self_attn.o_proj"), shape: [h, c.queryDim], kind: .matrix),
                          TensorSpec(layer(l, "self_attn.q_norm"), shape: [c.headDim], kind: .vector),
                          TensorSpec(layer(l, "self_attn.k_norm"), shape: [c.headDim], kind: .vector)]
                // On disk the gate is `self_attn.gate_proj` (transformers renames it g_proj at load).
                if c.useAttentionGate {
                    specs.append(TensorSpec(layer(l, "self_attn.gate_proj"), shape: [c.attentionHeads, h], kind: .matrix))
                }
            }
        }
        let bound = try BoundTensors(specs, source: source, sourceName: sourceName, placement: placement) { name in
            name.hasSuffix("rotary_emb.inv_freq") || (c.tieEmbeddings && name == "lm_head.weight")
        }
        let fullFrequencies = c.fullRope.inverseFrequencies(headDim: c.headDim)
        let slidingFrequencies = c.slidingRope.inverseFrequencies(headDim: c.headDim)
        let layers = try c.mixers.enumerated().map { l, kind -> DecoderLayer in
            let mixer: MixerBlock
            switch kind {
            case .recurrence: throw notLFM3(l)
            case .conv:
                mixer = .conv(ConvBlock(inProj: bound.matrix(layer(l, "conv.in_proj")), kernel: bound.vector(layer(l, "conv.conv")),
                                        kernelLength: c.convKernel, outProj: bound.matrix(layer(l, "conv.out_proj"))))
            case .attention, .slidingAttention:
                let sliding = kind == .slidingAttention
                mixer = .attention(AttentionBlock(
                    q: bound.matrix(layer(l, "self_attn.q_proj")), k: bound.matrix(layer(l, "self_attn.k_proj")),
                    v: bound.matrix(layer(l, "self_attn.v_proj")), out: bound.matrix(layer(l, "self_attn.o_proj")),
                    qNorm: bound.vector(layer(l, "self_attn.q_norm")), kNorm: bound.vector(layer(l, "self_attn.k_norm")),
                    gate: c.useAttentionGate ? bound.matrix(layer(l, "self_attn.gate_proj")) : nil,
                    heads: c.attentionHeads, kvHeads: c.keyValueHeads, headDim: c.headDim,
                    window: sliding ? c.slidingWindow : 0, inverseFrequencies: sliding ? slidingFrequencies : fullFrequencies))
            }
            let ffn = DenseFeedForward(gate: bound.matrix(layer(l, "feed_forward.w1")), up: bound.matrix(layer(l, "feed_forward.w3")),
                                       down: bound.matrix(layer(l, "feed_forward.w2")))
            return DecoderLayer(inputNorm: bound.vector(layer(l, "operator_norm")), mixer: mixer,
                                postMixerNorm: c.useSandwichNorm ? bound.vector(layer(l, "post_operator_norm")) : nil,
                                ffnNorm: bound.vector(layer(l, "ffn_norm")), feedForward: .dense(ffn),
                                postFFNNorm: c.useSandwichNorm ? bound.vector(layer(l, "post_ffn_norm")) : nil)
        }
        let embedding = bound.matrix("model.embed_tokens.weight")
        return (c, DecoderWeights(embedding: embedding, layers: layers, finalNorm: bound.vector("model.embedding_norm.weight"),
                                  outputHead: c.tieEmbeddings ? embedding : bound.matrix("lm_head.weight"),
                                  normEpsilon: c.normEpsilon))
    }
}
