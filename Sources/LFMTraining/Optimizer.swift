import Foundation
import LFMKernels

/// AdamW (decoupled weight decay, bias correction), as `torch.optim.AdamW` computes it.
public struct AdamW: Sendable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// Steps taken.
    public private(set) var step = 0
    /// First and second moments per parameter (same order as the parameters passed to `update`).
    public private(set) var firstMoments: [[Float]] = []
    public private(set) var secondMoments: [[Float]] = []

    /// Creates the optimizer (PyTorch's defaults: betas 0.9/0.999, eps 1e-8, weight decay 0.01).
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Restores saved state.
    public mutating func restore(step: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// One step at learning rate `lr` over `parameters` (their `grad`s are read, not cleared),
    /// split over `backend`'s threads when it has them.
    public mutating func update(_ parameters: [Tensor], lr: Float, backend: ComputeBackend? = nil) {
        if firstMoments.isEmpty {
            firstMoments = parameters.map { [Float](repeating: 0, count: $0.count) }
            secondMoments = firstMoments
        }
        step += 1
        let correction1 = 1 - pow(beta1, Float(step))
        let correction2 = 1 - pow(beta2, Float(step))
        let stepSize = lr / correction1
        let correction2Root = correction2.squareRoot()
        let kernels = TrainingKernels(backend: backend)
        let (beta1, beta2, epsilon, weightDecay) = (self.beta1, self.beta2, self.epsilon, self.weightDecay)
        for (index, p) in parameters.enumerated() {
            let n = p.count
            p.data.withUnsafeMutableBufferPointer { data in
                p.grad.withUnsafeBufferPointer { grad in
                    firstMoments[index].withUnsafeMutableBufferPointer { m in
                        secondMoments[index].withUnsafeMutableBufferPointer { v in
                            let g = grad.isEmpty ? nil : grad.baseAddress
                            kernels.parallel(n, work: n * 4, alignment: 16) { r in
                                let o = r.lowerBound
                                // Decoupled weight decay first, as torch does: p ← p·(1 − lr·λ).
                                kernels.adamW(data.baseAddress! + o, g.map { $0 + o }, m.baseAddress! + o, v.baseAddress! + o, r.count,
                                              lr, weightDecay, beta1, beta2, epsilon, stepSize, correction2Root)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Scales all gradients so that their global L2 norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float, backend: ComputeBackend? = nil) -> Float {
    let kernels = TrainingKernels(backend: backend)
    var sums = [Double](repeating: 0, count: parameters.count)
    sums.withUnsafeMutableBufferPointer { s in
        kernels.pool.parallelFor(parameters.count) { i in
            s[i] = parameters[i].grad.withUnsafeBufferPointer { g in g.isEmpty ? 0 : kernels.sumOfSquares(g.baseAddress!, g.count) }
        }
    }
    let norm = Float(sums.reduce(0, +).squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for p in parameters where !p.grad.isEmpty {
            let n = p.count
            p.grad.withUnsafeMutableBufferPointer { g in
                kernels.parallel(n, work: n, alignment: 16) { r in kernels.scale(g.baseAddress! + r.lowerBound, coefficient, r.count) }
            }
        }
    }
    return norm
}

/// Linear warm-up then cosine decay to `minimumRatio · peak` at `totalSteps`
/// (the usual `get_cosine_schedule_with_warmup` shape, with a floor).
public struct CosineSchedule: Sendable, Equatable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minimumRatio: Float

    /// Creates a schedule.
    public init(peak: Float, warmupSteps: Int, totalSteps: Int, minimumRatio: Float = 0) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minimumRatio = minimumRatio
    }

    /// Learning rate of step `step` (0-based).
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(Float(step - warmupSteps) / Float(span), 1)
        let cosine = 0.5 * (1 + cos(Float.pi * progress))
        return peak * (minimumRatio + (1 - minimumRatio) * cosine)
    }
}
