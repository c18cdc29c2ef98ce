import Foundation

/// Progress through a JSON number `-?(0|[1-9][0-9]*)(\.[0-9]+)?` (no exponent).
struct NumberState: Hashable, Sendable {
    enum Phase: UInt8, Hashable, Sendable {
        case start, minus, zero, integer, dot, fraction
    }
    var phase: Phase = .start
    var negative = false
    var integerDigits: Int8 = 0
    var fractionDigits: Int8 = 0
    var integerValue: Int64 = 0
    var fractionValue: Int64 = 0
}

/// Steps and measures numbers under a `NumberConstraint` (digit limits, optional bounds).
enum NumberMatcher {
    static func start(_ c: NumberConstraint) -> NumberState? { NumberState() }

    /// The state after `byte`, or nil when the byte cannot continue the number.
    static func step(_ s: NumberState, _ byte: UInt8, _ c: NumberConstraint) -> NumberState? {
        var s = s
        let isDigit = byte >= 0x30 && byte <= 0x39
        let digit = Int64(byte) - 0x30
        switch s.phase {
        case .start:
            if byte == 0x2D { s.phase = .minus; s.negative = true }
            else if byte == 0x30 { s.phase = .zero; s.integerDigits = 1 }
            else if isDigit { s.phase = .integer; s.integerDigits = 1; s.integerValue = digit }
            else { return nil }
        case .minus:
            if byte == 0x30 { s.phase = .zero; s.integerDigits = 1 }
            else if isDigit { s.phase = .integer; s.integerDigits = 1; s.integerValue = digit }
            else { return nil }
        case .zero, .integer:
            if byte == 0x2E, !c.integer, c.maxFractionDigits > 0 { s.phase = .dot }
            else if isDigit, s.phase == .integer, Int(s.integerDigits) < c.maxIntegerDigits {
                s.integerDigits += 1
                s.integerValue = s.integerValue * 10 + digit
            } else { return nil }
        case .dot, .fraction:
            guard isDigit, Int(s.fractionDigits) < c.maxFractionDigits else { return nil }
            s.phase = .fraction
            s.fractionDigits += 1
            s.fractionValue = s.fractionValue * 10 + digit
        }
        if c.isBounded, distance(s, c) == nil { return nil }
        return s
    }

    /// Whether the number may end here.
    static func isComplete(_ s: NumberState, _ c: NumberConstraint) -> Bool {
        guard s.phase == .zero || s.phase == .integer || s.phase == .fraction else { return false }
        guard c.isBounded else { return true }
        let magnitude = Double(s.integerValue) + Double(s.fractionValue) / pow(10, Double(s.fractionDigits))
        return inBounds(s.negative ? -magnitude : magnitude, c)
    }

    static func inBounds(_ v: Double, _ c: NumberConstraint) -> Bool {
        if let lo = c.minimum, c.exclusiveMinimum ? !(v > lo) : !(v >= lo) { return false }
        if let hi = c.maximum, c.exclusiveMaximum ? !(v < hi) : !(v <= hi) { return false }
        return true
    }

    /// Fewest bytes that complete the number within its bounds (nil: impossible).
    static func distance(_ s: NumberState, _ c: NumberConstraint) -> Int? {
        guard c.isBounded else {
            switch s.phase {
            case .start, .minus, .dot: return 1
            default: return 0
            }
        }
        if s.phase == .start {
            let positive = signedDistance(s, c, negative: false)
            let negative = signedDistance(NumberState(phase: .minus, negative: true), c, negative: true).map { $0 + 1 }
            switch (positive, negative) {
            case let (p?, n?): return min(p, n)
            case let (p, n): return p ?? n
            }
        }
        return signedDistance(s, c, negative: s.negative)
    }

    /// Searches completions by count of extra integer digits and of fraction digits.
    private static func signedDistance(_ s: NumberState, _ c: NumberConstraint, negative: Bool) -> Int? {
        // Bounds on the magnitude.
        var lo = 0.0, hi = Double.infinity, loExclusive = false, hiExclusive = false
        if negative {
            if let max = c.maximum { lo = Swift.max(0, -max); loExclusive = c.exclusiveMaximum && -max >= 0 }
            if let min = c.minimum { hi = -min; hiExclusive = c.exclusiveMinimum }
        } else {
            if let min = c.minimum { lo = Swift.max(0, min); loExclusive = c.exclusiveMinimum && min >= 0 }
            if let max = c.maximum { hi = max; hiExclusive = c.exclusiveMaximum }
        }
        guard lo <= hi else { return nil }
        // Integer-part choices: (lowest, highest, extra bytes, may the number end without a fraction).
        var integerParts: [(Double, Double, Int)] = []
        let q = Int(s.fractionDigits)
        switch s.phase {
        case .start, .minus:
            integerParts.append((0, 9, 1))
            if c.maxIntegerDigits >= 2 {
                for k in 2...c.maxIntegerDigits { integerParts.append((pow(10, Double(k - 1)), pow(10, Double(k)) - 1, k)) }
            }
        case .zero: integerParts.append((0, 0, 0))
        case .integer:
            let p = Double(s.integerValue)
            for j in 0...max(0, c.maxIntegerDigits - Int(s.integerDigits)) {
                let scale = pow(10, Double(j))
                integerParts.append((p * scale, p * scale + scale - 1, j))
            }
        case .dot, .fraction: integerParts.append((Double(s.integerValue), Double(s.integerValue), 0))
        }
        let inFraction = s.phase == .dot || s.phase == .fraction
        var best: Int?
        for (a, b, cost) in integerParts {
            // Fraction digit totals to try: none (only outside the fraction), or 1…max.
            let lowest = inFraction ? max(q, 1) : 0
            for total in lowest...max(lowest, c.maxFractionDigits) {
                if total > c.maxFractionDigits && total > 0 { break }
                let extra = inFraction ? total - q : (total == 0 ? 0 : total + 1)
                let bytes = cost + extra
                if let current = best, bytes >= current { continue }
                let scale = pow(10, Double(total))
                var nLo: Double, nHi: Double
                if inFraction {
                    let tail = pow(10, Double(total - q))
                    nLo = a * scale + Double(s.fractionValue) * tail
                    nHi = nLo + tail - 1
                } else {
                    nLo = a * scale
                    nHi = b * scale + scale - 1
                }
                var lowN = (lo * scale).rounded(.up)
                if loExclusive, lowN == lo * scale { lowN += 1 }
                var highN = hi.isInfinite ? Double.infinity : (hi * scale).rounded(.down)
                if hiExclusive, highN == hi * scale { highN -= 1 }
                if max(nLo, lowN) <= min(nHi, highN) { best = bytes }
            }
        }
        return best
    }
}
