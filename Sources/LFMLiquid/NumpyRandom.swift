// The two NumPy random streams that ncps 1.0.1 wirings draw from, reproduced bit for bit so that
// the same seed gives the same adjacency matrices as Python:
//   - `NCP` / `AutoNCP` use the legacy `np.random.RandomState(seed)` (MT19937, `init_genrand`
//     seeding, masked rejection sampling in `randint` / `choice` / `permutation`);
//   - `FullyConnected` / `Random` use `np.random.default_rng(seed)` (PCG64 seeded through
//     `SeedSequence`, Lemire's bounded integers, Floyd's sampling in `choice(replace=False)`).
// Provenance: numpy 2.x `random/_mt19937.pyx`, `mtrand.pyx`, `_generator.pyx`, `bit_generator.pyx`,
// `src/distributions/distributions.c`, `src/pcg64/pcg64.h`. Only the calls ncps makes are provided.

/// NumPy's legacy `RandomState` (MT19937), restricted to the draws ncps makes.
public struct NumpyRandomState: Sendable {
    private var mt = [UInt32](repeating: 0, count: 624)
    private var position = 624

    /// `np.random.RandomState(seed)`: Matsumoto–Nishimura `init_genrand`.
    public init(seed: UInt32) {
        mt[0] = seed
        for i in 1..<624 {
            mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    private mutating func regenerate() {
        for i in 0..<624 {
            let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % 624] & 0x7FFF_FFFF)
            mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_B0DF : 0)
        }
        position = 0
    }

    /// The next tempered 32-bit output (`genrand_int32`).
    public mutating func nextUInt32() -> UInt32 {
        if position == 624 { regenerate() }
        var y = mt[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// `random_interval(max)`: uniform in 0...max by masked rejection (max < 2^32 here).
    public mutating func interval(_ max: Int) -> Int {
        if max == 0 { return 0 }
        var mask = UInt32(max)
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16
        while true {
            let value = nextUInt32() & mask
            if value <= UInt32(max) { return Int(value) }
        }
    }

    /// `choice(a)`: one element, drawn with `randint(0, len(a))`.
    public mutating func choice<T>(_ a: [T]) -> T { a[interval(a.count - 1)] }

    /// `choice(a, size, replace=False)`: the first `size` entries of `permutation(len(a))`.
    public mutating func choiceWithoutReplacement<T>(_ a: [T], size: Int) -> [T] {
        var order = Array(0..<a.count)
        var i = a.count - 1
        while i >= 1 {
            let j = interval(i)
            order.swapAt(i, j)
            i -= 1
        }
        return order.prefix(size).map { a[$0] }
    }
}

/// NumPy's `Generator(PCG64(SeedSequence(seed)))` (`np.random.default_rng(seed)`), restricted to
/// the draws ncps makes.
public struct NumpyGenerator: Sendable {
    // 128-bit LCG state and increment as (high, low) halves.
    private var stateHigh: UInt64 = 0, stateLow: UInt64 = 0
    private var incHigh: UInt64 = 0, incLow: UInt64 = 0
    private var bufferedHalf: UInt32? = nil

    private static let multiplierHigh: UInt64 = 0x2360_ED05_1FC6_5DA4
    private static let multiplierLow: UInt64 = 0x4385_DF64_9FCC_F645

    /// `np.random.default_rng(seed)` for a non-negative integer seed.
    public init(seed: UInt64) {
        let words = Self.seedSequence(entropy: seed, words32: 8)
        func word64(_ i: Int) -> UInt64 { UInt64(words[2 * i]) | (UInt64(words[2 * i + 1]) << 32) }
        let (seedHigh, seedLow) = (word64(0), word64(1))
        let (initHigh, initLow) = (word64(2), word64(3))
        // inc = (initseq << 1) | 1
        incHigh = (initHigh << 1) | (initLow >> 63)
        incLow = (initLow << 1) | 1
        step()
        let (low, carry) = stateLow.addingReportingOverflow(seedLow)
        stateLow = low
        stateHigh = stateHigh &+ seedHigh &+ (carry ? 1 : 0)
        step()
    }

    /// `SeedSequence(entropy).generate_state(words32, uint32)` with the default pool of 4 words.
    static func seedSequence(entropy: UInt64, words32: Int) -> [UInt32] {
        let initA: UInt32 = 0x43B0_D7E5, multA: UInt32 = 0x931E_8875
        let initB: UInt32 = 0x8B51_F9DD, multB: UInt32 = 0x58F3_8DED
        let mixL: UInt32 = 0xCA01_F9DD, mixR: UInt32 = 0x4973_F715
        var entropyWords: [UInt32] = [UInt32(truncatingIfNeeded: entropy)]
        if entropy >> 32 != 0 { entropyWords.append(UInt32(truncatingIfNeeded: entropy >> 32)) }
        var hashConst = initA
        func hashmix(_ value: UInt32) -> UInt32 {
            var v = value ^ hashConst
            hashConst = hashConst &* multA
            v = v &* hashConst
            return v ^ (v >> 16)
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let r = (mixL &* x) &- (mixR &* y)
            return r ^ (r >> 16)
        }
        var pool = (0..<4).map { hashmix($0 < entropyWords.count ? entropyWords[$0] : 0) }
        for source in 0..<4 {
            for destination in 0..<4 where source != destination {
                pool[destination] = mix(pool[destination], hashmix(pool[source]))
            }
        }
        var out: [UInt32] = []
        var h = initB
        for i in 0..<words32 {
            var v = pool[i % 4] ^ h
            h = h &* multB
            v = v &* h
            out.append(v ^ (v >> 16))
        }
        return out
    }

    private mutating func step() {
        // state = state * multiplier + inc (mod 2^128)
        let (productHigh, productLow) = stateLow.multipliedFullWidth(by: Self.multiplierLow)
        let high = productHigh &+ stateHigh &* Self.multiplierLow &+ stateLow &* Self.multiplierHigh
        let (low, carry) = productLow.addingReportingOverflow(incLow)
        stateLow = low
        stateHigh = high &+ incHigh &+ (carry ? 1 : 0)
    }

    /// The next 64-bit output (XSL-RR of the advanced state).
    public mutating func nextUInt64() -> UInt64 {
        step()
        let x = stateHigh ^ stateLow
        let rotation = stateHigh >> 58
        return (x >> rotation) | (x << ((64 - rotation) & 63))
    }

    /// The next 32-bit output: low half of a 64-bit draw, then its high half.
    public mutating func nextUInt32() -> UInt32 {
        if let half = bufferedHalf {
            bufferedHalf = nil
            return half
        }
        let next = nextUInt64()
        bufferedHalf = UInt32(truncatingIfNeeded: next >> 32)
        return UInt32(truncatingIfNeeded: next)
    }

    /// `random_bounded_uint64(0, rng)`: uniform in 0...rng by Lemire's method (rng < 2^32 - 1).
    public mutating func bounded(_ rng: Int) -> Int {
        if rng == 0 { return 0 }
        let exclusive = UInt64(rng) + 1
        var m = UInt64(nextUInt32()) * exclusive
        var leftover = m & 0xFFFF_FFFF
        if leftover < exclusive {
            let threshold = (UInt64(UInt32.max) - UInt64(rng)) % exclusive
            while leftover < threshold {
                m = UInt64(nextUInt32()) * exclusive
                leftover = m & 0xFFFF_FFFF
            }
        }
        return Int(m >> 32)
    }

    /// `choice(a)`: one element, drawn with `integers(0, len(a))`.
    public mutating func choice<T>(_ a: [T]) -> T { a[bounded(a.count - 1)] }

    /// `choice(a, size, replace=False)` (shuffle=True): Floyd's algorithm then a shuffle of the
    /// sample, or a tail shuffle for populations over 10 000 when more than 1/50 is drawn.
    public mutating func choiceWithoutReplacement<T>(_ a: [T], size: Int) -> [T] {
        let population = a.count
        var indices: [Int]
        if population > 10_000 && size > population / 50 {
            indices = Array(0..<population)
            let first = max(population - size, 1)
            var i = population - 1
            while i >= first {
                indices.swapAt(i, bounded(i))
                i -= 1
            }
            indices = Array(indices[(population - size)...])
        } else {
            indices = []
            indices.reserveCapacity(size)
            var seen = Set<Int>()
            for j in (population - size)..<population {
                var value = bounded(j)
                if seen.contains(value) { value = j }
                seen.insert(value)
                indices.append(value)
            }
            var i = size - 1
            while i >= 1 {
                indices.swapAt(i, bounded(i))
                i -= 1
            }
        }
        return indices.map { a[$0] }
    }
}
