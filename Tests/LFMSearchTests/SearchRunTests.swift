import Foundation
import LFMModels
import Testing
@testable import LFMSearch

@Suite struct SearchRunTests {
    func run(_ directory: URL, seed: UInt64 = 5, budget: Int, failAt: Int? = nil) throws -> [CandidateRecord] {
        let search = try SearchRun(directory: directory, configuration: quickConfiguration(seed: seed), settings: testSettings)
        return try search.run(budget: budget, evaluator: StubEvaluator(settings: testSettings, failAt: failAt))
    }

    func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    @Test func sameSeedGivesIdenticalDatabases() throws {
        let a = temporaryDirectory("det-a"), b = temporaryDirectory("det-b"), c = temporaryDirectory("det-c")
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(at: d) } }
        let records = try run(a, budget: 14)
        _ = try run(b, budget: 14)
        _ = try run(c, seed: 6, budget: 14)
        let files = SearchFiles(directory: a)
        #expect(records.count == 14)
        #expect(try bytes(files.candidates) == bytes(SearchFiles(directory: b).candidates))
        #expect(try bytes(files.checkpoint) == bytes(SearchFiles(directory: b).checkpoint))
        #expect(try bytes(files.candidates) != bytes(SearchFiles(directory: c).candidates))
        // Four generations of four: 0…3 in generation 0, then offspring; no genome evaluated twice.
        #expect(records.map { $0.generation ?? -1 } == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3])
        #expect(Set(records.map(\.genome)).count == records.count)
        #expect(records.allSatisfy { SearchSpace.quick.contains($0.genome, testSettings) })
        #expect(records.map(\.index) == Array(0..<14))
        // The evaluator's folder of each candidate exists.
        #expect(FileManager.default.fileExists(atPath: files.candidateDirectory(13).path))
        // Re-reading gives the records returned.
        #expect(try SearchFiles.readRecords(files.candidates) == records)
    }

    @Test func resumingWithALargerBudgetEqualsOneUninterruptedRun() throws {
        let whole = temporaryDirectory("whole"), parts = temporaryDirectory("parts")
        defer { for d in [whole, parts] { try? FileManager.default.removeItem(at: d) } }
        _ = try run(whole, budget: 13)
        _ = try run(parts, budget: 6)
        let firstSix = try bytes(SearchFiles(directory: parts).candidates)
        _ = try run(parts, budget: 6) // nothing to do
        #expect(try bytes(SearchFiles(directory: parts).candidates) == firstSix)
        _ = try run(parts, budget: 9)
        _ = try run(parts, budget: 13)
        let resumed = try bytes(SearchFiles(directory: parts).candidates)
        #expect(resumed == (try bytes(SearchFiles(directory: whole).candidates)))
        #expect(resumed.prefix(firstSix.count) == firstSix)
    }

    @Test func aKillMidEvaluationResumesAtTheUnevaluatedCandidate() throws {
        let whole = temporaryDirectory("whole-k"), killed = temporaryDirectory("killed")
        defer { for d in [whole, killed] { try? FileManager.default.removeItem(at: d) } }
        _ = try run(whole, budget: 12)
        #expect(throws: StubEvaluator.Killed.self) { try run(killed, budget: 12, failAt: 9) }
        let beforeKill = try bytes(SearchFiles(directory: killed).candidates)
        #expect(try SearchFiles.readRecords(SearchFiles(directory: killed).candidates).count == 9)
        // A torn last line (a write cut short) is not a record and is dropped on resume.
        let handle = try FileHandle(forWritingTo: SearchFiles(directory: killed).candidates)
        handle.seekToEndOfFile()
        handle.write(Data("{\"index\":9,\"gen".utf8))
        handle.closeFile()
        let search = try SearchRun(directory: killed, configuration: quickConfiguration(seed: 5), settings: testSettings)
        let evaluator = StubEvaluator(settings: testSettings)
        try search.run(budget: 12, evaluator: evaluator)
        #expect(evaluator.calls.indices == [9, 10, 11])
        let resumed = try bytes(SearchFiles(directory: killed).candidates)
        #expect(resumed == (try bytes(SearchFiles(directory: whole).candidates)))
        #expect(resumed.prefix(beforeKill.count) == beforeKill)
    }

    @Test func refusesToResumeWithOtherSettings() throws {
        let directory = temporaryDirectory("refuse")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try run(directory, budget: 2)
        #expect {
            try run(directory, seed: 99, budget: 4)
        } throws: { error in
            guard case SearchError.settingsMismatch(_, let field, let recorded, let requested) = error else { return false }
            return field == "seed" && recorded == "5" && requested == "99"
        }
        var other = quickConfiguration(seed: 5)
        other.objectives = [.perplexity, .parameters]
        #expect(throws: SearchError.self) { try SearchRun(directory: directory, configuration: other, settings: testSettings) }
        var space = quickConfiguration(seed: 5)
        space.space.maxLayers = 3
        #expect(throws: SearchError.self) { try SearchRun(directory: directory, configuration: space, settings: testSettings) }
        var corpus = quickConfiguration(seed: 5)
        corpus.corpusSHA256 = "another corpus"
        #expect(throws: SearchError.self) { try SearchRun(directory: directory, configuration: corpus, settings: testSettings) }
        // The corpus and tokenizer are compared by hash, not path (another working directory or build).
        var moved = quickConfiguration(seed: 5)
        moved.corpusPath = "/elsewhere/corpus.txt"
        moved.tokenizerPath = "/release/tokenizer.json"
        _ = try SearchRun(directory: directory, configuration: moved, settings: testSettings)
        // The refused attempts changed nothing; the same settings still resume.
        #expect(try run(directory, budget: 4).count == 4)
    }

    @Test func referencesGoToTheirOwnDatabase() throws {
        let directory = temporaryDirectory("refs")
        defer { try? FileManager.default.removeItem(at: directory) }
        let search = try SearchRun(directory: directory, configuration: quickConfiguration(seed: 3), settings: testSettings)
        let evaluator = StubEvaluator(settings: testSettings)
        let references = try search.runReferences(parameterTarget: 300_000, evaluator: evaluator)
        #expect(references.map(\.name) == ["llama", "lfm2", "lfm3"])
        try search.runReferences(parameterTarget: 300_000, evaluator: evaluator)
        #expect(evaluator.calls.indices == [0, 1, 2])
        #expect(try SearchFiles.readRecords(search.files.candidates).isEmpty)
        #expect(throws: SearchError.self) { try search.runReferences(parameterTarget: 900_000, evaluator: evaluator) }
    }

    @Test func recordsRoundTripThroughTheirJSONLine() throws {
        let genome = try LIVGenome(text: "h64x4x16 C3:64 A2g:128e4 R4^2:32")
        let record = CandidateRecord(index: 3, generation: 1, genome: genome, perplexity: 41.25, parameters: 12345,
                                     cacheBytesPerToken: 0.5, decodeMsPerToken: nil, trainSeconds: 2, tokensTrained: 99)
        let line = record.jsonLine
        #expect(line.contains("\"decode_ms_per_token\":null"))
        #expect(try CandidateRecord(jsonLine: Substring(line), path: "x", line: 1) == record)
        #expect(throws: SearchError.self) { try CandidateRecord(jsonLine: "{\"index\": 1}", path: "x", line: 1) }
        #expect(throws: SearchError.self) { try CandidateRecord(jsonLine: "[1,", path: "x", line: 1) }
    }
}
