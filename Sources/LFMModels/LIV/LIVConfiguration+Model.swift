extension LIVConfiguration: ModelConfiguration {
    public var architecture: String { LIVArchitecture.name }
    public var vocabularySize: Int { settings.vocabularySize }
    public var hiddenSize: Int { genome.hiddenSize }

    public var mixers: [MixerKind] {
        genome.layers.map {
            switch $0.mixer {
            case .conv: return .conv
            case .attention: return .attention
            case .slidingAttention: return .slidingAttention
            case .recurrence: return .recurrence
            }
        }
    }

    /// The widest SwiGLU of any layer (of one expert in a mixture); layers may differ.
    public var feedForwardSize: Int { genome.layers.map(\.feedForward).max() ?? 0 }
    public var attentionHeads: Int { genome.attentionHeads }
    /// The most key/value heads of any attention layer (the query heads when there is none).
    public var keyValueHeads: Int {
        genome.layers.filter { $0.mixer.isAttention }.map(\.groups).max() ?? genome.attentionHeads
    }
    public var headDim: Int { genome.headDim }
    /// The longest conv of any layer (nil: no conv layer).
    public var shortConvKernel: Int? { genome.layers.filter { $0.mixer == .conv }.map(\.groups).max() }
    public var ropeTheta: Double { settings.fullRope.theta }
    public var maxPositionEmbeddings: Int { settings.maxPositionEmbeddings }
    public var tieEmbeddings: Bool { settings.tieEmbeddings }
    public var bosTokenId: Int? { settings.bosTokenId }
    public var eosTokenIds: [Int] { settings.eosTokenIds }
    public var parameterCount: Int { genome.parameterCount(settings) }
    public var activeParameterCount: Int { genome.activeParameterCount(settings) }

    public var cacheShapes: [LayerCacheShape] { genome.cacheShapes(settings) }

    /// The genome in both forms (and so in `lfm info --json` and the model fingerprint).
    public var extraInfo: [(key: String, json: String)] {
        // The text form is letters, digits, spaces and "^:", so it needs no escaping.
        return [("genome", "\"\(genome.description)\""), ("genome_integers", "[" + genome.integers.map(String.init).joined(separator: ", ") + "]")]
    }
}
