import Foundation
import LFMModels
import Testing
@testable import LFMSearch
#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite struct SearchReportTests {
    /// Five candidates: 0 and 1 trade perplexity for cache, 2 is dominated by 0, 3 has no
    /// perplexity but the smallest cache and latency, 4 is dominated by everything finite.
    func handMade() throws -> (URL, [CandidateRecord]) {
        let directory = temporaryDirectory("report")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let genome = try LIVGenome(text: "h64x4x16 C3:64 A2:128")
        let rows: [(Double?, Int, Double, Double?)] = [(10, 100, 100, 1), (12, 120, 50, 1), (11, 90, 100, 2),
                                                       (nil, 80, 10, 0.5), (20, 70, 200, 3)]
        let records = rows.enumerated().map { i, row in
            CandidateRecord(index: i, generation: 0, genome: genome, perplexity: row.0, parameters: row.1,
                            cacheBytesPerToken: row.2, decodeMsPerToken: row.3)
        }
        let files = SearchFiles(directory: directory)
        for record in records { try SearchFiles.append(record.jsonLine, to: files.candidates) }
        let reference = CandidateRecord(index: 0, generation: nil, name: "llama", genome: genome, perplexity: 9,
                                        parameters: 100, cacheBytesPerToken: 512, decodeMsPerToken: 1.5)
        try SearchFiles.append(reference.jsonLine, to: files.references)
        return (directory, records)
    }

    @Test func jsonHasTheContractShapeAndParetoIndices() throws {
        let (directory, _) = try handMade()
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = try SearchReport(directory: directory)
        #expect(report.pareto == [0, 1, 3])
        let json = report.json
        #expect(!json.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let candidates = try #require(object["candidates"] as? [[String: Any]])
        #expect(candidates.count == 5)
        for (i, candidate) in candidates.enumerated() {
            for key in ["genome", "perplexity", "parameters", "cache_bytes_per_token", "decode_ms_per_token"] {
                #expect(candidate[key] != nil, "candidate \(i) lacks \(key)")
            }
            #expect(candidate["genome"] as? String == "h64x4x16 C3:64 A2:128")
        }
        #expect((candidates[1]["perplexity"] as? NSNumber)?.doubleValue == 12)
        #expect(candidates[3]["perplexity"] is NSNull)
        #expect((candidates[4]["parameters"] as? NSNumber)?.intValue == 70)
        #expect((object["pareto"] as? [Int]) == [0, 1, 3])
        #expect(((object["references"] as? [[String: Any]])?.first?["name"] as? String) == "llama")
        // Adding parameters as an objective makes 4 (the fewest parameters) non-dominated too.
        let withParameters = try SearchReport(directory: directory, objectives: [.perplexity, .cache, .latency, .parameters])
        #expect(withParameters.pareto == [0, 1, 2, 3, 4])
        let perplexityOnly = try SearchReport(directory: directory, objectives: [.perplexity])
        #expect(perplexityOnly.pareto == [0])
        #expect(report.table.contains("h64x4x16 C3:64 A2:128") && report.table.contains("llama"))
    }

    @Test func aMissingDirectoryIsATypedError() {
        #expect(throws: SearchError.self) { try SearchReport(directory: temporaryDirectory("none")) }
    }

    @Test func svgIsWellFormedAndHoldsThePoints() throws {
        let (directory, _) = try handMade()
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = try SearchReport(directory: directory)
        let url = directory.appendingPathComponent("front.svg")
        try ParetoPlot.write(report, to: url)
        let svg = try String(contentsOf: url, encoding: .utf8)
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.hasSuffix("</svg>\n"))
        // Four candidates have a perplexity (3 has none), in each of two panels; 0 and 1 are on the front.
        #expect(svg.components(separatedBy: "<circle").count - 1 == 8)
        #expect(svg.components(separatedBy: "class=\"pareto\"").count - 1 == 4)
        #expect(svg.components(separatedBy: "class=\"reference\"").count - 1 == 2)
        #expect(!svg.contains("nan") && !svg.contains("inf"))
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    }

    @Test func objectivesParseByName() throws {
        #expect(try SearchObjective.parseList("perplexity,cache,latency,parameters") == [.perplexity, .cache, .latency, .parameters])
        #expect(try SearchObjective.parseList("decode_ms_per_token, cache_bytes_per_token") == [.latency, .cache])
        #expect(throws: SearchError.unknownObjective(name: "speed")) { try SearchObjective.parseList("perplexity,speed") }
        #expect(throws: SearchError.self) { try SearchObjective.parseList("cache,cache") }
    }
}
