import Foundation
import Testing

@testable import LFMTokenizer

/// The real LFM2 tokenizer against ids recorded from Hugging Face `tokenizers` 0.23.3.
@Suite struct LFM2ReferenceTests {
    let tokenizer: Tokenizer
    init() throws { tokenizer = try Fixtures.lfm2.get() }

    @Test func loadsTheWholeVocabulary() throws {
        #expect(tokenizer.vocabularySize == 64400)
        #expect(tokenizer.addedTokens.count == 507)
        #expect(tokenizer.bosTokenId == 1)
        #expect(tokenizer.id(for: "<|im_start|>") == 6)
        #expect(tokenizer.token(for: 7) == "<|im_end|>")
        #expect(tokenizer.id(for: "Ġthe") != nil)
        #expect(tokenizer.isSpecial(6) && !tokenizer.isSpecial(64014))
    }

    @Test func corpusIsAtLeastOneMegabyte() throws {
        let cases = try Fixtures.lfm2Cases()
        #expect(cases.reduce(0) { $0 + $1.text.utf8.count } >= 1_000_000)
    }

    @Test func encodesEveryCaseLikeTheReference() throws {
        var failures: [String] = []
        for item in try Fixtures.lfm2Cases() {
            let ours = tokenizer.encode(item.text)
            if ours != item.ids {
                failures.append("\(item.name): \(firstDifference(ours, item.ids, tokenizer))")
            }
            let withSpecial = tokenizer.encode(item.text, addSpecialTokens: true)
            if withSpecial != item.idsWithSpecial {
                failures.append("\(item.name) (special): \(firstDifference(withSpecial, item.idsWithSpecial, tokenizer))")
            }
        }
        #expect(failures.isEmpty, Comment(rawValue: "\(failures.count) mismatches:\n" + failures.prefix(20).joined(separator: "\n")))
    }

    @Test func encodeBytesMatchesEncodeString() throws {
        for item in try Fixtures.lfm2Cases().prefix(80) {
            #expect(try tokenizer.encode(bytes: Array(item.text.utf8)) == item.ids, "\(item.name)")
        }
    }

    @Test func decodingRoundTripsEveryCase() throws {
        var failures: [String] = []
        for item in try Fixtures.lfm2Cases() {
            let text = try tokenizer.decode(item.idsWithSpecial, skipSpecialTokens: true)
            let raw = try tokenizer.decode(item.ids)
            // Special tokens written in the text decode back to themselves when not skipped.
            if raw != item.text { failures.append(item.name) }
            let expected = item.idsWithSpecial.dropFirst().contains(where: tokenizer.isSpecial) ? nil : item.text
            if let expected, text != expected { failures.append(item.name + " (skip special)") }
        }
        #expect(failures.isEmpty, "round trip failed for: \(failures.prefix(20))")
    }

    @Test func decodeMatchesReferenceDecode() throws {
        for line in try Fixtures.jsonLines("lfm2/decode.jsonl") {
            let ids = try #require(line["ids"] as? [Int])
            let text = try #require(line["text"] as? String)
            let skipped = try #require(line["text_skip_special"] as? String)
            #expect(try tokenizer.decode(ids, lossy: true) == text)
            #expect(try tokenizer.decode(ids, skipSpecialTokens: true, lossy: true) == skipped)
        }
    }
}
