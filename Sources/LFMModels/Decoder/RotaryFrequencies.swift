import Foundation

/// RoPE inverse-frequency tables as transformers computes them (`modeling_rope_utils.py`), in
/// float32, for the NeoX (half-split) pairing every supported family uses on Hugging Face weights.
public enum RotaryFrequencies {
    /// `theta^(-2j/headDim)` for `j < headDim / 2` (rope_type "default").
    public static func standard(theta: Double, headDim: Int) -> [Float] {
        (0..<(headDim / 2)).map { j in Float(1.0 / pow(theta, Double(Float(2 * j) / Float(headDim)))) }
    }

    /// rope_type "proportional" (LFM3's full-attention layers): the first
    /// `Int(partialRotaryFactor · headDim) / 2` frequencies `theta^(-2j/headDim)` (exponent over the
    /// whole head), then zeros, all divided by `factor`.
    public static func proportional(theta: Double, headDim: Int, partialRotaryFactor: Double, factor: Double = 1) -> [Float] {
        let rotated = Int(partialRotaryFactor * Double(headDim)) / 2
        return (0..<(headDim / 2)).map { j in
            guard j < rotated else { return 0 }
            let inverse = Float(1.0 / pow(theta, Double(Float(2 * j) / Float(headDim))))
            return Float(Double(inverse) / factor)
        }
    }

    /// rope_type "llama3": the standard table with long wavelengths divided by `factor` and the
    /// band between `original / lowFreqFactor` and `original / highFreqFactor` interpolated.
    public static func llama3(theta: Double, headDim: Int, factor: Double, lowFreqFactor: Double,
                              highFreqFactor: Double, originalMaxPositions: Double) -> [Float] {
        // float32 throughout, as transformers computes it.
        let scaled = Float(factor)
        return standard(theta: theta, headDim: headDim).map { inverse in
            switch llama3Band(wavelength: Float(2 * Double.pi) / inverse, lowFreqFactor: lowFreqFactor,
                              highFreqFactor: highFreqFactor, originalMaxPositions: originalMaxPositions) {
            case .kept: return inverse
            case .divided: return inverse / scaled
            case .interpolated(let smooth): return (1 - smooth) * inverse / scaled + smooth * inverse
            }
        }
    }

    /// Where one frequency falls under llama3 scaling.
    public enum Llama3Band: Equatable, Sendable {
        /// Wavelength below `original / highFreqFactor`: unchanged.
        case kept
        /// Wavelength above `original / lowFreqFactor`: divided by `factor`.
        case divided
        /// In between: `smooth` of the unscaled frequency plus `1 - smooth` of the divided one.
        case interpolated(smooth: Float)
    }

    /// The llama3 rule for one wavelength (float32, as transformers and llama.cpp's converter
    /// compute it). Used by the inverse-frequency table above and by the GGUF writer's
    /// `rope_freqs` factors.
    public static func llama3Band(wavelength: Float, lowFreqFactor: Double, highFreqFactor: Double,
                                  originalMaxPositions: Double) -> Llama3Band {
        let lowWavelength = Float(originalMaxPositions / lowFreqFactor)
        let highWavelength = Float(originalMaxPositions / highFreqFactor)
        if wavelength < highWavelength { return .kept }
        if wavelength > lowWavelength { return .divided }
        // The factors are Python floats there: their difference is taken in double, then rounded.
        return .interpolated(smooth: (Float(originalMaxPositions) / wavelength - Float(lowFreqFactor))
                                / Float(highFreqFactor - lowFreqFactor))
    }
}
