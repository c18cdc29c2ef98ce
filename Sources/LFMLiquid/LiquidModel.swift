import Foundation
import LFMCore

/// A liquid network equal to `ncps.torch.CfC` or `ncps.torch.LTC`: configuration, wiring and the
/// parameters under their ncps `state_dict` names.
///
/// Tensor layout (what `model.safetensors` holds):
/// - CfC: `rnn_cell.backbone.{k}.weight|bias`, `rnn_cell.ff1|ff2|time_a|time_b.weight|bias`
///   (`rnn_cell.w_tau`, `rnn_cell.A` in pure mode); wired: `rnn_cell.layer_{l}.…` plus
///   `rnn_cell.layer_{l}.sparsity_mask`; `lstm.…` with mixed memory; `fc.weight|bias` with proj_size.
/// - LTC: `rnn_cell.gleak|vleak|cm|sigma|mu|w|erev|sensory_*|sparsity_mask|sensory_sparsity_mask|
///   input_w|input_b|output_w|output_b`, `lstm.…` with mixed memory.
public struct LiquidModel: Sendable {
    /// The architecture.
    public let config: LiquidConfig
    /// The built wiring (wired CfC and every LTC), nil for a plain CfC.
    public let wiring: Wiring?
    /// All tensors, ncps names and shapes.
    public var parameters: ParameterSet
    /// How the masked ff1/ff2 products of a wired CfC run (dense or sparse rows; `auto` picks
    /// by the mask's density). The results agree to float rounding.
    public var maskedProducts: MaskedProductMode = .auto

    enum Core: Sendable {
        case cfc(CfCLayout)
        case wiredCfC([CfCLayout])
        case ltc(LTCLayout)
    }
    let core: Core
    let lstm: LSTMLayout?
    let projection: Projection?
    struct Projection: Sendable { let weight: Int, bias: Int, inDim: Int, outDim: Int }

    /// Size of the recurrent state h (and c with mixed memory).
    public let stateSize: Int
    /// Output features per step (after `proj_size`).
    public var outputSize: Int { projection?.outDim ?? cellOutputSize }
    /// Output features of the cell before the projection.
    public let cellOutputSize: Int

    /// Builds the tensors of `config` (wiring drawn as ncps draws it) and initialises them as
    /// ncps does, from `seed`.
    public init(config: LiquidConfig, seed: UInt64) throws {
        try self.init(config: config)
        var rng = SplitMix64(seed: seed)
        switch core {
        case .cfc(let layout): layout.initialize(&parameters.values, rng: &rng)
        case .wiredCfC(let layouts): for layout in layouts { layout.initialize(&parameters.values, rng: &rng) }
        case .ltc(let layout): layout.initialize(&parameters.values, rng: &rng)
        }
        lstm?.initialize(&parameters.values, rng: &rng)
        if let projection {
            let bound = Float(1 / Double(projection.inDim).squareRoot())
            for i in 0..<(projection.inDim * projection.outDim) {
                parameters.values[projection.weight + i] = Float.random(in: -bound..<bound, using: &rng)
            }
            for i in 0..<projection.outDim { parameters.values[projection.bias + i] = Float.random(in: -bound..<bound, using: &rng) }
        }
    }

    /// Builds the tensor layout of `config` with constant values (masks and erev from the wiring).
    public init(config: LiquidConfig) throws {
        guard config.inputSize >= 1 else { throw LiquidModelError("input_size must be >= 1 (got \(config.inputSize))") }
        try Self.checkSize(config)
        self.config = config
        var params = ParameterSet()
        switch (config.cell, config.units) {
        case (.cfc, .count(let units)):
            guard units >= 1 else { throw LiquidModelError("units must be >= 1 (got \(units))") }
            wiring = nil
            let layout = CfCLayout.register(in: &params, prefix: "rnn_cell.", inputSize: config.inputSize, hidden: units,
                                            mode: config.mode, activation: config.activation,
                                            backboneUnits: config.backboneUnits, backboneLayers: config.backboneLayers,
                                            dropout: config.backboneDropout, mask: nil)
            core = .cfc(layout)
            stateSize = units
            cellOutputSize = units
        case (.cfc, .wiring(let spec)):
            let wiring = try Wiring(spec, inputDim: config.inputSize)
            self.wiring = wiring
            var layouts: [CfCLayout] = []
            var inFeatures = config.inputSize
            for (l, neurons) in wiring.layers.enumerated() {
                let n = neurons.count
                // input_sparsity: [in, n] from the previous layer (or sensory), stacked with ones [n, n];
                // the cell stores |input_sparsityᵀ| as [n, in + n].
                var mask = [Float](repeating: 1, count: n * (inFeatures + n))
                for (o, dest) in neurons.enumerated() {
                    for i in 0..<inFeatures {
                        let value: Int32 = l == 0
                            ? wiring.sensoryAdjacency[i * wiring.units + dest]
                            : wiring.adjacency[wiring.layers[l - 1][i] * wiring.units + dest]
                        mask[o * (inFeatures + n) + i] = Float(abs(value))
                    }
                }
                layouts.append(CfCLayout.register(in: &params, prefix: "rnn_cell.layer_\(l).", inputSize: inFeatures, hidden: n,
                                                  mode: config.mode, activation: .lecunTanh, backboneUnits: 0,
                                                  backboneLayers: 0, dropout: 0, mask: mask))
                inFeatures = n
            }
            core = .wiredCfC(layouts)
            stateSize = wiring.units
            cellOutputSize = layouts.last?.hidden ?? 0
            if config.projSize != nil && cellOutputSize != wiring.outputDim {
                throw LiquidModelError("proj_size with a \(spec.className) wiring needs output_dim == units (ncps feeds the last layer's \(cellOutputSize) neurons to a Linear of \(wiring.outputDim) inputs)")
            }
        case (.ltc, _):
            let spec: WiringSpec
            switch config.units {
            case .count(let units):
                guard units >= 1 else { throw LiquidModelError("units must be >= 1 (got \(units))") }
                spec = .fullyConnected(units: units)
            case .wiring(let s): spec = s
            }
            let wiring = try Wiring(spec, inputDim: config.inputSize)
            self.wiring = wiring
            core = .ltc(LTCLayout.register(in: &params, prefix: "rnn_cell.", wiring: wiring, config: config))
            stateSize = wiring.units
            cellOutputSize = wiring.outputDim
        }
        lstm = config.mixedMemory ? LSTMLayout.register(in: &params, inputSize: config.inputSize, hidden: stateSize) : nil
        if config.cell == .cfc, let proj = config.projSize {
            let w = params.add("fc.weight", shape: [proj, cellOutputSize])
            let b = params.add("fc.bias", shape: [proj])
            projection = Projection(weight: w, bias: b, inDim: cellOutputSize, outDim: proj)
        } else {
            projection = nil
        }
        parameters = params
    }

    /// Rejects configurations whose tensors would not fit in memory (hostile or mistyped configs).
    static func checkSize(_ config: LiquidConfig) throws {
        let limit = 1 << 28   // elements (1 GiB of Float32)
        let units: Int
        switch config.units {
        case .count(let n): units = n
        case .wiring(.fullyConnected(let n, _, _, _)), .wiring(.random(let n, _, _, _)), .wiring(.autoNCP(let n, _, _, _)): units = n
        case .wiring(.ncp(let i, let c, let m, _, _, _, _, _)): units = i + c + m
        }
        let width = max(units, config.backboneUnits, config.projSize ?? 0)
        let (square, o1) = width.multipliedReportingOverflow(by: width + config.inputSize)
        guard !o1, units <= 1 << 20, config.inputSize <= 1 << 20, square <= limit else {
            throw LiquidModelError("a model of \(units) units on \(config.inputSize) inputs is too large (more than \(limit) elements per tensor)")
        }
    }

    /// `apply_weight_constraints()` of ncps' LTCCell (explicit mode only; a no-op otherwise).
    public mutating func applyWeightConstraints() {
        if case .ltc(let layout) = core { layout.applyWeightConstraints(&parameters.values) }
    }

    /// Neuron counts of the wired layers (inter, command, motor for an NCP), or [units].
    public var layerSizes: [Int] {
        switch core {
        case .cfc(let l): return [l.hidden]
        case .wiredCfC(let ls): return ls.map(\.hidden)
        case .ltc(let l): return [l.units]
        }
    }
}
