import Foundation
import LFMCore
import LFMModels

/// A low-rank adapter on one projection `W [N, K]`: `W' = W + scale · B · A` with `A [r, K]`,
/// `B [N, r]`, `scale = alpha / r`. `B` starts at zero, so training starts from the base model.
public struct LoRAAdapter {
    public let a: Tensor
    public let b: Tensor
    public let scale: Float

    /// A fresh adapter (A ~ U(−1/√K, 1/√K) from `seed`, B = 0).
    public init(rows: Int, columns: Int, rank: Int, alpha: Float, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let bound = 1 / Float(columns).squareRoot()
        let values = (0..<(rank * columns)).map { _ in random.signedUnit() * bound }
        a = Tensor(shape: [rank, columns], data: values, requiresGrad: true)
        b = Tensor(zeros: [rows, rank], requiresGrad: true)
        scale = alpha / Float(rank)
    }
}

/// Projection names LoRA can target, in LFM2's module names.
public enum LoRATarget: String, CaseIterable, Sendable {
    case convInProj = "conv.in_proj"
    case convOutProj = "conv.out_proj"
    case q = "self_attn.q_proj"
    case k = "self_attn.k_proj"
    case v = "self_attn.v_proj"
    case out = "self_attn.out_proj"
    case w1 = "feed_forward.w1"
    case w2 = "feed_forward.w2"
    case w3 = "feed_forward.w3"
}

extension Ops {
    /// `x · s`.
    public func scale(_ x: Tensor, by s: Float) -> Tensor {
        let out = Tensor(shape: x.shape, data: x.data.map { $0 * s })
        return tape.record(out, inputs: [x]) { x.accumulate(out.grad.map { $0 * s }) }
    }
}

extension LFM2Trainable {
    /// Freezes the base weights and adds rank-`rank` adapters to `targets` in every layer that has them.
    public func addAdapters(rank: Int, alpha: Float, targets: Set<LoRATarget>, seed: UInt64 = 0) -> [Tensor] {
        var trainable: [Tensor] = []
        for (l, kind) in configuration.layerKinds.enumerated() {
            var roles: [(LoRATarget, LFM2Tensor)] = [(.w1, .ffnGate(l)), (.w2, .ffnDown(l)), (.w3, .ffnUp(l))]
            switch kind {
            case .conv: roles += [(.convInProj, .convInProj(l)), (.convOutProj, .convOutProj(l))]
            case .attention: roles += [(.q, .attentionQ(l)), (.k, .attentionK(l)), (.v, .attentionV(l)), (.out, .attentionOut(l))]
            }
            for (target, role) in roles where targets.contains(target) {
                guard let w = parameters[role] else { continue }
                let adapter = LoRAAdapter(rows: w.shape[0], columns: w.shape[1], rank: rank, alpha: alpha,
                                          seed: seed &+ UInt64(trainable.count + 1) &* 7919)
                adapters[role] = adapter
                trainable += [adapter.a, adapter.b]
            }
        }
        frozen = true
        return trainable
    }

    /// Folds every adapter into its base weight (`W += scale · B · A`) and removes the adapters.
    public func mergeAdapters() {
        for (role, adapter) in adapters {
            guard let w = parameters[role] else { continue }
            let n = w.shape[0], k = w.shape[1], r = adapter.a.shape[0]
            for i in 0..<n {
                for j in 0..<k {
                    var sum: Float = 0
                    for q in 0..<r { sum += adapter.b.data[i * r + q] * adapter.a.data[q * k + j] }
                    w.data[i * k + j] += adapter.scale * sum
                }
            }
        }
        adapters = [:]
    }
}
