import LFMFormats
import LFMKernels

/// LFM2-MoE (`Lfm2MoeForCausalLM`; llama.cpp `lfm2moe`): per-expert Hugging Face tensors
/// (`feed_forward.experts.N.w1/w2/w3`) or llama.cpp's stacked expert tensors, in any stored type.
public enum LFM2MoEArchitecture: ModelArchitecture {
    public static let name = "lfm2_moe"
    public static let huggingFaceModelTypes = ["lfm2_moe"]
    public static let huggingFaceArchitectures = ["Lfm2MoeForCausalLM"]
    public static let ggufArchitectures = ["lfm2moe"]

    public static func configuration(huggingFace json: JSONObject) throws -> any ModelConfiguration {
        try LFM2MoEConfiguration(huggingFace: json)
    }

    public static func configuration(gguf source: GGUFTensorSource) throws -> any ModelConfiguration {
        try LFM2MoEConfiguration(gguf: source)
    }

    public static func bind(_ configuration: any ModelConfiguration, source: TensorSource, naming: TensorNaming,
                            sourceName: String, placement: WeightPlacement) throws -> (any ModelConfiguration, DecoderWeights) {
        guard let c = configuration as? LFM2MoEConfiguration else {
            throw InferenceError.stateMismatch(detail: "an LFM2-MoE checkpoint needs an LFM2-MoE configuration")
        }
        let base = c.base, h = base.hiddenSize, e = c.expertCount, w = c.expertFeedForwardSize
        let gguf = naming == .gguf
        func name(_ role: LFM2Tensor) -> String { gguf ? role.ggufName : role.huggingFaceName }
        func router(_ l: Int) -> String { gguf ? "blk.\(l).ffn_gate_inp.weight" : "model.layers.\(l).feed_forward.gate.weight" }
        func bias(_ l: Int) -> String { gguf ? "blk.\(l).exp_probs_b.bias" : "model.layers.\(l).feed_forward.expert_bias" }
        func stacked(_ l: Int, _ part: String) -> String { "blk.\(l).ffn_\(part)_exps.weight" }
        func expert(_ l: Int, _ x: Int, _ part: String) -> String { "model.layers.\(l).feed_forward.experts.\(x).\(part).weight" }

        var specs: [TensorSpec] = []
        for role in LFM2Tensor.all(base) {
            switch role {
            case .ffnGate(let l), .ffnUp(let l), .ffnDown(let l):
                if c.isSparse(l) { continue }
            default: break
            }
            let shape = role.shape(base)
            let squeezed: [[Int]] = { if case .convKernel = role { return [[shape[0], shape[2]]] } else { return [] } }()
            specs.append(TensorSpec(name(role), shape: shape, kind: role.isVector ? .vector : .matrix, alternativeShapes: squeezed))
        }
        for l in 0..<base.layerCount where c.isSparse(l) {
            specs.append(TensorSpec(router(l), shape: [e, h], kind: .matrix))
            if c.useExpertBias { specs.append(TensorSpec(bias(l), shape: [e], kind: .vector)) }
            if gguf {
                specs += [TensorSpec(stacked(l, "gate"), shape: [e, w, h], kind: .stackedMatrices),
                          TensorSpec(stacked(l, "up"), shape: [e, w, h], kind: .stackedMatrices),
                          TensorSpec(stacked(l, "down"), shape: [e, h, w], kind: .stackedMatrices)]
            } else {
                for x in 0..<e {
                    specs += [TensorSpec(expert(l, x, "w1"), shape: [w, h], kind: .matrix),
                              TensorSpec(expert(l, x, "w3"), shape: [w, h], kind: .matrix),
                              TensorSpec(expert(l, x, "w2"), shape: [h, w], kind: .matrix)]
                }
            }
        }
        let headName = name(.outputHead)
        let bound = try BoundTensors(specs, source: source, sourceName: sourceName, placement: placement) { tensor in
            tensor.hasSuffix("rotary_emb.inv_freq") || tensor == "rope_freqs.weight" || (base.tieEmbeddings && tensor == headName)
        }
        let frequencies = RotaryFrequencies.standard(theta: base.ropeTheta, headDim: base.headDim)
        let layers = base.layerKinds.enumerated().map { l, kind -> DecoderLayer in
            let mixer: MixerBlock
            switch kind {
            case .conv:
                mixer = .conv(ConvBlock(inProj: bound.matrix(name(.convInProj(l))), kernel: bound.vector(name(.convKernel(l))),
                                        kernelLength: base.convKernel, outProj: bound.matrix(name(.convOutProj(l)))))
            case .attention:
                mixer = .attention(AttentionBlock(
                    q: bound.matrix(name(.attentionQ(l))), k: bound.matrix(name(.attentionK(l))),
                    v: bound.matrix(name(.attentionV(l))), out: bound.matrix(name(.attentionOut(l))),
                    qNorm: bound.vector(name(.attentionQNorm(l))), kNorm: bound.vector(name(.attentionKNorm(l))),
                    heads: base.attentionHeads, kvHeads: base.keyValueHeads, headDim: base.headDim,
                    inverseFrequencies: frequencies))
            }
            let feedForward: FeedForwardBlock
            if c.isSparse(l) {
                let experts: [DenseFeedForward]
                if gguf {
                    let (gates, ups, downs) = (bound.stacked(stacked(l, "gate")), bound.stacked(stacked(l, "up")),
                                               bound.stacked(stacked(l, "down")))
                    experts = (0..<e).map { DenseFeedForward(gate: gates[$0], up: ups[$0], down: downs[$0]) }
                } else {
                    experts = (0..<e).map { x in
                        DenseFeedForward(gate: bound.matrix(expert(l, x, "w1")), up: bound.matrix(expert(l, x, "w3")),
                                         down: bound.matrix(expert(l, x, "w2")))
                    }
                }
                feedForward = .experts(ExpertsFeedForward(router: bound.matrix(router(l)),
                                                          selectionBias: c.useExpertBias ? bound.vector(bias(l)) : nil,
                                                          experts: experts, topK: c.expertsPerToken,
                                                          normalizeTopK: c.normalizeTopK, scaling: Float(c.routedScalingFactor)))
            } else {
                feedForward = .dense(DenseFeedForward(gate: bound.matrix(name(.ffnGate(l))), up: bound.matrix(name(.ffnUp(l))),
                                                      down: bound.matrix(name(.ffnDown(l)))))
            }
            return DecoderLayer(inputNorm: bound.vector(name(.operatorNorm(l))), mixer: mixer,
                                ffnNorm: bound.vector(name(.ffnNorm(l))), feedForward: feedForward)
        }
        let embedding = bound.matrix(name(.tokenEmbedding))
        return (c, DecoderWeights(embedding: embedding, layers: layers, finalNorm: bound.vector(name(.finalNorm)),
                                  outputHead: base.tieEmbeddings ? embedding : bound.matrix(name(.outputHead)),
                                  normEpsilon: base.normEpsilon))
    }
}
