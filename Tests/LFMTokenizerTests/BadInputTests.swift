import Foundation
import Testing

@testable import LFMTokenizer

/// Broken or unsupported tokenizer.json files and bad ids give typed errors with context.
@Suite struct BadInputTests {
    /// A minimal valid byte-level BPE document.
    static func document() -> [String: Any] {
        [
            "version": "1.0",
            "added_tokens": [["id": 3, "content": "<s>", "special": true]],
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel"],
            "model": ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2, "<s>": 3, "Ġ": 4], "merges": ["a b"]],
        ]
    }

    static func load(_ object: [String: Any]) throws -> Tokenizer {
        try Tokenizer(json: JSONSerialization.data(withJSONObject: object), source: "test.json")
    }

    static func expectError(_ object: [String: Any], _ check: (TokenizerError) -> Bool) {
        do {
            _ = try load(object)
            Issue.record("loading succeeded, expected an error")
        } catch let error as TokenizerError {
            #expect(check(error), "unexpected error: \(error)")
            #expect(error.description.contains("test.json"))
        } catch {
            Issue.record("untyped error \(error)")
        }
    }

    @Test func minimalDocumentLoads() throws {
        let tokenizer = try Self.load(Self.document())
        #expect(tokenizer.encode("ab a<s>") == [2, 4, 0, 3])
    }

    @Test func truncatedAndNonObjectJSON() throws {
        let full = try Fixtures.data("lfm2/tokenizer.json")
        #expect {
            _ = try Tokenizer(json: full.prefix(5000), source: "cut.json")
        } throws: { error in
            guard case let .invalidJSON(source, _) = error as? TokenizerError else { return false }
            return source == "cut.json"
        }
        #expect(throws: TokenizerError.invalidJSON(source: "x", reason: "top-level value is not an object")) {
            _ = try Tokenizer(json: Data("[1, 2]".utf8), source: "x")
        }
        #expect(throws: TokenizerError.self) {
            _ = try Tokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tokenizer.json"))
        }
    }

    @Test func missingFields() {
        var doc = Self.document()
        doc["model"] = nil
        Self.expectError(doc) { $0 == .missingField(source: "test.json", field: "model") }
        var model = Self.document()["model"] as? [String: Any] ?? [:]
        model["merges"] = nil
        doc = Self.document()
        doc["model"] = model
        Self.expectError(doc) { $0 == .missingField(source: "test.json", field: "model.merges") }
    }

    @Test func wrongFieldTypes() {
        var doc = Self.document()
        doc["model"] = ["type": "BPE", "vocab": ["a": "zero"], "merges": []]
        Self.expectError(doc) {
            if case let .invalidField(_, field, expected, _) = $0 { return field.contains("model.vocab") && expected == "an integer" }
            return false
        }
        doc["model"] = ["type": "BPE", "vocab": ["a": 0], "merges": ["a b c"]]
        Self.expectError(doc) {
            if case let .invalidField(_, field, _, _) = $0 { return field == "model.merges[0]" }
            return false
        }
    }

    @Test func absurdIdsAreRejected() {
        var doc = Self.document()
        doc["model"] = ["type": "BPE", "vocab": ["a": 2_000_000_000], "merges": []]
        Self.expectError(doc) {
            if case let .invalidField(_, field, _, found) = $0 { return field == "model.vocab[\"a\"]" && found == "2000000000" }
            return false
        }
        doc = Self.document()
        doc["added_tokens"] = [["id": -5, "content": "<x>", "special": true]]
        Self.expectError(doc) {
            if case let .invalidField(_, field, _, _) = $0 { return field == "added_tokens[0].id" }
            return false
        }
    }

    @Test func unknownStageTypes() {
        var doc = Self.document()
        doc["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "ByteLevel"], ["type": "Whitespace"]]]
        Self.expectError(doc) {
            if case let .unsupportedStage(_, field, type, _) = $0 {
                return field == "pre_tokenizer.pretokenizers[1].type" && type == "Whitespace"
            }
            return false
        }
        doc = Self.document()
        doc["normalizer"] = ["type": "BertNormalizer"]
        Self.expectError(doc) { if case .unsupportedStage(_, "normalizer.type", "BertNormalizer", _) = $0 { return true } else { return false } }
        doc = Self.document()
        doc["decoder"] = ["type": "WordPiece"]
        Self.expectError(doc) { if case .unsupportedStage(_, "decoder.type", "WordPiece", _) = $0 { return true } else { return false } }
        doc = Self.document()
        doc["post_processor"] = ["type": "Mystery"]
        Self.expectError(doc) { if case .unsupportedStage(_, "post_processor.type", "Mystery", _) = $0 { return true } else { return false } }
        doc = Self.document()
        doc["model"] = ["type": "Unigram", "vocab": []]
        Self.expectError(doc) { if case .unsupportedStage(_, "model.type", "Unigram", ["BPE"]) = $0 { return true } else { return false } }
    }

    @Test func unsupportedRegexNamesTheAlternative() {
        var doc = Self.document()
        doc["pre_tokenizer"] = [
            "type": "Split", "pattern": ["Regex": #"\p{L}+|[a-z]{2}"#], "behavior": "Isolated", "invert": false,
        ]
        Self.expectError(doc) {
            if case let .unsupportedRegex(_, field, _, alternative) = $0 {
                return field == "pre_tokenizer.pattern.Regex" && alternative == "[a-z]{2}"
            }
            return false
        }
        doc["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": #"\s+"#], "behavior": "Removed", "invert": false]
        Self.expectError(doc) { if case .unsupportedOption(_, "pre_tokenizer.behavior", _, _) = $0 { return true } else { return false } }
    }

    @Test func mergesOutsideTheVocabulary() {
        var doc = Self.document()
        doc["model"] = ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2], "merges": ["a b", "ab c"]]
        Self.expectError(doc) { $0 == .mergeNotInVocabulary(source: "test.json", index: 1, merge: "ab c", missing: "c") }
        doc["model"] = ["type": "BPE", "vocab": ["a": 0, "b": 1], "merges": [["a", "b"]]]
        Self.expectError(doc) { $0 == .mergeNotInVocabulary(source: "test.json", index: 0, merge: "a b", missing: "ab") }
    }

    @Test func decodeRejectsInvalidUTF8AndUnknownIds() throws {
        let tokenizer = try Fixtures.lfm2.get()
        let lead = try #require(tokenizer.id(for: ByteLevelAlphabet.string(of: [0xE4])))
        let a = try #require(tokenizer.id(for: "a"))
        #expect(throws: TokenizerError.invalidUTF8(byteOffset: 1, bytes: [0xE4], context: "decode")) {
            _ = try tokenizer.decode([a, lead])
        }
        #expect(throws: TokenizerError.invalidUTF8(byteOffset: 0, bytes: [0xE4], context: "decode")) {
            _ = try tokenizer.decode([lead, a])
        }
        #expect(try tokenizer.decode([lead, a], lossy: true) == "\u{FFFD}a")
        #expect(throws: TokenizerError.unknownTokenId(id: -1, vocabularySize: 64400)) { _ = try tokenizer.decode([-1]) }
        #expect(throws: TokenizerError.unknownTokenId(id: 64400, vocabularySize: 64400)) { _ = try tokenizer.decode([64400]) }
    }

    @Test func encodeBytesRejectsInvalidUTF8() throws {
        let tokenizer = try Fixtures.lfm2.get()
        #expect(throws: TokenizerError.invalidUTF8(byteOffset: 1, bytes: [0xFF], context: "encode(bytes:) input")) {
            _ = try tokenizer.encode(bytes: [0x61, 0xFF, 0x62])
        }
        #expect(throws: TokenizerError.invalidUTF8(byteOffset: 0, bytes: [0xE4, 0xB8], context: "encode(bytes:) input")) {
            _ = try tokenizer.encode(bytes: [0xE4, 0xB8])
        }
        #expect(throws: TokenizerError.invalidUTF8(byteOffset: 0, bytes: [0xED], context: "encode(bytes:) input")) {
            _ = try tokenizer.encode(bytes: [0xED, 0xA0, 0x80])  // surrogate
        }
    }
}
