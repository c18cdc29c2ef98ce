import Foundation

/// SplitMix64: a tiny, fast, seedable generator for weights initialization, batch sampling and test
/// data. The same seed gives the same stream on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state.
    public private(set) var state: UInt64

    /// Seeds the generator.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform float in [-1, 1).
    public mutating func signedUnit() -> Float {
        Float(unit() * 2 - 1)
    }

    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Float {
        Float(gaussian())
    }

    /// A standard normal sample in double precision (Box–Muller).
    public mutating func gaussian() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
