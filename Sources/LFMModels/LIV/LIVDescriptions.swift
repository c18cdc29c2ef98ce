/// The hand-written families as LIV models: each gives the LIV configuration that computes what
/// the family computes, and the renaming from LIV tensor names to the family's checkpoint names
/// (`LIVArchitecture.bind(_:source:renaming:…)` binds a family's checkpoint with it).
///
/// LFM2's gated short convolution is `conv` (taps = `conv_L_cache`), its GQA with QK-norm is
/// `attention` (groups = KV heads) under the names `self_attn.out_proj`, `q_layernorm` and
/// `k_layernorm`; LFM3 adds `slidingAttention`, the per-head output gate and sandwich norms under
/// LIV's own names; LFM2-MoE's sparse layers are genes with `experts`.

/// An LIV configuration and the checkpoint name of each LIV tensor that is named differently.
public typealias LIVDescription = (configuration: LIVConfiguration, renaming: [String: String])

extension LFM2Configuration {
    /// This LFM2 model as an LIV model (the feed-forward width as settled by the checkpoint).
    /// - Throws: `LIVGenomeError` when a size is outside the genome's ranges (e.g. a width not a
    ///   multiple of 8, or a conv of more than 16 taps).
    public func livDescription() throws -> LIVDescription {
        let genes = layerKinds.map { kind -> LIVGene in
            switch kind {
            case .conv: return LIVGene(mixer: .conv, groups: convKernel, feedForward: feedForwardSize)
            case .attention: return LIVGene(mixer: .attention, groups: keyValueHeads, feedForward: feedForwardSize)
            }
        }
        let genome = LIVGenome(hiddenSize: hiddenSize, attentionHeads: attentionHeads, headDim: headDim, layers: genes)
        let settings = LIVSettings(vocabularySize: vocabularySize, normEpsilon: normEpsilon,
                                   fullRope: RopeConfiguration(theta: ropeTheta), tieEmbeddings: tieEmbeddings,
                                   maxPositionEmbeddings: maxPositionEmbeddings, bosTokenId: bosTokenId,
                                   eosTokenIds: eosTokenIds)
        return (try LIVConfiguration(genome: genome, settings: settings, declaredDType: declaredDType),
                LIVRenaming.lfm2Attention(genome))
    }
}

extension LFM3Configuration {
    /// This LFM3 model as an LIV model (LFM3's tensor names are LIV's).
    public func livDescription() throws -> LIVDescription {
        let gate = useAttentionGate ? 1 : 0
        let genes = try mixers.enumerated().map { l, kind -> LIVGene in
            switch kind {
            case .conv: return LIVGene(mixer: .conv, groups: convKernel, feedForward: feedForwardSize)
            case .attention: return LIVGene(mixer: .attention, groups: keyValueHeads, gate: gate, feedForward: feedForwardSize)
            case .slidingAttention:
                return LIVGene(mixer: .slidingAttention, groups: keyValueHeads, gate: gate, feedForward: feedForwardSize)
            case .recurrence:
                throw LIVGenomeError.invalid(layer: l, field: "op", detail: "LFM3 has no recurrence layers")
            }
        }
        let genome = LIVGenome(hiddenSize: hiddenSize, attentionHeads: attentionHeads, headDim: headDim, layers: genes)
        let settings = LIVSettings(vocabularySize: vocabularySize, slidingWindow: slidingWindow, normEpsilon: normEpsilon,
                                   sandwichNorm: useSandwichNorm, fullRope: fullRope, slidingRope: slidingRope,
                                   tieEmbeddings: tieEmbeddings, maxPositionEmbeddings: maxPositionEmbeddings,
                                   bosTokenId: bosTokenId, eosTokenIds: eosTokenIds)
        return (try LIVConfiguration(genome: genome, settings: settings, declaredDType: declaredDType), [:])
    }
}

extension LFM2MoEConfiguration {
    /// This LFM2-MoE model as an LIV model: LFM2's layers, the sparse ones with `expertCount`
    /// experts of `expertFeedForwardSize`.
    public func livDescription() throws -> LIVDescription {
        var (dense, renaming) = try base.livDescription()  // same layers, so the same renaming
        var genome = dense.genome
        for l in genome.layers.indices where isSparse(l) {
            genome.layers[l].experts = expertCount
            genome.layers[l].feedForward = expertFeedForwardSize
        }
        var settings = dense.settings
        settings.expertsPerToken = expertsPerToken
        settings.normalizeTopK = normalizeTopK
        settings.routedScaling = Float(routedScalingFactor)
        settings.expertSelectionBias = useExpertBias
        dense = try LIVConfiguration(genome: genome, settings: settings, declaredDType: declaredDType)
        return (dense, renaming)
    }
}

enum LIVRenaming {
    /// LFM2's attention names for every attention layer of `genome`.
    static func lfm2Attention(_ genome: LIVGenome) -> [String: String] {
        var renaming: [String: String] = [:]
        for (l, gene) in genome.layers.enumerated() where gene.mixer.isAttention {
            for (liv, lfm2) in [("self_attn.o_proj", "self_attn.out_proj"), ("self_attn.q_norm", "self_attn.q_layernorm"),
                                ("self_attn.k_norm", "self_attn.k_layernorm")] {
                renaming[LIVGenome.layerTensor(l, liv)] = LIVGenome.layerTensor(l, lfm2)
            }
        }
        return renaming
    }
}
