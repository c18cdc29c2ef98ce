import Foundation
import LFMModels

/// The results of a search directory as `lfm search show` prints them: the candidates in
/// evaluation order, the indices of the Pareto front, and the references.
public struct SearchReport: Sendable {
    public var candidates: [CandidateRecord]
    public var references: [CandidateRecord]
    public var objectives: [SearchObjective]
    /// 0-based indices of the candidates no other candidate dominates on `objectives`, ascending.
    public var pareto: [Int]

    /// A report of the given records.
    public init(candidates: [CandidateRecord], references: [CandidateRecord] = [],
                objectives: [SearchObjective] = SearchObjective.defaults) {
        self.candidates = candidates
        self.references = references
        self.objectives = objectives
        let points = candidates.map { record in objectives.map { $0.value(of: record) } }
        pareto = NSGA2.nonDominatedSort(points).first ?? []
    }

    /// Reads a search directory's databases (read-only: a torn last line is skipped, not cut).
    public init(directory: URL, objectives: [SearchObjective] = SearchObjective.defaults) throws {
        let files = SearchFiles(directory: directory)
        guard FileManager.default.fileExists(atPath: files.candidates.path)
                || FileManager.default.fileExists(atPath: files.settings.path) else {
            throw SearchError.missing(path: directory.path, detail: "not a search directory (no candidates.jsonl or search.json)")
        }
        self.init(candidates: try SearchFiles.readRecords(files.candidates, truncateTornTail: false),
                  references: try SearchFiles.readRecords(files.references, truncateTornTail: false), objectives: objectives)
    }

    /// The report as one line of JSON: `{"candidates": […], "pareto": […], "references": […]}`.
    public var json: String {
        func entry(_ r: CandidateRecord, reference: Bool) -> String {
            var parts: [String] = []
            if reference { parts.append("\"name\": \(jsonString(r.name ?? ""))") } else { parts.append("\"index\": \(r.index)") }
            parts += ["\"genome\": \(jsonString(r.genome.description))",
                      "\"integers\": [\(r.genome.integers.map(String.init).joined(separator: ", "))]",
                      "\"perplexity\": \(jsonNumber(r.perplexity))", "\"parameters\": \(r.parameters)",
                      "\"cache_bytes_per_token\": \(jsonNumber(r.cacheBytesPerToken))",
                      "\"decode_ms_per_token\": \(jsonNumber(r.decodeMsPerToken))"]
            if !reference, let generation = r.generation { parts.append("\"generation\": \(generation)") }
            return "{" + parts.joined(separator: ", ") + "}"
        }
        let list = candidates.map { entry($0, reference: false) }.joined(separator: ", ")
        let refs = references.map { entry($0, reference: true) }.joined(separator: ", ")
        let front = pareto.map(String.init).joined(separator: ", ")
        let names = objectives.map { jsonString($0.rawValue) }.joined(separator: ", ")
        return "{\"candidates\": [\(list)], \"pareto\": [\(front)], \"references\": [\(refs)], \"objectives\": [\(names)]}"
    }

    /// The Pareto front (then the references) as a text table.
    public var table: String {
        let header = ["index", "perplexity", "parameters", "cache B/tok", "decode ms/tok", "genome"]
        var rows = pareto.map { i -> [String] in
            let r = candidates[i]
            return [String(i), format(r.perplexity, digits: 2), String(r.parameters), format(r.cacheBytesPerToken, digits: 1),
                    format(r.decodeMsPerToken, digits: 3), r.genome.description]
        }
        rows += references.map { r in
            [r.name ?? "ref", format(r.perplexity, digits: 2), String(r.parameters), format(r.cacheBytesPerToken, digits: 1),
             format(r.decodeMsPerToken, digits: 3), r.genome.description]
        }
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                c == cells.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        let objectiveNames = objectives.map(\.rawValue).joined(separator: ", ")
        var out = ["Pareto front on \(objectiveNames): \(pareto.count) of \(candidates.count) candidates"
                   + (references.isEmpty ? "" : " (references below the front)"), line(header)]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}
