import LFMFormats

/// What a layer mixes positions with, as `lfm info` reports it.
public enum MixerKind: String, Sendable, Equatable {
    /// A gated short convolution (letter C).
    case conv
    /// Full causal attention (letter A).
    case attention = "full_attention"
    /// Sliding-window attention (letter S).
    case slidingAttention = "sliding_attention"
    /// A gated diagonal linear recurrence (letter R; LIV models).
    case recurrence

    /// The letter of the layer pattern.
    public var letter: String {
        switch self {
        case .conv: return "C"
        case .attention: return "A"
        case .slidingAttention: return "S"
        case .recurrence: return "R"
        }
    }
}

/// The hyper-parameters of a model of any family, as far as the rest of the program needs them.
/// Each family's configuration type (e.g. `LFM2Configuration`) conforms and holds the rest.
public protocol ModelConfiguration: Sendable {
    /// The registry name of the family ("lfm2", "lfm2_moe", "lfm3", "qwen3", "llama").
    var architecture: String { get }
    var vocabularySize: Int { get }
    var hiddenSize: Int { get }
    /// Per-layer mixer, one entry per layer.
    var mixers: [MixerKind] { get }
    /// Width of the (dense) feed-forward.
    var feedForwardSize: Int { get }
    var attentionHeads: Int { get }
    var keyValueHeads: Int { get }
    var headDim: Int { get }
    /// Short-convolution kernel length (nil: no conv layers in this family).
    var shortConvKernel: Int? { get }
    /// RoPE base of the (full) attention layers.
    var ropeTheta: Double { get }
    var maxPositionEmbeddings: Int { get }
    var tieEmbeddings: Bool { get }
    var bosTokenId: Int? { get }
    var eosTokenIds: [Int] { get }
    /// `torch_dtype` / `dtype` from the config, informational.
    var declaredDType: String? { get }
    /// Number of parameters, counting a tied head once (buffers such as expert biases excluded).
    var parameterCount: Int { get }
    /// Parameters one token touches (equal to `parameterCount` for dense models).
    var activeParameterCount: Int { get }
    /// What each layer keeps per sequence.
    var cacheShapes: [LayerCacheShape] { get }
    /// Family-specific facts for `lfm info`: JSON key and JSON value text, in order.
    var extraInfo: [(key: String, json: String)] { get }
}

extension ModelConfiguration {
    /// Number of layers.
    public var layerCount: Int { mixers.count }
    public var activeParameterCount: Int { parameterCount }
    public var extraInfo: [(key: String, json: String)] { [] }

    /// Key and value bytes one more position adds at a context of `context` positions (F32
    /// cache; sliding-window layers count only while the context is inside their window).
    public func keyValueBytesPerToken(context: Int) -> Int {
        cacheShapes.reduce(0) { total, shape in
            guard case .keyValue(let width, let window) = shape else { return total }
            return window > 0 && context >= window ? total : total + 2 * width * 4
        }
    }

    /// Key and value bytes of one sequence at `context` positions (F32 cache).
    public func keyValueBytes(context: Int) -> Int {
        cacheShapes.reduce(0) { total, shape in
            guard case .keyValue(let width, let window) = shape else { return total }
            return total + 2 * width * 4 * (window > 0 ? min(context, window) : context)
        }
    }

    /// Bytes of recurrent state of one sequence (F32).
    public var recurrentStateBytes: Int {
        cacheShapes.reduce(0) { total, shape in
            guard case .recurrent = shape else { return total }
            return total + shape.bytes(context: 0)
        }
    }

    /// Bytes of convolution state of one sequence.
    public var convolutionStateBytes: Int {
        cacheShapes.reduce(0) { total, shape in
            guard case .convolution(let rows, let channels) = shape else { return total }
            return total + rows * channels * 4
        }
    }
}
