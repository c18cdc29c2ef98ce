import Foundation
import LFMModels
import LFMSearch
import LFMTokenizer

/// The evaluator `lfm search` trains and measures candidates with: tokenizes `corpus` with
/// `tokenizer` (a tokenizer.json) once into `packed`, trains each genome on the training split
/// for `budget`, measures validation perplexity on the held-out last 5 % of the tokens and decode
/// latency (`probe`) with `threads` threads, and saves the trained model with the tokenizer files
/// in the candidate's `directory/model`.
func makeSearchEvaluator(corpus: URL, tokenizer: URL, packed: URL, settings: LIVSettings, budget: TrainingBudget,
                         probe: LatencyProbe, seed: UInt64, threads: Int,
                         progress: @escaping (String) -> Void) throws -> any CandidateEvaluator {
    let vocabulary = try Tokenizer(contentsOf: tokenizer)
    let dataset = try packCorpus(corpus.path, into: packed.path, tokenizer: vocabulary, tokenizerFile: tokenizer)
    let folder = tokenizer.deletingLastPathComponent()
    let files = [tokenizer] + ["tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"]
        .map { folder.appendingPathComponent($0) }
    let evaluator = TrainingEvaluator(dataset: dataset, settings: settings, budget: budget, probe: probe, threads: threads,
                                      seed: seed, tokenizerFiles: files)
    evaluator.progress = progress
    return evaluator
}
