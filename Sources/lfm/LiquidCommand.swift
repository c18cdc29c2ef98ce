import ArgumentParser
import Foundation
import LFMCore
import LFMFormats
import LFMLiquid
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `lfm liquid`: liquid neural networks (CfC, LTC, NCP wirings) equal to ncps 1.0.1.
struct LiquidCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liquid",
        abstract: "Train, evaluate and run liquid neural networks (CfC, LTC, NCP wirings; ncps-compatible model folders).",
        discussion: """
        A model folder holds model.safetensors (the ncps state_dict) and config.json \
        ({"library": "ncps", "class": "CfC"|"LTC", "input_size": N, "units": U|WIRING, "kwargs": {...}}). \
        Folders exported from ncps load as they are; folders written here load in ncps \
        (Scripts/reference/liquid/ncps_folder.py).

        Examples:
          lfm liquid train --data JapaneseVowels_TRAIN.ts --cell cfc --units 64 --seed 1 --out jv-cfc
          lfm liquid train --data BasicMotions_TRAIN.ts --cell ltc --units 19 --wiring auto:4 --seed 1 --out bm-ncp
          lfm liquid eval --model jv-cfc --data JapaneseVowels_TEST.ts --json
          lfm liquid train --task forecast --data series_train.csv --lookback 12 --horizon 1 --seed 1 --out fc
          lfm liquid eval --model fc --data series_test.csv --json
          lfm liquid predict --model jv-cfc --input series.csv --timespans dt.csv --json
          printf '0.1,0.2,0.3\\n' | lfm liquid stream --model my-model
        """,
        subcommands: [LiquidTrainCommand.self, LiquidEvalCommand.self, LiquidPredictCommand.self, LiquidStreamCommand.self]
    )
}

/// Writes a line to standard error.
private func liquidLog(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// JSON for a float (non-finite as null).
private func jsonNumber(_ x: Double) -> String {
    guard x.isFinite else { return "null" }
    return "\(x)"
}

private func jsonNumber(_ x: Float) -> String {
    guard x.isFinite else { return "null" }
    return "\(x)"
}

/// A failure of a liquid command: printed as `Error: …` without the usage text.
private struct LiquidCommandError: Error, CustomStringConvertible {
    let description: String
}

/// Turns library errors into a clean message and a non-zero exit.
private func runReportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let error as DataError {
        throw LiquidCommandError(description: error.description)
    } catch let error as LiquidModelError {
        throw LiquidCommandError(description: error.description)
    } catch let error as WiringError {
        throw LiquidCommandError(description: error.description)
    } catch let error as SafeTensorsError {
        throw LiquidCommandError(description: error.description)
    }
}

/// Reads evaluation data for a trained model: a `.ts` file, or for a forecast model a CSV series
/// cut into the model's windows. The feature count must match the model's.
private func readEvaluationData(_ path: String, extras: LiquidExtras, features: Int) throws -> TimeSeriesDataset {
    if let spec = extras.forecast { return try ForecastWindows.read(path, spec: spec, expectedColumns: features) }
    let dataset = try TSFormat.read(path)
    guard dataset.features == features else {
        throw DataError(file: path, line: 0, message: "\(dataset.features) dimensions; the model expects \(features)")
    }
    return dataset
}

struct LiquidTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CfC or LTC (optionally NCP-wired) sequence classifier/regressor (UCR/UEA .ts) or forecaster (CSV series) by BPTT.",
        discussion: """
        Defaults: inputs z-scored per feature (statistics stored in config.json under "lfm"), a stratified \
        15% validation split, Gaussian noise of std 0.15 on the normalised training inputs (classification), \
        the mean of the per-step outputs as the sequence's prediction, AdamW (lr 5e-3, weight decay 1e-4) with 2 warm-up epochs and cosine decay, \
        gradient clipping at 1.0, batch 16 (8 below 128 training sequences), at most 120 epochs with early stopping after 25 epochs without \
        a better validation loss (the best epoch is kept). A CfC gets a linear readout (proj_size = classes); \
        an LTC reads its motor neurons (FullyConnected(units, output_dim = classes), or --wiring auto:CLASSES). \
        One JSON object per epoch goes to OUT/train_log.jsonl; a progress line per epoch to standard error.

        --task forecast reads --data as a CSV series (rows = time steps, columns = variables, no header) and \
        trains on every window of --lookback rows to predict the next --horizon rows of every column, read \
        at the window's last step as changes from its last row (in units of each column's standard \
        deviation); the validation split is the last 15% of the windows. Its --test and `lfm liquid eval` \
        files are CSV series windowed the same way (give the evaluated period with --lookback rows of \
        context before it).

        Examples:
          lfm liquid train --data BasicMotions_TRAIN.ts --cell cfc --units 64 --seed 1 --out bm-cfc
          lfm liquid train --task forecast --data airline_train.csv --lookback 12 --horizon 1 --seed 1 --out air-cfc
        """
    )

    @Option(help: "Training data (UCR/UEA .ts; a CSV series with --task forecast).") var data: String
    @Option(help: "Task: auto (classification or regression, from the .ts header) or forecast (a CSV series).")
    var task: String = "auto"
    @Option(help: "Forecast: input rows per window (required with --task forecast).") var lookback: Int?
    @Option(help: "Forecast: future rows predicted from each window (default 1).") var horizon: Int?
    @Option(help: "Cell: cfc or ltc.") var cell: String = "cfc"
    @Option(help: "Neurons (state size).") var units: Int = 64
    @Option(help: "Wiring: auto:OUTPUTS[,SPARSITY[,SEED]], ncp:INTER,COMMAND,MOTOR,SENSORY_FANOUT,INTER_FANOUT,RECURRENT,MOTOR_FANIN[,SEED], fc, random:SPARSITY.")
    var wiring: String?
    @Option(help: "Maximum epochs (early stopping usually ends sooner).") var epochs: Int?
    @Option(help: "Random seed (initialisation, split, shuffling).") var seed: UInt64 = 0
    @Option(help: "Output model folder.") var out: String
    @Option(name: .customLong("batch-size"), help: "Sequences per step (default 16, or 8 below 128 training sequences).") var batchSize: Int?
    @Option(help: "Peak learning rate (default 5e-3).") var lr: Float?
    @Option(help: "Early-stopping patience in epochs (default 25).") var patience: Int?
    @Option(name: .customLong("val-fraction"), help: "Validation fraction (default 0.15).") var valFraction: Double?
    @Option(help: "CfC mode: default, no_gate, pure.") var mode: String?
    @Flag(name: .customLong("mixed-memory"), help: "Add ncps' LSTM memory cell (mixed_memory).") var mixedMemory = false
    @Option(name: .customLong("ode-unfolds"), help: "LTC solver unfolds per step (default 6).") var odeUnfolds: Int?
    @Option(name: .customLong("input-noise"), help: "Std of Gaussian noise added to normalised training inputs (default 0.15 for classification, 0 otherwise).")
    var inputNoise: Float?
    @Option(name: .customLong("masked-products"), help: "Wired CfC masked products: auto (by density), dense or sparse (for benchmarks).")
    var maskedProducts: String = "auto"
    @Option(help: "Per-epoch JSON log file (default OUT/train_log.jsonl).") var log: String?
    @Option(help: "Also evaluate on this file after training (.ts, or a CSV series for --task forecast).") var test: String?
    @Flag(help: "Print a one-line JSON summary last on standard output.") var json = false

    func run() throws {
        try runReportingErrors {
            var options = LiquidTrainingOptions()
            guard let kind = ["cfc": LiquidCellKind.cfc, "ltc": .ltc][cell.lowercased()] else {
                throw ValidationError("--cell must be cfc or ltc (got \(cell))")
            }
            options.cell = kind
            guard units >= 1 else { throw ValidationError("--units must be >= 1") }
            options.units = units
            options.seed = seed
            if let wiring { options.wiring = try WiringChoice.parse(wiring) }
            if let epochs { guard epochs >= 1 else { throw ValidationError("--epochs must be >= 1") }; options.epochs = epochs }
            if let batchSize { guard batchSize >= 1 else { throw ValidationError("--batch-size must be >= 1") }; options.batchSize = batchSize }
            if let lr { guard lr > 0 else { throw ValidationError("--lr must be > 0") }; options.learningRate = lr }
            if let patience { options.patience = max(patience, 1) }
            if let valFraction { guard valFraction >= 0, valFraction < 1 else { throw ValidationError("--val-fraction must be in [0, 1)") }; options.validationFraction = valFraction }
            if let mode {
                guard let m = CfCMode(rawValue: mode) else { throw ValidationError("--mode must be default, no_gate or pure") }
                options.mode = m
            }
            options.mixedMemory = mixedMemory
            guard let products = MaskedProductMode(rawValue: maskedProducts) else {
                throw ValidationError("--masked-products must be auto, dense or sparse (got \(maskedProducts))")
            }
            options.maskedProducts = products
            if let inputNoise { guard inputNoise >= 0 else { throw ValidationError("--input-noise must be >= 0") }; options.inputNoise = inputNoise }
            if let odeUnfolds { guard odeUnfolds >= 1 else { throw ValidationError("--ode-unfolds must be >= 1") }; options.odeUnfolds = odeUnfolds }

            let dataset: TimeSeriesDataset
            switch task.lowercased() {
            case "auto":
                guard lookback == nil, horizon == nil else { throw ValidationError("--lookback and --horizon need --task forecast") }
                dataset = try TSFormat.read(data)
            case "forecast":
                guard let lookback else { throw ValidationError("--task forecast needs --lookback L (input rows per window)") }
                dataset = try ForecastWindows.read(data, spec: try ForecastSpec(lookback: lookback, horizon: horizon ?? 1))
            default:
                throw ValidationError("--task must be auto or forecast (got \(task))")
            }
            let outURL = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
            let logPath = log ?? outURL.appendingPathComponent("train_log.jsonl").path
            guard FileManager.default.createFile(atPath: logPath, contents: nil),
                  let logHandle = FileHandle(forWritingAtPath: logPath) else {
                throw ValidationError("cannot write the training log \(logPath)")
            }
            defer { try? logHandle.close() }
            liquidLog("training \(kind.rawValue) (\(units) units\(wiring.map { ", wiring \($0)" } ?? "")) on \(dataset.series.count) \(dataset.forecast == nil ? "cases" : "windows") × \(dataset.features) features from \(data)")
            let started = Date()
            let maxEpochs = options.epochs
            let (folder, logs) = try LiquidTrainer(options: options).train(dataset) { entry in
                logHandle.write(Data((entry.json + "\n").utf8))
                let width = 24
                let filled = min(width, entry.epoch * width / maxEpochs)
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                var line = "epoch \(entry.epoch)/\(maxEpochs) [\(bar)] loss \(String(format: "%.4f", entry.trainLoss))"
                if let a = entry.trainAccuracy { line += " acc \(String(format: "%.3f", a))" }
                if let v = entry.validationLoss { line += " val_loss \(String(format: "%.4f", v))" }
                if let v = entry.validationAccuracy { line += " val_acc \(String(format: "%.3f", v))" }
                line += String(format: " %.1fs", entry.seconds) + (entry.isBest ? " *" : "")
                liquidLog(line)
            }
            try folder.save(outURL)
            let seconds = Date().timeIntervalSince(started)
            let best = logs.first { $0.isBest && $0.epoch == logs.filter(\.isBest).last?.epoch }
            var summary = ["\"out\": \"\(out)\"", "\"epochs\": \(logs.count)", "\"best_epoch\": \(best?.epoch ?? 0)",
                           "\"parameters\": \(folder.model.parameters.trainableCount)", "\"seconds\": \(jsonNumber(seconds))"]
            if let v = best?.validationAccuracy { summary.append("\"val_accuracy\": \(jsonNumber(v))") }
            if let test, let extras = folder.extras {
                let testSet = try readEvaluationData(test, extras: extras, features: dataset.features)
                let metrics = try LiquidEvaluator.evaluate(folder.model, extras: extras, series: testSet.series, file: test)
                if let a = metrics.accuracy { summary.append("\"test_accuracy\": \(jsonNumber(a))") }
                if let m = metrics.mse { summary.append("\"test_mse\": \(jsonNumber(m))") }
                if let m = metrics.mae { summary.append("\"test_mae\": \(jsonNumber(m))") }
                liquidLog("test: " + (metrics.accuracy.map { "accuracy \($0)" } ?? "mse \(metrics.mse ?? .nan)"))
            }
            liquidLog("wrote \(out) in \(String(format: "%.1f", seconds)) s")
            if json { print("{" + summary.joined(separator: ", ") + "}") }
        }
    }
}

struct LiquidEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a trained model folder on a labelled .ts file.",
        discussion: """
        Prints {"accuracy": x, "loss": l, "n": N} for classification, {"mse": x, "mae": y, "n": N} for regression \
        and forecasting (a forecast model reads --data as a CSV series and evaluates every window of it: MSE in \
        the series' units over all predicted steps and columns).

        Examples:
          lfm liquid eval --model jv-cfc --data JapaneseVowels_TEST.ts --json
          lfm liquid eval --model air-cfc --data airline_test.csv --json
        """
    )

    @Option(help: "Model folder.") var model: String
    @Option(help: "Test data (UCR/UEA .ts; a CSV series for a forecast model).") var data: String
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try runReportingErrors {
            let folder = try LiquidModelFolder.load(URL(fileURLWithPath: model))
            guard let extras = folder.extras else {
                throw LiquidModelError("\(model)/config.json has no \"lfm\" key (task, classes, normalization); eval needs the classes a model was trained on")
            }
            let dataset = try readEvaluationData(data, extras: extras, features: folder.model.config.inputSize)
            let metrics = try LiquidEvaluator.evaluate(folder.model, extras: extras, series: dataset.series, file: data)
            if let accuracy = metrics.accuracy {
                if json {
                    print("{\"accuracy\": \(jsonNumber(accuracy)), \"loss\": \(jsonNumber(metrics.loss)), \"n\": \(metrics.count)}")
                } else {
                    print("accuracy \(accuracy) (\(metrics.count) cases), loss \(metrics.loss)")
                }
            } else {
                let mse = metrics.mse ?? .nan, mae = metrics.mae ?? .nan
                print(json ? "{\"mse\": \(jsonNumber(mse)), \"mae\": \(jsonNumber(mae)), \"n\": \(metrics.count)}"
                           : "mse \(mse), mae \(mae) (\(metrics.count) \(extras.forecast == nil ? "cases" : "windows"))")
            }
        }
    }
}

struct LiquidPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a model on one sequence (CSV: rows = steps, columns = features, no header).",
        discussion: """
        Prints {"outputs": [[...], ...]}, one row per time step. Inputs are normalised with the folder's \
        statistics when it has them. --timespans T.csv gives one elapsed time (> 0) per row. For a forecast \
        model, step t's row is its forecast of the next horizon rows (all columns) in the series' units.

        Example:
          lfm liquid predict --model jv-cfc --input series.csv --json
        """
    )

    @Option(help: "Model folder.") var model: String
    @Option(help: "Input CSV.") var input: String
    @Option(help: "Elapsed time per step (CSV, one value per row).") var timespans: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try runReportingErrors {
            let folder = try LiquidModelFolder.load(URL(fileURLWithPath: model))
            let m = folder.model
            var (values, steps, _) = try CSVFormat.read(input, expectedColumns: m.config.inputSize)
            let raw = values
            let ts = try timespans.map { try CSVFormat.readTimespans($0, steps: steps) }
            if let e = folder.extras, e.mean.count == m.config.inputSize {
                let f = m.config.inputSize
                for i in 0..<values.count { values[i] = (values[i] - e.mean[i % f]) / e.std[i % f] }
            }
            let batch = try SequenceBatch(batch: 1, steps: steps, features: m.config.inputSize, values: values, timespans: ts)
            let outputs = try m.forward(batch).outputs
            let o = m.outputSize, f = m.config.inputSize
            let rows = (0..<steps).map { t -> [String] in
                var row = Array(outputs[(t * o)..<((t + 1) * o)])
                if let e = folder.extras, let spec = e.forecast { row = spec.denormalize(row, lastRow: raw[(t * f)..<((t + 1) * f)], std: e.std) }
                return row.map { jsonNumber($0) }
            }
            if json {
                print("{\"outputs\": [" + rows.map { "[" + $0.joined(separator: ", ") + "]" }.joined(separator: ", ") + "]}")
            } else {
                for row in rows { print(row.joined(separator: ",")) }
            }
        }
    }
}

struct LiquidStreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Run a model sample by sample: one comma-separated sample per stdin line, one output line per sample.",
        discussion: """
        Each output line holds the model's outputs for that sample (comma-separated; a JSON array with --json). \
        The state carries over from line to line. With --dt-column the first value of each line is the elapsed \
        time since the previous sample (> 0); otherwise --dt (default 1) is used. A forecast model prints its \
        forecast of the next horizon rows in the series' units.

        Example:
          printf '0.1,0.2,0.3\\n0.0,0.1,0.4\\n' | lfm liquid stream --model my-model
        """
    )

    @Option(help: "Model folder.") var model: String
    @Option(help: "Elapsed time between samples.") var dt: Float = 1
    @Flag(name: .customLong("dt-column"), help: "The first value of each line is the elapsed time.") var dtColumn = false
    @Flag(help: "Print each output line as a JSON array.") var json = false
    @Option(help: "Instead of reading stdin, time this many steps on random samples and print per-step latency (JSON).")
    var bench: Int?
    @Option(name: .customLong("masked-products"), help: "Wired CfC masked products: auto (by density), dense or sparse (for benchmarks).")
    var maskedProducts: String = "auto"

    func run() throws {
        try runReportingErrors {
            guard dt > 0, dt.isFinite else { throw ValidationError("--dt must be > 0") }
            var folder = try LiquidModelFolder.load(URL(fileURLWithPath: model))
            guard let products = MaskedProductMode(rawValue: maskedProducts) else {
                throw ValidationError("--masked-products must be auto, dense or sparse (got \(maskedProducts))")
            }
            folder.model.maskedProducts = products
            let stream = try LiquidStream(model: folder.model)
            if let bench {
                guard bench >= 10 else { throw ValidationError("--bench needs at least 10 steps") }
                print(Self.latency(stream, steps: bench, dt: dt))
                return
            }
            let f = stream.inputSize
            let mean = folder.extras?.mean ?? [], std = folder.extras?.std ?? []
            let forecast = folder.extras?.forecast
            var sample = [Float](repeating: 0, count: f)
            var output = [Float](repeating: 0, count: stream.outputSize)
            var lineNumber = 0
            while let line = readLine() {
                lineNumber += 1
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                var row = try CSVFormat.parseRow(trimmed, file: "<stdin>", line: lineNumber)
                var elapsed = dt
                if dtColumn {
                    guard let first = row.first, first > 0 else {
                        throw DataError(file: "<stdin>", line: lineNumber, message: "elapsed time (first column) must be > 0")
                    }
                    elapsed = first
                    row.removeFirst()
                }
                guard row.count == f else {
                    throw DataError(file: "<stdin>", line: lineNumber, message: "\(row.count) features, the model expects \(f)")
                }
                for d in 0..<f { sample[d] = mean.count == f ? (row[d] - mean[d]) / std[d] : row[d] }
                sample.withUnsafeBufferPointer { s in output.withUnsafeMutableBufferPointer { o in stream.step(s, dt: elapsed, output: o) } }
                let shown = forecast.map { $0.denormalize(output, lastRow: row[...], std: std) } ?? output
                let text = shown.map { jsonNumber($0) }.joined(separator: json ? ", " : ",")
                print(json ? "[" + text + "]" : text)
                // fflush(NULL) flushes stdout (and any other output stream; this command has no other)
                // without touching the C global `stdout`, which Swift 6 sees as shared mutable state.
                fflush(nil)
            }
        }
    }

    /// Per-step latency of the streaming runtime on random inputs: p50/p99/mean in µs.
    static func latency(_ stream: LiquidStream, steps: Int, dt: Float) -> String {
        var rng = SplitMix64(seed: 1)
        let inputs = (0..<(64 * stream.inputSize)).map { _ in Float(rng.gaussian()) }
        var output = [Float](repeating: 0, count: stream.outputSize)
        var times = [Double](repeating: 0, count: steps)
        inputs.withUnsafeBufferPointer { all in
            output.withUnsafeMutableBufferPointer { out in
                for i in 0..<(steps + steps / 10) {
                    let row = (i % 64) * stream.inputSize
                    let sample = UnsafeBufferPointer(rebasing: all[row..<(row + stream.inputSize)])
                    let start = DispatchTime.now().uptimeNanoseconds
                    stream.step(sample, dt: dt, output: out)
                    let end = DispatchTime.now().uptimeNanoseconds
                    if i >= steps / 10 { times[i - steps / 10] = Double(end - start) / 1000 }   // first 10 % warm up
                }
            }
        }
        times.sort()
        let p50 = times[times.count / 2], p99 = times[min(times.count - 1, times.count * 99 / 100)]
        let mean = times.reduce(0, +) / Double(times.count)
        return "{\"steps\": \(steps), \"p50_us\": \(jsonNumber(p50)), \"p99_us\": \(jsonNumber(p99)), \"mean_us\": \(jsonNumber(mean)), " +
            "\"state_size\": \(stream.model.stateSize), \"parameters\": \(stream.model.parameters.trainableCount)}"
    }
}
