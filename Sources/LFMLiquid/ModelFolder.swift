import Foundation
import LFMCore
import LFMFormats

/// What our own models keep beside the ncps architecture, under the `lfm` key of `config.json`.
public struct LiquidExtras: Sendable, Equatable {
    /// `classification`, `regression` or `forecast`.
    public var task: String
    /// Class labels in output order (classification).
    public var classes: [String]
    /// Per-feature input mean and standard deviation applied before the model.
    public var mean: [Float]
    public var std: [Float]
    /// How a sequence's prediction is read from the per-step outputs: `last` (the output at the
    /// last step) or `mean` (the mean of the outputs over the steps).
    public var readout: String
    /// The window geometry of a `forecast` model.
    public var forecast: ForecastSpec? = nil

    /// Creates the extras.
    public init(task: String, classes: [String] = [], mean: [Float] = [], std: [Float] = [], readout: String = "last") {
        self.task = task
        self.readout = readout
        self.classes = classes
        self.mean = mean
        self.std = std
    }

    func jsonObject() -> [String: Any] {
        var object: [String: Any] = ["task": task, "classes": classes, "readout": readout,
                                     "normalization": ["mean": mean.map(Double.init), "std": std.map(Double.init)]]
        if let forecast { object["forecast"] = ["lookback": forecast.lookback, "horizon": forecast.horizon] }
        return object
    }

    /// What the network is trained to output for a case: the forecasting targets as normalised
    /// changes from the window's last row, or the `.ts` regression target.
    func trainingTargets(_ s: LabeledSeries, features f: Int) -> [Float] {
        guard let forecast, let targets = s.targets, s.steps >= 1, s.values.count == s.steps * f else { return s.regressionTargets }
        return forecast.normalize(targets, lastRow: s.values[((s.steps - 1) * f)..<(s.steps * f)], std: std)
    }

    init(json: [String: Any], file: String, inputSize: Int) throws {
        task = (json["task"] as? String) ?? "regression"
        guard task == "classification" || task == "regression" || task == "forecast" else {
            throw LiquidModelError("\(file): lfm.task \"\(task)\" is not classification, regression or forecast")
        }
        if task == "forecast" {
            guard let spec = json["forecast"] as? [String: Any], let lookback = spec["lookback"] as? Int,
                  let horizon = spec["horizon"] as? Int, lookback >= 1, horizon >= 1 else {
                throw LiquidModelError("\(file): lfm.forecast must be {\"lookback\": L ≥ 1, \"horizon\": H ≥ 1} for task forecast")
            }
            forecast = try ForecastSpec(lookback: lookback, horizon: horizon)
        }
        classes = (json["classes"] as? [Any])?.map { "\($0)" } ?? []
        readout = (json["readout"] as? String) ?? "last"
        guard readout == "last" || readout == "mean" else {
            throw LiquidModelError("\(file): lfm.readout \"\(readout)\" is not last or mean")
        }
        let normalization = json["normalization"] as? [String: Any]
        func floats(_ key: String) throws -> [Float] {
            guard let raw = normalization?[key] else { return [] }
            guard let values = raw as? [NSNumber], values.count == inputSize else {
                throw LiquidModelError("\(file): lfm.normalization.\(key) must hold \(inputSize) numbers")
            }
            return values.map { $0.floatValue }
        }
        mean = try floats("mean")
        std = try floats("std")
        if std.contains(where: { !($0 > 0) }) { throw LiquidModelError("\(file): lfm.normalization.std must be positive") }
    }
}

/// A model folder: `config.json` (interop form) + `model.safetensors` (ncps state_dict).
public struct LiquidModelFolder: Sendable {
    /// The network.
    public var model: LiquidModel
    /// Our extras, nil for folders exported from ncps.
    public var extras: LiquidExtras?

    /// Wraps a model.
    public init(model: LiquidModel, extras: LiquidExtras?) {
        self.model = model
        self.extras = extras
    }

    /// Loads `directory`; every tensor the architecture needs must be present with its exact
    /// shape, and no other tensor may be there.
    public static func load(_ directory: URL) throws -> LiquidModelFolder {
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw LiquidModelError("\(configURL.path): cannot read the model's config.json")
        }
        let (config, lfm) = try LiquidConfig.parse(data, file: configURL.path)
        var model: LiquidModel
        do { model = try LiquidModel(config: config) } catch let error as WiringError {
            throw LiquidModelError("\(configURL.path): \(error.description)")
        }
        let weightsPath = directory.appendingPathComponent("model.safetensors").path
        let file = try SafeTensorsFile(path: weightsPath)
        for entry in model.parameters.entries {
            guard let stored = file.tensor(named: entry.name) else {
                throw LiquidModelError("\(weightsPath): missing tensor \(entry.name) (shape \(entry.shape))")
            }
            guard stored.shape == entry.shape else {
                throw LiquidModelError("\(weightsPath): tensor \(entry.name) has shape \(stored.shape); the config needs \(entry.shape)")
            }
            guard let values = stored.floats() else {
                throw LiquidModelError("\(weightsPath): tensor \(entry.name) has dtype \(stored.dtype); expected F32, F16 or BF16")
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw LiquidModelError("\(weightsPath): tensor \(entry.name) has a non-finite value at element \(bad)")
            }
            try model.parameters.set(entry.name, values)
        }
        let known = Set(model.parameters.entries.map(\.name))
        if let extra = file.tensorNames.first(where: { !known.contains($0) }) {
            throw LiquidModelError("\(weightsPath): unexpected tensor \(extra) for this config")
        }
        let extras = try lfm.map { try LiquidExtras(json: $0, file: configURL.path, inputSize: config.inputSize) }
        if let spec = extras?.forecast, model.outputSize != spec.outputs(columns: config.inputSize) {
            throw LiquidModelError("\(configURL.path): a forecast of \(spec.horizon) steps × \(config.inputSize) columns needs \(spec.outputs(columns: config.inputSize)) outputs; the model has \(model.outputSize)")
        }
        return LiquidModelFolder(model: model, extras: extras)
    }

    /// Writes `config.json` and `model.safetensors` into `directory` (created if needed).
    public func save(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var object = model.config.jsonObject()
        if let extras { object["lfm"] = extras.jsonObject() }
        let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        var writer = SafeTensorsWriter()
        for entry in model.parameters.entries {
            writer.add(entry.name, shape: entry.shape, values: Array(model.parameters.values[entry.range]))
        }
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
    }
}
