import Foundation
import LFMModels

/// A hand-designed genome the search compares its candidates with.
public struct ReferenceArchitecture: Sendable, Equatable {
    /// `llama`, `lfm2` or `lfm3`.
    public var name: String
    public var genome: LIVGenome
}

/// The three hand-designed references of issue 17, scaled to a parameter target:
///
/// - `llama`: a Llama-style transformer: every layer full attention with grouped-query
///   attention (key/value heads = heads / 4 when that divides, else the nearest divisor), dense
///   SwiGLU of 2.5 · hidden.
/// - `lfm2`: LFM2's pattern, 10 gated short convolutions (3 taps) to 6 GQA layers
///   (LFM2-1.2B: attention at layers 2, 5, 8, 10, 12, 14 of 16), the attention layers spread
///   evenly after the first two convs at `round(layers · 6/16)` of them; dense SwiGLU of 3 · hidden.
/// - `lfm3`: LFM3's pattern, layer i full gated attention when i % 4 == 2, sliding gated
///   attention when i % 4 == 0 and i > 0, else a 7-tap convolution; dense SwiGLU of 3.5 · hidden
///   (LFM3-1.7B: 7680 / 2048).
///
/// Each is scaled by choosing, among the space's widths and depths (and feed-forward multiples,
/// with a small pull towards the reference's own ratio), the one whose parameter count is closest
/// to the target in ratio. The references respect the space's widths, head dim and depth range but
/// not its parameter bounds or class list (they are not candidates).
public enum ReferenceArchitectures {
    /// The names, in order.
    public static let names = ["llama", "lfm2", "lfm3"]

    /// The three references at `parameterTarget` parameters.
    public static func all(parameterTarget: Int, space: SearchSpace, settings: LIVSettings) throws -> [ReferenceArchitecture] {
        try space.validate()
        guard parameterTarget >= 1 else {
            throw SearchError.invalidSpace(detail: "the reference parameter target must be positive, found \(parameterTarget)")
        }
        return try names.map { name in
            ReferenceArchitecture(name: name, genome: try scaled(name, parameterTarget: parameterTarget, space: space, settings: settings))
        }
    }

    /// The reference `name` with `layers` layers at width `hidden` and feed-forward `multiple · hidden / 2`.
    public static func genome(_ name: String, hidden: Int, layers: Int, multiple: Int, space: SearchSpace) throws -> LIVGenome {
        let heads = space.heads(hidden: hidden)
        let kv = kvHeads(heads)
        let ffn = multiple * hidden / 2
        let genes: [LIVGene]
        switch name {
        case "llama":
            genes = (0..<layers).map { _ in LIVGene(mixer: .attention, groups: kv, feedForward: ffn) }
        case "lfm2":
            let attention = Int((Double(layers) * 6 / 16).rounded())
            genes = (0..<layers).map { i in
                // Layer i is attention when the running share of attention layers steps up at i.
                let isAttention = attention > 0 && (i + 1) * attention / layers > i * attention / layers
                return isAttention ? LIVGene(mixer: .attention, groups: kv, feedForward: ffn) : LIVGene(mixer: .conv, groups: 3, feedForward: ffn)
            }
        case "lfm3":
            genes = (0..<layers).map { i in
                if i % 4 == 2 { return LIVGene(mixer: .attention, groups: kv, gate: 1, feedForward: ffn) }
                if i % 4 == 0, i > 0 { return LIVGene(mixer: .slidingAttention, groups: kv, gate: 1, feedForward: ffn) }
                return LIVGene(mixer: .conv, groups: 7, feedForward: ffn)
            }
        default:
            throw SearchError.invalidSpace(detail: "unknown reference '\(name)': expected one of \(names.joined(separator: ", "))")
        }
        return LIVGenome(hiddenSize: hidden, attentionHeads: heads, headDim: space.headDim, layers: genes)
    }

    /// Key/value heads: the divisor of `heads` closest to heads / 4 (the larger on a tie).
    static func kvHeads(_ heads: Int) -> Int {
        let divisors = (1...max(heads, 1)).filter { heads % $0 == 0 }
        let target = Double(heads) / 4
        return divisors.min { a, b in
            let da = abs(Double(a) - target), db = abs(Double(b) - target)
            return da != db ? da < db : a > b
        } ?? 1
    }

    /// The reference's own feed-forward ratio, in units of hidden / 2.
    static func nominalMultiple(_ name: String) -> Int {
        switch name {
        case "llama": return 5
        case "lfm2": return 6
        default: return 7
        }
    }

    static func scaled(_ name: String, parameterTarget: Int, space: SearchSpace, settings: LIVSettings) throws -> LIVGenome {
        let nominal = nominalMultiple(name)
        let multiples = Set(space.feedForwardMultiples + [nominal]).sorted()
        var best: (score: Double, genome: LIVGenome)?
        for hidden in space.hiddenSizes.sorted() {
            for layers in space.minLayers...space.maxLayers {
                for multiple in multiples {
                    let genome = try genome(name, hidden: hidden, layers: layers, multiple: multiple, space: space)
                    guard (try? genome.validate()) != nil, (try? settings.validate(for: genome)) != nil else { continue }
                    let ratio = Double(genome.parameterCount(settings)) / Double(parameterTarget)
                    let score = abs(log(ratio)) + 0.02 * Double(abs(multiple - nominal))
                    if let current = best, current.score <= score { continue }
                    best = (score, genome)
                }
            }
        }
        guard let best else {
            throw SearchError.invalidSpace(detail: "no valid \(name) reference in the space's widths and depths")
        }
        return best.genome
    }
}
