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

    @Option(name: .customLong("kv-compare"), help: "Comma-separated KV caches to score side by side against one pass with the full F32 cache (a table of KV types and policies for the cost of one reference pass): a KV type (f32, f16, bf16, q8_0, q4_0; full policy) or a bounded policy (streaming, prune; F32 keys and values, with --kv-sinks/--kv-window/--kv-budget). Replaces --kv-type/--kv-policy; --json then prints a \"caches\" array.")
    var kvCompare: String?

    @Flag(help: "Print {\"tokens\": n, \"nll\": mean, \"ppl\": exp(mean), \"kv_policy\": name} as JSON (plus a \"kl\" object with --kl-reference or --kl-full-cache).")
    var json = false

    func validate() throws {
        guard ctx >= 2 else { throw ValidationError("--ctx must be >= 2 (found \(ctx))") }
        if windows == .secondHalf, ctx < 4 { throw ValidationError("--windows second-half needs --ctx >= 4 (found \(ctx))") }
        if klFullCache, klReference != nil { throw ValidationError("give --kl-reference or --kl-full-cache, not both") }
        if kvCompare != nil {
            if klReference != nil || klFullCache { throw ValidationError("--kv-compare compares with the full F32 cache itself: drop --kl-reference / --kl-full-cache") }
            _ = try comparedCaches()
        }
    }

    /// The caches named by --kv-compare.
    func comparedCaches() throws -> [ScoringCache] {
        let names = (kvCompare ?? "").split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
            throw ValidationError("--kv-compare: expected a comma-separated list of KV types and policies, found \"\(kvCompare ?? "")\"")
        }
        return try names.map { name in
            if let type = KVCacheType(rawValue: name) { return ScoringCache(kvType: type, policy: .full) }
            guard name == "streaming" || name == "prune" else {
                throw ValidationError("--kv-compare: \"\(name)\" is neither a KV type (\(KVCacheType.allCases.map(\.rawValue).joined(separator: ", "))) nor a bounded policy (streaming, prune)")
            }
            do {
                return ScoringCache(kvType: .f32, policy: try KVCachePolicy.named(name, sinks: kvCache.sinks, window: kvCache.window, budget: kvCache.budget))
            } catch let error as KVCachePolicyError { throw ValidationError(error.description) }
        }
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
        if kvCompare != nil {
            let caches = try comparedCaches()
            let scores = try model.score(windows: plan, caches: caches, reference: model) { bar.update($0, $1) }
            report(caches: caches, scores: scores)
            return
        }
        let result = try model.score(windows: plan, reference: reference, kvType: kvStorage.kvType, cachePolicy: policy) { bar.update($0, $1) }
        let nll = result.nll
        if json {
            var line = "{\"tokens\": \(nll.count), \"nll\": \(formatDouble(nll.mean)), \"ppl\": \(formatDouble(nll.perplexity))"
            line += ", \"kv_policy\": \(Value.jsonStringLiteral(policy.description))"
            if let c = result.comparison, let path = referenceName {
                line += ", \"kl\": {\"reference\": \(Value.jsonStringLiteral(path)), " + Self.divergenceFields(c)
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

extension PerplexityCommand {
    /// The JSON fields of a divergence from the reference, inside a "kl" object (one formatter for
    /// the single-cache and the side-by-side reports).
    static func divergenceFields(_ c: DistributionComparison) -> String {
        "\"positions\": \(c.positions), \"mean\": \(formatDouble(c.meanKL)), \"mean_se\": \(formatDouble(c.meanKLStandardError))"
            + ", \"median\": \(formatDouble(c.klQuantile(0.5))), \"p99\": \(formatDouble(c.klQuantile(0.99)))"
            + ", \"max\": \(formatDouble(c.klQuantile(1)))"
            + ", \"top1_agreement\": \(formatDouble(c.topOneAgreement)), \"rms_dp\": \(formatDouble(c.rmsProbabilityDelta))"
    }

    /// Prints each compared cache's perplexity and divergence from the full F32 cache.
    func report(caches: [ScoringCache], scores: [TextScore]) {
        guard let first = scores.first?.comparison else { return }
        if json {
            var items: [String] = []
            for (cache, score) in zip(caches, scores) {
                guard let c = score.comparison else { continue }
                var item = "{\"kv_type\": \(Value.jsonStringLiteral(cache.kvType.rawValue)), \"kv_policy\": \(Value.jsonStringLiteral(cache.policy.description))"
                item += ", \"nll\": \(formatDouble(score.nll.mean)), \"ppl\": \(formatDouble(score.nll.perplexity))"
                item += ", \"kl\": {" + Self.divergenceFields(c) + "}}"
                items.append(item)
            }
            print("{\"tokens\": \(first.positions), \"reference_nll\": \(formatDouble(first.reference.mean)), \"reference_ppl\": \(formatDouble(first.reference.perplexity)), \"caches\": [\(items.joined(separator: ", "))]}")
        } else {
            print(String(format: "full F32 cache: %d positions, perplexity %.4f", first.positions, first.reference.perplexity))
            for (cache, score) in zip(caches, scores) {
                guard let c = score.comparison else { continue }
                print("\(cache): " + String(format: "perplexity %.4f; KL mean %.6f ± %.6f, median %.6f, p99 %.6f, max %.6f; top-1 agreement %.3f %%",
                             score.nll.perplexity, c.meanKL, c.meanKLStandardError, c.klQuantile(0.5),
                             c.klQuantile(0.99), c.klQuantile(1), 100 * c.topOneAgreement))
            }
        }
    }
}

extension ScoringWindows: ExpressibleByArgument {}

