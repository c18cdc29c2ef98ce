import Foundation

/// transformers `TemperatureLogitsWarper`: divides the logits by the temperature (> 0).
public struct Temperature: LogitsProcessor {
    public let temperature: Float
    public init(_ temperature: Float) { self.temperature = temperature }

    public func process(_ logits: inout [Float], history: ArraySlice<Int>) {
        for i in logits.indices { logits[i] /= temperature }
    }
}

/// transformers `TopKLogitsWarper`: removes tokens whose logit is below the k-th largest.
public struct TopK: LogitsProcessor {
    public let k: Int
    public init(_ k: Int) { self.k = k }

    public func process(_ logits: inout [Float], history: ArraySlice<Int>) {
        let k = min(self.k, logits.count)
        guard k > 0, k < logits.count else { return }
        // k-th largest value via a partial sort of a copy.
        var values = logits
        let threshold = Self.kthLargest(&values, k)
        for i in logits.indices where logits[i] < threshold { logits[i] = -.infinity }
    }

    /// Quickselect for the k-th largest element (1-based).
    static func kthLargest(_ values: inout [Float], _ k: Int) -> Float {
        var low = 0, high = values.count - 1
        let target = k - 1
        while low < high {
            let pivot = values[(low + high) / 2]
            var i = low, j = high
            while i <= j {
                while values[i] > pivot { i += 1 }
                while values[j] < pivot { j -= 1 }
                if i <= j { values.swapAt(i, j); i += 1; j -= 1 }
            }
            if target <= j { high = j } else if target >= i { low = i } else { return values[target] }
        }
        return values[target]
    }
}

/// transformers `TopPLogitsWarper`: sorts ascending, removes the tokens whose cumulative
/// probability is at most `1 - p` (always keeping the most likely one).
public struct TopP: LogitsProcessor {
    public let p: Float
    public init(_ p: Float) { self.p = p }

    public func process(_ logits: inout [Float], history: ArraySlice<Int>) {
        guard p < 1 else { return }
        let probabilities = softmax(logits)
        let cut = 1 - Double(p)
        // Tokens less likely than cut / V are always removed: all of them together hold less than
        // `cut` and they come first in ascending order. Only the rest needs sorting.
        let floor = cut / Double(logits.count)
        var removedMass = 0.0
        var candidates: [Int] = []
        for i in logits.indices {
            if probabilities[i] < floor { removedMass += probabilities[i] } else { candidates.append(i) }
        }
        candidates.sort { probabilities[$0] < probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        var cumulative = removedMass
        var remove = Set<Int>()
        for (position, index) in candidates.enumerated() where position < candidates.count - 1 {
            cumulative += probabilities[index]
            if cumulative <= cut { remove.insert(index) } else { break }
        }
        for i in logits.indices where probabilities[i] < floor || remove.contains(i) { logits[i] = -.infinity }
    }
}

/// transformers `MinPLogitsWarper`: removes tokens with probability below `minP` times the top one.
public struct MinP: LogitsProcessor {
    public let minP: Float
    public init(_ minP: Float) { self.minP = minP }

    public func process(_ logits: inout [Float], history: ArraySlice<Int>) {
        guard minP > 0 else { return }
        let probabilities = softmax(logits)
        let top = probabilities.max() ?? 0
        let threshold = Double(minP) * top
        var best = 0
        for i in logits.indices where probabilities[i] > probabilities[best] { best = i }
        for i in logits.indices where probabilities[i] < threshold && i != best { logits[i] = -.infinity }
    }
}

/// transformers `TypicalLogitsWarper`: keeps the tokens whose surprise is closest to the entropy
/// until their mass reaches `mass`.
public struct TypicalP: LogitsProcessor {
    public let mass: Float
    public init(_ mass: Float) { self.mass = mass }

    public func process(_ logits: inout [Float], history: ArraySlice<Int>) {
        guard mass < 1 else { return }
        let probabilities = softmax(logits)
        var entropy = 0.0
        for p in probabilities where p > 0 { entropy -= p * log(p) }
        let shifted = probabilities.map { $0 > 0 ? abs(-log($0) - entropy) : Double.infinity }
        let order = logits.indices.sorted { shifted[$0] < shifted[$1] || (shifted[$0] == shifted[$1] && $0 < $1) }
        var cumulative = 0.0
        var lastIndex = 0
        for index in order {
            cumulative += probabilities[index]
            if cumulative < Double(mass) { lastIndex += 1 } else { break }
        }
        lastIndex = min(lastIndex, order.count - 1)
        let limit = shifted[order[lastIndex]]
        for (position, index) in order.enumerated() where position > 0 && shifted[index] > limit {
            logits[index] = -.infinity
        }
    }
}
