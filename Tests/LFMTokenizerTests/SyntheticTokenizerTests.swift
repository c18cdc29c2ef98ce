import Foundation
import Testing

@testable import LFMTokenizer

/// Tiny tokenizers of other pipeline styles, trained by the fixture script with `tokenizers` 0.23.3:
/// GPT-2 style (ByteLevel regex with prefix space, Roberta post-processing, lstrip/rstrip/single_word
/// added tokens), Qwen2 style (NFC normalizer, single-digit Split regex, ignore_merges), and
/// Llama-3 regex + ByteLevel(add_prefix_space) with NFKC + Lowercase and BOS/EOS templates, and
/// character-level BPE with byte fallback or a fused unknown token (ByteFallback + Fuse decoders).
@Suite struct SyntheticTokenizerTests {
    @Test(arguments: ["gpt2-tiny", "qwen2-tiny", "llama3-prefix-lowercase", "charbpe-bytefallback", "charbpe-unk"])
    func matchesReference(name: String) throws {
        let tokenizer = try Tokenizer(contentsOf: Fixtures.url("synthetic/\(name)/tokenizer.json"))
        var failures: [String] = []
        let lines = try Fixtures.jsonLines("synthetic/\(name)/cases.jsonl")
        #expect(lines.count > 100)
        for (index, line) in lines.enumerated() {
            let text = try #require(line["text"] as? String)
            let ids = try #require(line["ids"] as? [Int])
            let idsSpecial = try #require(line["ids_special"] as? [Int])
            let ours = tokenizer.encode(text)
            if ours != ids { failures.append("case \(index) \(text.prefix(40).debugDescription): \(firstDifference(ours, ids, tokenizer))") }
            let decoded = try #require(line["decoded"] as? String)
            let ourText = try tokenizer.decode(ids, lossy: true)
            if ourText != decoded { failures.append("case \(index) decode: \(ourText.debugDescription) != \(decoded.debugDescription)") }
            let oursSpecial = tokenizer.encode(text, addSpecialTokens: true)
            if oursSpecial != idsSpecial {
                failures.append("case \(index) special: \(firstDifference(oursSpecial, idsSpecial, tokenizer))")
            }
        }
        #expect(failures.isEmpty, Comment(rawValue: failures.prefix(10).joined(separator: "\n")))
    }

    @Test func gpt2StyleAddsRobertaSpecialTokens() throws {
        let tokenizer = try Tokenizer(contentsOf: Fixtures.url("synthetic/gpt2-tiny/tokenizer.json"))
        let ids = tokenizer.encode("hi", addSpecialTokens: true)
        #expect(ids.first == tokenizer.id(for: "<s>"))
        #expect(ids.last == tokenizer.id(for: "</s>"))
        #expect(tokenizer.bosTokenId == tokenizer.id(for: "<s>"))
    }
}
