import Foundation
import LFMModels
import LFMSearch

/// The evaluator is not connected to training and latency measurement yet.
struct SearchEvaluatorNotWired: Error, CustomStringConvertible {
    var description: String {
        "lfm search: the candidate evaluator (train on the corpus, measure perplexity and decode latency) is not wired yet; `lfm search show` and `lfm search export` work on existing search directories"
    }
}

/// The evaluator `lfm search` trains and measures candidates with: trains each genome on
/// `corpus` (tokenized with `tokenizer`, a tokenizer.json) for the fixed budget (`quick`: the
/// smoke budget), measures validation perplexity and decode latency with `threads` threads, and
/// saves the trained model in the candidate's `directory/model`.
func makeSearchEvaluator(corpus: URL, tokenizer: URL, quick: Bool, settings: LIVSettings, threads: Int) throws
    -> any CandidateEvaluator {
    throw SearchEvaluatorNotWired()
}
