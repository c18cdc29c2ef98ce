import Foundation
import Testing
import LFMModels
import LFMTokenizer
@testable import lfm

/// The tokenizer and chat template read from a GGUF that llama.cpp's converter wrote for a folder
/// holding the real LFM2 tokenizer.json equal the tokenizer.json ones
/// (fixture: Scripts/reference/gguf-interop/make_interop_fixtures.py).
@Suite struct GGUFTokenizerTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let gguf = tests.appendingPathComponent("LFMModelsTests/Fixtures/gguf/lfm2-tokenizer.gguf").path
    static let corpus = tests.appendingPathComponent("LFMTokenizerTests/Fixtures/lfm2")

    /// (text, ids, ids with special tokens) of every case of the tokenizer test corpus.
    static func cases() throws -> [(name: String, text: String, ids: [Int], special: [Int])] {
        let lines = try String(contentsOf: corpus.appendingPathComponent("cases.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("ids.bin")))
        var offset = 0
        func next() -> Int {
            var value = 0, shift = 0
            while offset < bytes.count {
                let b = bytes[offset]
                offset += 1
                value |= Int(b & 0x7F) << shift
                if b & 0x80 == 0 { break }
                shift += 7
            }
            return value
        }
        func list() -> [Int] { (0..<next()).map { _ in next() } }
        return try lines.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let name = try #require(object["name"] as? String), text = try #require(object["text"] as? String)
            let ids = list(), prefix = list(), suffix = list()
            return (name, text, ids, prefix + ids + suffix)
        }
    }

    @Test func ggufTokenizerMatchesTokenizerJSONOnTheCorpus() throws {
        let fromGGUF = try loadTokenizer(model: Self.gguf)
        let fromJSON = try Tokenizer(contentsOf: Self.corpus.appendingPathComponent("tokenizer.json"))
        #expect(fromGGUF.bosTokenId == 1)
        #expect(fromGGUF.eosTokenId == 7)
        let all = try Self.cases()
        #expect(all.count >= 500)
        var mismatches = 0
        for item in all {
            let ids = fromGGUF.encode(item.text)
            if ids != item.ids || ids != fromJSON.encode(item.text) { mismatches += 1 }
            #expect(ids == item.ids, "\(item.name)")
            #expect(fromGGUF.encode(item.text, addSpecialTokens: true) == item.special, "\(item.name)")
            #expect(try fromGGUF.decode(item.ids) == (try fromJSON.decode(item.ids)), "\(item.name)")
        }
        #expect(mismatches == 0)
    }

    @Test func chatTemplateComesFromGGUF() throws {
        let config = try loadChatConfig(Self.gguf)
        let expected = try String(contentsOf: Self.tests.appendingPathComponent("LFMChatTests/Fixtures/lfm2/chat_template.jinja"),
                                  encoding: .utf8)
        #expect(config.templateSource == expected)
        #expect(config.bosToken == "<|startoftext|>")
        #expect(config.eosToken == "<|im_end|>")
    }

    @Test func unknownPreTokenizerIsATypedError() throws {
        var m = try GGUFTokenizerMetadata(path: Self.gguf)
        m.pre = "made-up"
        #expect(throws: TokenizerError.self) { try Tokenizer(gguf: m, source: Self.gguf) }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(ggmlModel: "llama", tokens: ["a"], tokenTypes: [1], merges: [], pre: "lfm2",
                          bosTokenId: nil, eosTokenId: nil, addBosToken: false)
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(ggmlModel: "gpt2", tokens: ["a", "b"], tokenTypes: [1], merges: [], pre: "lfm2",
                          bosTokenId: nil, eosTokenId: nil, addBosToken: false)
        }
    }
}
