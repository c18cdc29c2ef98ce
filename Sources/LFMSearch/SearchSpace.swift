import Foundation
import LFMCore
import LFMModels

/// The ranges an architecture search draws genomes from, and the parameter bounds every
/// candidate must meet. Every genome the search produces is valid (`LIVGenome.validate()`) and
/// inside the space: a hidden width from `hiddenSizes`, `hidden / headDim` heads, a layer count in
/// `minLayers…maxLayers`, and per layer a class from `classes` with its groups option, a
/// feed-forward width of `k · hidden / 2` for k in `feedForwardMultiples`, and experts from `expertOptions`.
public struct SearchSpace: Sendable, Equatable, Codable {
    enum CodingKeys: String, CodingKey {
        case hiddenSizes = "hidden_sizes", headDim = "head_dim", minLayers = "min_layers", maxLayers = "max_layers"
        case classCodes = "classes", convTaps = "conv_taps", kvHeadDivisors = "kv_head_divisors"
        case recurrenceGroups = "recurrence_groups", maxShareDistance = "max_share_distance", allowGate = "allow_gate"
        case feedForwardMultiples = "ffn_multiples", expertOptions = "expert_options"
        case minParameters = "min_parameters", maxParameters = "max_parameters"
    }

    /// Model widths (each a multiple of 8 and of `headDim`).
    public var hiddenSizes: [Int]
    /// Width of one attention head; heads = hidden / headDim.
    public var headDim: Int
    public var minLayers: Int
    public var maxLayers: Int
    /// The LIV classes a layer may take.
    public var classes: [LIVClass] {
        get { classCodes.compactMap(LIVClass.init(rawValue:)) }
        set { classCodes = newValue.map(\.rawValue) }
    }
    /// `classes` as the genome's class numbers (the stored, encoded form).
    var classCodes: [Int]
    /// Conv taps.
    public var convTaps: [Int]
    /// Key/value heads of attention layers, as divisors of the query heads: a fraction `1/d` for
    /// each d here that divides the heads (1 = multi-head, heads = multi-query).
    public var kvHeadDivisors: [Int]
    /// Decay groups of recurrences (those dividing the hidden width are used).
    public var recurrenceGroups: [Int]
    /// Whether a layer may reuse the featurizer of an earlier layer of the same class and groups,
    /// and how far back.
    public var maxShareDistance: Int
    /// Whether attention layers may carry an output gate.
    public var allowGate: Bool
    /// Feed-forward widths in units of hidden / 2.
    public var feedForwardMultiples: [Int]
    /// Experts per layer: 0 = dense, n ≥ 2 = mixture of n experts.
    public var expertOptions: [Int]
    /// Trainable parameters (embedding included), inclusive bounds.
    public var minParameters: Int
    public var maxParameters: Int

    public init(hiddenSizes: [Int], headDim: Int, minLayers: Int, maxLayers: Int, classes: [LIVClass] = LIVClass.allCases,
                convTaps: [Int] = [3, 4, 5, 7], kvHeadDivisors: [Int] = [1, 2, 4], recurrenceGroups: [Int] = [1, 4, 16],
                maxShareDistance: Int = 2, allowGate: Bool = true, feedForwardMultiples: [Int] = Array(1...8),
                expertOptions: [Int] = [0, 4], minParameters: Int, maxParameters: Int) {
        self.hiddenSizes = hiddenSizes
        self.headDim = headDim
        self.minLayers = minLayers
        self.maxLayers = maxLayers
        self.classCodes = classes.map(\.rawValue)
        self.convTaps = convTaps
        self.kvHeadDivisors = kvHeadDivisors
        self.recurrenceGroups = recurrenceGroups
        self.maxShareDistance = maxShareDistance
        self.allowGate = allowGate
        self.feedForwardMultiples = feedForwardMultiples
        self.expertOptions = expertOptions
        self.minParameters = minParameters
        self.maxParameters = maxParameters
    }

    /// The full search: widths 64…256, heads of 32, 2…8 layers, about 1–10 M parameters.
    public static let standard = SearchSpace(
        hiddenSizes: [64, 96, 128, 160, 192, 256], headDim: 32, minLayers: 2, maxLayers: 8,
        minParameters: 1_000_000, maxParameters: 10_000_000)

    /// The smallest candidates, for smoke runs of a few minutes: widths 32…64, heads of 16, 2…4
    /// layers, narrow feed-forwards, at most 1 M parameters.
    public static let quick = SearchSpace(
        hiddenSizes: [32, 48, 64], headDim: 16, minLayers: 2, maxLayers: 4, convTaps: [3, 4],
        kvHeadDivisors: [1, 2], recurrenceGroups: [1, 4], maxShareDistance: 1, feedForwardMultiples: [1, 2, 3, 4],
        minParameters: 1, maxParameters: 1_000_000)

    /// Checks the space itself (not the bounds' reachability: `randomGenome` reports that).
    public func validate() throws {
        func fail(_ detail: String) -> SearchError { .invalidSpace(detail: detail) }
        guard headDim >= 2, headDim % 2 == 0 else { throw fail("head dim must be even and at least 2, found \(headDim)") }
        guard !hiddenSizes.isEmpty else { throw fail("no hidden widths") }
        for h in hiddenSizes where h < 8 || h % 8 != 0 || h % headDim != 0 || h % 2 != 0 {
            throw fail("hidden width \(h) must be a multiple of 8 and of the head dim \(headDim)")
        }
        guard minLayers >= 1, maxLayers >= minLayers, maxLayers <= 1024 else {
            throw fail("layers must satisfy 1 ≤ min ≤ max ≤ 1024, found \(minLayers)…\(maxLayers)")
        }
        guard !classCodes.isEmpty, Set(classCodes).count == classCodes.count,
              classCodes.allSatisfy({ LIVClass(rawValue: $0) != nil }) else {
            throw fail("classes must be non-empty, distinct class numbers 0…\(LIVClass.allCases.count - 1), found \(classCodes)")
        }
        if classes.contains(.conv) {
            guard !convTaps.isEmpty, convTaps.allSatisfy({ (2...16).contains($0) }) else {
                throw fail("conv taps must be non-empty and in 2…16, found \(convTaps)")
            }
        }
        if classes.contains(where: \.isAttention) {
            guard !kvHeadDivisors.isEmpty, kvHeadDivisors.allSatisfy({ $0 >= 1 }), kvHeadDivisors.contains(1) else {
                throw fail("key/value head divisors must be positive and include 1, found \(kvHeadDivisors)")
            }
        }
        if classes.contains(.recurrence) {
            guard recurrenceGroups.contains(1), recurrenceGroups.allSatisfy({ $0 >= 1 }) else {
                throw fail("recurrence groups must be positive and include 1, found \(recurrenceGroups)")
            }
        }
        guard maxShareDistance >= 0 else { throw fail("share distance must be at least 0, found \(maxShareDistance)") }
        guard !feedForwardMultiples.isEmpty, feedForwardMultiples.allSatisfy({ $0 >= 1 }) else {
            throw fail("feed-forward multiples must be non-empty and positive, found \(feedForwardMultiples)")
        }
        guard !expertOptions.isEmpty, expertOptions.allSatisfy({ $0 == 0 || (2...256).contains($0) }) else {
            throw fail("expert options must be 0 or 2…256, found \(expertOptions)")
        }
        guard minParameters >= 1, maxParameters >= minParameters else {
            throw fail("parameter bounds must satisfy 1 ≤ min ≤ max, found \(minParameters)…\(maxParameters)")
        }
    }

    /// The parameter count the references are scaled to by default: the geometric mean of
    /// max(min, max / 10) and max (about 3.2 M for `standard`, 320 k for `quick`).
    public var referenceParameterTarget: Int {
        Int((Double(max(minParameters, maxParameters / 10)) * Double(maxParameters)).squareRoot())
    }

    /// Query heads at a width.
    public func heads(hidden: Int) -> Int { hidden / headDim }

    /// The groups values class `mixer` may take at a width, in increasing order.
    public func groupsOptions(_ mixer: LIVClass, hidden: Int) -> [Int] {
        switch mixer {
        case .conv: return convTaps.sorted()
        case .attention, .slidingAttention:
            let heads = heads(hidden: hidden)
            return Set(kvHeadDivisors.filter { heads % $0 == 0 }.map { heads / $0 }).sorted()
        case .recurrence: return Set(recurrenceGroups.filter { hidden % $0 == 0 }).sorted()
        }
    }

    /// Feed-forward widths at a width, in increasing order.
    public func feedForwardOptions(hidden: Int) -> [Int] { feedForwardMultiples.sorted().map { $0 * hidden / 2 } }

    /// Whether a genome is inside the space and its parameter bounds (and valid).
    public func contains(_ genome: LIVGenome, _ settings: LIVSettings) -> Bool {
        guard (try? genome.validate()) != nil, (try? settings.validate(for: genome)) != nil,
              hiddenSizes.contains(genome.hiddenSize), genome.headDim == headDim,
              genome.attentionHeads == heads(hidden: genome.hiddenSize),
              (minLayers...maxLayers).contains(genome.layers.count) else { return false }
        for gene in genome.layers {
            guard classes.contains(gene.mixer), groupsOptions(gene.mixer, hidden: genome.hiddenSize).contains(gene.groups),
                  gene.share <= maxShareDistance, gene.gate == 0 || (allowGate && gene.mixer.isAttention),
                  feedForwardOptions(hidden: genome.hiddenSize).contains(gene.feedForward),
                  expertOptions.contains(gene.experts) else { return false }
        }
        let parameters = genome.parameterCount(settings)
        return parameters >= minParameters && parameters <= maxParameters
    }
}

/// Uniform choices from the project's seeded generator (never Swift's default one).
extension SplitMix64 {
    /// A uniform integer in 0..<n (n ≥ 1), by rejection so every value is equally likely.
    mutating func below(_ n: Int) -> Int {
        precondition(n >= 1, "below(\(n))")
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let x = next()
            if x < limit { return Int(x % bound) }
        }
    }

    /// A uniform element of a non-empty array.
    mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }

    /// True with probability p.
    mutating func chance(_ p: Double) -> Bool { unit() < p }
}
