import Foundation
import Testing

@testable import LFMTokenizer

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue {
        try Array(text.utf8).withUnsafeBufferPointer { try JSONParser.parse($0) }
    }

    func parse(bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { try JSONParser.parse($0) }
    }

    @Test func parsesValuesAndEscapes() throws {
        let value = try parse(#" {"a": [1, -2.5e1, true, false, null], "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\uFEFFy", "e": {}} "#)
        guard case let .object(members) = value else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.0) == ["a", "s", "e"])
        #expect(members[0].1 == .array([.number(1, integer: 1), .number(-25, integer: nil), .bool(true), .bool(false), .null]))
        #expect(members[1].1 == .string("x\"\\/\u{8}\u{C}\n\r\té😀\u{FEFF}y"))
        #expect(members[2].1 == .object([]))
    }

    @Test(arguments: [
        "", "{", "{\"a\" 1}", "{\"a\": 1,}", "[1 2]", "[01]", "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"",
        "tru", "1.", "1e", "{} x", "\"a\tb\"", "[-]",
    ])
    func rejectsMalformedJSON(text: String) {
        #expect(throws: JSONParser.Failure.self) { try parse(text) }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONParser.Failure.self) { try parse(bytes: [0x22, 0xFF, 0x22]) }
        #expect(throws: JSONParser.Failure.self) { try parse(String(repeating: "[", count: 10_000)) }
    }

    @Test func invalidUTF8TokenizerFileIsATypedError() {
        var bytes = Array(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#.utf8)
        bytes[38] = 0xC0
        #expect {
            _ = try Tokenizer(json: Data(bytes), source: "bad.json")
        } throws: { error in
            guard case let .invalidJSON(source, reason) = error as? TokenizerError else { return false }
            return source == "bad.json" && reason.contains("UTF-8")
        }
    }
}
