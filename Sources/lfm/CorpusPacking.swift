import Foundation
import LFMTokenizer
import LFMTraining

/// Tokenizes the text file `path` once into the packed token file `packed` (reused while it is
/// newer than the text), and opens it.
func packCorpus(_ path: String, into packed: String, tokenizer: Tokenizer) throws -> TokenDataset {
    let manager = FileManager.default
    let textDate = (try? manager.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
    let packedDate = (try? manager.attributesOfItem(atPath: packed)[.modificationDate] as? Date) ?? nil
    if let textDate, let packedDate, packedDate >= textDate, let dataset = try? TokenDataset(path: packed) { return dataset }
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard !data.isEmpty else { throw TrainingError.emptyCorpus(path: path) }
    let tokens = try tokenizer.encode(bytes: Array(data), addSpecialTokens: false)
    try TokenDataset.write(tokens, to: packed)
    return try TokenDataset(path: packed)
}
