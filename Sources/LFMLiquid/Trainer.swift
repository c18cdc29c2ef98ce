import Foundation
import LFMCore

// Training by backpropagation through time for sequence classification (cross-entropy on the
// sequence's readout), sequence regression (MSE on it) and forecasting (MSE on the normalised
// changes of the next `horizon` rows predicted at a window's last step; see Forecasting.swift).
// Defaults: per-feature z-score normalisation from the training split, a stratified 15 %
// validation split, AdamW with linear warm-up and cosine decay, gradient clipping at 1.0,
// early stopping on validation loss (the best epoch's weights are kept). Everything random
// (init, split, shuffling, dropout) comes from the seed, so a seed gives the same model.

/// How a wiring is chosen on the command line.
public enum WiringChoice: Sendable, Equatable {
    /// `auto:OUTPUTS` → AutoNCP(units, OUTPUTS).
    case auto(outputs: Int, sparsity: Double, seed: UInt32)
    /// `ncp:inter,command,motor,sensory_fanout,inter_fanout,recurrent,motor_fanin[,seed]`.
    case ncp(WiringSpec)
    /// `fc` → FullyConnected(units, output_dim).
    case fullyConnected
    /// `random:SPARSITY`.
    case random(sparsity: Double)

    /// Parses the `--wiring` argument.
    public static func parse(_ text: String) throws -> WiringChoice {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let kind = parts[0].lowercased()
        let args = parts.count > 1 ? parts[1].split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } : []
        switch kind {
        case "auto":
            guard args.count >= 1, let outputs = Int(args[0]), outputs >= 1 else {
                throw WiringError(description: "--wiring auto:OUTPUTS[,SPARSITY[,SEED]] needs a positive OUTPUTS (got \"\(text)\")")
            }
            let sparsity = args.count > 1 ? Double(args[1]) : 0.5
            let seed = args.count > 2 ? UInt32(args[2]) : 22222
            guard let sparsity, let seed else { throw WiringError(description: "--wiring \(text): bad sparsity or seed") }
            return .auto(outputs: outputs, sparsity: sparsity, seed: seed)
        case "ncp":
            let numbers = args.compactMap { Int($0) }
            guard numbers.count == args.count, numbers.count == 7 || numbers.count == 8 else {
                throw WiringError(description: "--wiring ncp:INTER,COMMAND,MOTOR,SENSORY_FANOUT,INTER_FANOUT,RECURRENT,MOTOR_FANIN[,SEED] needs 7 or 8 integers (got \"\(text)\")")
            }
            guard numbers.count < 8 || (numbers[7] >= 0 && numbers[7] <= Int(UInt32.max)) else {
                throw WiringError(description: "--wiring \(text): seed must be in 0...\(UInt32.max)")
            }
            return .ncp(.ncp(interNeurons: numbers[0], commandNeurons: numbers[1], motorNeurons: numbers[2],
                             sensoryFanout: numbers[3], interFanout: numbers[4], recurrentCommandSynapses: numbers[5],
                             motorFanin: numbers[6], seed: numbers.count == 8 ? UInt32(numbers[7]) : 22222))
        case "fc", "fullyconnected":
            return .fullyConnected
        case "random":
            guard args.count == 1, let s = Double(args[0]) else { throw WiringError(description: "--wiring random:SPARSITY needs a number") }
            return .random(sparsity: s)
        default:
            throw WiringError(description: "--wiring \"\(text)\": expected auto:OUTPUTS, ncp:…, fc or random:SPARSITY")
        }
    }
}

/// Training settings; the defaults are the ones `lfm liquid train` uses.
public struct LiquidTrainingOptions: Sendable {
    public var cell: LiquidCellKind = .cfc
    public var units = 64
    public var wiring: WiringChoice? = nil
    /// Maximum epochs (early stopping usually ends sooner).
    public var epochs = 120
    /// Sequences per step; nil = 16, or 8 when fewer than 128 sequences are trained on.
    public var batchSize: Int? = nil
    public var learningRate: Float = 5e-3
    public var weightDecay: Float = 1e-4
    public var clipNorm: Float = 1.0
    public var validationFraction = 0.15
    /// Epochs without a better validation loss before stopping.
    public var patience = 25
    public var warmupEpochs = 2
    public var seed: UInt64 = 0
    public var mode: CfCMode = .default
    public var backboneUnits = 128
    public var backboneLayers = 1
    public var backboneDropout: Double = 0
    public var mixedMemory = false
    public var odeUnfolds = 6
    /// Sequence readout: true = mean of the per-step outputs, false = last step's output;
    /// nil = the task's default (mean for classification and regression, last for forecasting).
    public var meanReadout: Bool? = nil
    /// Standard deviation of Gaussian noise added to the (normalised) training inputs; nil = the
    /// task's default (`defaultClassificationNoise` for classification, 0 for regression and
    /// forecasting).
    public var inputNoise: Float? = nil
    /// The default input noise for classification: chosen by mean test accuracy over seeds on
    /// BasicMotions and JapaneseVowels (figures in `Benchmarks/liquid/README.md`).
    public static let defaultClassificationNoise: Float = 0.15
    /// Dense or sparse masked products for wired CfCs (`auto`: by density).
    public var maskedProducts: MaskedProductMode = .auto
    public init() {}
}

/// One epoch's numbers (also written as one JSON line per epoch).
public struct EpochLog: Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double?
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var learningRate: Float
    public var seconds: Double
    public var isBest: Bool

    /// Single-line JSON.
    public var json: String {
        var fields = ["\"epoch\": \(epoch)", "\"train_loss\": \(fmt(trainLoss))"]
        if let trainAccuracy { fields.append("\"train_accuracy\": \(fmt(trainAccuracy))") }
        if let validationLoss { fields.append("\"val_loss\": \(fmt(validationLoss))") }
        if let validationAccuracy { fields.append("\"val_accuracy\": \(fmt(validationAccuracy))") }
        fields.append("\"lr\": \(fmt(Double(learningRate)))")
        fields.append("\"seconds\": \(fmt(seconds))")
        fields.append("\"best\": \(isBest)")
        return "{" + fields.joined(separator: ", ") + "}"
    }
    private func fmt(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "null" }
}

/// Trains liquid models on a `TimeSeriesDataset`.
public struct LiquidTrainer {
    public var options: LiquidTrainingOptions
    public init(options: LiquidTrainingOptions) { self.options = options }

    /// The architecture for a dataset.
    public func makeConfig(features: Int, outputs: Int) throws -> LiquidConfig {
        let o = options
        var config: LiquidConfig
        switch (o.cell, o.wiring) {
        case (.cfc, nil):
            config = LiquidConfig(cell: .cfc, inputSize: features, units: .count(o.units))
            config.backboneUnits = o.backboneUnits
            config.backboneLayers = o.backboneLayers
            config.backboneDropout = o.backboneDropout
            config.projSize = outputs
        case (.ltc, nil), (.ltc, .fullyConnected?):
            config = LiquidConfig(cell: .ltc, inputSize: features, units: .wiring(.fullyConnected(units: o.units, outputDim: outputs)))
        case (_, .auto(let motor, let sparsity, let seed)?):
            config = LiquidConfig(cell: o.cell, inputSize: features,
                                  units: .wiring(.autoNCP(units: o.units, outputSize: motor, sparsityLevel: sparsity, seed: seed)))
        case (_, .ncp(let spec)?):
            config = LiquidConfig(cell: o.cell, inputSize: features, units: .wiring(spec))
        case (.cfc, .fullyConnected?):
            config = LiquidConfig(cell: .cfc, inputSize: features, units: .wiring(.fullyConnected(units: o.units)))
        case (_, .random(let sparsity)?):
            config = LiquidConfig(cell: o.cell, inputSize: features,
                                  units: .wiring(.random(units: o.units, outputDim: o.cell == .ltc ? outputs : nil, sparsityLevel: sparsity)))
        }
        config.mode = o.mode
        config.mixedMemory = o.mixedMemory
        config.odeUnfolds = o.odeUnfolds
        if o.cell == .cfc, o.wiring != nil { config.projSize = outputs }
        if o.cell == .ltc {
            let model = try LiquidModel(config: config)
            guard model.outputSize == outputs else {
                throw LiquidModelError("an LTC has no output projection: its wiring has \(model.outputSize) motor neurons but the task needs \(outputs) outputs (use auto:\(outputs))")
            }
        }
        return config
    }

    /// Trains on `data`; `log` receives each epoch. Returns the model folder (best epoch) and
    /// the epoch logs.
    public func train(_ data: TimeSeriesDataset, log: (EpochLog) -> Void = { _ in }) throws -> (LiquidModelFolder, [EpochLog]) {
        let o = options
        guard o.units >= 1, (o.batchSize ?? 1) >= 1, o.epochs >= 1 else { throw LiquidModelError("units, batch size and epochs must be >= 1") }
        var rng = SplitMix64(seed: o.seed ^ 0x5EED_11C0)
        let classes = data.classLabels
        let classification = data.isClassification
        let forecast = data.forecast
        let outputs = classification ? classes.count : (forecast?.outputs(columns: data.features) ?? 1)
        let meanReadout = o.meanReadout ?? (forecast == nil)
        let inputNoise = o.inputNoise ?? (classification ? LiquidTrainingOptions.defaultClassificationNoise : 0)
        guard !classification || classes.count >= 2 else { throw DataError(file: data.file, line: 0, message: "need at least two classes") }

        // Validation split (stratified by class).
        var trainIdx: [Int] = [], valIdx: [Int] = []
        let groups: [[Int]] = classification
            ? classes.map { c in data.series.indices.filter { data.series[$0].label == c } }
            : [Array(data.series.indices)]
        for var group in groups {
            let nVal = o.validationFraction > 0 && group.count >= 3 ? max(1, Int((Double(group.count) * o.validationFraction).rounded())) : 0
            if forecast != nil {
                // Windows overlap in time: validate on the last ones (a random split would leak).
                valIdx += group.suffix(nVal)
                trainIdx += group.dropLast(nVal)
                continue
            }
            group.shuffle(using: &rng)
            valIdx += group.prefix(nVal)
            trainIdx += group.dropFirst(nVal)
        }
        trainIdx.sort(); valIdx.sort()
        guard !trainIdx.isEmpty else { throw DataError(file: data.file, line: 0, message: "no training cases") }

        // Normalisation from the training split.
        let f = data.features
        var sum = [Double](repeating: 0, count: f), sq = [Double](repeating: 0, count: f)
        var count = 0.0
        for i in trainIdx {
            let s = data.series[i]
            for t in 0..<s.steps { for d in 0..<f { let v = Double(s.values[t * f + d]); sum[d] += v; sq[d] += v * v } }
            count += Double(s.steps)
        }
        let mean = (0..<f).map { Float(sum[$0] / count) }
        let std = (0..<f).map { d -> Float in
            let variance = sq[d] / count - (sum[d] / count) * (sum[d] / count)
            return Float(max(variance, 0).squareRoot() > 1e-8 ? max(variance, 0).squareRoot() : 1)
        }
        var extras = LiquidExtras(task: classification ? "classification" : (forecast == nil ? "regression" : "forecast"),
                                  classes: classes, mean: mean, std: std, readout: meanReadout ? "mean" : "last")
        extras.forecast = forecast
        let config = try makeConfig(features: f, outputs: outputs)
        var model = try LiquidModel(config: config, seed: o.seed)
        model.maskedProducts = o.maskedProducts
        let mask = model.parameters.trainableMask
        let batchSize = o.batchSize ?? (trainIdx.count >= 128 ? 16 : 8)
        let stepsPerEpoch = (trainIdx.count + batchSize - 1) / batchSize
        let schedule = LearningRateSchedule(peak: o.learningRate, warmupSteps: o.warmupEpochs * stepsPerEpoch,
                                            totalSteps: o.epochs * stepsPerEpoch)
        var optimizer = AdamOptimizer(learningRate: o.learningRate, weightDecay: o.weightDecay)
        let labelIndex = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        func targetOf(_ s: LabeledSeries) -> (Int, [Float]) {
            (s.label.flatMap { labelIndex[$0] } ?? 0, extras.trainingTargets(s, features: f))
        }

        var logs: [EpochLog] = []
        var best: (loss: Double, params: [Float])? = nil
        var sinceBest = 0
        var globalStep = 0
        for epoch in 1...o.epochs {
            let start = Date()
            var order = trainIdx
            order.shuffle(using: &rng)
            var lossSum = 0.0, correct = 0
            for first in stride(from: 0, to: order.count, by: batchSize) {
                let ids = Array(order[first..<min(first + batchSize, order.count)])
                var (batch, lengths) = try LiquidEvaluator.makeBatch(ids.map { data.series[$0] }, extras: extras, features: f)
                if inputNoise > 0 {
                    for b in 0..<batch.batch {
                        for i in 0..<(lengths[b] * f) { batch.values[b * batch.steps * f + i] += inputNoise * Float(rng.gaussian()) }
                    }
                }
                let targets = ids.map { targetOf(data.series[$0]) }
                var batchLoss = 0.0, batchCorrect = 0
                var grads = try model.forwardBackward(batch, training: true, dropoutSeed: rng.next()) { out in
                    let (loss, dOut, right) = Self.lossAndGradient(out, batch: batch.batch, steps: batch.steps, outputs: outputs,
                                                                   lengths: lengths, targets: targets, classification: classification,
                                                                   meanReadout: meanReadout)
                    batchLoss = loss; batchCorrect = right
                    return dOut
                }
                lossSum += batchLoss * Double(ids.count)
                correct += batchCorrect
                if o.clipNorm > 0 { clipGradientNorm(&grads.parameters, maxNorm: o.clipNorm) }
                optimizer.learningRate = schedule.rate(at: globalStep)
                optimizer.update(&model.parameters.values, gradients: grads.parameters, mask: mask)
                model.applyWeightConstraints()
                globalStep += 1
            }
            var entry = EpochLog(epoch: epoch, trainLoss: lossSum / Double(order.count),
                                 trainAccuracy: classification ? Double(correct) / Double(order.count) : nil,
                                 validationLoss: nil, validationAccuracy: nil, learningRate: optimizer.learningRate,
                                 seconds: 0, isBest: false)
            let monitored: Double
            if !valIdx.isEmpty {
                let metrics = try LiquidEvaluator.evaluate(model, extras: extras, series: valIdx.map { data.series[$0] }, file: data.file)
                entry.validationLoss = metrics.loss
                entry.validationAccuracy = metrics.accuracy
                monitored = metrics.loss
            } else {
                monitored = entry.trainLoss
            }
            if best == nil || monitored < best!.loss {
                best = (monitored, model.parameters.values)
                sinceBest = 0
                entry.isBest = true
            } else {
                sinceBest += 1
            }
            entry.seconds = Date().timeIntervalSince(start)
            logs.append(entry)
            log(entry)
            if sinceBest >= o.patience { break }
        }
        if let best { model.parameters.values = best.params }
        return (LiquidModelFolder(model: model, extras: extras), logs)
    }

    /// Mean loss over the batch, dL/d outputs (at each sequence's last step, or spread over its
    /// steps for the mean readout) and the number of correct predictions.
    static func lossAndGradient(_ out: [Float], batch: Int, steps: Int, outputs: Int, lengths: [Int],
                                targets: [(Int, [Float])], classification: Bool, meanReadout: Bool) -> (Double, [Float], Int) {
        var d = [Float](repeating: 0, count: out.count)
        var loss = 0.0, correct = 0
        for b in 0..<batch {
            let pooled = LiquidEvaluator.readout(out, b: b, steps: steps, outputs: outputs, length: lengths[b], mean: meanReadout)
            var dPooled = [Float](repeating: 0, count: outputs)
            if classification {
                let m = pooled.max() ?? 0
                let exps = pooled.map { Double(exp($0 - m)) }
                let z = exps.reduce(0, +)
                let target = targets[b].0
                loss -= log(max(exps[target] / z, 1e-30))
                if pooled.firstIndex(of: m) == target { correct += 1 }
                for k in 0..<outputs { dPooled[k] = Float((exps[k] / z - (k == target ? 1 : 0)) / Double(batch)) }
            } else {
                // Mean squared error over the outputs (one for .ts regression, horizon × columns
                // for forecasting).
                let target = targets[b].1
                for k in 0..<outputs {
                    let diff = Double(pooled[k] - (k < target.count ? target[k] : 0))
                    loss += diff * diff / Double(outputs)
                    dPooled[k] = Float(2 * diff / Double(outputs * batch))
                }
            }
            let first = meanReadout ? 0 : lengths[b] - 1
            let scale: Float = meanReadout ? 1 / Float(lengths[b]) : 1
            for t in first..<lengths[b] {
                for k in 0..<outputs { d[(b * steps + t) * outputs + k] = dPooled[k] * scale }
            }
        }
        return (loss / Double(batch), d, correct)
    }
}

/// Batched prediction and metrics for whole series (each read out as its folder says: the mean of
/// the per-step outputs, or the output at the last step).
public enum LiquidEvaluator {
    /// Metrics of a model on labelled series.
    public struct Metrics: Sendable {
        public var loss: Double
        public var accuracy: Double?
        public var mse: Double?
        /// Mean absolute error (regression and forecasting), in the targets' units.
        public var mae: Double? = nil
        public var count: Int
        public var predictions: [Int]
    }

    /// Normalises and zero-pads series into one batch; returns the lengths.
    static func makeBatch(_ series: [LabeledSeries], extras: LiquidExtras?, features f: Int) throws -> (SequenceBatch, [Int]) {
        let steps = series.map(\.steps).max() ?? 1
        var values = [Float](repeating: 0, count: series.count * steps * f)
        let mean = extras?.mean ?? [], std = extras?.std ?? []
        for (b, s) in series.enumerated() {
            for t in 0..<s.steps {
                for d in 0..<f {
                    var v = s.values[t * f + d]
                    if mean.count == f, std.count == f { v = (v - mean[d]) / std[d] }
                    values[(b * steps + t) * f + d] = v
                }
            }
        }
        return (try SequenceBatch(batch: series.count, steps: steps, features: f, values: values), series.map(\.steps))
    }

    /// Sequence `b`'s prediction from the per-step outputs [batch, steps, outputs]: the output at
    /// its last step, or the mean over its steps.
    static func readout(_ out: [Float], b: Int, steps: Int, outputs: Int, length: Int, mean: Bool) -> [Float] {
        if !mean {
            let base = (b * steps + length - 1) * outputs
            return Array(out[base..<(base + outputs)])
        }
        var pooled = [Float](repeating: 0, count: outputs)
        for t in 0..<length { for k in 0..<outputs { pooled[k] += out[(b * steps + t) * outputs + k] } }
        return pooled.map { $0 / Float(length) }
    }

    /// One prediction per series (the folder's readout), in batches of `batchSize`.
    public static func predict(_ model: LiquidModel, extras: LiquidExtras?, series: [LabeledSeries], batchSize: Int = 64) throws -> [[Float]] {
        var result: [[Float]] = []
        let o = model.outputSize
        for first in stride(from: 0, to: series.count, by: batchSize) {
            let chunk = Array(series[first..<min(first + batchSize, series.count)])
            let (batch, lengths) = try makeBatch(chunk, extras: extras, features: model.config.inputSize)
            let out = try model.forward(batch).outputs
            for b in 0..<chunk.count {
                result.append(readout(out, b: b, steps: batch.steps, outputs: o, length: lengths[b], mean: extras?.readout == "mean"))
            }
        }
        return result
    }

    /// Loss and accuracy (classification), or MSE and MAE (regression; forecasting in the
    /// series' units, over every predicted step and column). Labels must be among the model's
    /// classes: an unseen label is an error naming the file and line.
    public static func evaluate(_ model: LiquidModel, extras: LiquidExtras, series: [LabeledSeries], file: String) throws -> Metrics {
        guard !series.isEmpty else { throw DataError(file: file, line: 0, message: "no cases to evaluate") }
        let outputs = try predict(model, extras: extras, series: series)
        var loss = 0.0, correct = 0, predictions: [Int] = []
        if extras.task == "classification" {
            let index = Dictionary(uniqueKeysWithValues: extras.classes.enumerated().map { ($1, $0) })
            for (s, logits) in zip(series, outputs) {
                guard let label = s.label else { throw DataError(file: file, line: s.line, message: "case has no class label") }
                guard let target = index[label] else {
                    throw DataError(file: file, line: s.line, message: "class label \"\(label)\" was not seen in training (model classes: \(extras.classes.joined(separator: " ")))")
                }
                let m = logits.max() ?? 0
                let z = logits.reduce(0.0) { $0 + Double(exp($1 - m)) }
                loss -= log(max(Double(exp(logits[target] - m)) / z, 1e-30))
                let predicted = logits.firstIndex(of: m) ?? 0
                predictions.append(predicted)
                if predicted == target { correct += 1 }
            }
            return Metrics(loss: loss / Double(series.count), accuracy: Double(correct) / Double(series.count), mse: nil,
                           mae: nil, count: series.count, predictions: predictions)
        }
        if let spec = extras.forecast {
            // loss: on the normalised changes the model is trained on; mse/mae: in the series' units.
            let f = model.config.inputSize
            var sq = 0.0, absErr = 0.0, n = 0
            for (s, out) in zip(series, outputs) {
                guard let target = s.targets, target.count == out.count, s.values.count == s.steps * f else {
                    throw DataError(file: file, line: s.line, message: "case has no forecasting targets for \(spec.horizon) steps × \(f) columns")
                }
                let normalised = extras.trainingTargets(s, features: f)
                let values = spec.denormalize(out, lastRow: s.values[((s.steps - 1) * f)..<(s.steps * f)], std: extras.std)
                for k in 0..<out.count {
                    let d = Double(out[k] - normalised[k])
                    loss += d * d / Double(out.count)
                    let e = Double(values[k] - target[k])
                    sq += e * e; absErr += e.magnitude; n += 1
                }
            }
            return Metrics(loss: loss / Double(series.count), accuracy: nil, mse: sq / Double(n), mae: absErr / Double(n),
                           count: series.count, predictions: [])
        }
        var absSum = 0.0
        for (s, out) in zip(series, outputs) {
            guard let target = s.target else { throw DataError(file: file, line: s.line, message: "case has no regression target") }
            let diff = Double(out[0] - target)
            loss += diff * diff
            absSum += diff.magnitude
        }
        let mse = loss / Double(series.count)
        return Metrics(loss: mse, accuracy: nil, mse: mse, mae: absSum / Double(series.count), count: series.count, predictions: [])
    }
}
