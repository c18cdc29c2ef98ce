import ArgumentParser
import Foundation
import LFMModels
import LFMTokenizer

/// `lfm perplexity`: mean negative log-likelihood of a text under a model.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Score a text file: BOS + its tokens in non-overlapping windows of --ctx tokens, each from a fresh state."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "UTF-8 text file to score.")
    var file: String

    @Option(name: .long, help: "Window length in tokens; every token after a window's first is scored.")
    var ctx = 512

    @Flag(help: "Print {\"tokens\": n, \"nll\": mean, \"ppl\": exp(mean)} as JSON.")
    var json = false

    func validate() throws {
        guard ctx >= 2 else { throw ValidationError("--ctx must be >= 2 (found \(ctx))") }
    }

    func run() throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw TokenizeCommandError.unreadableInput(path: file, reason: error.localizedDescription)
        }
        let tokenizer = try loadTokenizer(model: modelOptions.model)
        let model = try modelOptions.load()
        guard let bos = tokenizer.bosTokenId ?? model.configuration.bosTokenId else {
            throw ValidationError("\(modelOptions.model): neither the tokenizer nor the model names a BOS token")
        }
        let ids = [bos] + (try tokenizer.encode(bytes: [UInt8](data), addSpecialTokens: false))
        let result = try Self.score(model: model, ids: ids, ctx: ctx)
        if json {
            print("{\"tokens\": \(result.tokens), \"nll\": \(formatDouble(result.nll)), \"ppl\": \(formatDouble(exp(result.nll)))}")
        } else {
            print(String(format: "tokens: %d, mean NLL: %.6f, perplexity: %.4f", result.tokens, result.nll, exp(result.nll)))
        }
    }

    /// Mean NLL of every token after the first of each `ctx`-token window of `ids`.
    static func score(model: LFM2Model, ids: [Int], ctx: Int) throws -> (tokens: Int, nll: Double) {
        var total = 0.0, count = 0
        var bar = ProgressBar(label: "scoring")
        let v = model.configuration.vocabularySize
        var start = 0
        while start < ids.count {
            let window = Array(ids[start..<min(start + ctx, ids.count)])
            start += ctx
            guard window.count >= 2 else { continue }
            var state = model.makeState(maxContext: window.count)
            let logits = try model.forward(window, state: &state, logits: .all)
            for i in 1..<window.count {
                let row = logits[((i - 1) * v)..<(i * v)]
                let maximum = Double(row.max() ?? 0)
                var sum = 0.0
                for l in row { sum += exp(Double(l) - maximum) }
                total += log(sum) + maximum - Double(row[row.startIndex + window[i]])
                count += 1
            }
            bar.update(min(start, ids.count), ids.count)
        }
        guard count > 0 else { throw ValidationError("the text gives fewer than 2 tokens: nothing to score") }
        return (count, total / Double(count))
    }
}
