import Foundation
import LFMHub
import LFMTokenizer
import LFMTraining

/// Tokenizes the text file `path` once into the packed token file `packed`, and opens it.
///
/// The packed file is reused while it is newer than the text and was made by the same tokenizer:
/// the SHA-256 of `tokenizerFile` is kept next to it in `packed.tokenizer-sha256`, so a corpus
/// shared by models with different vocabularies is tokenized again for each.
func packCorpus(_ path: String, into packed: String, tokenizer: Tokenizer, tokenizerFile: URL) throws -> TokenDataset {
    let manager = FileManager.default
    let stamp = packed + ".tokenizer-sha256"
    let identity = try fileSHA256(tokenizerFile.hasDirectoryPath || isDirectory(tokenizerFile)
                                  ? tokenizerFile.appendingPathComponent("tokenizer.json") : tokenizerFile)
    let textDate = (try? manager.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
    let packedDate = (try? manager.attributesOfItem(atPath: packed)[.modificationDate] as? Date) ?? nil
    let recorded = try? String(contentsOfFile: stamp, encoding: .utf8)
    if let textDate, let packedDate, packedDate >= textDate, recorded == identity,
       let dataset = try? TokenDataset(path: packed) {
        return dataset
    }
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard !data.isEmpty else { throw TrainingError.emptyCorpus(path: path) }
    let tokens = try tokenizer.encode(bytes: Array(data), addSpecialTokens: false)
    try TokenDataset.write(tokens, to: packed)
    try Data(identity.utf8).write(to: URL(fileURLWithPath: stamp), options: .atomic)
    return try TokenDataset(path: packed)
}

private func isDirectory(_ url: URL) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
}

/// SHA-256 of a file, hex, read in 1 MiB pieces.
func fileSHA256(_ url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var hash = LFMHub.SHA256()
    while true {
        let chunk = handle.readData(ofLength: 1 << 20)
        if chunk.isEmpty { break }
        hash.update(chunk)
    }
    return LFMHub.SHA256.hex(hash.finalize())
}
