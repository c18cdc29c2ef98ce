import Foundation
import Testing

@testable import LFMTokenizer

/// Building the tokenizer from parts (as a GGUF loader will) gives the same ids as tokenizer.json.
@Suite struct MemberwiseInitTests {
    @Test func partsBuildTheSameTokenizerAsJSON() throws {
        let reference = try Fixtures.lfm2.get()
        let root = try #require(try JSONSerialization.jsonObject(with: Fixtures.data("lfm2/tokenizer.json")) as? [String: Any])
        let model = try #require(root["model"] as? [String: Any])
        let vocab = try #require(model["vocab"] as? [String: Int])
        let rawMerges = try #require(model["merges"] as? [[String]])
        let merges = rawMerges.map { ($0[0], $0[1]) }
        let tokenizer = try Tokenizer(
            vocabulary: vocab, merges: merges, addedTokens: reference.addedTokens, preTokenizer: .llama3,
            bosTokenId: 1, eosTokenId: 7, addBosToken: true)
        #expect(tokenizer.eosTokenId == 7)
        for item in try Fixtures.lfm2Cases().prefix(200) {
            #expect(tokenizer.encode(item.text) == item.ids, "\(item.name)")
            #expect(tokenizer.encode(item.text, addSpecialTokens: true) == item.idsWithSpecial, "\(item.name)")
            #expect(try tokenizer.decode(item.ids) == item.text, "\(item.name)")
        }
    }

    @Test func ggufMetadataBuildsTheSameTokenizer() throws {
        let reference = try Fixtures.lfm2.get()
        let root = try #require(try JSONSerialization.jsonObject(with: Fixtures.data("lfm2/tokenizer.json")) as? [String: Any])
        let model = try #require(root["model"] as? [String: Any])
        let rawMerges = try #require(model["merges"] as? [[String]])
        // The arrays a GGUF file of this tokenizer holds: tokens by id, "left right" merges, token types.
        let tokens = try (0..<reference.vocabularySize).map { try #require(reference.token(for: $0)) }
        let types = (0..<reference.vocabularySize).map { id -> Int in
            guard let added = reference.addedTokens.first(where: { $0.id == id }) else { return 1 }
            return added.special ? Tokenizer.GGUFTokenType.control : Tokenizer.GGUFTokenType.userDefined
        }
        let tokenizer = try Tokenizer(
            ggufTokens: tokens, merges: rawMerges.map { $0.joined(separator: " ") }, tokenTypes: types, pre: "lfm2",
            bosTokenId: 1, eosTokenId: 7, addBosToken: true)
        for item in try Fixtures.lfm2Cases().prefix(150) {
            #expect(tokenizer.encode(item.text, addSpecialTokens: true) == item.idsWithSpecial, "\(item.name)")
        }
        #expect(tokenizer.isSpecial(6) && !tokenizer.isSpecial(64014))
        #expect(throws: TokenizerError.self) {
            _ = try Tokenizer(ggufTokens: tokens, merges: [], tokenTypes: nil, pre: "deepseek-llm", bosTokenId: nil,
                              eosTokenId: nil, addBosToken: false)
        }
        #expect(throws: TokenizerError.self) {
            _ = try Tokenizer(ggufTokens: tokens, merges: ["a b c"], tokenTypes: nil, pre: "lfm2", bosTokenId: nil,
                              eosTokenId: nil, addBosToken: false)
        }
    }

    @Test func knownRegexFamiliesParse() throws {
        for regex in [SplitPattern.gpt2Regex, SplitPattern.llama3Regex, SplitPattern.qwen2Regex] {
            _ = try SplitPattern(regex: regex, source: "test", field: "pattern")
        }
        let tiny = try Tokenizer(
            vocabulary: ["a": 0, "b": 1, "ab": 2, "Ġ": 3], merges: [("a", "b")], addedTokens: [], preTokenizer: .gpt2)
        #expect(tiny.encode("ab a") == [2, 3, 0])
        #expect(try tiny.decode([2, 3, 0]) == "ab a")
    }
}
