import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// Errors while binding a checkpoint's tensors to an LFM2 model; each names the tensor and file.
public enum ModelLoadError: Error, CustomStringConvertible, Equatable {
    case missingTensor(name: String, source: String)
    case unexpectedTensors(names: [String], source: String)
    case shapeMismatch(name: String, file: String, expected: [Int], found: [Int])
    case feedForwardMismatch(name: String, file: String, allowed: [Int], found: Int)
    case unsupportedType(name: String, file: String, dtype: String, expected: String)

    public var description: String {
        switch self {
        case .missingTensor(let name, let source): return "\(source): missing tensor '\(name)'"
        case .unexpectedTensors(let names, let source):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(source): \(names.count) tensor(s) the configuration has no place for: \(shown)\(names.count > 5 ? ", …" : "")"
        case .shapeMismatch(let name, let file, let expected, let found):
            return "\(file): tensor '\(name)' has shape \(found), expected \(expected) from the configuration"
        case .feedForwardMismatch(let name, let file, let allowed, let found):
            return "\(file): tensor '\(name)' implies a feed-forward width of \(found), but the configuration gives \(allowed.map(String.init).joined(separator: " or "))"
        case .unsupportedType(let name, let file, let dtype, let expected):
            return "\(file): tensor '\(name)' is stored as \(dtype), expected \(expected)"
        }
    }
}

/// Where weight matrices live once loaded.
public enum WeightPlacement: Sendable {
    /// Copied tensor by tensor (in their stored type) into one 2 MiB-aligned huge-page arena:
    /// the fastest for decode (+50% read bandwidth on this hardware).
    case hugePages
    /// Read in place from the memory-mapped files (no copy at all; slower reads).
    case mapped
}

/// Weights of one short-convolution block.
public struct LFM2ConvWeights: Sendable {
    /// `conv.in_proj` [3H, H] (rows: B, C, X).
    public let inProj: WeightMatrix
    /// `conv.conv` taps [H, L], oldest first, widened to F32.
    public let kernel: [Float]
    /// `conv.out_proj` [H, H].
    public let outProj: WeightMatrix
}

/// Weights of one attention block.
public struct LFM2AttentionWeights: Sendable {
    public let q: WeightMatrix        // [heads·headDim, H]
    public let k: WeightMatrix        // [kvHeads·headDim, H]
    public let v: WeightMatrix        // [kvHeads·headDim, H]
    public let out: WeightMatrix      // [H, heads·headDim]
    public let qNorm: [Float]         // [headDim]
    public let kNorm: [Float]         // [headDim]
}

/// The mixing operator of a layer with its weights.
public enum LFM2Mixer: Sendable {
    case conv(LFM2ConvWeights)
    case attention(LFM2AttentionWeights)
}

/// Weights of one decoder layer.
public struct LFM2LayerWeights: Sendable {
    public let operatorNorm: [Float]  // [H]
    public let mixer: LFM2Mixer
    public let ffnNorm: [Float]       // [H]
    public let ffnGate: WeightMatrix  // w1 [F, H]
    public let ffnUp: WeightMatrix    // w3 [F, H]
    public let ffnDown: WeightMatrix  // w2 [H, F]
}

/// All weights of an LFM2 model.
public struct LFM2Weights: Sendable {
    /// `model.embed_tokens` [V, H].
    public let embedding: WeightMatrix
    /// `model.embedding_norm` [H]: the final norm, applied after the last layer.
    public let finalNorm: [Float]
    /// The output head [V, H] (the embedding itself when tied).
    public let outputHead: WeightMatrix
    /// Per-layer weights.
    public let layers: [LFM2LayerWeights]

    /// Binds every tensor of `source` (named with `naming`) to the configuration, checking each
    /// shape; fails on any missing or left-over tensor. Sets `configuration.feedForwardSize` from
    /// the checkpoint.
    public static func load(from source: TensorSource, sourceName: String, naming: Naming = .huggingFace,
                            configuration: inout LFM2Configuration, placement: WeightPlacement = .hugePages) throws -> LFM2Weights {
        // The SwiGLU width comes from w1's shape, checked against what the config allows.
        let gate0 = LFM2Tensor.ffnGate(0)
        guard let w1 = source.tensor(named: naming.name(of: gate0)) else {
            throw ModelLoadError.missingTensor(name: naming.name(of: gate0), source: sourceName)
        }
        if w1.shape.count == 2, !configuration.feedForwardCandidates.contains(w1.shape[0]) {
            throw ModelLoadError.feedForwardMismatch(name: w1.name, file: w1.file,
                                                     allowed: configuration.feedForwardCandidates, found: w1.shape[0])
        }
        if w1.shape.count == 2 { configuration.feedForwardSize = w1.shape[0] }
        let config = configuration

        var found: [LFM2Tensor: StoredTensor] = [:]
        for role in LFM2Tensor.all(config) {
            let name = naming.name(of: role)
            guard let tensor = source.tensor(named: name) else {
                throw ModelLoadError.missingTensor(name: name, source: sourceName)
            }
            var expected = role.shape(config)
            if case .convKernel = role, tensor.shape.count == 2 { expected = [expected[0], expected[2]] }
            guard tensor.shape == expected else {
                throw ModelLoadError.shapeMismatch(name: name, file: tensor.file, expected: expected, found: tensor.shape)
            }
            if role.isVector, tensor.dtype.isQuantized {
                throw ModelLoadError.unsupportedType(name: name, file: tensor.file, dtype: tensor.dtype.name, expected: "F32, F16 or BF16")
            }
            if let columns = tensor.shape.last, tensor.shape.count == 2, tensor.dtype.byteCount(of: columns) == nil {
                throw ModelLoadError.unsupportedType(name: name, file: tensor.file, dtype: tensor.dtype.name,
                                                     expected: "a type whose block size divides \(columns) columns")
            }
            found[role] = tensor
        }
        // A tied checkpoint may still carry a copy of the head: accept it if it has the right shape.
        var consumed = Set(found.values.map(\.name))
        if config.tieEmbeddings, let head = source.tensor(named: naming.name(of: .outputHead)) {
            let expected = LFM2Tensor.outputHead.shape(config)
            guard head.shape == expected else {
                throw ModelLoadError.shapeMismatch(name: head.name, file: head.file, expected: expected, found: head.shape)
            }
            consumed.insert(head.name)
        }
        let leftovers = source.tensorNames.filter { !consumed.contains($0) && !naming.isIgnorable($0) }
        guard leftovers.isEmpty else { throw ModelLoadError.unexpectedTensors(names: leftovers, source: sourceName) }

        // Place the matrices.
        let matrixRoles = found.keys.filter { !$0.isVector }
        var matrices: [LFM2Tensor: WeightMatrix] = [:]
        switch placement {
        case .mapped:
            for role in matrixRoles {
                let t = found[role]!
                matrices[role] = WeightMatrix(rows: t.shape[0], cols: t.shape[1], dtype: t.dtype,
                                              data: t.bytes.baseAddress!, owner: t.owner)
            }
        case .hugePages:
            let ordered = matrixRoles.sorted { found[$0]!.name < found[$1]!.name }
            var offsets: [LFM2Tensor: Int] = [:]
            var total = 0
            for role in ordered {
                offsets[role] = total
                total += (found[role]!.bytes.count + 63) / 64 * 64
            }
            let arena = AlignedBuffer(count: max(total, 64))
            for role in ordered {
                let t = found[role]!
                let destination = arena.base + offsets[role]!
                destination.copyMemory(from: t.bytes.baseAddress!, byteCount: t.bytes.count)
                matrices[role] = WeightMatrix(rows: t.shape[0], cols: t.shape[1], dtype: t.dtype,
                                              data: UnsafeRawPointer(destination), owner: arena)
            }
        }
        func matrix(_ role: LFM2Tensor) -> WeightMatrix { matrices[role]! }
        func vector(_ role: LFM2Tensor) -> [Float] { found[role]!.floats() ?? [] } // float types checked above

        var layers: [LFM2LayerWeights] = []
        for (l, kind) in config.layerKinds.enumerated() {
            let mixer: LFM2Mixer
            switch kind {
            case .conv:
                mixer = .conv(LFM2ConvWeights(inProj: matrix(.convInProj(l)), kernel: vector(.convKernel(l)),
                                              outProj: matrix(.convOutProj(l))))
            case .attention:
                mixer = .attention(LFM2AttentionWeights(q: matrix(.attentionQ(l)), k: matrix(.attentionK(l)),
                                                        v: matrix(.attentionV(l)), out: matrix(.attentionOut(l)),
                                                        qNorm: vector(.attentionQNorm(l)), kNorm: vector(.attentionKNorm(l))))
            }
            layers.append(LFM2LayerWeights(operatorNorm: vector(.operatorNorm(l)), mixer: mixer,
                                           ffnNorm: vector(.ffnNorm(l)), ffnGate: matrix(.ffnGate(l)),
                                           ffnUp: matrix(.ffnUp(l)), ffnDown: matrix(.ffnDown(l))))
        }
        let embedding = matrix(.tokenEmbedding)
        return LFM2Weights(embedding: embedding, finalNorm: vector(.finalNorm),
                           outputHead: config.tieEmbeddings ? embedding : matrix(.outputHead), layers: layers)
    }

    /// Which naming scheme a tensor source uses.
    public enum Naming: Sendable {
        case huggingFace
        case gguf

        func name(of role: LFM2Tensor) -> String {
            switch self {
            case .huggingFace: return role.huggingFaceName
            case .gguf: return role.ggufName
            }
        }

        /// Tensors that carry no weights of the model and may be present (e.g. rotary caches).
        func isIgnorable(_ name: String) -> Bool {
            name.hasSuffix("rotary_emb.inv_freq") || name == "rope_freqs.weight"
        }
    }

    /// Bytes of weights read for one decode step (every matrix once, the head included).
    public var bytesPerToken: Int {
        var total = outputHead.byteCount
        for layer in layers {
            total += layer.ffnGate.byteCount + layer.ffnUp.byteCount + layer.ffnDown.byteCount
            switch layer.mixer {
            case .conv(let c): total += c.inProj.byteCount + c.outProj.byteCount
            case .attention(let a): total += a.q.byteCount + a.k.byteCount + a.v.byteCount + a.out.byteCount
            }
        }
        return total
    }
}
