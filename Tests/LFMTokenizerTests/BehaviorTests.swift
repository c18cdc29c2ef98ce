import Foundation
import Testing

@testable import LFMTokenizer

/// Pipeline behaviors not covered by the reference corpus.
@Suite struct BehaviorTests {
    @Test func noDecoderJoinsTokensWithSpaces() throws {
        var doc = BadInputTests.document()
        doc["decoder"] = NSNull()
        let tokenizer = try BadInputTests.load(doc)
        #expect(try tokenizer.decode([2, 0]) == "ab a")
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        var text = try stream.append(2)
        text += try stream.append(0)
        text += try stream.flush()
        #expect(text == "ab a")
    }

    @Test func lowercaseIsPerCharacterLikeTokenizers() {
        // No final-sigma rule: `tokenizers` lowercases each character on its own.
        #expect(lowercasedPerCharacter("ΟΔΟΣ ΣΑΣ Σ") == "οδοσ σασ σ")
        #expect(lowercasedPerCharacter("İSTANBUL ÀB") == "i̇stanbul àb")
    }

    @Test func characterClassesFollowTheReferenceUnicodeVersion() throws {
        let letters = SplitScanner(try SplitPattern(regex: #"\p{L}+"#, source: "test", field: "pattern"))
        func pieces(_ text: String) -> Int {
            var count = 0
            var text = text
            text.withUTF8 { buffer in
                if let base = buffer.baseAddress { letters.forEachPiece(base, buffer.count) { _, _ in count += 1 } }
            }
            return count
        }
        #expect(pieces("a\u{1C89}a") == 1)  // CYRILLIC CAPITAL LETTER TJE, Unicode 16.0: a letter for onig
        #expect(pieces("a\u{0C5C}a") == 3)  // assigned in Unicode 17.0: unknown to the reference, not a letter
    }

    @Test func ggufPreNamesMapToKinds() {
        // llama.cpp (llama-vocab.cpp): the Llama-3 family ignores merges for whole-token words and adds BOS by default.
        #expect(GGMLPreTokenizer(name: "lfm2") == GGMLPreTokenizer(kind: .llama3, ignoreMerges: true, addBosByDefault: true))
        #expect(GGMLPreTokenizer(name: "llama-bpe") == GGMLPreTokenizer(name: "lfm2"))
        #expect(GGMLPreTokenizer(name: "qwen2") == GGMLPreTokenizer(kind: .qwen2, ignoreMerges: false, addBosByDefault: false))
        #expect(GGMLPreTokenizer(name: "gpt-2")?.kind == .gpt2)
        #expect(GGMLPreTokenizer(name: "deepseek-v3") == nil)
    }

    @Test func sentencePieceStyleDecoderChain() throws {
        // Replace("▁" -> " "), ByteFallback, Fuse, Strip(" ", 1, 0): the chain of converted Llama-2 tokenizers.
        let doc: [String: Any] = [
            "model": ["type": "BPE", "vocab": ["▁hi": 0, "▁there": 1, "<0x41>": 2, "<0xC3>": 3, "<0xA9>": 4], "merges": []],
            "decoder": [
                "type": "Sequence",
                "decoders": [
                    ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"],
                    ["type": "Fuse"], ["type": "Strip", "content": " ", "start": 1, "stop": 0],
                ],
            ],
        ]
        let tokenizer = try BadInputTests.load(doc)
        #expect(try tokenizer.decode([0, 1, 2, 3, 4]) == "hi thereAé")
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        let chunks = try [0, 1, 2, 3, 4].map { try stream.append($0) } + [try stream.flush()]
        #expect(chunks == ["hi", " there", "A", "", "é", ""])
    }

    @Test func tokenizerConfigSuppliesBosAndEos() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Fixtures.data("lfm2/tokenizer.json").write(to: folder.appendingPathComponent("tokenizer.json"))
        let config = #"{"bos_token": "<|startoftext|>", "eos_token": {"content": "<|im_end|>"}}"#
        try Data(config.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        let tokenizer = try Tokenizer(contentsOf: folder)
        #expect(tokenizer.bosTokenId == 1)
        #expect(tokenizer.eosTokenId == 7)
        try Data(#"{"eos_token": "<|nope|>"}"#.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        #expect(throws: TokenizerError.self) { _ = try Tokenizer(contentsOf: folder) }
    }

    @Test func concurrentEncodersAgree() async throws {
        let tokenizer = try Fixtures.lfm2.get()
        let cases = Array(try Fixtures.lfm2Cases().prefix(60))
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var bad = 0
                    for (index, item) in cases.enumerated() where index % 4 == worker || worker == 0 {
                        if tokenizer.encode(item.text) != item.ids { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test func heapAndQuadraticMergesAgree() throws {
        // Words longer than the quadratic-merge threshold use the heap merge; both must give the same ids.
        let tokenizer = try Fixtures.lfm2.get()
        var words: [[UInt8]] = []
        for item in try Fixtures.lfm2Cases().prefix(120) {
            for piece in item.text.split(separator: " ") { words.append(Array(" \(piece)".utf8.prefix(200))) }
        }
        words += [Array(String(repeating: "ab", count: 100).utf8), Array(String(repeating: " ", count: 150).utf8),
                  Array(String(repeating: "中文", count: 40).utf8)]
        var disagreements = 0
        for word in words where !word.isEmpty {
            if tokenizer.model.mergedIds(word, useHeap: true) != tokenizer.model.mergedIds(word, useHeap: false) {
                disagreements += 1
            }
        }
        #expect(words.count > 1000)
        #expect(disagreements == 0)
    }
}
