import Foundation

/// `lfm search export`: a candidate's trained model folder, as the evaluator saved it in
/// `DIR/candidates/<index>/model`, copied to a new folder with the search's tokenizer files.
public enum SearchExport {
    /// Tokenizer files copied from the tokenizer's folder when present (and not already in the model).
    public static let tokenizerCompanions = ["tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"]

    /// Copies candidate `index` of the search in `directory` to `destination` (which must not exist
    /// or be an empty folder); returns the candidate's record.
    @discardableResult
    public static func export(directory: URL, candidate index: Int, to destination: URL) throws -> CandidateRecord {
        let files = SearchFiles(directory: directory)
        let configuration = try SearchConfiguration.read(files.settings)
        let records = try SearchFiles.readRecords(files.candidates, truncateTornTail: false)
        guard index >= 0, index < records.count else {
            throw SearchError.missing(path: files.candidates.path,
                                      detail: "no candidate \(index): the search has evaluated \(records.count) (0…\(records.count - 1))")
        }
        let source = files.candidateDirectory(index).appendingPathComponent("model")
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: source.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SearchError.missing(path: source.path, detail: "candidate \(index) has no saved model folder (the evaluator did not keep one)")
        }
        if manager.fileExists(atPath: destination.path) {
            let contents = (try? manager.contentsOfDirectory(atPath: destination.path)) ?? ["?"]
            guard contents.isEmpty else {
                throw SearchError.writeFailed(path: destination.path, detail: "exists and is not an empty folder")
            }
            try? manager.removeItem(at: destination)
        }
        do {
            try manager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try manager.copyItem(at: source, to: destination)
        } catch {
            throw SearchError.writeFailed(path: destination.path, detail: error.localizedDescription)
        }
        let tokenizer = URL(fileURLWithPath: configuration.tokenizerPath)
        let wanted = [("tokenizer.json", tokenizer)]
            + tokenizerCompanions.map { ($0, tokenizer.deletingLastPathComponent().appendingPathComponent($0)) }
        for (name, file) in wanted where !manager.fileExists(atPath: destination.appendingPathComponent(name).path) {
            guard manager.fileExists(atPath: file.path) else {
                if name == "tokenizer.json" {
                    throw SearchError.missing(path: file.path, detail: "the search's tokenizer is gone and the model folder has none")
                }
                continue
            }
            do { try manager.copyItem(at: file, to: destination.appendingPathComponent(name)) } catch {
                throw SearchError.writeFailed(path: destination.appendingPathComponent(name).path, detail: error.localizedDescription)
            }
        }
        return records[index]
    }
}
