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
            return (added.special ? GGMLTokenType.control : GGMLTokenType.userDefined).rawValue
        }
        let merges = rawMerges.map { $0.joined(separator: " ") }
        // No add_bos_token key: llama.cpp adds BOS for the "lfm2" pre-tokenizer by default.
        let tokenizer = try Tokenizer(
            ggmlModel: "gpt2", tokens: tokens, tokenTypes: types, merges: merges, pre: "lfm2", bosTokenId: 1,
            eosTokenId: 7, addBosToken: nil)
        for item in try Fixtures.lfm2Cases().prefix(150) {
            #expect(tokenizer.encode(item.text, addSpecialTokens: true) == item.idsWithSpecial, "\(item.name)")
        }
        #expect(tokenizer.isSpecial(6) && !tokenizer.isSpecial(64014))
        func field(_ build: () throws -> Tokenizer) -> String? {
            do {
                _ = try build()
                return nil
            } catch let TokenizerError.unsupportedOption(_, field, _, _) {
                return field
            } catch let TokenizerError.invalidField(_, field, _, _) {
                return field
            } catch {
                return "unexpected \(error)"
            }
        }
        let normal = [Int](repeating: 1, count: tokens.count)
        func build(model: String = "gpt2", types: [Int]? = nil, merges: [String] = [], pre: String = "lfm2",
                   bos: Int? = nil, eos: Int? = nil, addBos: Bool? = false, addEos: Bool? = nil) -> () throws -> Tokenizer {
            { try Tokenizer(ggmlModel: model, tokens: tokens, tokenTypes: types ?? normal, merges: merges, pre: pre,
                            bosTokenId: bos, eosTokenId: eos, addBosToken: addBos, addEosToken: addEos) }
        }
        #expect(field(build(pre: "deepseek-llm")) == "tokenizer.ggml.pre")
        #expect(field(build(model: "llama")) == "tokenizer.ggml.model")
        #expect(field(build(merges: ["a b c"])) == "tokenizer.ggml.merges[0]")
        #expect(field(build(merges: ["Ġ t", " a"])) == "tokenizer.ggml.merges[1]")
        #expect(field(build(types: [1])) == "tokenizer.ggml.token_type")
        #expect(field(build(types: [9] + normal.dropFirst())) == "tokenizer.ggml.token_type[0]")
        #expect(field(build(bos: tokens.count)) == "tokenizer.ggml.bos_token_id")
        #expect(field(build(eos: -1)) == "tokenizer.ggml.eos_token_id")
        #expect(field(build(addBos: nil)) == "tokenizer.ggml.bos_token_id")  // lfm2 adds BOS by default: needs an id
        #expect(field(build(addEos: true)) == "tokenizer.ggml.eos_token_id")
        #expect(field(build()) == nil)
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
