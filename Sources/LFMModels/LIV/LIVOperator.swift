/// One LIV operator as data (Linear Input-Varying: a linear map whose weights are computed from
/// the input): the featurizer that computes those weights, the structure of its token mixing,
/// its channel mixing, gating and nonlinearity. Every token mixer and feed-forward of a genome is
/// one (`LIVGenome.operators(_:)`); `LIVArchitecture` builds exactly what these describe.
///
/// | class | featurizer | token mixing | channel mixing | gating | nonlinearity |
/// |---|---|---|---|---|---|
/// | conv | `conv.in_proj` → B, C, X | Toeplitz (taps) | depthwise | B input, C output | none |
/// | attention | `q/k/v_proj` + q/k norms → Q, K, V | dense | heads (kv groups) | per-head sigmoid (optional) | softmax |
/// | sliding attention | the same | banded (window) | heads | the same | softmax |
/// | recurrence | `recurrence.in_proj` → u, z, f | semiseparable (groups) | diagonal | SiLU(z) output | sigmoid decay |
/// | SwiGLU | `w1`, `w3` → gate, up | none (per position) | SwiGLU(width) | SiLU gate | SiLU |
/// | experts | router + each expert's `w1`, `w3` | none | experts(count, top-k, width) | router weights, SiLU gate | sigmoid router, SiLU |
public struct LIVOperator: Sendable, Hashable {
    /// Which projections of the (normed) input make the operator's weights.
    public struct Featurizer: Sendable, Hashable {
        /// Tensor names (table names, without `.weight`) of the projections.
        public var projections: [String]
        /// What the projections compute, in order (e.g. ["B", "C", "X"]).
        public var features: [String]
        /// The layer whose projections these are: the operator's own layer, or the earlier layer
        /// it shares them with.
        public var owner: Int

        public init(projections: [String], features: [String], owner: Int) {
            self.projections = projections
            self.features = features
            self.owner = owner
        }
    }

    /// How positions are mixed.
    public enum TokenMixing: Sendable, Hashable {
        /// Each position by itself (channel mixers).
        case none
        /// Causal softmax attention over every earlier position.
        case dense
        /// Causal attention over the last `window` positions (itself included).
        case banded(window: Int)
        /// A causal depthwise convolution of `taps` positions.
        case toeplitz(taps: Int)
        /// A diagonal linear recurrence whose decays are shared by `groups` channel groups.
        case semiseparable(groups: Int)
    }

    /// How channels are mixed.
    public enum ChannelMixing: Sendable, Hashable {
        /// Query heads reading `keyValueGroups` key/value heads of `headDim`.
        case heads(query: Int, keyValueGroups: Int, headDim: Int)
        /// Each channel by itself (`channels` of them), projections before and after.
        case depthwise(channels: Int)
        /// A SwiGLU of hidden width `width`.
        case swiGLU(width: Int)
        /// A sparse mixture of `count` SwiGLU experts of `width`, `topK` per token.
        case experts(count: Int, topK: Int, width: Int)
    }

    /// Multiplicative gates of the operator.
    public enum Gating: Sendable, Hashable {
        case none
        /// The conv's B (before mixing) and C (after) gates.
        case inputOutput
        /// LFM3's per-head sigmoid output gate.
        case perHeadSigmoid
        /// The recurrence's SiLU output gate `silu(z)`.
        case siluOutput
        /// SwiGLU's `silu(gate) ⊙ up`.
        case swiGLU
        /// The router's weights on the chosen experts, each expert a SwiGLU.
        case routedSwiGLU
    }

    /// The nonlinearity that makes the weights from the features.
    public enum Nonlinearity: Sendable, Hashable {
        case none, softmax, sigmoidDecay, silu, sigmoidRouter
    }

    /// The layer the operator belongs to.
    public var layer: Int
    /// The genome class of a token mixer (nil: a feed-forward, a channel-mixing LIV).
    public var livClass: LIVClass?
    public var featurizer: Featurizer
    public var tokenMixing: TokenMixing
    public var channelMixing: ChannelMixing
    public var gating: Gating
    public var nonlinearity: Nonlinearity
    /// The operator's own output projection (nil: none of its own).
    public var outputProjection: String?

    public init(layer: Int, livClass: LIVClass?, featurizer: Featurizer, tokenMixing: TokenMixing,
                channelMixing: ChannelMixing, gating: Gating, nonlinearity: Nonlinearity, outputProjection: String?) {
        self.layer = layer
        self.livClass = livClass
        self.featurizer = featurizer
        self.tokenMixing = tokenMixing
        self.channelMixing = channelMixing
        self.gating = gating
        self.nonlinearity = nonlinearity
        self.outputProjection = outputProjection
    }
}

extension LIVGenome {
    /// Every operator of the model, layer by layer: the token mixer, then the feed-forward.
    public func operators(_ settings: LIVSettings) -> [LIVOperator] {
        layers.enumerated().flatMap { l, gene in [tokenMixer(l, settings), channelMixer(l, settings)] }
    }

    /// The token mixer of layer `l` as an LIV operator.
    public func tokenMixer(_ l: Int, _ settings: LIVSettings) -> LIVOperator {
        let gene = layers[l], owner = featurizerOwner(of: l)
        func prefix(_ layer: Int, _ name: String) -> String { "model.layers.\(layer).\(name)" }
        switch gene.mixer {
        case .conv:
            return LIVOperator(layer: l, livClass: .conv,
                               featurizer: .init(projections: [prefix(owner, "conv.in_proj")], features: ["B", "C", "X"], owner: owner),
                               tokenMixing: .toeplitz(taps: gene.groups), channelMixing: .depthwise(channels: hiddenSize),
                               gating: .inputOutput, nonlinearity: .none, outputProjection: prefix(l, "conv.out_proj"))
        case .attention, .slidingAttention:
            let names = ["q_proj", "k_proj", "v_proj", "q_norm", "k_norm"].map { prefix(owner, "self_attn.\($0)") }
            return LIVOperator(layer: l, livClass: gene.mixer,
                               featurizer: .init(projections: names, features: ["Q", "K", "V"], owner: owner),
                               tokenMixing: gene.mixer == .attention ? .dense : .banded(window: settings.slidingWindow),
                               channelMixing: .heads(query: attentionHeads, keyValueGroups: gene.groups, headDim: headDim),
                               gating: gene.gate == 1 ? .perHeadSigmoid : .none, nonlinearity: .softmax,
                               outputProjection: prefix(l, "self_attn.o_proj"))
        case .recurrence:
            return LIVOperator(layer: l, livClass: .recurrence,
                               featurizer: .init(projections: [prefix(owner, "recurrence.in_proj")], features: ["u", "z", "f"],
                                                 owner: owner),
                               tokenMixing: .semiseparable(groups: gene.groups), channelMixing: .depthwise(channels: hiddenSize),
                               gating: .siluOutput, nonlinearity: .sigmoidDecay, outputProjection: prefix(l, "recurrence.out_proj"))
        }
    }

    /// The feed-forward of layer `l` as a channel-mixing LIV operator.
    public func channelMixer(_ l: Int, _ settings: LIVSettings) -> LIVOperator {
        let gene = layers[l], base = "model.layers.\(l).feed_forward"
        if gene.experts == 0 {
            return LIVOperator(layer: l, livClass: nil,
                               featurizer: .init(projections: ["\(base).w1", "\(base).w3"], features: ["gate", "up"], owner: l),
                               tokenMixing: .none, channelMixing: .swiGLU(width: gene.feedForward), gating: .swiGLU,
                               nonlinearity: .silu, outputProjection: "\(base).w2")
        }
        let experts = (0..<gene.experts).flatMap { ["\(base).experts.\($0).w1", "\(base).experts.\($0).w3"] }
        return LIVOperator(layer: l, livClass: nil,
                           featurizer: .init(projections: ["\(base).gate"] + experts, features: ["router", "gate", "up"], owner: l),
                           tokenMixing: .none,
                           channelMixing: .experts(count: gene.experts, topK: settings.expertsPerToken, width: gene.feedForward),
                           gating: .routedSwiGLU, nonlinearity: .sigmoidRouter, outputProjection: nil)
    }
}
