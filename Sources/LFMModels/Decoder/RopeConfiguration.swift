import LFMFormats

/// One attention layer type's rotary embedding, as transformers 5.24.0 standardises
/// `rope_parameters` / legacy `rope_scaling` (`RotaryEmbeddingConfigMixin`).
public struct RopeConfiguration: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `theta^(-2j/d)` over the whole head.
        case standard
        /// Long wavelengths divided by `factor`, a smooth band in between (Llama 3).
        case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Double)
        /// The first `partialRotaryFactor · d / 2` frequencies of the whole head, the rest unrotated (LFM3).
        case proportional(partialRotaryFactor: Double, factor: Double)
    }

    public var theta: Double
    public var kind: Kind

    public init(theta: Double, kind: Kind = .standard) {
        self.theta = theta
        self.kind = kind
    }

    /// The inverse-frequency table for heads of `headDim` values.
    public func inverseFrequencies(headDim: Int) -> [Float] {
        switch kind {
        case .standard: return RotaryFrequencies.standard(theta: theta, headDim: headDim)
        case .llama3(let factor, let low, let high, let original):
            return RotaryFrequencies.llama3(theta: theta, headDim: headDim, factor: factor, lowFreqFactor: low,
                                            highFreqFactor: high, originalMaxPositions: original)
        case .proportional(let partial, let factor):
            return RotaryFrequencies.proportional(theta: theta, headDim: headDim, partialRotaryFactor: partial, factor: factor)
        }
    }

    /// Reads the RoPE settings of a `config.json`: `rope_parameters` (or legacy `rope_scaling`),
    /// with a top-level `rope_theta` / `partial_rotary_factor` moved in, `type` accepted for
    /// `rope_type`, a missing type meaning "default". With `layerType`, a dictionary nested by
    /// layer type (LFM3) is read at that key.
    public static func read(_ json: JSONObject, defaultTheta: Double, maxPositions: Int, layerType: String? = nil) throws -> RopeConfiguration {
        let file = json.file
        var parameters = try json.object("rope_parameters") ?? json.object("rope_scaling")
        var prefix = json.has("rope_parameters") ? "rope_parameters" : "rope_scaling"
        if let layerType, let nested = parameters {
            guard let entry = try nested.object(layerType) else {
                throw ConfigError.missingKey(file: file, key: "\(prefix).\(layerType)")
            }
            parameters = entry
            prefix += ".\(layerType)"
        }
        let topTheta = try json.double("rope_theta")
        let theta = try parameters?.double("rope_theta") ?? topTheta ?? defaultTheta
        guard theta > 0, theta.isFinite else {
            throw ConfigError.invalidValue(file: file, key: "\(prefix).rope_theta", detail: "must be positive (found \(theta))")
        }
        guard let p = parameters else { return RopeConfiguration(theta: theta) }
        let type = try p.string("rope_type") ?? p.string("type") ?? "default"
        func required(_ key: String) throws -> Double {
            guard let value = try p.double(key) else { throw ConfigError.missingKey(file: file, key: "\(prefix).\(key)") }
            guard value.isFinite, value > 0 else {
                throw ConfigError.invalidValue(file: file, key: "\(prefix).\(key)", detail: "must be positive (found \(value))")
            }
            return value
        }
        switch type {
        case "default":
            return RopeConfiguration(theta: theta)
        case "llama3":
            let original = try p.double("original_max_position_embeddings") ?? Double(maxPositions)
            let low = try required("low_freq_factor"), high = try required("high_freq_factor")
            guard high != low else {
                throw ConfigError.invalidValue(file: file, key: "\(prefix).high_freq_factor", detail: "must differ from low_freq_factor (\(low))")
            }
            return RopeConfiguration(theta: theta, kind: .llama3(factor: try required("factor"), lowFreqFactor: low,
                                                                 highFreqFactor: high, originalMaxPositions: original))
        case "proportional":
            let partial = try p.double("partial_rotary_factor") ?? json.double("partial_rotary_factor") ?? 1
            guard partial > 0, partial <= 1 else {
                throw ConfigError.invalidValue(file: file, key: "\(prefix).partial_rotary_factor", detail: "must be in (0, 1] (found \(partial))")
            }
            let factor = try p.double("factor") ?? 1
            guard factor > 0, factor.isFinite else {
                throw ConfigError.invalidValue(file: file, key: "\(prefix).factor", detail: "must be positive (found \(factor))")
            }
            return RopeConfiguration(theta: theta, kind: .proportional(partialRotaryFactor: partial, factor: factor))
        default:
            throw ConfigError.invalidValue(file: file, key: "\(prefix).rope_type",
                                           detail: "\"\(type)\" is not supported (supported: default, llama3, proportional)")
        }
    }
}
