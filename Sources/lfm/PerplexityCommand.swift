import ArgumentParser
import Foundation
import LFMChat
import LFMKernels
import LFMModels
import LFMTokenizer

/// `lfm perplexity`: mean negative log-likelihood of a text under a model.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Score a text file: BOS + its tokens in non-overlapping windows of --ctx tokens, each from a fresh state; optionally compare with a reference model (KL divergence, top-1 agreement)."
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var kvStorage: KVTypeOptions

    @Option(name: .long, help: "UTF-8 text file to score.")
    var file: String

    @Option(name: .long, help: "Window length in tokens.")
    var ctx = 512

    @Option(name: .long, help: "Which positions are scored: all (every token after a window's first) or second-half (llama.cpp's llama-perplexity: whole windows, the first token replaced by BOS, positions from ctx/2 scored).")
    var windows: ScoringWindows = .all

    @Option(name: .customLong("kl-reference"), help: "A reference model (e.g. the F32 original of a quantized file) to compare distributions with: adds the KL divergence KL(reference ‖ model) and the top-1 agreement over the scored positions.",
            transform: resolveModelPath)
    var klReference: String?

    @OptionGroup var kvCache: KVCacheOptions

    @Flag(name: .customLong("kl-full-cache"), help: "Compare with this model run with the full KV cache (the quality a bounded --kv-policy loses): adds the KL divergence KL(full ‖ policy) and the top-1 agreement, as --kl-reference does.")
    var klFullCache = false

    @Flag(help: "Print {\"tokens\": n, \"nll\": mean, \"ppl\": exp(mean), \"kv_policy\": name} as JSON (plus a \"kl\" object with --kl-reference or --kl-full-cache).")
    var json = false

    func validate() throws {
        guard ctx >= 2 else { throw ValidationError("--ctx must be >= 2 (found \(ctx))") }
        if windows == .secondHalf, ctx < 4 { throw ValidationError("--windows second-half needs --ctx >= 4 (found \(ctx))") }
        if klFullCache, klReference != nil { throw ValidationError("give --kl-reference or --kl-full-cache, not both") }
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
        let policy = try kvCache.policy()
        let reference: (any LanguageModel)? = klFullCache ? model : try klReference.map { path in try modelOptions.load(path: path) }
        let referenceName = klFullCache ? "full-cache" : klReference
        let ids = [bos] + (try tokenizer.encode(bytes: [UInt8](data), addSpecialTokens: false))
        let plan = try scoringWindows(ids: ids, ctx: ctx, scheme: windows, bos: bos)
        var bar = ProgressBar(label: "scoring")
        let result = try model.score(windows: plan, reference: reference, kvType: kvStorage.kvType, cachePolicy: policy) { bar.update($0, $1) }
        let nll = result.nll
        if json {
            var line = "{\"tokens\": \(nll.count), \"nll\": \(formatDouble(nll.mean)), \"ppl\": \(formatDouble(nll.perplexity))"
            line += ", \"kv_policy\": \(Value.jsonStringLiteral(policy.description))"
            if let c = result.comparison, let path = referenceName {
                line += ", \"kl\": {\"reference\": \(Value.jsonStringLiteral(path)), \"positions\": \(c.positions)"
                line += ", \"mean\": \(formatDouble(c.meanKL)), \"mean_se\": \(formatDouble(c.meanKLStandardError))"
                line += ", \"median\": \(formatDouble(c.klQuantile(0.5))), \"p99\": \(formatDouble(c.klQuantile(0.99)))"
                line += ", \"max\": \(formatDouble(c.klQuantile(1)))"
                line += ", \"top1_agreement\": \(formatDouble(c.topOneAgreement)), \"rms_dp\": \(formatDouble(c.rmsProbabilityDelta))"
                line += ", \"reference_nll\": \(formatDouble(c.reference.mean)), \"reference_ppl\": \(formatDouble(c.reference.perplexity))}"
            }
            print(line + "}")
        } else {
            print(String(format: "tokens: %d, mean NLL: %.6f, perplexity: %.4f", nll.count, nll.mean, nll.perplexity) + " (KV cache: \(policy))")
            if let c = result.comparison {
                print(String(format: "reference perplexity: %.4f; KL divergence over %d positions: mean %.6f ± %.6f, median %.6f, p99 %.6f, max %.6f; top-1 agreement %.3f %%; RMS Δp %.4f %%",
                             c.reference.perplexity, c.positions, c.meanKL, c.meanKLStandardError, c.klQuantile(0.5),
                             c.klQuantile(0.99), c.klQuantile(1), 100 * c.topOneAgreement, 100 * c.rmsProbabilityDelta))
            }
        }
    }
}

extension ScoringWindows: ExpressibleByArgument {}

