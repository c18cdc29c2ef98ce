/// The one name table of LFM2: every tensor's role, its Hugging Face name, its GGUF name and its
/// shape (PyTorch order, outermost first) under a configuration.
public enum LFM2Tensor: Hashable, Sendable {
    case tokenEmbedding
    case finalNorm
    case outputHead
    case operatorNorm(Int)
    case ffnNorm(Int)
    case ffnGate(Int)      // w1
    case ffnDown(Int)      // w2
    case ffnUp(Int)        // w3
    case convInProj(Int)
    case convKernel(Int)
    case convOutProj(Int)
    case attentionQ(Int)
    case attentionK(Int)
    case attentionV(Int)
    case attentionOut(Int)
    case attentionQNorm(Int)
    case attentionKNorm(Int)

    /// Name in a Hugging Face checkpoint.
    public var huggingFaceName: String {
        switch self {
        case .tokenEmbedding: return "model.embed_tokens.weight"
        case .finalNorm: return "model.embedding_norm.weight"
        case .outputHead: return "lm_head.weight"
        case .operatorNorm(let l): return "model.layers.\(l).operator_norm.weight"
        case .ffnNorm(let l): return "model.layers.\(l).ffn_norm.weight"
        case .ffnGate(let l): return "model.layers.\(l).feed_forward.w1.weight"
        case .ffnDown(let l): return "model.layers.\(l).feed_forward.w2.weight"
        case .ffnUp(let l): return "model.layers.\(l).feed_forward.w3.weight"
        case .convInProj(let l): return "model.layers.\(l).conv.in_proj.weight"
        case .convKernel(let l): return "model.layers.\(l).conv.conv.weight"
        case .convOutProj(let l): return "model.layers.\(l).conv.out_proj.weight"
        case .attentionQ(let l): return "model.layers.\(l).self_attn.q_proj.weight"
        case .attentionK(let l): return "model.layers.\(l).self_attn.k_proj.weight"
        case .attentionV(let l): return "model.layers.\(l).self_attn.v_proj.weight"
        case .attentionOut(let l): return "model.layers.\(l).self_attn.out_proj.weight"
        case .attentionQNorm(let l): return "model.layers.\(l).self_attn.q_layernorm.weight"
        case .attentionKNorm(let l): return "model.layers.\(l).self_attn.k_layernorm.weight"
        }
    }

    /// Name in a GGUF file written by llama.cpp's converter.
    public var ggufName: String {
        switch self {
        case .tokenEmbedding: return "token_embd.weight"
        case .finalNorm: return "token_embd_norm.weight"
        case .outputHead: return "output.weight"
        case .operatorNorm(let l): return "blk.\(l).attn_norm.weight"
        case .ffnNorm(let l): return "blk.\(l).ffn_norm.weight"
        case .ffnGate(let l): return "blk.\(l).ffn_gate.weight"
        case .ffnDown(let l): return "blk.\(l).ffn_down.weight"
        case .ffnUp(let l): return "blk.\(l).ffn_up.weight"
        case .convInProj(let l): return "blk.\(l).shortconv.in_proj.weight"
        case .convKernel(let l): return "blk.\(l).shortconv.conv.weight"
        case .convOutProj(let l): return "blk.\(l).shortconv.out_proj.weight"
        case .attentionQ(let l): return "blk.\(l).attn_q.weight"
        case .attentionK(let l): return "blk.\(l).attn_k.weight"
        case .attentionV(let l): return "blk.\(l).attn_v.weight"
        case .attentionOut(let l): return "blk.\(l).attn_output.weight"
        case .attentionQNorm(let l): return "blk.\(l).attn_q_norm.weight"
        case .attentionKNorm(let l): return "blk.\(l).attn_k_norm.weight"
        }
    }

    /// Shape in PyTorch order (GGUF's `ne` is this reversed; the conv kernel is stored squeezed
    /// there as `[H, L]`, here `[H, 1, L]`).
    public func shape(_ c: LFM2Configuration) -> [Int] {
        let h = c.hiddenSize, f = c.feedForwardSize
        switch self {
        case .tokenEmbedding, .outputHead: return [c.vocabularySize, h]
        case .finalNorm, .operatorNorm, .ffnNorm: return [h]
        case .ffnGate, .ffnUp: return [f, h]
        case .ffnDown: return [h, f]
        case .convInProj: return [3 * h, h]
        case .convKernel: return [h, 1, c.convKernel]
        case .convOutProj: return [h, h]
        case .attentionQ: return [c.attentionHeads * c.headDim, h]
        case .attentionK, .attentionV: return [c.keyValueDim, h]
        case .attentionOut: return [h, c.attentionHeads * c.headDim]
        case .attentionQNorm, .attentionKNorm: return [c.headDim]
        }
    }

    /// Whether the tensor is a vector widened to F32 at load (norm weights, conv taps) rather
    /// than a matrix kept in its stored type.
    public var isVector: Bool {
        switch self {
        case .finalNorm, .operatorNorm, .ffnNorm, .convKernel, .attentionQNorm, .attentionKNorm: return true
        default: return false
        }
    }

    /// Every tensor a checkpoint of configuration `c` holds (the head only when untied).
    public static func all(_ c: LFM2Configuration) -> [LFM2Tensor] {
        var tensors: [LFM2Tensor] = [.tokenEmbedding, .finalNorm]
        if !c.tieEmbeddings { tensors.append(.outputHead) }
        for (l, kind) in c.layerKinds.enumerated() {
            tensors += [.operatorNorm(l), .ffnNorm(l), .ffnGate(l), .ffnDown(l), .ffnUp(l)]
            switch kind {
            case .conv: tensors += [.convInProj(l), .convKernel(l), .convOutProj(l)]
            case .attention:
                tensors += [.attentionQ(l), .attentionK(l), .attentionV(l), .attentionOut(l),
                            .attentionQNorm(l), .attentionKNorm(l)]
            }
        }
        return tensors
    }
}
