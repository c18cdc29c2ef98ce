import Foundation
import Testing
@testable import LFMFormats

/// SplitMix64: a small deterministic generator so the mutation sequence is fixed across runs and platforms.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct GGUFFuzzTests {
    /// 20,000 seeded mutations (bit flips, byte overwrites with boundary values, truncations, insertions,
    /// deletions, and 64-bit field overwrites) of a valid GGUF: each parse must succeed or throw a `GGUFError`,
    /// and every tensor view of a file that parses must lie inside the file.
    @Test func twentyThousandSeededMutationsParseOrThrow() throws {
        let original = try GGUFFixtures.bytes("aligned64.gguf")
        var rng = SplitMix64(state: 0x6767_7566_2026)
        var parsed = 0, rejected = 0
        let interesting: [UInt64] = [0, 1, 4, 5, 0xFF, 0xFFFF, 0xFFFF_FFFF, 1 << 32, 1 << 60, 1 << 63, .max]
        for _ in 0..<20_000 {
            var bytes = original
            // Mutations cluster in the header, where the structure lives, but may land anywhere.
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let limit = Bool.random(using: &rng) ? min(bytes.count, 2600) : bytes.count
                let position = Int.random(in: 0..<limit, using: &rng)
                switch Int.random(in: 0..<7, using: &rng) {
                case 0: bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 1: bytes[position] = UInt8.random(in: 0...255, using: &rng)
                case 2: bytes.removeSubrange(position..<bytes.count)
                case 3: bytes.insert(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: position)
                case 4: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...16, using: &rng)))
                case 5:
                    // Overwrite an aligned 8-byte field with a boundary value.
                    let value = interesting.randomElement(using: &rng) ?? 0
                    let start = position & ~7
                    for i in 0..<8 where start + i < bytes.count { bytes[start + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
                default:
                    let value = UInt32(truncatingIfNeeded: interesting.randomElement(using: &rng) ?? 0)
                    let start = position & ~3
                    for i in 0..<4 where start + i < bytes.count { bytes[start + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
                }
                if bytes.isEmpty { break }
            }
            do {
                let file = try GGUFFile(bytes: bytes)
                for t in file.tensors {
                    let view = file.data(for: t)
                    #expect(view.count == t.byteCount)
                    #expect(file.dataOffset + t.offset + t.byteCount <= bytes.count)
                }
                parsed += 1
            } catch is GGUFError {
                rejected += 1
            }
        }
        #expect(parsed + rejected == 20_000)
        // Both outcomes must occur, or the mutations are not exercising the parser.
        #expect(parsed > 100 && rejected > 1000, "parsed \(parsed), rejected \(rejected)")
    }
}
