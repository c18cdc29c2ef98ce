/// The matcher behind `SplitPattern`: finds regex matches in valid UTF-8 bytes.
struct SplitScanner: Sendable {
    /// Compiled alternatives (flattened for a fast switch).
    private let alternatives: [SplitPattern.Alternative]
    /// Class bits of the 128 ASCII bytes.
    private let ascii: [UInt8]

    init(_ pattern: SplitPattern) {
        alternatives = pattern.alternatives
        ascii = (0..<128).map { CharClass.bmp[$0] }
    }

    /// Calls `body(start, end)` for every piece of `p[0..<n]` as the `Isolated` split behavior produces
    /// them: every match, and every gap between matches, in order.
    @inline(__always)
    func forEachPiece(_ p: UnsafePointer<UInt8>, _ n: Int, _ body: (Int, Int) -> Void) {
        ascii.withUnsafeBufferPointer { asciiBuffer in
            guard let a = asciiBuffer.baseAddress else { return }
            var i = 0
            var gapStart = 0
            while i < n {
                let end = matchEnd(p, n, i, a)
                if end > i {
                    if gapStart < i { body(gapStart, i) }
                    body(i, end)
                    i = end
                    gapStart = end
                } else {
                    i += utf8Length(lead: p[i])
                }
            }
            if gapStart < n { body(gapStart, n) }
        }
    }

    /// End of the match starting exactly at `i`, or `i` if no alternative matches there.
    @inline(__always)
    private func matchEnd(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ a: UnsafePointer<UInt8>) -> Int {
        for alternative in alternatives {
            let end = match(alternative, p, n, i, a)
            if end > i { return end }
        }
        return i
    }

    /// End of the run of characters whose class bits intersect `mask` (and are outside `exclude`), from `j`.
    @inline(__always)
    private func run(_ p: UnsafePointer<UInt8>, _ n: Int, _ j: Int, _ a: UnsafePointer<UInt8>, _ mask: UInt8) -> Int {
        var k = j
        while k < n {
            let (c, len) = classAt(p, n, k, a)
            if c & mask == 0 { break }
            k += len
        }
        return k
    }

    /// End of the run of "other" characters (not `\s`, `\p{L}`, `\p{N}`), from `j`.
    @inline(__always)
    private func otherRun(_ p: UnsafePointer<UInt8>, _ n: Int, _ j: Int, _ a: UnsafePointer<UInt8>) -> Int {
        var k = j
        while k < n {
            let (c, len) = classAt(p, n, k, a)
            if c & (CharClass.letter | CharClass.number | CharClass.space) != 0 { break }
            k += len
        }
        return k
    }

    @inline(__always)
    private func match(
        _ alternative: SplitPattern.Alternative, _ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int,
        _ a: UnsafePointer<UInt8>
    ) -> Int {
        let L = CharClass.letter, N = CharClass.number, S = CharClass.space, NL = CharClass.newline
        switch alternative {
        case .letterRunWithPrefix:
            let (c0, l0) = classAt(p, n, i, a)
            if c0 & L != 0 { return run(p, n, i + l0, a, L) }
            if c0 & (L | N | NL) != 0 { return i }
            let j = i + l0
            guard j < n else { return i }
            let (c1, l1) = classAt(p, n, j, a)
            return c1 & L != 0 ? run(p, n, j + l1, a, L) : i

        case .letterRunWithSpace, .numberRunWithSpace:
            let mask = alternative == .letterRunWithSpace ? L : N
            var j = i
            if p[i] == 0x20 && i + 1 < n { j = i + 1 }
            let (c, l) = classAt(p, n, j, a)
            if c & mask != 0 { return run(p, n, j + l, a, mask) }
            if j != i {  // the optional space did not lead to a run; try without it
                let (c0, l0) = classAt(p, n, i, a)
                if c0 & mask != 0 { return run(p, n, i + l0, a, mask) }
            }
            return i

        case .letterRun:
            return run(p, n, i, a, L)

        case let .numbers(max):
            var k = i
            var count = 0
            while k < n && count < max {
                let (c, len) = classAt(p, n, k, a)
                if c & N == 0 { break }
                k += len
                count += 1
            }
            return k

        case let .symbolsWithSpace(trailingNewlines):
            var j = i
            if p[i] == 0x20 && i + 1 < n {
                let (c1, _) = classAt(p, n, i + 1, a)
                if c1 & (L | N | S) == 0 { j = i + 1 }
            }
            let (c, _) = classAt(p, n, j, a)
            if c & (L | N | S) != 0 { return i }
            var k = otherRun(p, n, j, a)
            if trailingNewlines {
                while k < n && (p[k] == 0x0A || p[k] == 0x0D) { k += 1 }
            }
            return k

        case .spacesThenNewlines:
            var k = i
            var lastNewlineEnd = i
            while k < n {
                let (c, len) = classAt(p, n, k, a)
                if c & S == 0 { break }
                k += len
                if c & NL != 0 { lastNewlineEnd = k }
            }
            return lastNewlineEnd

        case .spacesNotBeforeNonSpace:
            var k = i
            var lastStart = i
            while k < n {
                let (c, len) = classAt(p, n, k, a)
                if c & S == 0 { break }
                lastStart = k
                k += len
            }
            if k == i || k == n { return k }
            return lastStart  // give back the last space so that it is not followed by a non-space

        case .spaces:
            return run(p, n, i, a, S)

        case let .contractions(suffixes, caseInsensitive):
            guard p[i] == UInt8(ascii: "'") else { return i }
            for suffix in suffixes {
                let end = i + 1 + suffix.count
                guard end <= n else { continue }
                var ok = true
                for (offset, expected) in suffix.enumerated() {
                    var b = p[i + 1 + offset]
                    if caseInsensitive && b >= 0x41 && b <= 0x5A { b |= 0x20 }
                    if b != expected { ok = false; break }
                }
                if ok { return end }
            }
            return i
        }
    }
}
