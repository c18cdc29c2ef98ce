import Foundation

/// Adam and AdamW over a flat parameter vector, with PyTorch's update order and bias correction
/// (`torch.optim.Adam` / `AdamW`, no amsgrad):
///   [AdamW: p ← p·(1 − lr·wd)]; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
///   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
public struct AdamOptimizer: Sendable {
    /// Learning rate (may be changed between steps by a schedule).
    public var learningRate: Float
    /// β1, β2.
    public var beta1: Float = 0.9, beta2: Float = 0.999
    /// ε.
    public var epsilon: Float = 1e-8
    /// Decoupled weight decay (AdamW); 0 gives Adam.
    public var weightDecay: Float = 0
    /// Steps taken.
    public private(set) var step = 0
    private var m: [Float] = []
    private var v: [Float] = []

    /// An optimizer with `learningRate` and decoupled `weightDecay` (0 = Adam).
    public init(learningRate: Float, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// One update of `parameters` by `gradients`; entries where `mask` is 0 are left alone.
    public mutating func update(_ parameters: inout [Float], gradients: [Float], mask: [Float]) {
        if m.count != parameters.count {
            m = [Float](repeating: 0, count: parameters.count)
            v = m
        }
        step += 1
        let bias1 = 1 - pow(beta1, Float(step))
        let bias2Sqrt = (1 - pow(beta2, Float(step))).squareRoot()
        let stepSize = learningRate / bias1
        for i in 0..<parameters.count where mask[i] != 0 {
            if weightDecay != 0 { parameters[i] *= 1 - learningRate * weightDecay }
            let g = gradients[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            let denom = v[i].squareRoot() / bias2Sqrt + epsilon
            parameters[i] -= stepSize * m[i] / denom
        }
    }
}

/// Scales `gradients` so that their global L2 norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: inout [Float], maxNorm: Float) -> Float {
    var sum: Double = 0
    for g in gradients { sum += Double(g) * Double(g) }
    let norm = Float(sum.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 { for i in 0..<gradients.count { gradients[i] *= coefficient } }
    return norm
}

/// Learning-rate schedules: linear warm-up, then cosine decay to `floor`·peak.
public struct LearningRateSchedule: Sendable, Equatable {
    /// Peak learning rate.
    public var peak: Float
    /// Warm-up steps.
    public var warmupSteps: Int
    /// Total steps.
    public var totalSteps: Int
    /// Final fraction of the peak.
    public var floor: Float = 0.05

    /// A schedule.
    public init(peak: Float, warmupSteps: Int, totalSteps: Int, floor: Float = 0.05) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = max(totalSteps, 1)
        self.floor = floor
    }

    /// The rate for (0-based) `step`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let progress = min(Float(step - warmupSteps) / Float(max(totalSteps - warmupSteps, 1)), 1)
        return peak * (floor + (1 - floor) * 0.5 * (1 + cos(Float.pi * progress)))
    }
}
