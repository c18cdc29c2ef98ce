import Foundation
import LFMModels
import Testing
@testable import LFMSearch

@Suite struct SearchExportTests {
    @Test func copiesTheSavedModelAndTheTokenizer() throws {
        let root = temporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: root) }
        let tokenizerFolder = root.appendingPathComponent("tok")
        try FileManager.default.createDirectory(at: tokenizerFolder, withIntermediateDirectories: true)
        try Data("{\"model\": {}}".utf8).write(to: tokenizerFolder.appendingPathComponent("tokenizer.json"))
        try Data("{}".utf8).write(to: tokenizerFolder.appendingPathComponent("tokenizer_config.json"))
        var configuration = quickConfiguration(seed: 2)
        configuration.tokenizerPath = tokenizerFolder.appendingPathComponent("tokenizer.json").path
        let directory = root.appendingPathComponent("search")
        let search = try SearchRun(directory: directory, configuration: configuration, settings: testSettings)
        let records = try search.run(budget: 3, evaluator: StubEvaluator(settings: testSettings, saveModel: true))

        let out = root.appendingPathComponent("models/found")
        let record = try SearchExport.export(directory: directory, candidate: 2, to: out)
        #expect(record == records[2])
        let config = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains(records[2].genome.description))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer.json").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer_config.json").path))

        // A second export to the same (now non-empty) folder, a candidate not evaluated, and one
        // without a saved model are typed errors.
        #expect(throws: SearchError.self) { try SearchExport.export(directory: directory, candidate: 1, to: out) }
        #expect(throws: SearchError.self) {
            try SearchExport.export(directory: directory, candidate: 3, to: root.appendingPathComponent("m3"))
        }
        try FileManager.default.removeItem(at: search.files.candidateDirectory(0).appendingPathComponent("model"))
        #expect(throws: SearchError.self) {
            try SearchExport.export(directory: directory, candidate: 0, to: root.appendingPathComponent("m0"))
        }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("m0").path))
    }
}
