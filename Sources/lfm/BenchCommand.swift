import ArgumentParser
import Foundation
import LFMGeneration
import LFMKernels
import LFMModels

/// `lfm bench`: prompt-processing and generation speed, measured the way llama-bench does
/// (random token ids, tokenization and sampling excluded, mean ± sd over repetitions), optionally
/// after `-d N` tokens already in the context (llama-bench's `-d`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing (pp) and generation (tg) tokens/s."
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var kvStorage: KVTypeOptions

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens per pp run (0 skips pp).")
    var promptTokens = 512

    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generated tokens per tg run (0 skips tg).")
    var generatedTokens = 128

    @Option(name: [.customShort("d"), .customLong("depth")],
            help: "Tokens already in the context before pp and tg are timed (comma-separated list or repeated, e.g. -d 0,4096; default 0). The context is filled once per depth, untimed; every repetition starts from it (rewound, or a copy for sliding-window models).")
    var depthLists: [DepthList] = []

    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Repetitions of each test.")
    var repetitions = 5

    @Option(name: .customLong("chunk"), help: "Prefill chunk size (llama-bench's ubatch).")
    var chunk = 512

    @Flag(help: "Print {\"pp_tokens_per_s\", \"pp_sd\", \"tg_tokens_per_s\", \"tg_sd\", \"isa\", \"depth\", \"kv_type\"} as JSON (for the first depth; with several depths, also \"depths\": one such object per depth).")
    var json = false

    /// The depths to measure at, in the order given.
    var depths: [Int] { depthLists.isEmpty ? [0] : depthLists.flatMap(\.values) }

    func validate() throws {
        guard promptTokens >= 0, generatedTokens >= 0 else { throw ValidationError("-p and -n must be >= 0") }
        guard repetitions >= 1 else { throw ValidationError("-r must be >= 1") }
        guard chunk >= 1 else { throw ValidationError("--chunk must be >= 1") }
    }

    /// One depth's figures.
    struct Result {
        var depth: Int
        var pp: (mean: Double, sd: Double)
        var tg: (mean: Double, sd: Double)
    }

    func run() throws {
        let model = try modelOptions.load()
        let vocabulary = model.configuration.vocabularySize
        var generator = SeededRandom(seed: 42)
        func randomTokens(_ count: Int) -> [Int] {
            (0..<count).map { _ in Int(generator.nextUnit() * Double(vocabulary)) % vocabulary }
        }
        let prompt = randomTokens(promptTokens)
        let generated = randomTokens(generatedTokens)
        let limit = model.configuration.maxPositionEmbeddings
        var results: [Result] = []
        for depth in depths {
            let context = depth + max(promptTokens, generatedTokens) + 1
            guard context <= limit else {
                throw ValidationError("-d \(depth) with -p \(promptTokens) / -n \(generatedTokens) needs \(context) positions; the model holds \(limit)")
            }
            // The context at this depth, filled once (untimed).
            var filled = try model.makeState(maxContext: context, kvType: kvStorage.kvType)
            let history = randomTokens(depth)
            if depth > 0 { _ = try model.forward(history, state: &filled, logits: .none, chunkSize: chunk) }
            let mark = filled.checkpoint()

            /// Runs `body` on the filled context: the filled state itself, rewound to the mark (the
            /// cache is held once), or, where it cannot be rewound (sliding-window layers), a private
            /// copy of it. Neither the rewind nor the copy is timed.
            func fromFilled<R>(_ body: (inout SequenceState) throws -> R) throws -> R {
                if let mark {
                    try filled.rewind(to: mark)
                    return try body(&filled)
                }
                var state = filled
                state.detach()
                return try body(&state)
            }
            func timePrompt() throws -> Double {
                try fromFilled { state in
                    let begin = DispatchTime.now().uptimeNanoseconds
                    _ = try model.forward(prompt, state: &state, logits: .last, chunkSize: chunk)
                    return Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
                }
            }
            func timeGeneration() throws -> Double {
                try fromFilled { state in
                    let begin = DispatchTime.now().uptimeNanoseconds
                    for token in generated { _ = try model.forward([token], state: &state, logits: .last) }
                    return Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
                }
            }

            // Warm-up (page faults, thread start-up), as llama-bench does.
            if promptTokens > 0 { _ = try timePrompt() }
            if generatedTokens > 0 {
                try fromFilled { state in
                    for token in generated.prefix(4) { _ = try model.forward([token], state: &state) }
                }
            }
            var pp: [Double] = [], tg: [Double] = []
            for _ in 0..<repetitions {
                if promptTokens > 0 { pp.append(Double(promptTokens) / (try timePrompt())) }
                if generatedTokens > 0 { tg.append(Double(generatedTokens) / (try timeGeneration())) }
            }
            results.append(Result(depth: depth, pp: meanAndSD(pp), tg: meanAndSD(tg)))
        }
        if json {
            // "isa": the kernel path the backend ran (e.g. "avx2", "avx512+bf16+vnni", "portable").
            let isa = (model.backend as? CPUBackend)?.isa.description ?? String(describing: type(of: model.backend))
            func fields(_ r: Result) -> String {
                "\"pp_tokens_per_s\": \(r.pp.mean), \"pp_sd\": \(r.pp.sd), \"tg_tokens_per_s\": \(r.tg.mean), \"tg_sd\": \(r.tg.sd), "
                    + "\"isa\": \"\(isa)\", \"depth\": \(r.depth), \"kv_type\": \"\(kvStorage.kvType)\""
            }
            // "weight_bytes_per_token": the weight bytes one decode step reads (a mixture of experts counts
            // its top-k average-sized experts), the numerator of a read-bandwidth roofline.
            var line = "{" + fields(results[0]) + ", \"weight_bytes_per_token\": \(model.weightBytesPerToken)"
            if results.count > 1 { line += ", \"depths\": [" + results.map { "{" + fields($0) + "}" }.joined(separator: ", ") + "]" }
            print(line + "}")
        } else {
            let threads = modelOptions.threads.map(String.init) ?? "all"
            print("| model | threads | kv | test | t/s |")
            print("|---|---|---|---|---|")
            let name = URL(fileURLWithPath: modelOptions.model).lastPathComponent
            for r in results {
                let at = r.depth > 0 ? " @ d\(r.depth)" : ""
                if promptTokens > 0 {
                    print(String(format: "| %@ | %@ | %@ | pp%d%@ | %.2f ± %.2f |", name, threads, kvStorage.kvType.rawValue,
                                 promptTokens, at, r.pp.mean, r.pp.sd))
                }
                if generatedTokens > 0 {
                    print(String(format: "| %@ | %@ | %@ | tg%d%@ | %.2f ± %.2f |", name, threads, kvStorage.kvType.rawValue,
                                 generatedTokens, at, r.tg.mean, r.tg.sd))
                }
            }
        }
    }
}

/// A comma-separated list of context depths (`-d 0,4096`).
struct DepthList: ExpressibleByArgument {
    let values: [Int]

    init?(argument: String) {
        var values: [Int] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value >= 0 else { return nil }
            values.append(value)
        }
        guard !values.isEmpty else { return nil }
        self.values = values
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
