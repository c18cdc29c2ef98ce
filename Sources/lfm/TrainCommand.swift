import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LFMHub
import LFMFormats
import LFMModels
import LFMTokenizer
import LFMTraining

/// `lfm train`: train from scratch (`--config`) or continue / fine-tune a model (`--model`).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an LFM2 or LIV model on a text corpus (from scratch with --config, or from --model; --lora for LFM2 adapters).",
        discussion: """
        --config FILE is a JSON object: {"model": {config.json fields: hidden_size, num_hidden_layers, \
        num_attention_heads, num_key_value_heads, layer_types, intermediate_size, vocab_size, ...}, \
        "tokenizer": "tokenizer.json or a folder", "data": "corpus.txt", "out": "dir", "steps": 1000, \
        "batch_size": 8, "ctx": 128, "lr": 3e-3, "warmup": 50, "weight_decay": 0.1, "seed": 0, \
        "eval_every": 100, "checkpoint_every": 250, "checkpoint_activations": false, "precision": "f32"}. \
        Command-line flags override the file.

        A "model" object with a "genome" (e.g. {"genome": "h64x2x32 C3:128 A2:128 R4:128", \
        "max_position_embeddings": 256}) or "model_type": "lfm_liv" makes an LIV model; its other \
        fields are those of an lfm_liv config.json, and vocab_size defaults to the tokenizer's. Any \
        other "model" object is an LFM2 model.

        --model DIR continues training an lfm2 or lfm_liv folder (e.g. one written by `lfm search \
        export`); the output is a folder of the same family. An lfm3 or lfm2_moe folder is trained \
        as its LIV description: the output is an lfm_liv folder. --lora is for LFM2 models only.
        """
    )

    @Option(help: "Training configuration (JSON) for a run from scratch.") var config: String?
    @Option(help: "Model folder to continue training or fine-tune (lfm2, lfm_liv; lfm3 and lfm2_moe as lfm_liv).") var model: String?
    @Option(help: "Text corpus (UTF-8); tokenized once into DATA.tokens next to it.") var data: String?
    @Option(help: "Output folder (a Hugging Face model folder; checkpoints go to OUT/checkpoint).") var out: String?
    @Option(help: "Optimizer steps.") var steps: Int?
    @Option(help: "Peak learning rate.") var lr: Float?
    @Option(help: "Context length of the training windows.") var ctx: Int?
    @Option(name: .customLong("batch-size"), help: "Windows per step.") var batchSize: Int?
    @Option(name: .customLong("grad-accum"), help: "Micro-batches per optimizer step.") var gradientAccumulation: Int?
    @Option(help: "Warm-up steps.") var warmup: Int?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.") var weightDecay: Float?
    @Option(help: "Random seed.") var seed: UInt64?
    @Option(help: "Train LoRA adapters of this rank instead of all weights (merged into the output).") var lora: Int?
    @Option(name: .customLong("lora-alpha"), help: "LoRA alpha (default: 2 × rank).") var loraAlpha: Float?
    @Option(name: .customLong("lora-targets"), help: "Comma-separated projections (default: all). Names: \(LoRATarget.allCases.map(\.rawValue).joined(separator: ", ")).")
    var loraTargets: String?
    @Option(name: .customLong("eval-every"), help: "Validation every N steps.") var evalEvery: Int?
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps.") var checkpointEvery: Int?
    @Flag(name: .customLong("checkpoint-activations"),
          help: "Recompute each layer's forward during the backward pass instead of keeping its activations (less memory).")
    var checkpointActivations = false
    @Option(help: "Matrix-product precision: f32, or bf16 (BF16 operands, F32 accumulation and master weights; needs AVX512_BF16).")
    var precision: String?
    @Flag(help: "Resume from OUT/checkpoint if it exists.") var resume = false
    @Option(name: [.customShort("t"), .long], help: "Worker threads.") var threads: Int?
    @Option(name: .long, help: "Kernel path: avx512, avx2 or portable, one this CPU has (default: the best it has). A slower path measures what CPUs without the faster one get; bf16 precision needs the avx512 path of a CPU with AVX512_BF16.")
    var isa: String?
    @Flag(help: "Print one JSON object per step on standard output.") var json = false

    func validate() throws {
        guard (config == nil) != (model == nil) else { throw ValidationError("give exactly one of --config or --model") }
        if model != nil {
            guard data != nil, out != nil else { throw ValidationError("--model needs --data and --out") }
        }
        for (name, value) in [("--steps", steps), ("--ctx", ctx), ("--batch-size", batchSize), ("--lora", lora), ("--grad-accum", gradientAccumulation)] {
            if let value, value < 1 { throw ValidationError("\(name) must be >= 1 (found \(value))") }
        }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number") }
        _ = try parseISAOption(isa)
        if let precision, TrainingPrecision(rawValue: precision) == nil {
            throw ValidationError("--precision must be one of \(TrainingPrecision.allCases.map(\.rawValue).joined(separator: ", ")) (found '\(precision)')")
        }
    }

    func run() throws {
        keepTrainingBuffersInHeap()
        var file: JSONObject?
        if let config { file = try JSONObject(contentsOf: URL(fileURLWithPath: config)) }
        func setting<T>(_ flag: T?, _ key: String, _ read: (JSONObject, String) throws -> T?) rethrows -> T? {
            if let flag { return flag }
            guard let file else { return nil }
            return try read(file, key)
        }
        let configDirectory = config.map { URL(fileURLWithPath: $0).deletingLastPathComponent() }
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") || configDirectory == nil ? path : configDirectory!.appendingPathComponent(path).path
        }

        var options = TrainingOptions()
        options.steps = try setting(steps, "steps") { try $0.int($1) } ?? 100
        options.learningRate = try setting(lr, "lr") { try $0.double($1).map(Float.init) } ?? 1e-3
        options.contextLength = try setting(ctx, "ctx") { try $0.int($1) } ?? 128
        options.batchSize = try setting(batchSize, "batch_size") { try $0.int($1) } ?? 4
        options.gradientAccumulation = try setting(gradientAccumulation, "grad_accum") { try $0.int($1) } ?? 1
        options.warmupSteps = try setting(warmup, "warmup") { try $0.int($1) } ?? min(50, options.steps / 10)
        options.weightDecay = try setting(weightDecay, "weight_decay") { try $0.double($1).map(Float.init) } ?? 0.01
        options.seed = try setting(seed, "seed") { try $0.int($1).map { UInt64(max($0, 0)) } } ?? 0
        options.evaluationInterval = try setting(evalEvery, "eval_every") { try $0.int($1) } ?? 0
        options.checkpointInterval = try setting(checkpointEvery, "checkpoint_every") { try $0.int($1) } ?? 0
        let checkpointFromFile = try file?.bool("checkpoint_activations") ?? false
        options.checkpointActivations = checkpointActivations || checkpointFromFile
        let precisionName = try setting(precision, "precision") { try $0.string($1) } ?? "f32"
        guard let chosenPrecision = TrainingPrecision(rawValue: precisionName) else {
            throw ValidationError("\"precision\" must be one of \(TrainingPrecision.allCases.map(\.rawValue).joined(separator: ", ")) (found '\(precisionName)')")
        }
        options.precision = chosenPrecision

        guard let dataPath = try setting(data, "data", { try $0.string($1) }).map(resolve) else {
            throw ValidationError("no corpus: give --data or \"data\" in the config")
        }
        guard let outPath = try setting(out, "out", { try $0.string($1) }).map(resolve) else {
            throw ValidationError("no output folder: give --out or \"out\" in the config")
        }
        let output = URL(fileURLWithPath: outPath)
        let checkpoint = output.appendingPathComponent("checkpoint")

        // Tokenizer, corpus and model.
        let tokenizerSource: URL
        if let model {
            tokenizerSource = URL(fileURLWithPath: model)
        } else {
            guard let tokenizerPath = try file?.string("tokenizer") else { throw ValidationError("the config needs \"tokenizer\"") }
            tokenizerSource = URL(fileURLWithPath: resolve(tokenizerPath))
        }
        let tokenizer = try Tokenizer(contentsOf: tokenizerSource)
        let resuming = resume && FileManager.default.fileExists(atPath: checkpoint.path)
        let trainModel = try makeModel(file: file, checkpoint: resuming ? checkpoint : nil,
                                       vocabularySize: tokenizer.vocabularySize, seed: options.seed)
        let dataset = try packCorpus(dataPath, into: dataPath + ".tokens", tokenizer: tokenizer, tokenizerFile: tokenizerSource)

        let validation: Float
        switch trainModel {
        case .lfm2(let trainable):
            var adapters: [Tensor]?
            if let lora {
                adapters = trainable.addAdapters(rank: lora, alpha: loraAlpha ?? Float(2 * lora), targets: try loraTargetSet(),
                                                 seed: options.seed)
            }
            validation = try train(trainable, dataset: dataset, options: options, checkpoint: checkpoint, adapters: adapters)
            if lora != nil { trainable.mergeAdapters() }
            try trainable.save(to: output)
        case .liv(let trainable, _):
            validation = try train(trainable, dataset: dataset, options: options, checkpoint: checkpoint, adapters: nil)
            try trainable.save(to: output)
        }
        for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"] {
            let source = (tokenizerSource.hasDirectoryPath ? tokenizerSource : tokenizerSource.deletingLastPathComponent()).appendingPathComponent(name)
            let target = output.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: source.path), !FileManager.default.fileExists(atPath: target.path) {
                try FileManager.default.copyItem(at: source, to: target)
            }
        }
        printError(String(format: "validation loss %.4f, perplexity %.2f; wrote %@", validation, exp(Double(validation)), output.path))
    }

    /// The model to train: `checkpoint` when resuming, else the `--model` folder, else a fresh
    /// model from the config's "model" object (LIV when it has a genome, LFM2 otherwise).
    /// - Throws: `TrainModelError.loraNeedsLFM2` for `--lora` on a non-LFM2 model; load errors.
    private func makeModel(file: JSONObject?, checkpoint: URL?, vocabularySize: Int, seed: UInt64) throws -> TrainModel {
        let made: TrainModel
        let path: String
        if let source = checkpoint ?? model.map({ URL(fileURLWithPath: $0) }) {
            made = try TrainModel.load(source)
            path = source.path
        } else {
            guard let file, let shape = try file.object("model") else { throw ValidationError("the config needs a \"model\" object") }
            made = try TrainModel.random(shape: shape, vocabularySize: vocabularySize, seed: seed)
            path = file.file
        }
        if lora != nil, case .liv = made { throw TrainModelError.loraNeedsLFM2(path: path, family: made.family) }
        return made
    }

    /// The `--lora-targets` projections (every target when not given).
    private func loraTargetSet() throws -> Set<LoRATarget> {
        guard let loraTargets else { return Set(LoRATarget.allCases) }
        return try Set(loraTargets.split(separator: ",").map { name in
            guard let target = LoRATarget(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown LoRA target '\(name)'")
            }
            return target
        })
    }

    /// Trains `model` to `options.steps` (resuming from `checkpoint` when `--resume` and it
    /// exists), reporting each step, checkpointing, and saving a final checkpoint; returns the
    /// final validation loss. `adapters`: the tensors to train instead of every parameter.
    private func train<Model: TrainableLanguageModel>(_ model: Model, dataset: TokenDataset, options: TrainingOptions,
                                                      checkpoint: URL, adapters: [Tensor]?) throws -> Float {
        let trainer = try Trainer(model: model, data: dataset, options: options,
                                  backend: makeBackend(threads: threads, isa: try parseISAOption(isa)), trainable: adapters)
        if resume && FileManager.default.fileExists(atPath: checkpoint.path) {
            try trainer.resume(from: checkpoint)
            printError("resumed at step \(trainer.step)")
        }

        var lastCheckpoint: String? = FileManager.default.fileExists(atPath: checkpoint.path) ? checkpoint.path : nil
        let started = Date()
        let firstStep = trainer.step
        while trainer.step < options.steps {
            let report = try trainer.trainStep(lastCheckpoint: lastCheckpoint)
            let elapsed = Date().timeIntervalSince(started)
            let remaining = elapsed / Double(report.step - firstStep) * Double(options.steps - report.step)
            if json {
                var line = "{\"step\": \(report.step), \"loss\": \(report.loss), \"lr\": \(report.learningRate), \"grad_norm\": \(report.gradientNorm), \"tokens_per_s\": \(report.tokensPerSecond)"
                if let peak = peakResidentMegabytes() { line += ", \"max_rss_mb\": \(peak)" }
                if let v = report.validationLoss { line += ", \"val_loss\": \(v), \"val_ppl\": \(exp(Double(v)))" }
                print(line + "}")
            }
            let bar = ProgressBar.render(Double(report.step) / Double(options.steps))
            var status = String(format: "\r%@ %d/%d loss %.4f lr %.2e %.0f tok/s ETA %@", bar, report.step, options.steps,
                                report.loss, report.learningRate, report.tokensPerSecond, ProgressLine.duration(remaining))
            if let v = report.validationLoss { status += String(format: " val %.4f (ppl %.2f)", v, exp(Double(v))) }
            FileHandle.standardError.write(Data(status.utf8))
            if options.checkpointInterval > 0, report.step % options.checkpointInterval == 0, report.step < options.steps {
                try trainer.saveCheckpoint(to: checkpoint)
                lastCheckpoint = checkpoint.path
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let validation = trainer.evaluate()
        try trainer.saveCheckpoint(to: checkpoint)
        return validation
    }
}

/// The process's peak resident memory so far in MiB (`getrusage`), nil where unavailable.
func peakResidentMegabytes() -> Int? {
    #if canImport(Glibc)
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
    return usage.ru_maxrss / 1024 // kilobytes on Linux
    #else
    return nil
    #endif
}
