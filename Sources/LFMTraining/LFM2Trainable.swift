// The LFM2 forward pass on autodiff tensors (the same math as LFMModels/Decoder/DecoderModel.swift for LFM2,
// whole sequences at once, zero initial conv state), for training.
import Foundation
import LFMFormats
import LFMKernels
import LFMModels

/// An LFM2 model whose parameters are F32 autodiff leaves (the master weights).
public final class LFM2Trainable {
    /// Hyper-parameters.
    public let configuration: LFM2Configuration
    /// Every parameter by its role (the head is the embedding when tied).
    public let parameters: [LFM2Tensor: Tensor]
    /// Low-rank adapters by the projection they adapt (empty for full training).
    public internal(set) var adapters: [LFM2Tensor: LoRAAdapter] = [:]
    /// Whether the base weights are frozen (LoRA training): their gradients are not computed.
    public internal(set) var frozen = false
    private let inverseFrequencies: [Float]

    /// Parameters in the name table's order (stable: used for optimizer state and checkpoints).
    public var orderedParameters: [(LFM2Tensor, Tensor)] {
        LFM2Tensor.all(configuration).compactMap { role in parameters[role].map { (role, $0) } }
    }

    /// Wraps `parameters` (shapes must match the name table).
    public init(configuration: LFM2Configuration, parameters: [LFM2Tensor: Tensor]) {
        self.configuration = configuration
        self.parameters = parameters
        let d = configuration.headDim
        inverseFrequencies = (0..<(d / 2)).map { j in
            Float(1.0 / pow(configuration.ropeTheta, Double(Float(2 * j) / Float(d))))
        }
    }

    /// Loads every tensor of a checkpoint as F32 master weights (BF16/F16 are widened).
    public convenience init(source: TensorSource, sourceName: String, configuration: LFM2Configuration) throws {
        var c = configuration
        // Binding through the inference loader checks names, shapes and leftovers.
        let weights = try LFM2Weights.load(from: source, sourceName: sourceName, configuration: &c, placement: .mapped)
        _ = weights
        var parameters: [LFM2Tensor: Tensor] = [:]
        for role in LFM2Tensor.all(c) {
            guard let stored = source.tensor(named: role.huggingFaceName) else {
                throw ModelLoadError.missingTensor(name: role.huggingFaceName, source: sourceName)
            }
            var shape = role.shape(c)
            if case .convKernel = role { shape = [shape[0], shape[2]] }
            let values: [Float]
            if let floats = stored.floats() {
                values = floats
            } else {
                throw ModelLoadError.unsupportedType(name: stored.name, file: stored.file, dtype: stored.dtype.name,
                                                     expected: "F32, F16 or BF16 for training")
            }
            parameters[role] = Tensor(shape: shape, data: values, requiresGrad: true)
        }
        self.init(configuration: c, parameters: parameters)
    }

    /// Whether each decoder layer's forward is recomputed during the backward pass instead of
    /// keeping its activations (activation checkpointing: less memory, about one more forward).
    public var checkpointActivations = false

    /// Mean next-token cross-entropy of `tokens` (predicting `tokens[1...]` from each prefix).
    public func loss(_ tokens: [Int], ops: Ops) -> Tensor {
        loss(batch: [tokens], ops: ops)
    }

    /// Logits `[T, V]` for `tokens`.
    public func forward(_ tokens: [Int], ops: Ops) -> Tensor {
        forward(batch: [tokens], ops: ops)
    }

    /// Logits `[B·T, V]` for `B` equal-length sequences (each attends and convolves only over itself).
    public func forward(batch sequences: [[Int]], ops: Ops) -> Tensor {
        let c = configuration
        let length = sequences[0].count
        var x = ops.embedding(p(.tokenEmbedding), ids: sequences.flatMap { $0 })
        for (l, kind) in c.layerKinds.enumerated() {
            if checkpointActivations {
                x = ops.checkpoint(x) { [self] ops, input in layer(l, kind, input, sequenceLength: length, ops: ops) }
            } else {
                x = layer(l, kind, x, sequenceLength: length, ops: ops)
            }
        }
        let final = ops.rmsNorm(x, weight: p(.finalNorm), dim: c.hiddenSize, eps: c.normEpsilon)
        return ops.linear(final, c.tieEmbeddings ? p(.tokenEmbedding) : p(.outputHead))
    }

    /// A parameter as the graph sees it (a constant copy when the base weights are frozen).
    private func p(_ role: LFM2Tensor) -> Tensor {
        let tensor = parameters[role]! // roles come from the name table
        return frozen ? Tensor(shape: tensor.shape, data: tensor.data) : tensor
    }

    /// `x · Wᵀ` of a projection, plus its LoRA adapter's `scale · (x · Aᵀ) · Bᵀ` if any.
    private func project(_ x: Tensor, _ role: LFM2Tensor, ops: Ops) -> Tensor {
        let y = ops.linear(x, p(role))
        guard let adapter = adapters[role] else { return y }
        return ops.add(y, ops.scale(ops.linear(ops.linear(x, adapter.a), adapter.b), by: adapter.scale))
    }

    /// Decoder layer `l`: operator (conv or attention) and feed-forward, with their residuals.
    private func layer(_ l: Int, _ kind: LFM2LayerKind, _ x: Tensor, sequenceLength: Int, ops: Ops) -> Tensor {
        let c = configuration
        let h = c.hiddenSize
        let normed = ops.rmsNorm(x, weight: p(.operatorNorm(l)), dim: h, eps: c.normEpsilon)
        let mixed: Tensor
        switch kind {
        case .conv:
            let bcx = project(normed, .convInProj(l), ops: ops)
            let gated = ops.gatedConv(bcx, weight: p(.convKernel(l)), kernel: c.convKernel, sequenceLength: sequenceLength)
            mixed = project(gated, .convOutProj(l), ops: ops)
        case .attention:
            var q = project(normed, .attentionQ(l), ops: ops)
            var k = project(normed, .attentionK(l), ops: ops)
            let v = project(normed, .attentionV(l), ops: ops)
            q = ops.rmsNorm(q, weight: p(.attentionQNorm(l)), dim: c.headDim, eps: c.normEpsilon)
            k = ops.rmsNorm(k, weight: p(.attentionKNorm(l)), dim: c.headDim, eps: c.normEpsilon)
            q = ops.rope(q, heads: c.attentionHeads, headDim: c.headDim, inverseFrequencies: inverseFrequencies,
                         sequenceLength: sequenceLength)
            k = ops.rope(k, heads: c.keyValueHeads, headDim: c.headDim, inverseFrequencies: inverseFrequencies,
                         sequenceLength: sequenceLength)
            let attended = ops.attention(q: q, k: k, v: v, heads: c.attentionHeads, kvHeads: c.keyValueHeads,
                                         headDim: c.headDim, scale: 1 / Float(c.headDim).squareRoot(),
                                         sequenceLength: sequenceLength)
            mixed = project(attended, .attentionOut(l), ops: ops)
        }
        let residual = ops.add(x, mixed)
        let ffnIn = ops.rmsNorm(residual, weight: p(.ffnNorm(l)), dim: h, eps: c.normEpsilon)
        let gated = ops.siluMul(project(ffnIn, .ffnGate(l), ops: ops), project(ffnIn, .ffnUp(l), ops: ops))
        return ops.add(residual, project(gated, .ffnDown(l), ops: ops))
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for (_, t) in parameters { t.zeroGrad() } }
}

extension LFM2Trainable {
    /// Writes a Hugging Face model folder (`config.json` + `model.safetensors`) that the inference
    /// engine and transformers load; weights in `dtype` (F32 keeps the master weights exactly).
    public func save(to directory: URL, dtype: SafeTensorsDType = .f32) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter()
        writer.metadata = ["format": "pt"]
        for (role, tensor) in orderedParameters {
            writer.add(role.huggingFaceName, shape: role.shape(configuration), values: tensor.data, as: dtype)
        }
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        let name: String
        switch dtype {
        case .f32: name = "float32"
        case .f16: name = "float16"
        case .bf16: name = "bfloat16"
        }
        try configuration.huggingFaceConfigData(dtype: name).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
    }
}
