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
        let lowWavelength = Float(originalMaxPositions / lowFreqFactor)
        let highWavelength = Float(originalMaxPositions / highFreqFactor)
        let factor = Float(factor), low = Float(lowFreqFactor), high = Float(highFreqFactor)
        let original = Float(originalMaxPositions)
        return standard(theta: theta, headDim: headDim).map { inverse in
            let wavelength = Float(2 * Double.pi) / inverse
            if wavelength < highWavelength { return inverse }
            if wavelength > lowWavelength { return inverse / factor }
            let smooth = (original / wavelength - low) / (high - low)
            return (1 - smooth) * inverse / factor + smooth * inverse
        }
    }
}
