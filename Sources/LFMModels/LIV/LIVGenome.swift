/// Backbones as data: a genome is a numeric description of a decoder made of LIV operators
/// (STAR's "LIV backbone genome", Thomas et al. 2025), from which the architecture registry
/// builds an inference model and `LFMTraining` a trainable one.
///
/// A genome has three global integers and one gene of six integers per layer:
///
///     [hidden, heads, headDim,  op₀, groups₀, share₀, gate₀, ffn₀, experts₀,  op₁, …]
///
/// | gene field | meaning |
/// |---|---|
/// | `op` | the LIV class of the token mixer (`LIVClass`: 0 conv, 1 attention, 2 sliding attention, 3 recurrence) |
/// | `groups` | the feature-group setting of that class: key/value heads (attention; divides `heads`), taps (conv, 2…16), decay groups (recurrence; divides `hidden`) |
/// | `share` | featurizer sharing: 0 = own featurizer; k > 0 = reuse the featurizer weights of the layer k places earlier (same class and groups) |
/// | `gate` | 1 = a per-head sigmoid output gate (attention classes only; LFM3's gated attention); 0 otherwise |
/// | `ffn` | width of the SwiGLU channel mixer (of each expert when `experts` > 0) |
/// | `experts` | 0 = a dense SwiGLU; n ≥ 2 = a sparse mixture of n SwiGLU experts (top-k routing, k in `LIVSettings`) |
///
/// The text form (`description`, `init(text:)`) is `h<hidden>x<heads>x<headDim>` followed by one
/// token per layer, `<class letter><groups>[g][^<share>]:<ffn>[e<experts>]`, separated by spaces:
/// `h128x4x32 C3:384 C3^1:384 A2:384 R4:256 S2g:384e4 R4^2:256`. Letters: C conv, A attention,
/// S sliding attention, R recurrence. Both forms round-trip exactly.
public struct LIVGenome: Sendable, Hashable, CustomStringConvertible {
    /// Model width.
    public var hiddenSize: Int
    /// Query heads of every attention layer.
    public var attentionHeads: Int
    /// Width of one attention head.
    public var headDim: Int
    /// One gene per layer, first layer first.
    public var layers: [LIVGene]

    /// Creates a genome (not checked: see `validate()`).
    public init(hiddenSize: Int, attentionHeads: Int, headDim: Int, layers: [LIVGene]) {
        self.hiddenSize = hiddenSize
        self.attentionHeads = attentionHeads
        self.headDim = headDim
        self.layers = layers
    }

    /// Number of integers of the global part, and of each gene.
    public static let globalCount = 3
    public static let geneCount = 6

    /// The numeric form: the three globals, then six integers per layer.
    public var integers: [Int] {
        [hiddenSize, attentionHeads, headDim] + layers.flatMap(\.integers)
    }

    /// Reads the numeric form (shape only; call `validate()` for the rules).
    public init(integers: [Int]) throws {
        let count = integers.count - Self.globalCount
        guard integers.count > Self.globalCount, count % Self.geneCount == 0 else {
            throw LIVGenomeError.malformed(detail: "expected 3 global integers and 6 per layer, found \(integers.count) integers")
        }
        hiddenSize = integers[0]
        attentionHeads = integers[1]
        headDim = integers[2]
        layers = try stride(from: Self.globalCount, to: integers.count, by: Self.geneCount).enumerated().map { layer, start in
            try LIVGene(integers: Array(integers[start..<(start + Self.geneCount)]), layer: layer)
        }
    }

    public var description: String {
        (["h\(hiddenSize)x\(attentionHeads)x\(headDim)"] + layers.map(\.description)).joined(separator: " ")
    }

    /// Reads the text form (see the type's documentation).
    public init(text: String) throws {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        guard let head = tokens.first, head.hasPrefix("h") else {
            throw LIVGenomeError.malformed(detail: "expected 'h<hidden>x<heads>x<headDim>' first, found '\(tokens.first ?? "")'")
        }
        let globals = head.dropFirst().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard globals.count == 3, let hidden = globals[0], let heads = globals[1], let headDim = globals[2] else {
            throw LIVGenomeError.malformed(detail: "expected 'h<hidden>x<heads>x<headDim>' with three integers, found '\(head)'")
        }
        guard tokens.count > 1 else { throw LIVGenomeError.malformed(detail: "a genome needs at least one layer") }
        self.init(hiddenSize: hidden, attentionHeads: heads, headDim: headDim,
                  layers: try tokens.dropFirst().enumerated().map { try LIVGene(text: $1, layer: $0) })
    }

    /// Checks every rule of the encoding; throws the first rule broken, naming the layer.
    public func validate() throws {
        func fail(_ layer: Int?, _ field: String, _ detail: String) -> LIVGenomeError {
            .invalid(layer: layer, field: field, detail: detail)
        }
        guard hiddenSize >= 8, hiddenSize <= 65_536, hiddenSize % 8 == 0 else {
            throw fail(nil, "hidden", "expected a multiple of 8 in 8…65536, found \(hiddenSize)")
        }
        guard attentionHeads >= 1, attentionHeads <= 1024 else {
            throw fail(nil, "heads", "expected 1…1024, found \(attentionHeads)")
        }
        guard headDim >= 2, headDim <= 1024, headDim % 2 == 0 else {
            throw fail(nil, "headDim", "expected an even number in 2…1024 (RoPE rotates pairs), found \(headDim)")
        }
        guard !layers.isEmpty, layers.count <= 1024 else {
            throw fail(nil, "layers", "expected 1…1024 layers, found \(layers.count)")
        }
        for (l, gene) in layers.enumerated() {
            switch gene.mixer {
            case .attention, .slidingAttention:
                guard gene.groups >= 1, attentionHeads % gene.groups == 0 else {
                    throw fail(l, "groups", "key/value heads must divide the \(attentionHeads) query heads, found \(gene.groups)")
                }
            case .conv:
                guard (2...16).contains(gene.groups) else { throw fail(l, "groups", "conv taps must be 2…16, found \(gene.groups)") }
            case .recurrence:
                guard gene.groups >= 1, hiddenSize % gene.groups == 0 else {
                    throw fail(l, "groups", "decay groups must divide hidden \(hiddenSize), found \(gene.groups)")
                }
            }
            guard gene.gate == 0 || gene.gate == 1 else { throw fail(l, "gate", "expected 0 or 1, found \(gene.gate)") }
            guard gene.gate == 0 || gene.mixer.isAttention else {
                throw fail(l, "gate", "an output gate exists only on attention classes, found 1 on \(gene.mixer.name)")
            }
            guard gene.share >= 0, gene.share <= l else {
                throw fail(l, "share", "expected 0 or an offset to an earlier layer (1…\(l)), found \(gene.share)")
            }
            if gene.share > 0 {
                let source = layers[l - gene.share]
                guard source.mixer == gene.mixer, source.groups == gene.groups else {
                    throw fail(l, "share", "shares the featurizer of layer \(l - gene.share) (\(source.mixer.name), groups \(source.groups)), which must have the same class and groups as this layer (\(gene.mixer.name), groups \(gene.groups))")
                }
            }
            guard gene.feedForward >= 1, gene.feedForward <= 1 << 20 else {
                throw fail(l, "ffn", "expected a width in 1…1048576, found \(gene.feedForward)")
            }
            guard gene.experts == 0 || (2...256).contains(gene.experts) else {
                throw fail(l, "experts", "expected 0 (dense) or 2…256 experts, found \(gene.experts)")
            }
        }
    }

    /// The layer whose featurizer layer `l` uses (itself unless it shares).
    public func featurizerOwner(of l: Int) -> Int {
        var owner = l
        while layers[owner].share > 0 { owner -= layers[owner].share }
        return owner
    }

    /// Whether any layer is a mixture of experts.
    public var hasExperts: Bool { layers.contains { $0.experts > 0 } }
}

/// The token-mixer classes of the LIV catalogue a genome chooses from (see `LIVOperator` for
/// what each computes, as featurizer, token mixing, channel mixing and gating).
public enum LIVClass: Int, Sendable, Hashable, CaseIterable {
    /// Double-gated short convolution (LFM2): Toeplitz token mixing of `groups` taps.
    case conv = 0
    /// Grouped-query softmax attention over every earlier position: dense token mixing.
    case attention = 1
    /// The same attention inside a sliding window (`LIVSettings.slidingWindow`): banded.
    case slidingAttention = 2
    /// Gated diagonal linear recurrence: `h_t = a_t ⊙ h_{t-1} + (1 - a_t) ⊙ u_t` with
    /// input-computed decays `a_t` shared by `groups` channel groups: semiseparable token mixing.
    case recurrence = 3

    /// The letter of the text form.
    public var letter: Character {
        switch self {
        case .conv: return "C"
        case .attention: return "A"
        case .slidingAttention: return "S"
        case .recurrence: return "R"
        }
    }

    /// A readable name.
    public var name: String {
        switch self {
        case .conv: return "conv"
        case .attention: return "attention"
        case .slidingAttention: return "sliding attention"
        case .recurrence: return "recurrence"
        }
    }

    /// Whether the class is one of the softmax attentions.
    public var isAttention: Bool { self == .attention || self == .slidingAttention }

    init?(letter: Character) {
        guard let found = Self.allCases.first(where: { $0.letter == letter }) else { return nil }
        self = found
    }
}

/// One layer of a genome: a token mixer of an LIV class and a channel mixer (see `LIVGenome`).
public struct LIVGene: Sendable, Hashable, CustomStringConvertible {
    public var mixer: LIVClass
    public var groups: Int
    public var share: Int
    public var gate: Int
    public var feedForward: Int
    public var experts: Int

    public init(mixer: LIVClass, groups: Int, share: Int = 0, gate: Int = 0, feedForward: Int, experts: Int = 0) {
        self.mixer = mixer
        self.groups = groups
        self.share = share
        self.gate = gate
        self.feedForward = feedForward
        self.experts = experts
    }

    /// The six integers of the numeric form.
    public var integers: [Int] { [mixer.rawValue, groups, share, gate, feedForward, experts] }

    init(integers: [Int], layer: Int) throws {
        guard let mixer = LIVClass(rawValue: integers[0]) else {
            throw LIVGenomeError.invalid(layer: layer, field: "op",
                                         detail: "expected a class 0…\(LIVClass.allCases.count - 1), found \(integers[0])")
        }
        self.init(mixer: mixer, groups: integers[1], share: integers[2], gate: integers[3], feedForward: integers[4],
                  experts: integers[5])
    }

    public var description: String {
        var text = "\(mixer.letter)\(groups)"
        if gate == 1 { text += "g" }
        if share > 0 { text += "^\(share)" }
        text += ":\(feedForward)"
        if experts > 0 { text += "e\(experts)" }
        return text
    }

    init(text: String, layer: Int) throws {
        func malformed() -> LIVGenomeError {
            .invalid(layer: layer, field: "text",
                     detail: "expected '<C|A|S|R><groups>[g][^<share>]:<ffn>[e<experts>]', found '\(text)'")
        }
        let halves = text.split(separator: ":", omittingEmptySubsequences: false)
        guard halves.count == 2, let letter = halves[0].first, let mixer = LIVClass(letter: letter) else { throw malformed() }
        var head = Substring(halves[0].dropFirst())
        var share = 0
        if let caret = head.firstIndex(of: "^") {
            guard let value = Int(head[head.index(after: caret)...]), value > 0 else { throw malformed() }
            share = value
            head = head[..<caret]
        }
        var gate = 0
        if head.hasSuffix("g") {
            gate = 1
            head = head.dropLast()
        }
        guard let groups = Int(head), groups >= 0 else { throw malformed() }
        let tail = halves[1].split(separator: "e", omittingEmptySubsequences: false)
        guard (1...2).contains(tail.count), let ffn = Int(tail[0]) else { throw malformed() }
        var experts = 0
        if tail.count == 2 {
            guard let value = Int(tail[1]), value > 0 else { throw malformed() }
            experts = value
        }
        self.init(mixer: mixer, groups: groups, share: share, gate: gate, feedForward: ffn, experts: experts)
    }
}

/// A genome that breaks the encoding's rules.
public enum LIVGenomeError: Error, Equatable, CustomStringConvertible {
    /// The numbers or text do not have the genome's shape.
    case malformed(detail: String)
    /// A value breaks a rule (`layer` nil: a global).
    case invalid(layer: Int?, field: String, detail: String)

    public var description: String {
        switch self {
        case .malformed(let detail): return "invalid genome: \(detail)"
        case .invalid(let layer, let field, let detail):
            return "invalid genome: \(layer.map { "layer \($0), " } ?? "")\(field): \(detail)"
        }
    }
}
