import Foundation
import Testing
import LFMModels
import LFMTokenizer
@testable import lfm

/// Tokenizers built from vocab-only GGUF files that llama.cpp's converter wrote for tokenizers of the
/// Qwen (`tokenizer.ggml.pre` = "qwen2"), Llama-3 ("llama-bpe") and GPT-2 ("gpt-2") families give the ids libllama's own
/// `llama_tokenize` gives (fixtures: Scripts/reference/gguf-interop/make_tokenizer_gguf_fixtures.py).
@Suite struct GGUFFamilyTokenizerTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LFMModelsTests/Fixtures/gguf/tokenizers")

    /// One corpus case with llama.cpp's results for it.
    struct Case {
        var name: String
        var text: String
        var ids: [Int]
        /// What llama.cpp's `add_special` puts before and after `ids`.
        var prefix: [Int]
        var suffix: [Int]
        /// llama_detokenize of `ids` (the text when the fixture omits it).
        var detokenized: String
        /// tokenizers' ids on the source tokenizer.json, when they differ from llama.cpp's.
        var huggingFace: [Int]?
    }

    static func jsonLines(_ url: URL) throws -> [[String: Any]] {
        let data = try Data(contentsOf: url)
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        }
    }

    /// llama.cpp's flags for the vocabulary and its results on every corpus case.
    static func load(_ name: String) throws -> (flags: [String: Int], cases: [Case]) {
        let corpus = try jsonLines(folder.appendingPathComponent("corpus.jsonl"))
        let lines = try jsonLines(folder.appendingPathComponent("\(name).jsonl"))
        let flags = try #require(lines.first as? [String: Int])
        let results = lines.dropFirst()
        try #require(results.count == corpus.count)
        let cases = try zip(corpus, results).map { source, result in
            let name = try #require(source["name"] as? String)
            try #require(result["name"] as? String == name)
            let text = try #require(source["text"] as? String)
            return Case(
                name: name, text: text, ids: try #require(result["ids"] as? [Int]),
                prefix: try #require(result["prefix"] as? [Int]), suffix: try #require(result["suffix"] as? [Int]),
                detokenized: result["detokenized"] as? String ?? text, huggingFace: result["hf"] as? [Int])
        }
        return (flags, cases)
    }

    func check(_ name: String, cleansSpaces: Bool) throws -> [Case] {
        let path = Self.folder.appendingPathComponent("\(name).gguf").path
        let tokenizer = try loadTokenizer(model: path)
        let (flags, cases) = try Self.load(name)
        #expect(cases.count >= 150)
        #expect(tokenizer.bosTokenId == flags["bos"])
        #expect(tokenizer.eosTokenId == flags["eos"])
        var mismatches = 0
        var cleaned: [String] = []
        for item in cases {
            let ids = tokenizer.encode(item.text)
            if ids != item.ids { mismatches += 1 }
            #expect(ids == item.ids, "\(name) \(item.name)")
            #expect(tokenizer.encode(item.text, addSpecialTokens: true) == item.prefix + item.ids + item.suffix,
                    "\(name) \(item.name)")
            // Byte-level BPE without a normalizer: decoding gives the text back.
            let decoded = try tokenizer.decode(item.ids)
            #expect(decoded == item.text, "\(name) \(item.name)")
            // llama.cpp's detokenizer equals ours except where its clean_spaces (Llama-3 family) removes a
            // space before punctuation / contractions.
            if decoded != item.detokenized { cleaned.append(item.name) }
        }
        if cleansSpaces {
            #expect(cleaned.count <= 5, "\(cleaned)")
        } else {
            #expect(cleaned.isEmpty, "\(cleaned)")
        }
        #expect(mismatches == 0)
        // add_special: BOS (and EOS where the file asks for it) exactly as llama.cpp adds them.
        let empty = try #require(cases.first { $0.text.isEmpty })
        #expect(empty.prefix + empty.suffix == (flags["add_bos"] == 1 ? [flags["bos"]!] : [])
            + (flags["add_eos"] == 1 ? [flags["eos"]!] : []))
        return cases
    }

    @Test func qwen2MatchesLlamaCpp() throws {
        let cases = try check("qwen2-tiny", cleansSpaces: false)
        // Single digits; tokenizers differs only where its NFC normalizer (not in GGUF) changes the text.
        let digits = try #require(cases.first { $0.name == "hard/digits-run" })
        let tokenizer = try loadTokenizer(model: Self.folder.appendingPathComponent("qwen2-tiny.gguf").path)
        #expect(try digits.ids.map { try tokenizer.decode([$0]) }.prefix(3) == ["1", "2", "3"])
        // llama.cpp's qwen2 applies the merges even to a word that is a token (its tokenizer.json says
        // ignore_merges, so tokenizers takes it whole): the one difference not due to NFC.
        let unmerged = try #require(cases.first { $0.name == "hard/unmerged-words" })
        #expect(unmerged.huggingFace?.contains(700) == true && !unmerged.ids.contains(700))
        let differing = cases.filter { $0.huggingFace != nil }.map(\.name)
        #expect(differing.contains("hard/combining") && differing.count < 15, "\(differing)")
    }

    @Test func llamaBPEMatchesLlamaCpp() throws {
        let cases = try check("llama-bpe-tiny", cleansSpaces: true)
        let digits = try #require(cases.first { $0.name == "hard/digits-run" })
        let tokenizer = try loadTokenizer(model: Self.folder.appendingPathComponent("llama-bpe-tiny.gguf").path)
        let pieces = try digits.ids.map { try tokenizer.decode([$0]) }
        // Digit runs are split into groups of at most three before BPE.
        #expect(pieces.joined() == digits.text)
        #expect(!pieces.contains { $0.filter(\.isNumber).count > 3 })
        // A word that is a token is taken whole (llama.cpp's ignore_merges for the Llama-3 family): "qzxv"
        // (700) and " qzxv" (701) are in the vocabulary but no merge builds them.
        let unmerged = try #require(cases.first { $0.name == "hard/unmerged-words" })
        #expect(unmerged.ids.prefix(2) == [700, 701])
    }

    @Test func gpt2MatchesLlamaCpp() throws {
        let cases = try check("gpt2-tiny", cleansSpaces: true)
        // GGUF has no lstrip / rstrip / single-word flags and no prefix space: "<mask>" keeps the space before it.
        let mask = try #require(cases.first { $0.name == "gpt2-tiny/0" })
        #expect(mask.ids.contains(602) && mask.huggingFace != nil)
    }

    @Test func chatTemplateAndSpecialTokensComeFromGGUF() throws {
        for (name, bos, eos) in [("qwen2-tiny", "<|im_start|>", "<|im_end|>"), ("llama-bpe-tiny", "<|im_start|>", "<|im_end|>"),
                                 ("gpt2-tiny", "<s>", "</s>")] {
            let path = Self.folder.appendingPathComponent("\(name).gguf").path
            let config = try loadChatConfig(path)
            #expect(config.templateSource.hasPrefix("{% for message in messages %}<|im_start|>"), "\(name)")
            #expect(config.bosToken == bos, "\(name)")
            #expect(config.eosToken == eos, "\(name)")
            let metadata = try GGUFTokenizerMetadata(path: path)
            let tokenizer = try loadTokenizer(model: path)
            // Unused (padding) ids the converter wrote past the tokenizer's ids have no text.
            let unused = metadata.tokenTypes.indices.filter { metadata.tokenTypes[$0] == GGMLTokenType.unused.rawValue }
            #expect(unused.count == 3, "\(name)")
            for id in unused { #expect(tokenizer.token(for: id) == nil, "\(name) \(id)") }
            let bosId = try #require(metadata.bosTokenId), eosId = try #require(metadata.eosTokenId)
            #expect(tokenizer.isSpecial(bosId) && tokenizer.isSpecial(eosId), "\(name)")
            #expect(tokenizer.token(for: bosId) == bos && tokenizer.token(for: eosId) == eos, "\(name)")
        }
    }
}
