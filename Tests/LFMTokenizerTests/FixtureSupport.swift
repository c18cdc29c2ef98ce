import Foundation
import Testing

@testable import LFMTokenizer

/// Access to the files under Tests/LFMTokenizerTests/Fixtures.
enum Fixtures {
    static var root: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw FixtureError.missing("Fixtures")
            }
            return url
        }
    }

    static func url(_ path: String) throws -> URL { try root.appendingPathComponent(path) }

    static func data(_ path: String) throws -> Data { try Data(contentsOf: url(path)) }

    /// The real LFM2 tokenizer (loaded once).
    static let lfm2: Result<Tokenizer, Error> = Result { try Tokenizer(contentsOf: url("lfm2/tokenizer.json")) }

    /// Parses a JSON-lines file into objects.
    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        let text = String(decoding: try data(path), as: UTF8.self)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw FixtureError.malformed(path)
            }
            return object
        }
    }

    /// Reads LEB128 varints.
    struct VarintReader {
        let bytes: [UInt8]
        var offset = 0

        mutating func next() throws -> Int {
            var value = 0
            var shift = 0
            while true {
                guard offset < bytes.count else { throw FixtureError.malformed("ids.bin ends early") }
                let b = bytes[offset]
                offset += 1
                value |= Int(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
        }

        mutating func list() throws -> [Int] {
            let count = try next()
            return try (0..<count).map { _ in try next() }
        }
    }

    /// One LFM2 corpus case with the reference ids.
    struct Case {
        let name: String
        let text: String
        let ids: [Int]
        let idsWithSpecial: [Int]
    }

    static func lfm2Cases() throws -> [Case] {
        let lines = try jsonLines("lfm2/cases.jsonl")
        var reader = VarintReader(bytes: [UInt8](try data("lfm2/ids.bin")))
        var cases: [Case] = []
        for line in lines {
            guard let name = line["name"] as? String, let text = line["text"] as? String else {
                throw FixtureError.malformed("lfm2/cases.jsonl")
            }
            let ids = try reader.list()
            let prefix = try reader.list()
            let suffix = try reader.list()
            cases.append(Case(name: name, text: text, ids: ids, idsWithSpecial: prefix + ids + suffix))
        }
        guard reader.offset == reader.bytes.count else { throw FixtureError.malformed("ids.bin has trailing bytes") }
        return cases
    }
}

enum FixtureError: Error {
    case missing(String)
    case malformed(String)
}

/// A readable account of the first difference between two id lists.
func firstDifference(_ ours: [Int], _ reference: [Int], _ tokenizer: Tokenizer) -> String {
    let common = zip(ours, reference).prefix { $0 == $1 }.count
    let lo = max(0, common - 3)
    func show(_ ids: [Int]) -> String {
        ids[lo..<min(ids.count, common + 4)].map { "\($0):\((tokenizer.token(for: $0) ?? "?").debugDescription)" }
            .joined(separator: " ")
    }
    return "first difference at index \(common) (ours \(ours.count) ids, reference \(reference.count)); "
        + "ours: \(show(ours)) | reference: \(show(reference))"
}
