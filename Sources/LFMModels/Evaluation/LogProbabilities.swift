import Foundation

/// `log Σ exp(row)` in double precision (the row's maximum itself when that is infinite, so an
/// all-`-inf` row gives `-inf`, not NaN).
public func logSumExp(_ row: UnsafeBufferPointer<Float>) -> Double {
    var maximum = -Double.infinity
    for l in row where Double(l) > maximum { maximum = Double(l) }
    guard maximum.isFinite else { return maximum }
    var sum = 0.0
    for l in row { sum += exp(Double(l) - maximum) }
    return maximum + log(sum)
}

/// Natural-log softmax of one logit row, in double precision.
public func logSoftmax(_ row: UnsafeBufferPointer<Float>) -> [Double] {
    let logSum = logSumExp(row)
    return row.map { Double($0) - logSum }
}

/// The `k` most likely ids of one logit row with their natural-log probabilities (double
/// precision), most likely first, ties to the lower id; one pass over the row with a small
/// insertion-sorted list (for the few alternatives `lfm generate --json` and the server report).
/// `logSum`: the row's `logSumExp` when the caller already has it.
public func topLogProbabilities(_ row: UnsafeBufferPointer<Float>, k: Int,
                                logSum known: Double? = nil) -> [(id: Int, logprob: Double)] {
    guard k > 0 else { return [] }
    let logSum = known ?? logSumExp(row)
    var best: [(id: Int, logit: Float)] = []
    best.reserveCapacity(k + 1)
    for (i, l) in row.enumerated() {
        if best.count == k, let last = best.last, !(l > last.logit) { continue }
        var position = best.count
        while position > 0 && l > best[position - 1].logit { position -= 1 }
        best.insert((i, l), at: position)
        if best.count > k { best.removeLast() }
    }
    return best.map { ($0.id, Double($0.logit) - logSum) }
}
