import Foundation
import Testing

/// `lfm liquid` command-line contracts (issue 16), run on the built binary.
@Suite(.serialized) struct LiquidCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("LFMLiquidTests/Fixtures")

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-liquid-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func lastJSON(_ stdout: String) throws -> [String: Any] {
        let line = try #require(stdout.split(separator: "\n").last)
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func trainEvalPredictStream() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = Self.fixtures.appendingPathComponent("BasicMotions_excerpt.ts").path
        let model = dir.appendingPathComponent("model").path
        let train = try CLI.run(["liquid", "train", "--data", data, "--cell", "cfc", "--units", "4", "--epochs", "2",
                                 "--seed", "1", "--out", model, "--json"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(try lastJSON(train.stdout)["epochs"] as? Int == 2)
        #expect(train.stderr.contains("epoch 2/2"))
        let log = try String(contentsOfFile: model + "/train_log.jsonl", encoding: .utf8)
        #expect(log.split(separator: "\n").count == 2)
        #expect(FileManager.default.fileExists(atPath: model + "/model.safetensors"))

        let eval = try CLI.run(["liquid", "eval", "--model", model, "--data", data, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let accuracy = try #require(try lastJSON(eval.stdout)["accuracy"] as? Double)
        #expect(accuracy >= 0 && accuracy <= 1)

        // Three steps of six features; predict and stream must agree step by step.
        let rows = ["0.1,0.2,0.3,0.4,0.5,0.6", "-0.3,0.1,0.0,0.2,0.9,-1.0", "1,2,3,4,5,6"]
        let csv = dir.appendingPathComponent("x.csv").path
        try (rows.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let predict = try CLI.run(["liquid", "predict", "--model", model, "--input", csv, "--json"])
        #expect(predict.status == 0, "\(predict.stderr)")
        let outputs = try #require(try lastJSON(predict.stdout)["outputs"] as? [[Double]])
        #expect(outputs.count == 3 && outputs.allSatisfy { $0.count == 4 })
        let stream = try CLI.run(["liquid", "stream", "--model", model, "--json"], stdin: rows.joined(separator: "\n") + "\n")
        #expect(stream.status == 0, "\(stream.stderr)")
        let streamed = try stream.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Double])
        }
        #expect(streamed.count == 3)
        for (a, b) in zip(streamed, outputs) { for (x, y) in zip(a, b) { #expect(abs(x - y) < 1e-5) } }
    }

    @Test func predictMatchesNcpsFixture() throws {
        // cfc_pure_nobackbone_ts: batch 1, with timespans and an initial state in the fixture; here the
        // zero state is used, so only shape and the timespans contract are checked against errors.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = Self.fixtures.appendingPathComponent("cfc_pure_nobackbone_ts").path
        let csv = dir.appendingPathComponent("x.csv").path, ts = dir.appendingPathComponent("t.csv").path
        try "1,2,3\n4,5,6\n".write(toFile: csv, atomically: true, encoding: .utf8)
        try "0.5\n1.5\n".write(toFile: ts, atomically: true, encoding: .utf8)
        let ok = try CLI.run(["liquid", "predict", "--model", model, "--input", csv, "--timespans", ts, "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try #require(try lastJSON(ok.stdout)["outputs"] as? [[Double]]).count == 2)

        try "0.5\n0\n".write(toFile: ts, atomically: true, encoding: .utf8)
        let zero = try CLI.run(["liquid", "predict", "--model", model, "--input", csv, "--timespans", ts, "--json"])
        #expect(zero.status != 0)
        #expect(zero.stderr.contains("t.csv:2"), "\(zero.stderr)")

        try "1,2,3\n4,5\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let ragged = try CLI.run(["liquid", "predict", "--model", model, "--input", csv, "--json"])
        #expect(ragged.status != 0)
        #expect(ragged.stderr.contains("x.csv:2"), "\(ragged.stderr)")
    }

    @Test func helpHasExamples() throws {
        let help = try CLI.run(["liquid", "--help"])
        #expect(help.stdout.contains("lfm liquid train --data"))
        #expect(help.stdout.contains("lfm liquid eval --model"))
    }
}
