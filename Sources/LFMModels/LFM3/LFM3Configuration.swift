import LFMFormats

/// Hyper-parameters of LFM3 (transformers `Lfm3Config`): short convolutions of `conv_L_cache`
/// taps, full and sliding-window attention with q/k norms, a per-head sigmoid output gate,
/// sandwich norms, per-layer-type RoPE (proportional on full layers). Hugging Face only: the
/// llama.cpp this project pins has no LFM3.
public struct LFM3Configuration: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var feedForwardSize: Int
    public var mixers: [MixerKind]
    public var attentionHeads: Int
    public var keyValueHeads: Int
    public var headDim: Int
    public var convKernel: Int
    public var slidingWindow: Int
    public var useSandwichNorm: Bool
    public var useAttentionGate: Bool
    public var normEpsilon: Float
    /// RoPE of the full-attention layers.
    public var fullRope: RopeConfiguration
    /// RoPE of the sliding-window layers.
    public var slidingRope: RopeConfiguration
    public var maxPositionEmbeddings: Int
    public var tieEmbeddings: Bool
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var declaredDType: String?

    public var keyValueDim: Int { keyValueHeads * headDim }
    public var queryDim: Int { attentionHeads * headDim }

    /// Reads a Hugging Face `config.json` of `model_type` "lfm3".
    public init(huggingFace json: JSONObject) throws {
        let file = json.file
        let shape = try AttentionShapeKeys(json, hidden: 2048, layers: 24, heads: 16, kvHeads: 4)
        let (hidden, layers, heads, kvHeads) = (shape.hidden, shape.layers, shape.heads, shape.kvHeads)
        let headDim = try json.int("head_dim") ?? 128
        guard headDim > 0, headDim % 2 == 0 else {
            throw ConfigError.invalidValue(file: file, key: "head_dim", detail: "must be positive and even for RoPE (found \(headDim))")
        }
        let vocabulary = try json.int("vocab_size") ?? 128_000
        let ff = try json.int("intermediate_size") ?? 7680
        guard vocabulary > 0, ff > 0 else {
            throw ConfigError.invalidValue(file: file, key: "vocab_size/intermediate_size", detail: "must be positive (found \(vocabulary), \(ff))")
        }
        let kernel = try json.int("conv_L_cache") ?? 7
        guard kernel >= 1 else {
            throw ConfigError.invalidValue(file: file, key: "conv_L_cache", detail: "must be at least 1 (found \(kernel))")
        }
        if try json.bool("conv_bias") == true {
            throw ConfigError.invalidValue(file: file, key: "conv_bias", detail: "true is not supported (LFM3 convolutions have no bias)")
        }
        if try json.bool("attention_bias") == true {
            throw ConfigError.invalidValue(file: file, key: "attention_bias", detail: "true is not supported (LFM3 projections have no bias)")
        }
        let window = try json.int("sliding_window") ?? 256
        guard window > 0 else {
            throw ConfigError.invalidValue(file: file, key: "sliding_window", detail: "must be positive (found \(window))")
        }
        var mixers: [MixerKind]
        if let types = try json.strings("layer_types") {
            guard types.count == layers else {
                throw ConfigError.inconsistent(file: file, detail: "layer_types has \(types.count) entries but num_hidden_layers is \(layers)")
            }
            mixers = try types.enumerated().map { index, name in
                switch name {
                case "conv": return .conv
                case "full_attention", "attention": return .attention
                case "sliding_attention": return .slidingAttention
                default:
                    throw ConfigError.invalidValue(file: file, key: "layer_types[\(index)]",
                                                   detail: "expected \"conv\", \"full_attention\" or \"sliding_attention\", found \"\(name)\"")
                }
            }
        } else {
            mixers = (0..<layers).map { $0 % 4 == 2 ? .attention : ($0 % 4 == 0 && $0 > 0 ? .slidingAttention : .conv) }
        }
        let maxPositions = try json.int("max_position_embeddings") ?? 128_000
        // Default rope_parameters: nested by layer type.
        let nested = json.has("rope_parameters") || json.has("rope_scaling")
        func rope(_ type: String, _ fallback: RopeConfiguration) throws -> RopeConfiguration {
            guard nested, mixers.contains(type == "full_attention" ? .attention : .slidingAttention) else { return fallback }
            return try RopeConfiguration.read(json, defaultTheta: 1_000_000, maxPositions: maxPositions, layerType: type)
        }
        fullRope = try rope("full_attention", RopeConfiguration(theta: 1_000_000, kind: .proportional(partialRotaryFactor: 0.5, factor: 1)))
        slidingRope = try rope("sliding_attention", RopeConfiguration(theta: 10_000))
        let eps = try json.double("norm_eps") ?? json.double("rms_norm_eps") ?? 1e-5
        guard eps > 0, eps.isFinite else {
            throw ConfigError.invalidValue(file: file, key: "norm_eps", detail: "must be positive (found \(eps))")
        }
        vocabularySize = vocabulary
        hiddenSize = hidden
        feedForwardSize = ff
        self.mixers = mixers
        attentionHeads = heads
        keyValueHeads = kvHeads
        self.headDim = headDim
        convKernel = kernel
        slidingWindow = window
        useSandwichNorm = try json.bool("use_sandwich_norm") ?? true
        useAttentionGate = try json.bool("use_attention_gate") ?? true
        normEpsilon = Float(eps)
        maxPositionEmbeddings = maxPositions
        tieEmbeddings = try json.bool("tie_word_embeddings") ?? true
        bosTokenId = try json.int("bos_token_id") ?? 124_894
        eosTokenIds = try json.intOrInts("eos_token_id") ?? [124_900]
        declaredDType = try json.string("torch_dtype") ?? json.string("dtype")
    }

    /// Number of parameters, counting a tied head once.
    public var parameterCount: Int {
        let h = hiddenSize
        let norms = useSandwichNorm ? 4 : 2
        var total = vocabularySize * h * (tieEmbeddings ? 1 : 2) + h
        for mixer in mixers {
            total += 3 * h * feedForwardSize + norms * h
            switch mixer {
            case .conv: total += 3 * h * h + convKernel * h + h * h
            case .attention, .slidingAttention:
                total += 2 * h * queryDim + 2 * h * keyValueDim + 2 * headDim + (useAttentionGate ? attentionHeads * h : 0)
            case .recurrence: continue // not an LFM3 layer (the reader never makes one; bind rejects it)
            }
        }
        return total
    }
}

extension LFM3Configuration: ModelConfiguration {
    public var architecture: String { LFM3Architecture.name }
    public var shortConvKernel: Int? { convKernel }
    public var ropeTheta: Double { fullRope.theta }
    public var cacheShapes: [LayerCacheShape] {
        mixers.map {
            switch $0 {
            case .conv: return .convolution(rows: convKernel - 1, channels: hiddenSize)
            case .attention: return .keyValue(width: keyValueDim, window: 0)
            case .slidingAttention: return .keyValue(width: keyValueDim, window: slidingWindow)
            case .recurrence: return .none // not an LFM3 layer (bind rejects it)
            }
        }
    }
    public var extraInfo: [(key: String, json: String)] {
        [("sliding_window", "\(slidingWindow)"), ("sliding_rope_theta", "\(slidingRope.theta)"),
         ("attention_gate", "\(useAttentionGate)"), ("sandwich_norm", "\(useSandwichNorm)")]
    }
}
