import Foundation
import Testing

@testable import LFMTokenizer

@Suite struct StreamingDetokenizerTests {
    let tokenizer: Tokenizer
    init() throws { tokenizer = try Fixtures.lfm2.get() }

    @Test func chunksConcatenateToDecodeForEveryCase() throws {
        var checked = 0
        for item in try Fixtures.lfm2Cases() {
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            var text = ""
            for id in item.idsWithSpecial { text += try stream.append(id) }
            text += try stream.flush()
            #expect(text == (try tokenizer.decode(item.idsWithSpecial)), "\(item.name)")
            checked += 1
        }
        #expect(checked > 500)
    }

    @Test func holdsBackPartialCharacters() throws {
        // "中" is three bytes; with byte-level BPE on a lone character the pieces may be split.
        let ids = tokenizer.encode("a👩‍💻b")
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        var chunks: [String] = []
        for id in ids { chunks.append(try stream.append(id)) }
        chunks.append(try stream.flush())
        #expect(chunks.joined() == "a👩‍💻b")
        // Every chunk is whole characters: re-encoding the UTF-8 of each chunk round-trips.
        for chunk in chunks { #expect(String(decoding: Array(chunk.utf8), as: UTF8.self) == chunk) }
        // Single-byte tokens of the 4-byte emoji: nothing is emitted until the last byte arrives.
        let byteIds = Array("👩".utf8).map { tokenizer.id(for: ByteLevelAlphabet.string(of: [$0])) ?? -1 }
        var bytewise = StreamingDetokenizer(tokenizer: tokenizer)
        let outputs = try byteIds.map { try bytewise.append($0) }
        #expect(outputs == ["", "", "", "👩"])
    }

    @Test func specialTokensAreWholeOrSkipped() throws {
        let ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>")
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(try stream.append(ids[0]) == "<|im_start|>")
        var skipping = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        var text = ""
        for id in ids { text += try skipping.append(id) }
        text += try skipping.flush()
        #expect(text == "user\nhi")
    }

    @Test func incompleteTailAtFlushThrowsOrIsReplaced() throws {
        let lead = try #require(tokenizer.id(for: ByteLevelAlphabet.string(of: [0xE4])))
        var strict = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(try strict.append(lead) == "")
        #expect(throws: TokenizerError.self) { try strict.flush() }
        var lossy = StreamingDetokenizer(tokenizer: tokenizer, lossy: true)
        #expect(try lossy.append(lead) == "")
        #expect(try lossy.flush() == "\u{FFFD}")
        // An invalid byte followed by text: lossy replaces it, strict throws at once.
        let a = try #require(tokenizer.id(for: "a"))
        var mixed = StreamingDetokenizer(tokenizer: tokenizer, lossy: true)
        _ = try mixed.append(lead)
        #expect(try mixed.append(a) == "\u{FFFD}a")
        var strictMixed = StreamingDetokenizer(tokenizer: tokenizer)
        _ = try strictMixed.append(lead)
        #expect(throws: TokenizerError.self) { try strictMixed.append(a) }
    }

    @Test func unknownIdThrows() throws {
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(throws: TokenizerError.unknownTokenId(id: 70000, vocabularySize: 64400)) { try stream.append(70000) }
    }
}
