import Foundation
import Testing

@testable import LFMTokenizer

@Test func gpt2PatternParsesToBuiltin() throws {
    let parsed = try SplitPattern(regex: SplitPattern.gpt2Regex, source: "test", field: "pattern")
    #expect(parsed == SplitPattern.gpt2)
}
