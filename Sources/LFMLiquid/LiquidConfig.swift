import Foundation

// The interop `config.json` of a liquid model folder (issue 16, a contract):
//   {"library": "ncps", "class": "CfC" | "LTC", "input_size": N, "units": U | WIRING, "kwargs": {…}, "lfm": {…}?}
// WIRING = {"wiring": "AutoNCP" | "NCP" | "FullyConnected" | "Random", …constructor arguments by ncps name…};
// kwargs = the other constructor arguments of `ncps.torch.CfC` / `ncps.torch.LTC` by ncps name.
// `return_sequences` and `batch_first` may appear and are ignored (sequences are always batch first).

/// Which ncps sequence class a model is.
public enum LiquidCellKind: String, Sendable, Codable {
    /// `ncps.torch.CfC` (closed-form continuous-time).
    case cfc = "CfC"
    /// `ncps.torch.LTC` (liquid time-constant, fused ODE solver).
    case ltc = "LTC"
}

/// CfC update rules (`mode`).
public enum CfCMode: String, Sendable, Codable, CaseIterable {
    /// Gated interpolation of two heads by a time gate.
    case `default`
    /// `ff1 + t_interp * ff2`.
    case noGate = "no_gate"
    /// The direct closed-form solution (Cf-S).
    case pure
}

/// Backbone activations of `CfCCell`.
public enum BackboneActivation: String, Sendable, Codable, CaseIterable {
    /// 1.7159 · tanh(0.666 · x).
    case lecunTanh = "lecun_tanh"
    case silu, relu, tanh, gelu
}

/// Input or output mapping of `LTCCell`.
public enum LTCMapping: String, Sendable, Codable, CaseIterable {
    /// x · w + b.
    case affine
    /// x · w.
    case linear
    /// x.
    case passthrough
}

/// A liquid model's architecture: everything ncps' constructor takes.
public struct LiquidConfig: Sendable, Equatable {
    /// CfC or LTC.
    public var cell: LiquidCellKind
    /// Number of input features.
    public var inputSize: Int
    /// Plain unit count (CfC: a backbone cell; LTC: `FullyConnected(units)`), or a wiring.
    public var units: Units
    /// Units as ncps takes them.
    public enum Units: Sendable, Equatable {
        case count(Int)
        case wiring(WiringSpec)
    }

    // CfC keyword arguments.
    /// `proj_size`: a Linear(output, proj_size) after the cell.
    public var projSize: Int? = nil
    /// `mixed_memory`: an LSTM cell runs before the liquid cell at each step.
    public var mixedMemory = false
    /// `mode`.
    public var mode: CfCMode = .default
    /// `activation` (backbone).
    public var activation: BackboneActivation = .lecunTanh
    /// `backbone_units` (default 128 when not wired).
    public var backboneUnits = 128
    /// `backbone_layers` (default 1 when not wired).
    public var backboneLayers = 1
    /// `backbone_dropout` (default 0).
    public var backboneDropout: Double = 0

    // LTC keyword arguments.
    /// `input_mapping`.
    public var inputMapping: LTCMapping = .affine
    /// `output_mapping`.
    public var outputMapping: LTCMapping = .affine
    /// `ode_unfolds`.
    public var odeUnfolds = 6
    /// `epsilon`.
    public var epsilon: Double = 1e-8
    /// `implicit_param_constraints` (the `LTC` wrapper's default is true).
    public var implicitParamConstraints = true

    /// A configuration with ncps' defaults for everything but the class, input size and units.
    public init(cell: LiquidCellKind, inputSize: Int, units: Units) {
        self.cell = cell
        self.inputSize = inputSize
        self.units = units
    }

    /// True when a wiring (not a unit count) defines a CfC.
    public var isWiredCfC: Bool {
        if case .wiring = units, cell == .cfc { return true }
        return false
    }
}

/// Errors reading a model folder's `config.json` or tensors.
public struct LiquidModelError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, naming the file and key or tensor.
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension LiquidConfig {
    /// Parses the interop JSON object (`file` names the source in errors). Returns the
    /// configuration and the optional `lfm` object.
    public static func parse(_ data: Data, file: String) throws -> (LiquidConfig, [String: Any]?) {
        func fail(_ message: String) -> LiquidModelError { LiquidModelError("\(file): \(message)") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw fail("not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any] else { throw fail("top level is not a JSON object") }
        if let library = root["library"] {
            guard (library as? String) == "ncps" else { throw fail("\"library\" is \(library); expected \"ncps\"") }
        }
        guard let className = root["class"] as? String else { throw fail("missing string key \"class\" (CfC or LTC)") }
        guard let cell = LiquidCellKind(rawValue: className) else { throw fail("\"class\" is \"\(className)\"; expected \"CfC\" or \"LTC\"") }
        guard let inputSize = intValue(root["input_size"]), inputSize >= 1 else { throw fail("\"input_size\" must be a positive integer") }
        let units: Units
        if let count = intValue(root["units"]) {
            guard count >= 1 else { throw fail("\"units\" must be >= 1 (got \(count))") }
            units = .count(count)
        } else if let wiring = root["units"] as? [String: Any] {
            units = .wiring(try parseWiring(wiring, fail: fail))
        } else {
            throw fail("\"units\" must be an integer or a wiring object {\"wiring\": ...}")
        }
        var config = LiquidConfig(cell: cell, inputSize: inputSize, units: units)
        let kwargs = (root["kwargs"] as? [String: Any]) ?? [:]
        if root["kwargs"] != nil && root["kwargs"] as? [String: Any] == nil && !(root["kwargs"] is NSNull) {
            throw fail("\"kwargs\" must be an object")
        }
        let wired: Bool = { if case .wiring = units { return true } else { return false } }()
        for (key, value) in kwargs {
            if value is NSNull { continue }
            func int() throws -> Int {
                guard let v = intValue(value) else { throw fail("kwargs.\(key) must be an integer (got \(value))") }
                return v
            }
            func bool() throws -> Bool {
                guard let v = value as? Bool ?? (value as? NSNumber).map({ $0.boolValue }) else { throw fail("kwargs.\(key) must be a boolean") }
                return v
            }
            func double() throws -> Double {
                guard let v = (value as? NSNumber)?.doubleValue else { throw fail("kwargs.\(key) must be a number") }
                return v
            }
            func string() throws -> String {
                guard let v = value as? String else { throw fail("kwargs.\(key) must be a string") }
                return v
            }
            switch (cell, key) {
            case (_, "return_sequences"), (_, "batch_first"): continue
            case (_, "mixed_memory"): config.mixedMemory = try bool()
            case (.cfc, "proj_size"):
                let p = try int()
                guard p >= 1 else { throw fail("kwargs.proj_size must be >= 1") }
                config.projSize = p
            case (.cfc, "mode"):
                let s = try string()
                guard let m = CfCMode(rawValue: s) else { throw fail("Unknown mode '\(s)', valid options are default, pure, no_gate") }
                config.mode = m
            case (.cfc, "activation"):
                let s = try string()
                guard let a = BackboneActivation(rawValue: s) else { throw fail("Unknown activation \(s)") }
                config.activation = a
            case (.cfc, "backbone_units"), (.cfc, "backbone_layers"), (.cfc, "backbone_dropout"):
                guard !wired else { throw fail("Cannot use \(key) in wired mode") }
                if key == "backbone_units" { config.backboneUnits = try int(); guard config.backboneUnits >= 1 else { throw fail("kwargs.backbone_units must be >= 1") } }
                if key == "backbone_layers" { config.backboneLayers = try int(); guard config.backboneLayers >= 0 else { throw fail("kwargs.backbone_layers must be >= 0") } }
                if key == "backbone_dropout" {
                    config.backboneDropout = try double()
                    guard config.backboneDropout >= 0, config.backboneDropout < 1 else { throw fail("kwargs.backbone_dropout must be in [0, 1)") }
                }
            case (.ltc, "input_mapping"), (.ltc, "output_mapping"):
                let s = try string()
                guard let m = LTCMapping(rawValue: s) else { throw fail("kwargs.\(key) '\(s)' is not affine, linear or passthrough") }
                if key == "input_mapping" { config.inputMapping = m } else { config.outputMapping = m }
            case (.ltc, "ode_unfolds"):
                config.odeUnfolds = try int()
                guard config.odeUnfolds >= 1 else { throw fail("kwargs.ode_unfolds must be >= 1") }
            case (.ltc, "epsilon"): config.epsilon = try double()
            case (.ltc, "implicit_param_constraints"): config.implicitParamConstraints = try bool()
            default:
                throw fail("unknown kwargs key \"\(key)\" for \(cell.rawValue)")
            }
        }
        return (config, root["lfm"] as? [String: Any])
    }

    static func intValue(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let d = number.doubleValue
        guard d == d.rounded(), abs(d) < 1e15 else { return nil }
        return number.intValue
    }

    private static func parseWiring(_ object: [String: Any], fail: (String) -> LiquidModelError) throws -> WiringSpec {
        guard let name = object["wiring"] as? String else { throw fail("units.wiring must name a wiring class") }
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            if object[key] == nil || object[key] is NSNull, let value { return value }
            guard let v = intValue(object[key]) else { throw fail("units.\(key) must be an integer") }
            return v
        }
        func optionalInt(_ key: String) throws -> Int? {
            if object[key] == nil || object[key] is NSNull { return nil }
            return try int(key)
        }
        func double(_ key: String, default value: Double) throws -> Double {
            if object[key] == nil || object[key] is NSNull { return value }
            guard let v = (object[key] as? NSNumber)?.doubleValue else { throw fail("units.\(key) must be a number") }
            return v
        }
        func seed(_ key: String, default value: Int) throws -> Int {
            let v = try int(key, default: value)
            guard v >= 0, v <= Int(UInt32.max) else { throw fail("units.\(key) must be in 0...\(UInt32.max)") }
            return v
        }
        let allowed: Set<String>
        let spec: WiringSpec
        switch name {
        case "FullyConnected":
            allowed = ["units", "output_dim", "erev_init_seed", "self_connections"]
            let selfConnections = (object["self_connections"] as? Bool) ?? true
            spec = .fullyConnected(units: try int("units"), outputDim: try optionalInt("output_dim"),
                                   erevInitSeed: UInt64(try seed("erev_init_seed", default: 1111)), selfConnections: selfConnections)
        case "Random":
            allowed = ["units", "output_dim", "sparsity_level", "random_seed"]
            spec = .random(units: try int("units"), outputDim: try optionalInt("output_dim"),
                           sparsityLevel: try double("sparsity_level", default: 0), randomSeed: UInt64(try seed("random_seed", default: 1111)))
        case "AutoNCP":
            allowed = ["units", "output_size", "sparsity_level", "seed"]
            spec = .autoNCP(units: try int("units"), outputSize: try int("output_size"),
                            sparsityLevel: try double("sparsity_level", default: 0.5), seed: UInt32(try seed("seed", default: 22222)))
        case "NCP":
            allowed = ["inter_neurons", "command_neurons", "motor_neurons", "sensory_fanout", "inter_fanout",
                       "recurrent_command_synapses", "motor_fanin", "seed"]
            spec = .ncp(interNeurons: try int("inter_neurons"), commandNeurons: try int("command_neurons"),
                        motorNeurons: try int("motor_neurons"), sensoryFanout: try int("sensory_fanout"),
                        interFanout: try int("inter_fanout"), recurrentCommandSynapses: try int("recurrent_command_synapses"),
                        motorFanin: try int("motor_fanin"), seed: UInt32(try seed("seed", default: 22222)))
        default:
            throw fail("units.wiring \"\(name)\" is not AutoNCP, NCP, FullyConnected or Random")
        }
        for key in object.keys where key != "wiring" && !allowed.contains(key) {
            throw fail("unknown key units.\(key) for wiring \(name)")
        }
        return spec
    }

    /// The interop JSON object (without the `lfm` key).
    public func jsonObject() -> [String: Any] {
        var kwargs: [String: Any] = ["mixed_memory": mixedMemory]
        switch cell {
        case .cfc:
            kwargs["mode"] = mode.rawValue
            kwargs["activation"] = activation.rawValue
            if let projSize { kwargs["proj_size"] = projSize }
            if !isWiredCfC {
                kwargs["backbone_units"] = backboneUnits
                kwargs["backbone_layers"] = backboneLayers
                kwargs["backbone_dropout"] = backboneDropout
            }
        case .ltc:
            kwargs["input_mapping"] = inputMapping.rawValue
            kwargs["output_mapping"] = outputMapping.rawValue
            kwargs["ode_unfolds"] = odeUnfolds
            kwargs["epsilon"] = epsilon
            kwargs["implicit_param_constraints"] = implicitParamConstraints
        }
        let unitsValue: Any
        switch units {
        case .count(let n): unitsValue = n
        case .wiring(let spec): unitsValue = Self.wiringObject(spec)
        }
        return ["library": "ncps", "class": cell.rawValue, "input_size": inputSize, "units": unitsValue, "kwargs": kwargs]
    }

    static func wiringObject(_ spec: WiringSpec) -> [String: Any] {
        switch spec {
        case let .fullyConnected(units, outputDim, seed, selfConnections):
            var o: [String: Any] = ["wiring": "FullyConnected", "units": units, "erev_init_seed": seed, "self_connections": selfConnections]
            if let outputDim { o["output_dim"] = outputDim }
            return o
        case let .random(units, outputDim, sparsity, seed):
            var o: [String: Any] = ["wiring": "Random", "units": units, "sparsity_level": sparsity, "random_seed": seed]
            if let outputDim { o["output_dim"] = outputDim }
            return o
        case let .autoNCP(units, outputSize, sparsity, seed):
            return ["wiring": "AutoNCP", "units": units, "output_size": outputSize, "sparsity_level": sparsity, "seed": seed]
        case let .ncp(inter, command, motor, sensoryFanout, interFanout, recurrent, motorFanin, seed):
            return ["wiring": "NCP", "inter_neurons": inter, "command_neurons": command, "motor_neurons": motor,
                    "sensory_fanout": sensoryFanout, "inter_fanout": interFanout,
                    "recurrent_command_synapses": recurrent, "motor_fanin": motorFanin, "seed": seed]
        }
    }
}
