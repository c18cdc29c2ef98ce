import LFMModels

extension LFM2Trainable {
    /// A freshly initialized model: linear weights and embeddings N(0, std²) (default
    /// `1/sqrt(in_features)`), norms 1, conv taps N(0, 1/L); deterministic in `seed`.
    public convenience init(randomFor configuration: LFM2Configuration, seed: UInt64, standardDeviation: Float? = nil) {
        var state = seed
        func normal() -> Float {
            func unit() -> Double {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
            }
            let u1 = max(unit(), 1e-300), u2 = unit()
            return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
        var parameters: [LFM2Tensor: Tensor] = [:]
        for role in LFM2Tensor.all(configuration) {
            var shape = role.shape(configuration)
            if case .convKernel = role { shape = [shape[0], shape[2]] }
            let count = shape.reduce(1, *)
            let values: [Float]
            switch role {
            case .finalNorm, .operatorNorm, .ffnNorm, .attentionQNorm, .attentionKNorm:
                values = [Float](repeating: 1, count: count)
            default:
                let std = standardDeviation ?? 1 / Float(shape.last ?? 1).squareRoot()
                values = (0..<count).map { _ in normal() * std }
            }
            parameters[role] = Tensor(shape: shape, data: values, requiresGrad: true)
        }
        self.init(configuration: configuration, parameters: parameters)
    }
}

import Foundation
