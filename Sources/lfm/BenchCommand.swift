import ArgumentParser
import Foundation
import LFMGeneration
import LFMKernels
import LFMModels

/// `lfm bench`: prompt-processing and generation speed, measured the way llama-bench does
/// (random token ids, tokenization and sampling excluded, mean ± sd over repetitions).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing (pp) and generation (tg) tokens/s."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens per pp run (0 skips pp).")
    var promptTokens = 512

    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generated tokens per tg run (0 skips tg).")
    var generatedTokens = 128

    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Repetitions of each test.")
    var repetitions = 5

    @Option(name: .customLong("chunk"), help: "Prefill chunk size (llama-bench's ubatch).")
    var chunk = 512

    @Flag(help: "Print {\"pp_tokens_per_s\", \"pp_sd\", \"tg_tokens_per_s\", \"tg_sd\", \"isa\"} as JSON.")
    var json = false

    func validate() throws {
        guard promptTokens >= 0, generatedTokens >= 0 else { throw ValidationError("-p and -n must be >= 0") }
        guard repetitions >= 1 else { throw ValidationError("-r must be >= 1") }
        guard chunk >= 1 else { throw ValidationError("--chunk must be >= 1") }
    }

    func run() throws {
        let model = try modelOptions.load()
        var generator = SeededRandom(seed: 42)
        let vocabulary = model.configuration.vocabularySize
        let prompt = (0..<promptTokens).map { _ in Int(generator.nextUnit() * Double(vocabulary)) % vocabulary }
        let generated = (0..<generatedTokens).map { _ in Int(generator.nextUnit() * Double(vocabulary)) % vocabulary }
        let context = max(promptTokens, generatedTokens) + 1

        func timePrompt() throws -> Double {
            var state = model.makeState(maxContext: context)
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.forward(prompt, state: &state, logits: .last, chunkSize: chunk)
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        func timeGeneration() throws -> Double {
            var state = model.makeState(maxContext: context)
            let start = DispatchTime.now().uptimeNanoseconds
            for token in generated { _ = try model.forward([token], state: &state, logits: .last) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        // Warm-up (page faults, thread start-up), as llama-bench does.
        if promptTokens > 0 { _ = try timePrompt() }
        if generatedTokens > 0 {
            var state = model.makeState(maxContext: context)
            for token in generated.prefix(4) { _ = try model.forward([token], state: &state) }
        }
        var pp: [Double] = [], tg: [Double] = []
        for _ in 0..<repetitions {
            if promptTokens > 0 { pp.append(Double(promptTokens) / (try timePrompt())) }
            if generatedTokens > 0 { tg.append(Double(generatedTokens) / (try timeGeneration())) }
        }
        let (ppMean, ppSD) = meanAndSD(pp)
        let (tgMean, tgSD) = meanAndSD(tg)
        if json {
            // "isa": the kernel path the backend ran (e.g. "avx2", "avx512+bf16+vnni", "portable").
            let isa = (model.backend as? CPUBackend)?.isa.description ?? String(describing: type(of: model.backend))
            print("{\"pp_tokens_per_s\": \(ppMean), \"pp_sd\": \(ppSD), \"tg_tokens_per_s\": \(tgMean), \"tg_sd\": \(tgSD), \"isa\": \"\(isa)\"}")
        } else {
            let threads = modelOptions.threads.map(String.init) ?? "all"
            print("| model | threads | test | t/s |")
            print("|---|---|---|---|")
            let name = URL(fileURLWithPath: modelOptions.model).lastPathComponent
            if promptTokens > 0 { print(String(format: "| %@ | %@ | pp%d | %.2f ± %.2f |", name, threads, promptTokens, ppMean, ppSD)) }
            if generatedTokens > 0 { print(String(format: "| %@ | %@ | tg%d | %.2f ± %.2f |", name, threads, generatedTokens, tgMean, tgSD)) }
        }
    }
}

/// Mean and sample standard deviation (0 for fewer than two values).
func meanAndSD(_ values: [Double]) -> (Double, Double) {
    guard !values.isEmpty else { return (0, 0) }
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
    return (mean, variance.squareRoot())
}
