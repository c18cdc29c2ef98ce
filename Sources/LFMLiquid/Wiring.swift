// Wirings of ncps 1.0.1 (`ncps/wirings/wirings.py`): which neuron feeds which, with polarity ±1.
// Adjacency entries are indexed [source, destination]; neuron ids of an NCP are laid out
// [motor | command | inter]; wired cells use the layers inter (0) → command (1) → motor (2).
// Every random draw is made in the same order with the same NumPy stream as ncps, so the same
// seed gives identical matrices (checked against fixtures written by ncps).

/// How a wiring is built: the ncps class and its constructor arguments (by their ncps names in
/// `config.json`).
public enum WiringSpec: Sendable, Equatable {
    /// `FullyConnected(units, output_dim, erev_init_seed, self_connections)`.
    case fullyConnected(units: Int, outputDim: Int? = nil, erevInitSeed: UInt64 = 1111, selfConnections: Bool = true)
    /// `NCP(inter_neurons, command_neurons, motor_neurons, sensory_fanout, inter_fanout,
    /// recurrent_command_synapses, motor_fanin, seed)`.
    case ncp(interNeurons: Int, commandNeurons: Int, motorNeurons: Int, sensoryFanout: Int, interFanout: Int,
             recurrentCommandSynapses: Int, motorFanin: Int, seed: UInt32 = 22222)
    /// `AutoNCP(units, output_size, sparsity_level, seed)`.
    case autoNCP(units: Int, outputSize: Int, sparsityLevel: Double = 0.5, seed: UInt32 = 22222)
    /// `Random(units, output_dim, sparsity_level, random_seed)`.
    case random(units: Int, outputDim: Int? = nil, sparsityLevel: Double = 0.0, randomSeed: UInt64 = 1111)

    /// The ncps class name.
    public var className: String {
        switch self {
        case .fullyConnected: return "FullyConnected"
        case .ncp: return "NCP"
        case .autoNCP: return "AutoNCP"
        case .random: return "Random"
        }
    }
}

/// Errors in a wiring's arguments (the messages ncps raises, plus shape checks).
public struct WiringError: Error, CustomStringConvertible, Equatable {
    /// What is wrong.
    public let description: String
}

/// A built wiring: neuron count, input and output sizes, both adjacency matrices and the layers.
public struct Wiring: Sendable, Equatable {
    /// How it was built.
    public let spec: WiringSpec
    /// Number of neurons (the state size).
    public let units: Int
    /// Number of input features (sensory neurons).
    public let inputDim: Int
    /// Number of motor neurons (outputs): neurons 0..<outputDim.
    public let outputDim: Int
    /// [units, units] row-major, entry [src * units + dest] in {-1, 0, 1}.
    public private(set) var adjacency: [Int32]
    /// [inputDim, units] row-major, entry [src * units + dest] in {-1, 0, 1}.
    public private(set) var sensoryAdjacency: [Int32]
    /// Neuron ids of each layer, in the order wired cells run them.
    public let layers: [[Int]]

    /// Builds `spec` for `inputDim` input features, drawing exactly as ncps does.
    public init(_ spec: WiringSpec, inputDim: Int) throws {
        guard inputDim >= 1 else { throw WiringError(description: "a wiring needs at least one input feature (got \(inputDim))") }
        self.spec = spec
        self.inputDim = inputDim
        switch spec {
        case let .fullyConnected(units, outputDim, seed, selfConnections):
            guard units >= 1 else { throw WiringError(description: "FullyConnected needs units >= 1 (got \(units))") }
            let out = outputDim ?? units
            guard out >= 1, out <= units else { throw WiringError(description: "FullyConnected output_dim must be in 1...\(units) (got \(out))") }
            self.units = units
            self.outputDim = out
            layers = [Array(0..<units)]
            adjacency = Array(repeating: 0, count: units * units)
            sensoryAdjacency = Array(repeating: 0, count: inputDim * units)
            var rng = NumpyGenerator(seed: seed)
            for src in 0..<units {
                for dest in 0..<units where !(src == dest && !selfConnections) {
                    adjacency[src * units + dest] = rng.choice([-1, 1, 1])
                }
            }
            for src in 0..<inputDim {
                for dest in 0..<units { sensoryAdjacency[src * units + dest] = rng.choice([-1, 1, 1]) }
            }
        case let .random(units, outputDim, sparsity, seed):
            guard units >= 1 else { throw WiringError(description: "Random needs units >= 1 (got \(units))") }
            guard sparsity >= 0, sparsity < 1 else {
                throw WiringError(description: "Invalid sparsity level '\(sparsity)', expected value in range [0,1)")
            }
            let out = outputDim ?? units
            guard out >= 1, out <= units else { throw WiringError(description: "Random output_dim must be in 1...\(units) (got \(out))") }
            self.units = units
            self.outputDim = out
            layers = [Array(0..<units)]
            adjacency = Array(repeating: 0, count: units * units)
            sensoryAdjacency = Array(repeating: 0, count: inputDim * units)
            var rng = NumpyGenerator(seed: seed)
            let synapses = Int((Double(units * units) * (1 - sparsity)).rounded(.toNearestOrEven))
            for pair in rng.choiceWithoutReplacement(Array(0..<(units * units)), size: synapses) {
                adjacency[pair] = rng.choice([-1, 1, 1])
            }
            let sensory = Int((Double(inputDim * units) * (1 - sparsity)).rounded(.toNearestOrEven))
            for pair in rng.choiceWithoutReplacement(Array(0..<(inputDim * units)), size: sensory) {
                // ncps draws each sensory polarity twice; the second draw wins.
                sensoryAdjacency[pair] = rng.choice([-1, 1, 1])
                sensoryAdjacency[pair] = rng.choice([-1, 1, 1])
            }
        case let .autoNCP(units, outputSize, sparsity, seed):
            guard outputSize < units - 2 else {
                throw WiringError(description: "Output size must be less than the number of units-2 (given \(units) units, \(outputSize) output size)")
            }
            guard outputSize >= 1 else { throw WiringError(description: "AutoNCP output_size must be >= 1 (got \(outputSize))") }
            guard sparsity >= 0.1, sparsity <= 1.0 else {
                throw WiringError(description: "Sparsity level must be between 0.0 and 0.9 (given \(sparsity))")
            }
            let p = Self.autoNCPParameters(units: units, outputSize: outputSize, sparsityLevel: sparsity)
            let built = try Wiring(.ncp(interNeurons: p.inter, commandNeurons: p.command, motorNeurons: outputSize,
                                        sensoryFanout: p.sensoryFanout, interFanout: p.interFanout,
                                        recurrentCommandSynapses: p.recurrent, motorFanin: p.motorFanin, seed: seed),
                                   inputDim: inputDim)
            self.units = built.units
            outputDim = built.outputDim
            layers = built.layers
            adjacency = built.adjacency
            sensoryAdjacency = built.sensoryAdjacency
        case let .ncp(inter, command, motor, sensoryFanout, interFanout, recurrent, motorFanin, seed):
            for (name, value) in [("inter_neurons", inter), ("command_neurons", command), ("motor_neurons", motor),
                                  ("sensory_fanout", sensoryFanout), ("inter_fanout", interFanout), ("motor_fanin", motorFanin)] where value < 1 {
                throw WiringError(description: "NCP \(name) must be >= 1 (got \(value))")
            }
            guard recurrent >= 0 else { throw WiringError(description: "NCP recurrent_command_synapses must be >= 0 (got \(recurrent))") }
            guard motorFanin <= command else {
                throw WiringError(description: "Error: Motor fanin parameter is \(motorFanin) but there are only \(command) command neurons")
            }
            guard sensoryFanout <= inter else {
                throw WiringError(description: "Error: Sensory fanout parameter is \(sensoryFanout) but there are only \(inter) inter neurons")
            }
            guard interFanout <= command else {
                throw WiringError(description: "Error:: Inter fanout parameter is \(interFanout) but there are only \(command) command neurons")
            }
            let units = inter + command + motor
            self.units = units
            outputDim = motor
            let motorIds = Array(0..<motor)
            let commandIds = Array(motor..<(motor + command))
            let interIds = Array((motor + command)..<units)
            layers = [interIds, commandIds, motorIds]
            var adjacency = [Int32](repeating: 0, count: units * units)
            var sensoryAdjacency = [Int32](repeating: 0, count: inputDim * units)
            var rng = NumpyRandomState(seed: seed)
            let sensoryIds = Array(0..<inputDim)

            // Sensory → inter: each sensory neuron reaches `sensoryFanout` distinct inter neurons.
            var unreachable = interIds
            for src in sensoryIds {
                for dest in rng.choiceWithoutReplacement(interIds, size: sensoryFanout) {
                    unreachable.removeAll { $0 == dest }
                    sensoryAdjacency[src * units + dest] = rng.choice([-1, 1])
                }
            }
            let meanInterFanin = min(max(inputDim * sensoryFanout / inter, 1), inputDim)
            for dest in unreachable {
                for src in rng.choiceWithoutReplacement(sensoryIds, size: meanInterFanin) {
                    sensoryAdjacency[src * units + dest] = rng.choice([-1, 1])
                }
            }

            // Inter → command.
            unreachable = commandIds
            for src in interIds {
                for dest in rng.choiceWithoutReplacement(commandIds, size: interFanout) {
                    unreachable.removeAll { $0 == dest }
                    adjacency[src * units + dest] = rng.choice([-1, 1])
                }
            }
            // ncps clips this by the number of command neurons (not inter neurons).
            let meanCommandFanin = min(max(inter * interFanout / command, 1), command)
            for dest in unreachable {
                for src in rng.choiceWithoutReplacement(interIds, size: meanCommandFanin) {
                    adjacency[src * units + dest] = rng.choice([-1, 1])
                }
            }

            // Recurrent command synapses.
            for _ in 0..<recurrent {
                let src = rng.choice(commandIds)
                let dest = rng.choice(commandIds)
                adjacency[src * units + dest] = rng.choice([-1, 1])
            }

            // Command → motor.
            unreachable = commandIds
            for dest in motorIds {
                for src in rng.choiceWithoutReplacement(commandIds, size: motorFanin) {
                    unreachable.removeAll { $0 == src }
                    adjacency[src * units + dest] = rng.choice([-1, 1])
                }
            }
            let meanCommandFanout = min(max(motor * motorFanin / command, 1), motor)
            for src in unreachable {
                for dest in rng.choiceWithoutReplacement(motorIds, size: meanCommandFanout) {
                    adjacency[src * units + dest] = rng.choice([-1, 1])
                }
            }
            self.adjacency = adjacency
            self.sensoryAdjacency = sensoryAdjacency
        }
    }

    /// The NCP sizes `AutoNCP(units, output_size, sparsity_level)` derives.
    public static func autoNCPParameters(units: Int, outputSize: Int, sparsityLevel: Double)
        -> (inter: Int, command: Int, sensoryFanout: Int, interFanout: Int, recurrent: Int, motorFanin: Int) {
        let density = 1.0 - sparsityLevel
        let interAndCommand = units - outputSize
        let command = max(Int(0.4 * Double(interAndCommand)), 1)
        let inter = interAndCommand - command
        return (inter, command,
                max(Int(Double(inter) * density), 1),
                max(Int(Double(command) * density), 1),
                max(Int(Double(command) * density * 2), 1),
                max(Int(Double(command) * density), 1))
    }

    /// Number of internal synapses (non-zero adjacency entries).
    public var synapseCount: Int { adjacency.reduce(0) { $0 + Int(abs($1)) } }
    /// Number of sensory synapses.
    public var sensorySynapseCount: Int { sensoryAdjacency.reduce(0) { $0 + Int(abs($1)) } }
}
