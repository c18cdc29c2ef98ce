// The forward pass of an LIV genome on autodiff tensors, for training: one decoder layer per
// gene (token mixer of the gene's LIV class, then the channel mixer), whole sequences at once
// with zero initial conv and recurrence state. Same math as the inference decoder's LIV family.
import Foundation
import LFMFormats
import LFMModels

/// An LIV model (a genome and its settings) whose parameters are F32 autodiff leaves keyed by
/// the names of the genome's tensor table (`LIVGenome.tensors(_:)`).
public final class LIVTrainable {
    /// Genome and settings.
    public let configuration: LIVConfiguration
    /// Every tensor of the table by name; buffers (`expert_bias`) do not require gradients. A
    /// shared featurizer is one entry (under its owner layer's name) used by several layers.
    public let parameters: [String: Tensor]
    /// Whether each decoder layer's forward is recomputed during the backward pass.
    public var checkpointActivations = false
    private let table: [LIVTensor]
    private let fullFrequencies: [Float]
    private let slidingFrequencies: [Float]

    /// Wraps `parameters`; throws when a table tensor is missing or has the wrong number of values.
    public init(configuration: LIVConfiguration, parameters: [String: Tensor]) throws {
        let table = configuration.genome.tensors(configuration.settings)
        for entry in table {
            guard let tensor = parameters[entry.name] else {
                throw ModelLoadError.missingTensor(name: entry.name, source: "LIV parameters")
            }
            guard tensor.count == entry.count else {
                throw ModelLoadError.shapeMismatch(name: entry.name, file: "LIV parameters", expected: entry.shape, found: tensor.shape)
            }
        }
        self.configuration = configuration
        self.parameters = parameters
        self.table = table
        let d = configuration.genome.headDim
        fullFrequencies = configuration.settings.fullRope.inverseFrequencies(headDim: d)
        slidingFrequencies = configuration.settings.slidingRope.inverseFrequencies(headDim: d)
    }

    /// The trainable parameters in table order (stable: optimizer state and checkpoints use it).
    public var orderedParameters: [(String, Tensor)] {
        table.filter(\.trainable).map { ($0.name, tensor($0.name)) }
    }

    /// Logits `[B·T, V]` for `B` equal-length sequences (each mixes only over itself).
    public func forward(batch sequences: [[Int]], ops: Ops) -> Tensor {
        let genome = configuration.genome, settings = configuration.settings
        let length = sequences[0].count
        var x = ops.embedding(tensor("model.embed_tokens.weight"), ids: sequences.flatMap { $0 })
        for l in genome.layers.indices {
            if checkpointActivations {
                x = ops.checkpoint(x) { [self] ops, input in layer(l, input, sequenceLength: length, ops: ops) }
            } else {
                x = layer(l, x, sequenceLength: length, ops: ops)
            }
        }
        let final = ops.rmsNorm(x, weight: tensor("model.embedding_norm.weight"), dim: genome.hiddenSize, eps: settings.normEpsilon)
        return ops.linear(final, tensor(settings.tieEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"))
    }

    /// Decoder layer `l`: `h += [post_operator_norm](mixer(operator_norm(h)))`, then
    /// `h += [post_ffn_norm](ffn(ffn_norm(h)))` (post norms with sandwich norms only).
    private func layer(_ l: Int, _ x: Tensor, sequenceLength: Int, ops: Ops) -> Tensor {
        let settings = configuration.settings, h = configuration.genome.hiddenSize, eps = settings.normEpsilon
        let normed = ops.rmsNorm(x, weight: weight(l, "operator_norm"), dim: h, eps: eps)
        var mixed = mixer(l, normed, sequenceLength: sequenceLength, ops: ops)
        if settings.sandwichNorm { mixed = ops.rmsNorm(mixed, weight: weight(l, "post_operator_norm"), dim: h, eps: eps) }
        let residual = ops.add(x, mixed)
        let ffnIn = ops.rmsNorm(residual, weight: weight(l, "ffn_norm"), dim: h, eps: eps)
        var fed = configuration.genome.layers[l].experts > 0 ? experts(l, ffnIn, ops: ops) : dense(l, ffnIn, ops: ops)
        if settings.sandwichNorm { fed = ops.rmsNorm(fed, weight: weight(l, "post_ffn_norm"), dim: h, eps: eps) }
        return ops.add(residual, fed)
    }

    /// The token mixer of layer `l` on its normed input.
    private func mixer(_ l: Int, _ x: Tensor, sequenceLength: Int, ops: Ops) -> Tensor {
        let genome = configuration.genome, settings = configuration.settings, gene = genome.layers[l]
        let owner = genome.featurizerOwner(of: l)
        switch gene.mixer {
        case .conv:
            let bcx = ops.linear(x, weight(owner, "conv.in_proj"))
            let gated = ops.gatedConv(bcx, weight: weight(l, "conv.conv"), kernel: gene.groups, sequenceLength: sequenceLength)
            return ops.linear(gated, weight(l, "conv.out_proj"))
        case .attention, .slidingAttention:
            let heads = genome.attentionHeads, d = genome.headDim, eps = settings.normEpsilon
            var q = ops.linear(x, weight(owner, "self_attn.q_proj"))
            var k = ops.linear(x, weight(owner, "self_attn.k_proj"))
            let v = ops.linear(x, weight(owner, "self_attn.v_proj"))
            q = ops.rmsNorm(q, weight: weight(owner, "self_attn.q_norm"), dim: d, eps: eps)
            k = ops.rmsNorm(k, weight: weight(owner, "self_attn.k_norm"), dim: d, eps: eps)
            let frequencies = gene.mixer == .attention ? fullFrequencies : slidingFrequencies
            q = ops.rope(q, heads: heads, headDim: d, inverseFrequencies: frequencies, sequenceLength: sequenceLength)
            k = ops.rope(k, heads: gene.groups, headDim: d, inverseFrequencies: frequencies, sequenceLength: sequenceLength)
            let scale = 1 / Float(d).squareRoot()
            var attended = gene.mixer == .attention
                ? ops.attention(q: q, k: k, v: v, heads: heads, kvHeads: gene.groups, headDim: d, scale: scale,
                                sequenceLength: sequenceLength)
                : ops.slidingAttention(q: q, k: k, v: v, heads: heads, kvHeads: gene.groups, headDim: d, scale: scale,
                                       window: settings.slidingWindow, sequenceLength: sequenceLength)
            if gene.gate == 1 {
                attended = ops.headGate(attended, logits: ops.linear(x, weight(l, "self_attn.gate_proj")), heads: heads, headDim: d)
            }
            return ops.linear(attended, weight(l, "self_attn.o_proj"))
        case .recurrence:
            let uzf = ops.linear(x, weight(owner, "recurrence.in_proj"))
            let mixed = ops.recurrence(uzf, decayBias: tensor("model.layers.\(l).recurrence.decay_bias"),
                                       hidden: genome.hiddenSize, sequenceLength: sequenceLength)
            return ops.linear(mixed, weight(l, "recurrence.out_proj"))
        }
    }

    /// Dense SwiGLU `w2(silu(w1 x) ⊙ w3 x)`.
    private func dense(_ l: Int, _ x: Tensor, ops: Ops) -> Tensor {
        let gated = ops.siluMul(ops.linear(x, weight(l, "feed_forward.w1")), ops.linear(x, weight(l, "feed_forward.w3")))
        return ops.linear(gated, weight(l, "feed_forward.w2"))
    }

    /// Sparse mixture of SwiGLU experts (LFM2-MoE routing): each expert runs only on its tokens.
    private func experts(_ l: Int, _ x: Tensor, ops: Ops) -> Tensor {
        let settings = configuration.settings, count = configuration.genome.layers[l].experts
        let bias = settings.expertSelectionBias ? tensor("model.layers.\(l).feed_forward.expert_bias").data : nil
        let (weights, routing) = ops.routeTopK(ops.linear(x, weight(l, "feed_forward.gate")), k: settings.expertsPerToken,
                                               selectionBias: bias, normalize: settings.normalizeTopK,
                                               scaling: settings.routedScaling)
        let outputs: [Tensor?] = (0..<count).map { e in
            let tokens = routing.assignments[e].map(\.token)
            guard !tokens.isEmpty else { return nil }
            let routed = ops.gatherRows(x, tokens)
            let gated = ops.siluMul(ops.linear(routed, weight(l, "feed_forward.experts.\(e).w1")),
                                    ops.linear(routed, weight(l, "feed_forward.experts.\(e).w3")))
            return ops.linear(gated, weight(l, "feed_forward.experts.\(e).w2"))
        }
        return ops.combineExperts(outputs, weights: weights, routing: routing, rows: x.rows, hidden: x.columns)
    }

    /// The `.weight` tensor `name` of layer `l`.
    private func weight(_ l: Int, _ name: String) -> Tensor { tensor(LIVGenome.layerTensor(l, name)) }

    /// A tensor of the table (names come from the table, checked in `init`).
    private func tensor(_ name: String) -> Tensor {
        guard let found = parameters[name] else { preconditionFailure("LIV tensor table has no \(name)") }
        return found
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for (_, t) in parameters { t.zeroGrad() } }
}
