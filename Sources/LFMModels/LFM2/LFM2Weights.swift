import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// Binds LFM2 checkpoints (Hugging Face or GGUF names) to decoder blocks.
public enum LFM2Weights {
    /// Binds every tensor of `source` (named with `naming`) to the configuration, checking each
    /// shape; fails on any missing or left-over tensor. Sets `configuration.feedForwardSize` from
    /// the checkpoint.
    public static func load(from source: TensorSource, sourceName: String, naming: Naming = .huggingFace,
                            configuration: inout LFM2Configuration, placement: WeightPlacement = .hugePages) throws -> DecoderWeights {
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
        let c = configuration

        // A tied checkpoint may still carry a copy of the head: accept it (unused) if it has the right shape.
        var headCopy: String?
        if c.tieEmbeddings, let head = source.tensor(named: naming.name(of: .outputHead)) {
            let expected = LFM2Tensor.outputHead.shape(c)
            guard head.shape == expected else {
                throw ModelLoadError.shapeMismatch(name: head.name, file: head.file, expected: expected, found: head.shape)
            }
            headCopy = head.name
        }
        let specs = LFM2Tensor.all(c).map { role -> TensorSpec in
            let shape = role.shape(c)
            let squeezed: [[Int]] = { if case .convKernel = role { return [[shape[0], shape[2]]] } else { return [] } }()
            return TensorSpec(naming.name(of: role), shape: shape, kind: role.isVector ? .vector : .matrix,
                              alternativeShapes: squeezed)
        }
        let bound = try BoundTensors(specs, source: source, sourceName: sourceName, placement: placement,
                                     ignorable: { $0 == headCopy || naming.isIgnorable($0) })
        func matrix(_ role: LFM2Tensor) -> WeightMatrix { bound.matrix(naming.name(of: role)) }
        func vector(_ role: LFM2Tensor) -> [Float] { bound.vector(naming.name(of: role)) }

        let frequencies = RotaryFrequencies.standard(theta: c.ropeTheta, headDim: c.headDim)
        let layers = c.layerKinds.enumerated().map { l, kind -> DecoderLayer in
            let mixer: MixerBlock
            switch kind {
            case .conv:
                mixer = .conv(ConvBlock(inProj: matrix(.convInProj(l)), kernel: vector(.convKernel(l)),
                                        kernelLength: c.convKernel, outProj: matrix(.convOutProj(l))))
            case .attention:
                mixer = .attention(AttentionBlock(q: matrix(.attentionQ(l)), k: matrix(.attentionK(l)),
                                                  v: matrix(.attentionV(l)), out: matrix(.attentionOut(l)),
                                                  qNorm: vector(.attentionQNorm(l)), kNorm: vector(.attentionKNorm(l)),
                                                  heads: c.attentionHeads, kvHeads: c.keyValueHeads, headDim: c.headDim,
                                                  inverseFrequencies: frequencies))
            }
            let ffn = DenseFeedForward(gate: matrix(.ffnGate(l)), up: matrix(.ffnUp(l)), down: matrix(.ffnDown(l)))
            return DecoderLayer(inputNorm: vector(.operatorNorm(l)), mixer: mixer, ffnNorm: vector(.ffnNorm(l)),
                                feedForward: .dense(ffn))
        }
        let embedding = matrix(.tokenEmbedding)
        return DecoderWeights(embedding: embedding, layers: layers, finalNorm: vector(.finalNorm),
                              outputHead: c.tieEmbeddings ? embedding : matrix(.outputHead), normEpsilon: c.normEpsilon)
    }

    /// Which naming scheme a tensor source uses.
    public enum Naming: Sendable {
        case huggingFace
        case gguf

        public func name(of role: LFM2Tensor) -> String {
            switch self {
            case .huggingFace: return role.huggingFaceName
            case .gguf: return role.ggufName
            }
        }

        /// Tensors that carry no weights of the model and may be present (e.g. rotary caches).
        public func isIgnorable(_ name: String) -> Bool {
            name.hasSuffix("rotary_emb.inv_freq") || name == "rope_freqs.weight"
        }
    }
}
