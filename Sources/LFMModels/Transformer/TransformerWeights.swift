import LFMFormats
import LFMKernels

/// Binds Qwen3 / Llama checkpoints (Hugging Face or llama.cpp GGUF names) to decoder blocks.
enum TransformerWeights {
    /// Tensor names of one layer and the model, in either naming.
    struct Names {
        let naming: TensorNaming

        var embedding: String { naming == .gguf ? "token_embd.weight" : "model.embed_tokens.weight" }
        var finalNorm: String { naming == .gguf ? "output_norm.weight" : "model.norm.weight" }
        var head: String { naming == .gguf ? "output.weight" : "lm_head.weight" }

        func layer(_ l: Int, _ role: String, bias: Bool = false) -> String {
            let suffix = bias ? "bias" : "weight"
            if naming == .gguf {
                let gguf = ["input_norm": "attn_norm", "post_norm": "ffn_norm", "q": "attn_q", "k": "attn_k", "v": "attn_v",
                            "o": "attn_output", "q_norm": "attn_q_norm", "k_norm": "attn_k_norm",
                            "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"][role] ?? role
                return "blk.\(l).\(gguf).\(suffix)"
            }
            let hf = ["input_norm": "input_layernorm", "post_norm": "post_attention_layernorm",
                      "q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
                      "q_norm": "self_attn.q_norm", "k_norm": "self_attn.k_norm",
                      "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"][role] ?? role
            return "model.layers.\(l).\(hf).\(suffix)"
        }
    }

    /// llama.cpp stores Llama's q/k rows permuted for adjacent-pair RoPE: per head, stored row
    /// `2j` is Hugging Face row `j` and `2j + 1` is row `j + d/2`. This is the order that undoes it.
    static func halfSplitOrder(heads: Int, headDim d: Int) -> [Int] {
        (0..<heads).flatMap { head in
            (0..<d).map { i in head * d + (i < d / 2 ? 2 * i : 2 * (i - d / 2) + 1) }
        }
    }

    static func bind(_ c: TransformerConfiguration, source: TensorSource, naming: TensorNaming, sourceName: String,
                     placement: WeightPlacement) throws -> DecoderWeights {
        let names = Names(naming: naming)
        let h = c.hiddenSize, f = c.feedForwardSize, q = c.queryDim, kv = c.keyValueDim
        // llama.cpp's Llama files hold q/k permuted for its adjacent-pair RoPE; Qwen3 files do not.
        let permuted = naming == .gguf && c.architecture == LlamaArchitecture.name
        let qOrder = permuted ? halfSplitOrder(heads: c.attentionHeads, headDim: c.headDim) : nil
        let kOrder = permuted ? halfSplitOrder(heads: c.keyValueHeads, headDim: c.headDim) : nil
        var specs = [TensorSpec(names.embedding, shape: [c.vocabularySize, h], kind: .matrix),
                     TensorSpec(names.finalNorm, shape: [h], kind: .vector)]
        if !c.tieEmbeddings { specs.append(TensorSpec(names.head, shape: [c.vocabularySize, h], kind: .matrix)) }
        for l in c.mixers.indices {
            specs += [TensorSpec(names.layer(l, "input_norm"), shape: [h], kind: .vector),
                      TensorSpec(names.layer(l, "post_norm"), shape: [h], kind: .vector),
                      TensorSpec(names.layer(l, "q"), shape: [q, h], kind: .matrix, rowOrder: qOrder),
                      TensorSpec(names.layer(l, "k"), shape: [kv, h], kind: .matrix, rowOrder: kOrder),
                      TensorSpec(names.layer(l, "v"), shape: [kv, h], kind: .matrix),
                      TensorSpec(names.layer(l, "o"), shape: [h, q], kind: .matrix),
                      TensorSpec(names.layer(l, "gate"), shape: [f, h], kind: .matrix),
                      TensorSpec(names.layer(l, "up"), shape: [f, h], kind: .matrix),
                      TensorSpec(names.layer(l, "down"), shape: [h, f], kind: .matrix)]
            if c.queryKeyNorm {
                specs += [TensorSpec(names.layer(l, "q_norm"), shape: [c.headDim], kind: .vector),
                          TensorSpec(names.layer(l, "k_norm"), shape: [c.headDim], kind: .vector)]
            }
            if c.attentionBias {
                for (role, width) in [("q", q), ("k", kv), ("v", kv), ("o", h)] {
                    specs.append(TensorSpec(names.layer(l, role, bias: true), shape: [width], kind: .vector))
                }
            }
            if c.mlpBias {
                for (role, width) in [("gate", f), ("up", f), ("down", h)] {
                    specs.append(TensorSpec(names.layer(l, role, bias: true), shape: [width], kind: .vector))
                }
            }
        }
        let bound = try BoundTensors(specs, source: source, sourceName: sourceName, placement: placement) { name in
            name.hasSuffix("rotary_emb.inv_freq") || name == "rope_freqs.weight"
                || (c.tieEmbeddings && name == names.head) // a tied checkpoint may carry an unused copy
        }
        func reorder(_ bias: [Float], _ order: [Int]?) -> [Float] { order.map { $0.map { bias[$0] } } ?? bias }
        let frequencies = c.inverseFrequencies
        let layers = c.mixers.enumerated().map { l, kind -> DecoderLayer in
            func bias(_ role: String, _ order: [Int]? = nil) -> [Float]? {
                c.attentionBias ? reorder(bound.vector(names.layer(l, role, bias: true)), order) : nil
            }
            func mlpBias(_ role: String) -> [Float]? { c.mlpBias ? bound.vector(names.layer(l, role, bias: true)) : nil }
            let attention = AttentionBlock(
                q: bound.matrix(names.layer(l, "q")), k: bound.matrix(names.layer(l, "k")),
                v: bound.matrix(names.layer(l, "v")), out: bound.matrix(names.layer(l, "o")),
                qBias: bias("q", qOrder), kBias: bias("k", kOrder), vBias: bias("v"), outBias: bias("o"),
                qNorm: c.queryKeyNorm ? bound.vector(names.layer(l, "q_norm")) : nil,
                kNorm: c.queryKeyNorm ? bound.vector(names.layer(l, "k_norm")) : nil,
                heads: c.attentionHeads, kvHeads: c.keyValueHeads, headDim: c.headDim,
                window: kind == .slidingAttention ? (c.slidingWindow ?? 0) : 0, inverseFrequencies: frequencies)
            let mlp = DenseFeedForward(gate: bound.matrix(names.layer(l, "gate")), up: bound.matrix(names.layer(l, "up")),
                                       down: bound.matrix(names.layer(l, "down")), gateBias: mlpBias("gate"),
                                       upBias: mlpBias("up"), downBias: mlpBias("down"))
            return DecoderLayer(inputNorm: bound.vector(names.layer(l, "input_norm")), mixer: .attention(attention),
                                ffnNorm: bound.vector(names.layer(l, "post_norm")), feedForward: .dense(mlp))
        }
        let embedding = bound.matrix(names.embedding)
        return DecoderWeights(embedding: embedding, layers: layers, finalNorm: bound.vector(names.finalNorm),
                              outputHead: c.tieEmbeddings ? embedding : bound.matrix(names.head), normEpsilon: c.normEpsilon)
    }
}

/// A dense transformer family: its configuration and tensors are read by the shared
/// `TransformerConfiguration` / `TransformerWeights` with the family's name choosing the defaults.
protocol DenseTransformerFamily: ModelArchitecture {}

extension DenseTransformerFamily {
    public static func configuration(huggingFace json: JSONObject) throws -> any ModelConfiguration {
        try TransformerConfiguration(huggingFace: json, architecture: name)
    }

    public static func configuration(gguf source: GGUFTensorSource) throws -> any ModelConfiguration {
        try TransformerConfiguration(gguf: source, architecture: name)
    }

    public static func bind(_ configuration: any ModelConfiguration, source: TensorSource, naming: TensorNaming,
                            sourceName: String, placement: WeightPlacement) throws -> (any ModelConfiguration, DecoderWeights) {
        guard let c = configuration as? TransformerConfiguration else {
            throw InferenceError.stateMismatch(detail: "a \(configuration.architecture) configuration cannot bind a \(name) checkpoint")
        }
        return (c, try TransformerWeights.bind(c, source: source, naming: naming, sourceName: sourceName, placement: placement))
    }
}

/// Qwen3: q/k RMSNorm, `head_dim` independent of hidden/heads, optional sliding-window layers.
public enum Qwen3Architecture: DenseTransformerFamily {
    public static let name = "qwen3"
    public static let huggingFaceModelTypes = ["qwen3"]
    public static let huggingFaceArchitectures = ["Qwen3ForCausalLM"]
    public static let ggufArchitectures = ["qwen3"]
}

/// Llama (2/3.x): `llama3` RoPE scaling, optional attention/MLP biases, tied or untied head.
public enum LlamaArchitecture: DenseTransformerFamily {
    public static let name = "llama"
    public static let huggingFaceModelTypes = ["llama"]
    public static let huggingFaceArchitectures = ["LlamaForCausalLM"]
    public static let ggufArchitectures = ["llama"]
}
