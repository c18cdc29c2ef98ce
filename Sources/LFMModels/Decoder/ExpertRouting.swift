import Foundation
import LFMKernels

/// LFM2-MoE's router for a chunk of tokens (transformers `Lfm2MoeTopKRouter`): per token,
/// `s = sigmoid(router · u)`; the experts with the `topK` largest `s + selectionBias` are chosen
/// (a tie goes to the lower index); their weights are the unbiased `s`, divided by their sum
/// plus 1e-6 when `normalizeTopK`, times `scaling`.
struct ExpertRouting {
    /// One token's share of an expert.
    struct Assignment {
        let row: Int
        let weight: Float
    }

    /// Per expert, the tokens routed to it (ascending rows).
    private(set) var tokens: [[Assignment]]
    /// Per token, the chosen experts (ascending), for inspection.
    private(set) var choices: [[Int]]

    init(_ moe: ExpertsFeedForward, input: UnsafePointer<Float>, rows t: Int, hidden h: Int, backend: ComputeBackend) {
        let experts = moe.experts.count
        var logits = [Float](repeating: 0, count: t * experts)
        logits.withUnsafeMutableBufferPointer { y in
            backend.matmul(moe.router, x: input, xStride: h, m: t, y: y.baseAddress!, yStride: experts)
        }
        tokens = Array(repeating: [], count: experts)
        choices = []
        choices.reserveCapacity(t)
        for row in 0..<t {
            let scores = (0..<experts).map { 1 / (1 + exp(-logits[row * experts + $0])) }
            let keys = moe.selectionBias.map { bias in (0..<experts).map { scores[$0] + bias[$0] } } ?? scores
            let chosen = Self.topK(keys, moe.topK)
            var weights = chosen.map { scores[$0] }
            if moe.normalizeTopK {
                let sum = weights.reduce(0, +) + 1e-6
                weights = weights.map { $0 / sum }
            }
            weights = weights.map { $0 * moe.scaling }
            for (expert, weight) in zip(chosen, weights) { tokens[expert].append(Assignment(row: row, weight: weight)) }
            choices.append(chosen.sorted())
        }
    }

    /// Indices of the `k` largest values, largest first (ties: lower index first).
    static func topK(_ values: [Float], _ k: Int) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(k))
    }
}
