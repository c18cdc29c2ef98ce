import Foundation

/// Which experts each token uses: `experts[r · k + i]` is token r's i-th choice (best first).
/// The choice itself is not differentiated (as in PyTorch); the weights are.
public struct ExpertRouting: Sendable {
    /// Experts chosen per token.
    public let perToken: Int
    /// Chosen expert of every (token, slot).
    public let experts: [Int]
    /// Per expert: the tokens routed to it and the slot (0 ..< perToken) each came through.
    public let assignments: [[(token: Int, slot: Int)]]
}

extension Ops {
    /// LFM2-MoE's router on `logits` `[R, E]` (`gate · x`): scores `sigmoid(logits)`, the `k`
    /// experts of the largest `score + selectionBias` (bias only chooses; ties go to the lower
    /// index), weights = the chosen scores, divided by their sum + 1e-6 when `normalize`, times
    /// `scaling`. Returns the weights `[R, k]` (differentiable in `logits`) and the routing.
    public func routeTopK(_ logits: Tensor, k: Int, selectionBias: [Float]?, normalize: Bool,
                          scaling: Float) -> (weights: Tensor, routing: ExpertRouting) {
        let rows = logits.rows, count = logits.columns
        precondition(k >= 1 && k <= count && (selectionBias?.count ?? count) == count,
                     "routeTopK: \(logits.shape) choosing \(k), bias \(selectionBias?.count ?? 0)")
        let scores = logits.data.map { 1 / (1 + expf(-$0)) }
        var chosen = [Int](repeating: 0, count: rows * k)
        var weights = [Float](repeating: 0, count: rows * k)
        var sums = [Float](repeating: 1, count: rows)
        var assignments = [[(token: Int, slot: Int)]](repeating: [], count: count)
        for r in 0..<rows {
            let row = Array(scores[(r * count)..<((r + 1) * count)])
            let ranked = (0..<count).sorted { a, b in
                let x = row[a] + (selectionBias?[a] ?? 0), y = row[b] + (selectionBias?[b] ?? 0)
                return x > y || (x == y && a < b)
            }
            var total: Float = 0
            for i in 0..<k {
                chosen[r * k + i] = ranked[i]
                total += row[ranked[i]]
                assignments[ranked[i]].append((r, i))
            }
            sums[r] = normalize ? total + 1e-6 : 1
            for i in 0..<k { weights[r * k + i] = row[ranked[i]] / sums[r] * scaling }
        }
        let out = Tensor(shape: [rows, k], data: weights)
        let recorded = tape.record(out, inputs: [logits]) {
            var d = [Float](repeating: 0, count: logits.count)
            for r in 0..<rows {
                // w_i = scaling · s_i / S (S = Σ s + ε when normalizing, else 1).
                var weighted: Float = 0
                if normalize {
                    for i in 0..<k { weighted += out.grad[r * k + i] * scores[r * count + chosen[r * k + i]] }
                }
                for i in 0..<k {
                    let e = chosen[r * k + i], s = scores[r * count + e]
                    var ds = out.grad[r * k + i] * scaling / sums[r]
                    if normalize { ds -= scaling * weighted / (sums[r] * sums[r]) }
                    d[r * count + e] += ds * s * (1 - s)
                }
            }
            logits.accumulate(d)
        }
        return (recorded, ExpertRouting(perToken: k, experts: chosen, assignments: assignments))
    }

    /// Rows `indices` of `x` `[R, H]` → `[indices.count, H]` (the gradient is scattered back).
    public func gatherRows(_ x: Tensor, _ indices: [Int]) -> Tensor {
        let h = x.columns
        var y = [Float](repeating: 0, count: indices.count * h)
        for (i, r) in indices.enumerated() {
            for j in 0..<h { y[i * h + j] = x.data[r * h + j] }
        }
        let out = Tensor(shape: [indices.count, h], data: y)
        return tape.record(out, inputs: [x]) {
            var d = [Float](repeating: 0, count: x.count)
            for (i, r) in indices.enumerated() {
                for j in 0..<h { d[r * h + j] += out.grad[i * h + j] }
            }
            x.accumulate(d)
        }
    }

    /// The mixture's output `[R, H]`: `Σ_e Σ_(token, slot) weights[token, slot] · outputs[e][row]`,
    /// where `outputs[e]` holds expert e's results for its routed tokens in `routing.assignments[e]`
    /// order (an expert without tokens has an empty output).
    public func combineExperts(_ outputs: [Tensor?], weights: Tensor, routing: ExpertRouting, rows: Int, hidden h: Int) -> Tensor {
        let k = routing.perToken
        precondition(weights.count == rows * k && outputs.count == routing.assignments.count, "combineExperts: shapes")
        var y = [Float](repeating: 0, count: rows * h)
        for (e, assigned) in routing.assignments.enumerated() {
            guard let output = outputs[e] else { continue }
            for (i, (token, slot)) in assigned.enumerated() {
                let weight = weights.data[token * k + slot]
                for j in 0..<h { y[token * h + j] += weight * output.data[i * h + j] }
            }
        }
        let out = Tensor(shape: [rows, h], data: y)
        return tape.record(out, inputs: outputs.compactMap { $0 } + [weights]) {
            var dWeights = [Float](repeating: 0, count: weights.count)
            for (e, assigned) in routing.assignments.enumerated() {
                guard let output = outputs[e] else { continue }
                var d = [Float](repeating: 0, count: output.count)
                for (i, (token, slot)) in assigned.enumerated() {
                    let weight = weights.data[token * k + slot]
                    var dot: Float = 0
                    for j in 0..<h {
                        let dy = out.grad[token * h + j]
                        d[i * h + j] = weight * dy
                        dot += dy * output.data[i * h + j]
                    }
                    dWeights[token * k + slot] = dot
                }
                if needsGrad(output) { output.accumulate(d) }
            }
            if needsGrad(weights) { weights.accumulate(dWeights) }
        }
    }
}
