import LFMFormats

/// Hyper-parameters of a dense pre-norm transformer (Qwen3, Llama): grouped-query attention with
/// RoPE, optional per-head q/k norms and biases, SwiGLU MLP, optional sliding-window layers.
public struct TransformerConfiguration: Sendable, Equatable {
    /// "qwen3" or "llama".
    public var architecture: String
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var feedForwardSize: Int
    public var attentionHeads: Int
    public var keyValueHeads: Int
    public var headDim: Int
    /// Per layer: full or sliding-window attention.
    public var mixers: [MixerKind]
    /// Keys visible to a query in sliding layers (nil when no layer slides).
    public var slidingWindow: Int?
    public var normEpsilon: Float
    public var rope: RopeConfiguration
    /// llama.cpp's `rope_freqs.weight` (per-frequency divisors) when a GGUF file carries one;
    /// replaces the scaling `rope` describes.
    public var ropeFrequencyDivisors: [Float]?
    /// Per-head RMSNorm of q and k before RoPE (Qwen3).
    public var queryKeyNorm: Bool
    /// Biases on q/k/v/o (`attention_bias`).
    public var attentionBias: Bool
    /// Biases on the MLP projections (`mlp_bias`, Llama).
    public var mlpBias: Bool
    public var maxPositionEmbeddings: Int
    public var tieEmbeddings: Bool
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var declaredDType: String?

    public var keyValueDim: Int { keyValueHeads * headDim }
    public var queryDim: Int { attentionHeads * headDim }

    /// RoPE inverse frequencies of the attention layers.
    public var inverseFrequencies: [Float] {
        let table = rope.inverseFrequencies(headDim: headDim)
        guard let divisors = ropeFrequencyDivisors, divisors.count == table.count else { return table }
        return zip(RotaryFrequencies.standard(theta: rope.theta, headDim: headDim), divisors).map { $0 / $1 }
    }

    /// Reads a Qwen3 or Llama `config.json` with transformers' defaults for that class.
    init(huggingFace json: JSONObject, architecture: String) throws {
        let file = json.file
        let isQwen3 = architecture == Qwen3Architecture.name
        self.architecture = architecture
        let shape = try AttentionShapeKeys(json)
        let (hidden, layers, heads, kvHeads) = (shape.hidden, shape.layers, shape.heads, shape.kvHeads)
        if !isQwen3, hidden % heads != 0 {
            throw ConfigError.inconsistent(file: file, detail: "hidden_size \(hidden) is not divisible by num_attention_heads \(heads)")
        }
        let headDim = try json.int("head_dim") ?? (isQwen3 ? 128 : hidden / heads)
        guard headDim > 0, headDim % 2 == 0 else {
            throw ConfigError.invalidValue(file: file, key: "head_dim", detail: "must be positive and even for RoPE (found \(headDim))")
        }
        let ff = try json.requiredInt("intermediate_size")
        let vocabulary = try json.requiredInt("vocab_size")
        guard ff > 0, vocabulary > 0 else {
            throw ConfigError.invalidValue(file: file, key: "intermediate_size/vocab_size", detail: "must be positive (found \(ff), \(vocabulary))")
        }
        let maxPositions = try json.int("max_position_embeddings") ?? (isQwen3 ? 32768 : 2048)
        guard maxPositions > 0 else {
            throw ConfigError.invalidValue(file: file, key: "max_position_embeddings", detail: "must be positive (found \(maxPositions))")
        }
        // Sliding window: Qwen3 uses it only with use_sliding_window, on layers ≥ max_window_layers.
        var window: Int?
        if isQwen3, try json.bool("use_sliding_window") == true { window = try json.int("sliding_window") ?? 4096 }
        if !isQwen3 { window = nil }
        if let w = window, w <= 0 {
            throw ConfigError.invalidValue(file: file, key: "sliding_window", detail: "must be positive (found \(w))")
        }
        var mixers: [MixerKind]
        if let types = try json.strings("layer_types") {
            guard types.count == layers else {
                throw ConfigError.inconsistent(file: file, detail: "layer_types has \(types.count) entries but num_hidden_layers is \(layers)")
            }
            mixers = try types.enumerated().map { index, name in
                switch name {
                case "full_attention", "attention": return .attention
                // Without a window (use_sliding_window false) transformers runs such layers in full.
                case "sliding_attention": return window != nil ? .slidingAttention : .attention
                default:
                    throw ConfigError.invalidValue(file: file, key: "layer_types[\(index)]",
                                                   detail: "expected \"full_attention\" or \"sliding_attention\", found \"\(name)\"")
                }
            }
        } else {
            let first = try json.int("max_window_layers") ?? 28
            mixers = (0..<layers).map { window != nil && $0 >= first ? .slidingAttention : .attention }
        }
        if !mixers.contains(.slidingAttention) { window = nil }
        let eps = try json.double("rms_norm_eps") ?? 1e-6
        guard eps > 0, eps.isFinite else {
            throw ConfigError.invalidValue(file: file, key: "rms_norm_eps", detail: "must be positive (found \(eps))")
        }
        vocabularySize = vocabulary
        hiddenSize = hidden
        feedForwardSize = ff
        attentionHeads = heads
        keyValueHeads = kvHeads
        self.headDim = headDim
        self.mixers = mixers
        slidingWindow = window
        normEpsilon = Float(eps)
        rope = try RopeConfiguration.read(json, defaultTheta: 10_000, maxPositions: maxPositions)
        ropeFrequencyDivisors = nil
        queryKeyNorm = isQwen3
        attentionBias = try json.bool("attention_bias") ?? false
        mlpBias = isQwen3 ? false : (try json.bool("mlp_bias") ?? false)
        maxPositionEmbeddings = maxPositions
        tieEmbeddings = try json.bool("tie_word_embeddings") ?? false
        bosTokenId = try json.int("bos_token_id") ?? (isQwen3 ? nil : 1)
        eosTokenIds = try json.intOrInts("eos_token_id") ?? (isQwen3 ? [] : [2])
        declaredDType = try json.string("torch_dtype") ?? json.string("dtype")
    }

    /// Reads a `qwen3` / `llama` GGUF file's metadata; the head is untied when the file has `output.weight`.
    init(gguf source: GGUFTensorSource, architecture: String) throws {
        let g = try GGUFHyperparameters(source.file.metadata, file: source.path)
        guard g.keyValueHeads.allSatisfy({ $0 > 0 }) else {
            throw GGUFModelError.invalidValue(file: source.path, key: g.prefix + "attention.head_count_kv",
                                              detail: "every layer of a \(architecture) model is attention (found \(g.keyValueHeads))")
        }
        if let rotated = try g.optionalInt("rope.dimension_count"), rotated != g.headDim {
            throw GGUFModelError.invalidValue(file: source.path, key: g.prefix + "rope.dimension_count",
                                              detail: "partial rotation is not supported: \(rotated) of \(g.headDim) dimensions")
        }
        self.architecture = architecture
        vocabularySize = g.vocabulary
        hiddenSize = g.hidden
        feedForwardSize = g.feedForward
        attentionHeads = g.heads
        keyValueHeads = g.attentionKeyValueHeads
        headDim = g.headDim
        mixers = Array(repeating: .attention, count: g.layers)
        slidingWindow = nil
        normEpsilon = Float(g.normEpsilon)
        rope = RopeConfiguration(theta: g.ropeTheta)
        ropeFrequencyDivisors = source.tensor(named: "rope_freqs.weight")?.floats()
        queryKeyNorm = source.tensor(named: "blk.0.attn_q_norm.weight") != nil
        attentionBias = source.tensor(named: "blk.0.attn_q.bias") != nil
        mlpBias = source.tensor(named: "blk.0.ffn_gate.bias") != nil
        maxPositionEmbeddings = g.context
        tieEmbeddings = source.tensor(named: "output.weight") == nil
        bosTokenId = g.bos
        eosTokenIds = g.stops
        declaredDType = nil
    }

    /// Number of parameters, counting a tied head once.
    public var parameterCount: Int {
        let h = hiddenSize, f = feedForwardSize
        var perLayer = h * queryDim + 2 * h * keyValueDim + queryDim * h + 3 * h * f + 2 * h
        if attentionBias { perLayer += queryDim + 2 * keyValueDim + h }
        if mlpBias { perLayer += 2 * f + h }
        if queryKeyNorm { perLayer += 2 * headDim }
        return vocabularySize * h * (tieEmbeddings ? 1 : 2) + h + mixers.count * perLayer
    }
}

extension TransformerConfiguration: ModelConfiguration {
    public var shortConvKernel: Int? { nil }
    public var ropeTheta: Double { rope.theta }
    public var cacheShapes: [LayerCacheShape] {
        mixers.map { .keyValue(width: keyValueDim, window: $0 == .slidingAttention ? (slidingWindow ?? 0) : 0) }
    }
    public var extraInfo: [(key: String, json: String)] {
        var info: [(key: String, json: String)] = [("query_key_norm", "\(queryKeyNorm)")]
        if let slidingWindow { info.append(("sliding_window", "\(slidingWindow)")) }
        switch rope.kind {
        case .standard: info.append(("rope_type", "\"default\""))
        case .llama3: info.append(("rope_type", "\"llama3\""))
        case .proportional: info.append(("rope_type", "\"proportional\""))
        }
        return info
    }
}
