import Foundation
import Testing

@testable import LFMTokenizer

/// `\p{L}`, `\p{N}` and `\s` of the scanner against the reference regex engine, for every code point.
@Suite struct UnicodeClassTests {
    @Test func everyCodePointHasTheReferenceClass() throws {
        let root = try #require(
            try JSONSerialization.jsonObject(with: Fixtures.data("unicode_classes.json")) as? [String: Any])
        var expected = [UInt8](repeating: 0, count: 0x110000)
        for (key, bit) in [("letter", CharClass.letter), ("number", CharClass.number), ("space", CharClass.space)] {
            let ranges = try #require(root[key] as? [[Int]])
            for range in ranges {
                for value in range[0]...range[1] { expected[value] |= bit }
            }
        }
        var mismatches: [String] = []
        let mask = CharClass.letter | CharClass.number | CharClass.space
        for value in 0..<0x110000 where !(0xD800...0xDFFF).contains(value) {
            let ours = CharClass.of(UInt32(value)) & mask
            if ours != expected[value] {
                mismatches.append(String(format: "U+%04X ours %d reference %d", value, ours, expected[value]))
            }
        }
        #expect(mismatches.isEmpty, Comment(rawValue: "\(mismatches.count) code points differ: \(mismatches.prefix(20))"))
    }
}
