import LFMCore
import LFMModels

extension LFM2Trainable {
    /// A freshly initialized model: linear weights and embeddings N(0, std²) (default
    /// `1/sqrt(in_features)`), norms 1, conv taps N(0, 1/L); deterministic in `seed`.
    public convenience init(randomFor configuration: LFM2Configuration, seed: UInt64, standardDeviation: Float? = nil) {
        var random = SplitMix64(seed: seed)
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
                values = (0..<count).map { _ in random.normal() * std }
            }
            parameters[role] = Tensor(shape: shape, data: values, requiresGrad: true)
        }
        self.init(configuration: configuration, parameters: parameters)
    }
}

