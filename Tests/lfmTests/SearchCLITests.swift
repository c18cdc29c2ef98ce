import Foundation
import Testing

/// `lfm search` command-line contracts (issue 17), run on the built binary.
@Suite(.serialized) struct SearchCLITests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-search-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A search directory with three hand-made records: 0 and 2 trade perplexity for cache, 1 is
    /// dominated by 0.
    func handMadeSearch(_ root: URL) throws -> URL {
        let directory = root.appendingPathComponent("search")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let rows = [(40.5, 256.0, 0.9), (41.0, 256.0, 1.2), (55.25, 0.5, 0.4)]
        let lines = rows.enumerated().map { i, row in
            "{\"index\":\(i),\"generation\":0,\"genome\":\"h32x2x16 C3:32 A1:64\",\"integers\":[32,2,16,0,3,0,0,32,0,1,1,0,0,64,0],"
                + "\"perplexity\":\(row.0),\"parameters\":150000,\"cache_bytes_per_token\":\(row.1),"
                + "\"decode_ms_per_token\":\(row.2),\"train_seconds\":1.0,\"tokens_trained\":100}"
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: directory.appendingPathComponent("candidates.jsonl"))
        return directory
    }

    @Test func showPrintsTheContractJSONLastAndWritesThePlot() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try handMadeSearch(root)
        let plot = root.appendingPathComponent("front.svg").path
        let show = try CLI.run(["search", "show", directory.path, "--json", "--plot", plot])
        #expect(show.status == 0, "\(show.stderr)")
        let line = try #require(show.stdout.split(separator: "\n").last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let candidates = try #require(object["candidates"] as? [[String: Any]])
        #expect(candidates.count == 3)
        #expect(candidates[2]["genome"] as? String == "h32x2x16 C3:32 A1:64")
        #expect((candidates[2]["cache_bytes_per_token"] as? NSNumber)?.doubleValue == 0.5)
        #expect(object["pareto"] as? [Int] == [0, 2])
        #expect(try String(contentsOfFile: plot, encoding: .utf8).hasPrefix("<svg"))

        let perplexityOnly = try CLI.run(["search", "show", directory.path, "--json", "--objectives", "perplexity"])
        let only = try #require(perplexityOnly.stdout.split(separator: "\n").last)
        #expect(try (JSONSerialization.jsonObject(with: Data(only.utf8)) as? [String: Any])?["pareto"] as? [Int] == [0])

        let table = try CLI.run(["search", "show", directory.path])
        #expect(table.status == 0 && table.stdout.contains("h32x2x16 C3:32 A1:64"))
    }

    @Test func errorsAreTypedMessages() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let missing = try CLI.run(["search", "show", root.appendingPathComponent("nothing").path, "--json"])
        #expect(missing.status != 0 && missing.stderr.contains("not a search directory"))
        let objective = try CLI.run(["search", "show", try handMadeSearch(root).path, "--objectives", "speed"])
        #expect(objective.status != 0 && objective.stderr.contains("unknown objective 'speed'"))
        let export = try CLI.run(["search", "export", root.appendingPathComponent("search").path, "--candidate", "0",
                                  "--out", root.appendingPathComponent("model").path])
        #expect(export.status != 0 && export.stderr.contains("search.json"))
        // `lfm search --corpus …` reaches the run subcommand (the default); a missing corpus is named.
        let run = try CLI.run(["search", "--corpus", root.appendingPathComponent("none.txt").path, "--budget", "1",
                               "--seed", "1", "--out", root.appendingPathComponent("out").path, "--quick"])
        #expect(run.status != 0 && run.stderr.contains("none.txt"))
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("out").path))
    }

    /// A real (tiny) search end to end: trains and times candidates with the bundled tokenizer,
    /// resumes with a larger budget keeping the first records byte for byte, shows the front, and
    /// exports a candidate that `lfm info` and `lfm generate` run.
    @Test func quickSearchTrainsResumesShowsAndExports() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = root.appendingPathComponent("corpus.txt")
        let sentences = ["Return the number of items in the container.", "Raise ValueError if the key is missing.",
                         "The default value is used when no argument is given.", "Open the file and read its lines."]
        try Data((0..<300).map { sentences[$0 % sentences.count] }.joined(separator: "\n").utf8).write(to: corpus)
        let out = root.appendingPathComponent("search")
        func search(budget: Int) throws -> CLI.Result {
            try CLI.run(["search", "--corpus", corpus.path, "--budget", "\(budget)", "--seed", "5", "--out", out.path,
                         "--quick", "--population", "2", "--train-steps", "3", "-t", "1"])
        }
        let first = try search(budget: 2)
        #expect(first.status == 0, "\(first.stderr)")
        let database = out.appendingPathComponent("candidates.jsonl")
        let before = try String(contentsOf: database, encoding: .utf8)
        let resumed = try search(budget: 3)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try String(contentsOf: database, encoding: .utf8)
        #expect(after.hasPrefix(before) && after.split(separator: "\n").count == 3)

        let show = try CLI.run(["search", "show", out.path, "--json"])
        #expect(show.status == 0, "\(show.stderr)")
        let line = try #require(show.stdout.split(separator: "\n").last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let candidates = try #require(object["candidates"] as? [[String: Any]])
        #expect(candidates.count == 3)
        for candidate in candidates {
            let perplexity = try #require((candidate["perplexity"] as? NSNumber)?.doubleValue)
            let latency = try #require((candidate["decode_ms_per_token"] as? NSNumber)?.doubleValue)
            #expect(perplexity > 1 && perplexity.isFinite && latency > 0)
        }

        let model = root.appendingPathComponent("found")
        let export = try CLI.run(["search", "export", out.path, "--candidate", "1", "--out", model.path])
        #expect(export.status == 0, "\(export.stderr)")
        let info = try CLI.run(["info", "--model", model.path, "--json"])
        #expect(info.status == 0 && info.stdout.contains(candidates[1]["genome"] as? String ?? "?"), "\(info.stderr)")
        let generate = try CLI.run(["generate", "--model", model.path, "--prompt", "Return the", "--max-tokens", "4",
                                    "--temperature", "0", "--json"])
        #expect(generate.status == 0, "\(generate.stderr)")
    }
}
