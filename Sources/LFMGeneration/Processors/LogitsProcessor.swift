/// One step of turning raw logits into the distribution a token is drawn from.
///
/// Each processor mirrors a transformers logits processor (named in its doc comment) and is
/// tested against it on fixed logits. Filtered tokens get `-infinity`.
public protocol LogitsProcessor: Sendable {
    /// Rewrites `logits` in place; `history` holds the tokens so far (prompt and generated).
    func process(_ logits: inout [Float], history: ArraySlice<Int>)
}

/// Softmax of `logits` in Double (filtered `-inf` entries get 0).
@inlinable
func softmax(_ logits: [Float]) -> [Double] {
    let maximum = logits.max() ?? 0
    guard maximum > -.infinity else { return logits.map { _ in 0 } }
    var out = logits.map { exp(Double($0 - maximum)) }
    let total = out.reduce(0, +)
    for i in out.indices { out[i] /= total }
    return out
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
