/// The settings of an LIV model that a genome does not encode (they are not searched): the
/// vocabulary, norms, rotary embeddings, the sliding window, and how experts are routed.
public struct LIVSettings: Sendable, Equatable {
    public var vocabularySize: Int
    /// Keys a sliding-attention query sees, itself included.
    public var slidingWindow: Int
    public var normEpsilon: Float
    /// LFM3's sandwich norms: an RMSNorm after the mixer and after the feed-forward of every layer.
    public var sandwichNorm: Bool
    /// RoPE of the full-attention layers.
    public var fullRope: RopeConfiguration
    /// RoPE of the sliding-attention layers.
    public var slidingRope: RopeConfiguration
    public var tieEmbeddings: Bool
    /// Experts chosen per token in every mixture-of-experts layer.
    public var expertsPerToken: Int
    /// Whether the chosen experts' weights are divided by their sum (LFM2-MoE's `norm_topk_prob`).
    public var normalizeTopK: Bool
    /// Factor on the chosen experts' weights (`routed_scaling_factor`).
    public var routedScaling: Float
    /// Whether routers carry a selection bias (`expert_bias`, LFM2-MoE's `use_expert_bias`).
    public var expertSelectionBias: Bool
    public var maxPositionEmbeddings: Int
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]

    public init(vocabularySize: Int, slidingWindow: Int = 64, normEpsilon: Float = 1e-5, sandwichNorm: Bool = false,
                fullRope: RopeConfiguration = RopeConfiguration(theta: 1_000_000),
                slidingRope: RopeConfiguration = RopeConfiguration(theta: 10_000), tieEmbeddings: Bool = true,
                expertsPerToken: Int = 2, normalizeTopK: Bool = true, routedScaling: Float = 1,
                expertSelectionBias: Bool = true, maxPositionEmbeddings: Int = 4096, bosTokenId: Int? = 1,
                eosTokenIds: [Int] = [7]) {
        self.vocabularySize = vocabularySize
        self.slidingWindow = slidingWindow
        self.normEpsilon = normEpsilon
        self.sandwichNorm = sandwichNorm
        self.fullRope = fullRope
        self.slidingRope = slidingRope
        self.tieEmbeddings = tieEmbeddings
        self.expertsPerToken = expertsPerToken
        self.normalizeTopK = normalizeTopK
        self.routedScaling = routedScaling
        self.expertSelectionBias = expertSelectionBias
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
    }

    /// Checks the settings against a genome.
    public func validate(for genome: LIVGenome) throws {
        guard vocabularySize >= 1 else {
            throw LIVGenomeError.invalid(layer: nil, field: "vocab_size", detail: "must be positive, found \(vocabularySize)")
        }
        if genome.layers.contains(where: { $0.mixer == .slidingAttention }), slidingWindow < 1 {
            throw LIVGenomeError.invalid(layer: nil, field: "sliding_window", detail: "must be positive, found \(slidingWindow)")
        }
        if let fewest = genome.layers.filter({ $0.experts > 0 }).map(\.experts).min(),
           !(1...fewest).contains(expertsPerToken) {
            throw LIVGenomeError.invalid(layer: nil, field: "num_experts_per_tok",
                                         detail: "must be 1…\(fewest) (the fewest experts of a layer), found \(expertsPerToken)")
        }
        guard normEpsilon > 0, normEpsilon.isFinite else {
            throw LIVGenomeError.invalid(layer: nil, field: "norm_eps", detail: "must be positive, found \(normEpsilon)")
        }
    }
}

/// One tensor of an LIV model: its Hugging Face name and shape.
public struct LIVTensor: Sendable, Hashable {
    public var name: String
    public var shape: [Int]
    /// Whether training updates it (false for buffers such as an expert selection bias).
    public var trainable: Bool

    public init(_ name: String, _ shape: [Int], trainable: Bool = true) {
        self.name = name
        self.shape = shape
        self.trainable = trainable
    }

    /// Number of values.
    public var count: Int { shape.reduce(1, *) }
}

extension LIVGenome {
    /// Name of a layer's tensor.
    public static func layerTensor(_ l: Int, _ name: String) -> String { "model.layers.\(l).\(name).weight" }

    /// The featurizer tensors of layer `l` (absent from the table when the layer shares them).
    public func featurizerTensors(_ l: Int) -> [LIVTensor] {
        let gene = layers[l], h = hiddenSize, d = headDim
        func t(_ name: String, _ shape: [Int]) -> LIVTensor { LIVTensor(Self.layerTensor(l, name), shape) }
        switch gene.mixer {
        case .conv: return [t("conv.in_proj", [3 * h, h])]
        case .attention, .slidingAttention:
            return [t("self_attn.q_proj", [attentionHeads * d, h]), t("self_attn.k_proj", [gene.groups * d, h]),
                    t("self_attn.v_proj", [gene.groups * d, h]), t("self_attn.q_norm", [d]), t("self_attn.k_norm", [d])]
        case .recurrence: return [t("recurrence.in_proj", [2 * h + gene.groups, h])]
        }
    }

    /// Every tensor of the model in a fixed order (the safetensors and optimizer order): the
    /// embedding, the final norm, the head when untied, then layer by layer.
    ///
    /// Per layer: `operator_norm`, the featurizer (conv: `conv.in_proj` [3H, H], rows B, C, X;
    /// attention: `self_attn.q_proj/k_proj/v_proj/q_norm/k_norm`; recurrence: `recurrence.in_proj`
    /// [2H + groups, H], rows u, z, decay logits) unless shared, the operator's own weights (conv:
    /// `conv.conv` [H, 1, taps], `conv.out_proj`; attention: `self_attn.o_proj`, `self_attn.gate_proj`
    /// [heads, H] when gated; recurrence: `recurrence.decay_bias` [groups], `recurrence.out_proj`),
    /// `post_operator_norm` (sandwich), `ffn_norm`, the channel mixer (dense: `feed_forward.w1/w3/w2`;
    /// experts: `feed_forward.gate` [E, H], `feed_forward.expert_bias` [E] (a buffer), and
    /// `feed_forward.experts.X.w1/w3/w2`), `post_ffn_norm` (sandwich).
    public func tensors(_ settings: LIVSettings) -> [LIVTensor] {
        let h = hiddenSize, v = settings.vocabularySize
        var table = [LIVTensor("model.embed_tokens.weight", [v, h]), LIVTensor("model.embedding_norm.weight", [h])]
        if !settings.tieEmbeddings { table.append(LIVTensor("lm_head.weight", [v, h])) }
        for (l, gene) in layers.enumerated() {
            func t(_ name: String, _ shape: [Int], trainable: Bool = true) -> LIVTensor {
                LIVTensor(Self.layerTensor(l, name), shape, trainable: trainable)
            }
            table.append(t("operator_norm", [h]))
            if gene.share == 0 { table += featurizerTensors(l) }
            switch gene.mixer {
            case .conv:
                table += [t("conv.conv", [h, 1, gene.groups]), t("conv.out_proj", [h, h])]
            case .attention, .slidingAttention:
                table.append(t("self_attn.o_proj", [h, attentionHeads * headDim]))
                if gene.gate == 1 { table.append(t("self_attn.gate_proj", [attentionHeads, h])) }
            case .recurrence:
                table += [LIVTensor("model.layers.\(l).recurrence.decay_bias", [gene.groups]), t("recurrence.out_proj", [h, h])]
            }
            if settings.sandwichNorm { table.append(t("post_operator_norm", [h])) }
            table.append(t("ffn_norm", [h]))
            let f = gene.feedForward
            if gene.experts == 0 {
                table += [t("feed_forward.w1", [f, h]), t("feed_forward.w3", [f, h]), t("feed_forward.w2", [h, f])]
            } else {
                table.append(t("feed_forward.gate", [gene.experts, h]))
                if settings.expertSelectionBias {
                    table.append(LIVTensor("model.layers.\(l).feed_forward.expert_bias", [gene.experts], trainable: false))
                }
                for x in 0..<gene.experts {
                    table += [t("feed_forward.experts.\(x).w1", [f, h]), t("feed_forward.experts.\(x).w3", [f, h]),
                              t("feed_forward.experts.\(x).w2", [h, f])]
                }
            }
            if settings.sandwichNorm { table.append(t("post_ffn_norm", [h])) }
        }
        return table
    }

    /// Number of trainable parameters (a tied head and shared featurizers counted once).
    public func parameterCount(_ settings: LIVSettings) -> Int {
        tensors(settings).filter(\.trainable).reduce(0) { $0 + $1.count }
    }

    /// Parameters one token touches: every dense weight, the routers and `expertsPerToken` experts
    /// of each mixture.
    public func activeParameterCount(_ settings: LIVSettings) -> Int {
        let h = hiddenSize
        return layers.reduce(parameterCount(settings)) { total, gene in
            guard gene.experts > 0 else { return total }
            return total - (gene.experts - settings.expertsPerToken) * 3 * h * gene.feedForward
        }
    }

    /// What each layer keeps per sequence: a conv `taps - 1` rows of `hidden`, (sliding) attention
    /// key and value rows of `kvHeads · headDim`, a recurrence `hidden` values.
    public func cacheShapes(_ settings: LIVSettings) -> [LayerCacheShape] {
        layers.map { gene in
            switch gene.mixer {
            case .conv: return .convolution(rows: gene.groups - 1, channels: hiddenSize)
            case .attention: return .keyValue(width: gene.groups * headDim, window: 0)
            case .slidingAttention: return .keyValue(width: gene.groups * headDim, window: settings.slidingWindow)
            case .recurrence: return .recurrent(channels: hiddenSize)
            }
        }
    }

    /// Key/value and recurrent-state bytes of one sequence at `context` positions with an F32
    /// cache (sliding attention keeps at most `slidingWindow` positions).
    public func cacheBytes(context: Int, _ settings: LIVSettings) -> Int {
        cacheShapes(settings).reduce(0) { $0 + $1.bytes(context: context) }
    }

    /// `cacheBytes(context:)` divided by `context` (the search's cache objective, at 2,048).
    public func cacheBytesPerToken(context: Int = 2048, _ settings: LIVSettings) -> Double {
        Double(cacheBytes(context: context, settings)) / Double(context)
    }
}
