import LFMKernels

/// The blocks every supported architecture is made of, as data: a decoder is an embedding, a
/// stack of layers (a token mixer and a feed-forward, each between optional norms) and a head.
/// Each block carries the sizes and options it runs with, so the one forward pass in
/// `DecoderModel` runs LFM2, LFM2-MoE, LFM3, Qwen3 and Llama alike.

/// A double-gated short convolution (LFM2's and LFM3's conv operator):
/// `B, C, X = in_proj(a)`, `y = out_proj(C ⊙ causalConv(B ⊙ X))`.
public struct ConvBlock: Sendable {
    /// `in_proj` [3H, H] (rows: B, C, X).
    public var inProj: WeightMatrix
    /// Depthwise taps [H, kernel], oldest first, widened to F32.
    public var kernel: [Float]
    /// Kernel length (taps per channel); the state keeps `kernelLength - 1` rows.
    public var kernelLength: Int
    /// `out_proj` [H, H].
    public var outProj: WeightMatrix

    public init(inProj: WeightMatrix, kernel: [Float], kernelLength: Int, outProj: WeightMatrix) {
        self.inProj = inProj
        self.kernel = kernel
        self.kernelLength = kernelLength
        self.outProj = outProj
    }
}

/// Grouped-query attention with the options the families differ in.
public struct AttentionBlock: Sendable {
    public var q: WeightMatrix        // [heads·headDim, H]
    public var k: WeightMatrix        // [kvHeads·headDim, H]
    public var v: WeightMatrix        // [kvHeads·headDim, H]
    public var out: WeightMatrix      // [H, heads·headDim]
    /// Optional biases of q, k, v and the output projection (Llama's `attention_bias`).
    public var qBias: [Float]?, kBias: [Float]?, vBias: [Float]?, outBias: [Float]?
    /// Per-head RMSNorm weights of q and k ([headDim], shared by all heads), applied before RoPE.
    public var qNorm: [Float]?
    public var kNorm: [Float]?
    /// LFM3's output gate [heads, H]: each head's output is scaled by `sigmoid(gate · a)`.
    public var gate: WeightMatrix?
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Sliding window (keys visible to a query, itself included); 0 = full causal attention.
    public var window: Int
    /// RoPE inverse frequencies, `headDim / 2` entries (NeoX half-split pairing); zeros leave
    /// their dimension pairs unrotated (partial / proportional RoPE).
    public var inverseFrequencies: [Float]
    /// Score multiplier (`headDim^-0.5`).
    public var scale: Float

    public init(q: WeightMatrix, k: WeightMatrix, v: WeightMatrix, out: WeightMatrix,
                qBias: [Float]? = nil, kBias: [Float]? = nil, vBias: [Float]? = nil, outBias: [Float]? = nil,
                qNorm: [Float]?, kNorm: [Float]?, gate: WeightMatrix? = nil, heads: Int, kvHeads: Int, headDim: Int,
                window: Int = 0, inverseFrequencies: [Float]) {
        self.q = q
        self.k = k
        self.v = v
        self.out = out
        self.qBias = qBias
        self.kBias = kBias
        self.vBias = vBias
        self.outBias = outBias
        self.qNorm = qNorm
        self.kNorm = kNorm
        self.gate = gate
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.window = window
        self.inverseFrequencies = inverseFrequencies
        self.scale = 1 / Float(headDim).squareRoot()
    }

    /// Width of one position's keys (or values).
    public var keyValueDim: Int { kvHeads * headDim }
    /// Width of the queries and of the attention output.
    public var queryDim: Int { heads * headDim }
}

/// A gated diagonal linear recurrence (the LIV catalogue's semiseparable token mixer):
/// `[u; z; f] = in_proj · a`, `d = sigmoid(f + decayBias)` per channel group,
/// `h_t = d_t ⊙ h_{t-1} + (1 - d_t) ⊙ u_t` (zero initial state), `y = out_proj(h_t ⊙ silu(z_t))`.
/// Channel `c` takes the decay of group `c / (H / groups)`.
public struct RecurrenceBlock: Sendable {
    /// `in_proj` [2H + groups, H] (rows: u, z, decay logits f).
    public var inProj: WeightMatrix
    /// Added to the decay logits [groups]; `groups` must divide H (LIV genomes check it).
    public var decayBias: [Float]
    /// `out_proj` [H, H].
    public var outProj: WeightMatrix

    public init(inProj: WeightMatrix, decayBias: [Float], outProj: WeightMatrix) {
        self.inProj = inProj
        self.decayBias = decayBias
        self.outProj = outProj
    }

    /// Decay groups.
    public var groups: Int { decayBias.count }
    /// Channels (the model width H), also the state's size.
    public var channels: Int { outProj.rows }
}

/// The token mixer of a layer.
public enum MixerBlock: Sendable {
    case conv(ConvBlock)
    case attention(AttentionBlock)
    case recurrence(RecurrenceBlock)
}

/// A SwiGLU feed-forward: `down(silu(gate · u) ⊙ (up · u))`, optionally with biases.
public struct DenseFeedForward: Sendable {
    public var gate: WeightMatrix     // [F, H]
    public var up: WeightMatrix       // [F, H]
    public var down: WeightMatrix     // [H, F]
    public var gateBias: [Float]?, upBias: [Float]?, downBias: [Float]?

    public init(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix,
                gateBias: [Float]? = nil, upBias: [Float]? = nil, downBias: [Float]? = nil) {
        self.gate = gate
        self.up = up
        self.down = down
        self.gateBias = gateBias
        self.upBias = upBias
        self.downBias = downBias
    }

    /// Hidden width F.
    public var width: Int { gate.rows }
}

/// A sparse mixture of SwiGLU experts with LFM2-MoE's sigmoid router.
public struct ExpertsFeedForward: Sendable {
    /// Router [E, H] (no bias).
    public var router: WeightMatrix
    /// Added to the router's sigmoid scores to choose experts, never to weight them (nil: none).
    public var selectionBias: [Float]?
    /// The experts, each a SwiGLU of the same width.
    public var experts: [DenseFeedForward]
    /// Experts chosen per token.
    public var topK: Int
    /// Whether the chosen weights are divided by their sum (plus 1e-6).
    public var normalizeTopK: Bool
    /// Factor applied to the chosen weights.
    public var scaling: Float

    public init(router: WeightMatrix, selectionBias: [Float]?, experts: [DenseFeedForward], topK: Int,
                normalizeTopK: Bool, scaling: Float) {
        self.router = router
        self.selectionBias = selectionBias
        self.experts = experts
        self.topK = topK
        self.normalizeTopK = normalizeTopK
        self.scaling = scaling
    }
}

/// The feed-forward of a layer.
public enum FeedForwardBlock: Sendable {
    case dense(DenseFeedForward)
    case experts(ExpertsFeedForward)
}

/// One decoder layer: `h += postMixerNorm(mixer(inputNorm(h)))`, then
/// `h += postFFNNorm(ffn(ffnNorm(h)))`; the post norms are optional (LFM3's sandwich norms).
public struct DecoderLayer: Sendable {
    public var inputNorm: [Float]
    public var mixer: MixerBlock
    public var postMixerNorm: [Float]?
    public var ffnNorm: [Float]
    public var feedForward: FeedForwardBlock
    public var postFFNNorm: [Float]?

    public init(inputNorm: [Float], mixer: MixerBlock, postMixerNorm: [Float]? = nil, ffnNorm: [Float],
                feedForward: FeedForwardBlock, postFFNNorm: [Float]? = nil) {
        self.inputNorm = inputNorm
        self.mixer = mixer
        self.postMixerNorm = postMixerNorm
        self.ffnNorm = ffnNorm
        self.feedForward = feedForward
        self.postFFNNorm = postFFNNorm
    }

    /// What this layer keeps between calls.
    public var cacheShape: LayerCacheShape {
        switch mixer {
        case .conv(let c): return .convolution(rows: c.kernelLength - 1, channels: c.outProj.rows)
        case .attention(let a): return .keyValue(width: a.keyValueDim, window: a.window)
        case .recurrence(let r): return .recurrent(channels: r.channels)
        }
    }
}

/// Every weight of a decoder and the few sizes shared by all layers.
public struct DecoderWeights: Sendable {
    /// Token embedding [V, H] (no scaling).
    public var embedding: WeightMatrix
    public var layers: [DecoderLayer]
    /// The final norm, applied after the last layer.
    public var finalNorm: [Float]
    /// Output head [V, H] (the embedding itself when tied).
    public var outputHead: WeightMatrix
    /// RMSNorm epsilon of every norm.
    public var normEpsilon: Float

    public init(embedding: WeightMatrix, layers: [DecoderLayer], finalNorm: [Float], outputHead: WeightMatrix,
                normEpsilon: Float) {
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.outputHead = outputHead
        self.normEpsilon = normEpsilon
    }

    public var hiddenSize: Int { embedding.cols }
    public var vocabularySize: Int { outputHead.rows }

    /// Bytes of weights one decode step reads: the head, every mixer, the dense feed-forwards and,
    /// of a mixture of experts, the router and `topK` average-sized experts.
    public var bytesPerToken: Int {
        var total = outputHead.byteCount
        func dense(_ f: DenseFeedForward) -> Int { f.gate.byteCount + f.up.byteCount + f.down.byteCount }
        for layer in layers {
            switch layer.mixer {
            case .conv(let c): total += c.inProj.byteCount + c.outProj.byteCount
            case .attention(let a):
                total += a.q.byteCount + a.k.byteCount + a.v.byteCount + a.out.byteCount + (a.gate?.byteCount ?? 0)
            case .recurrence(let r): total += r.inProj.byteCount + r.outProj.byteCount
            }
            switch layer.feedForward {
            case .dense(let f): total += dense(f)
            case .experts(let e):
                let all = e.experts.reduce(0) { $0 + dense($1) }
                total += e.router.byteCount + all * e.topK / max(e.experts.count, 1)
            }
        }
        return total
    }
}
