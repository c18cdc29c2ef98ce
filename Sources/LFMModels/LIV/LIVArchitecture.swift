import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// LIV models (`model_type` "lfm_liv", `LfmLivForCausalLM`): decoders whose layers a genome
/// describes (see `LIVGenome`). Binding reads exactly the tensors of `genome.tensors(settings)`,
/// optionally under other names, and builds the shared decoder blocks from them. Hugging Face
/// folders only: there is no GGUF form.
public enum LIVArchitecture: ModelArchitecture {
    public static let name = "lfm_liv"
    public static let huggingFaceModelTypes = [LIVConfiguration.modelType]
    public static let huggingFaceArchitectures = ["LfmLivForCausalLM"]
    /// llama.cpp has no LIV models, so there is no GGUF form to read.
    public static let ggufArchitectures: [String] = []

    public static func configuration(huggingFace json: JSONObject) throws -> any ModelConfiguration {
        try LIVConfiguration(huggingFace: json)
    }

    public static func configuration(gguf source: GGUFTensorSource) throws -> any ModelConfiguration {
        throw GGUFModelError.unsupportedArchitecture(file: source.path, found: name, supported: ModelRegistry.ggufArchitectures)
    }

    public static func bind(_ configuration: any ModelConfiguration, source: TensorSource, naming: TensorNaming,
                            sourceName: String, placement: WeightPlacement) throws -> (any ModelConfiguration, DecoderWeights) {
        guard let c = configuration as? LIVConfiguration, naming == .huggingFace else {
            throw InferenceError.stateMismatch(detail: "LIV binds Hugging Face checkpoints with an LIV configuration")
        }
        return (c, try bind(c, source: source, renaming: [:], sourceName: sourceName, placement: placement))
    }

    /// Binds the tensors of `configuration`'s table to decoder blocks. `renaming` maps a table
    /// name to the name the checkpoint uses for it (names absent from it are used as they are),
    /// so a checkpoint of another family can be run as its LIV description.
    /// - Throws: `ModelLoadError` naming the (checkpoint) tensor that is missing, misshapen,
    ///   of an unusable type, or left over.
    public static func bind(_ configuration: LIVConfiguration, source: TensorSource, renaming: [String: String] = [:],
                            sourceName: String, placement: WeightPlacement) throws -> DecoderWeights {
        let genome = configuration.genome, settings = configuration.settings
        func stored(_ name: String) -> String { renaming[name] ?? name }
        let specs = genome.tensors(settings).map { tensor -> TensorSpec in
            let isVector = tensor.shape.count == 1 || tensor.name.hasSuffix(".conv.conv.weight")
            let squeezed = tensor.name.hasSuffix(".conv.conv.weight") ? [[tensor.shape[0], tensor.shape[2]]] : []
            return TensorSpec(stored(tensor.name), shape: tensor.shape, kind: isVector ? .vector : .matrix,
                              alternativeShapes: squeezed)
        }
        let head = stored("lm_head.weight")
        let bound = try BoundTensors(specs, source: source, sourceName: sourceName, placement: placement) { name in
            name.hasSuffix("rotary_emb.inv_freq") || (settings.tieEmbeddings && name == head)
        }
        let tensors = LIVBoundTensors(bound: bound, renaming: renaming)
        let layers = genome.layers.indices.map { LIVLayerBuilder(genome: genome, settings: settings, tensors: tensors).layer($0) }
        let embedding = tensors.matrix("model.embed_tokens.weight")
        return DecoderWeights(embedding: embedding, layers: layers, finalNorm: tensors.vector("model.embedding_norm.weight"),
                              outputHead: settings.tieEmbeddings ? embedding : tensors.matrix("lm_head.weight"),
                              normEpsilon: settings.normEpsilon)
    }

    /// Loads an LIV model from `directory` whose checkpoint may use other names (`renaming`, as
    /// in `bind`); `configuration` replaces the folder's `config.json` (nil: read it).
    public static func load(directory: URL, configuration: LIVConfiguration? = nil, renaming: [String: String] = [:],
                            options: ModelLoadOptions = ModelLoadOptions()) throws -> DecoderModel {
        let c: LIVConfiguration
        if let configuration {
            c = configuration
        } else {
            let url = directory.appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: url.path) else { throw FileError.notFound(path: url.path) }
            c = try LIVConfiguration(huggingFace: JSONObject(contentsOf: url))
        }
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        let (backend, placement) = options.resolved()
        let weights = try bind(c, source: checkpoint, renaming: renaming, sourceName: directory.path, placement: placement)
        return DecoderModel(configuration: c, weights: weights, backend: backend)
    }
}

/// Bound tensors looked up by their table names.
private struct LIVBoundTensors {
    let bound: BoundTensors
    let renaming: [String: String]

    func matrix(_ name: String) -> WeightMatrix { bound.matrix(renaming[name] ?? name) }
    func vector(_ name: String) -> [Float] { bound.vector(renaming[name] ?? name) }
}

/// Builds one decoder layer from a gene and the bound table.
private struct LIVLayerBuilder {
    let genome: LIVGenome
    let settings: LIVSettings
    let tensors: LIVBoundTensors

    func layer(_ l: Int) -> DecoderLayer {
        let gene = genome.layers[l]
        func own(_ name: String) -> String { LIVGenome.layerTensor(l, name) }
        // Featurizer weights come from the layer that owns them (itself unless it shares).
        let owner = genome.featurizerOwner(of: l)
        func featurizer(_ name: String) -> String { LIVGenome.layerTensor(owner, name) }
        let mixer: MixerBlock
        switch gene.mixer {
        case .conv:
            mixer = .conv(ConvBlock(inProj: tensors.matrix(featurizer("conv.in_proj")), kernel: tensors.vector(own("conv.conv")),
                                    kernelLength: gene.groups, outProj: tensors.matrix(own("conv.out_proj"))))
        case .attention, .slidingAttention:
            let sliding = gene.mixer == .slidingAttention
            let rope = sliding ? settings.slidingRope : settings.fullRope
            mixer = .attention(AttentionBlock(
                q: tensors.matrix(featurizer("self_attn.q_proj")), k: tensors.matrix(featurizer("self_attn.k_proj")),
                v: tensors.matrix(featurizer("self_attn.v_proj")), out: tensors.matrix(own("self_attn.o_proj")),
                qNorm: tensors.vector(featurizer("self_attn.q_norm")), kNorm: tensors.vector(featurizer("self_attn.k_norm")),
                gate: gene.gate == 1 ? tensors.matrix(own("self_attn.gate_proj")) : nil,
                heads: genome.attentionHeads, kvHeads: gene.groups, headDim: genome.headDim,
                window: sliding ? settings.slidingWindow : 0, inverseFrequencies: rope.inverseFrequencies(headDim: genome.headDim)))
        case .recurrence:
            mixer = .recurrence(RecurrenceBlock(inProj: tensors.matrix(featurizer("recurrence.in_proj")),
                                                decayBias: tensors.vector("model.layers.\(l).recurrence.decay_bias"),
                                                outProj: tensors.matrix(own("recurrence.out_proj"))))
        }
        func swiGLU(_ prefix: String) -> DenseFeedForward {
            DenseFeedForward(gate: tensors.matrix(own("\(prefix).w1")), up: tensors.matrix(own("\(prefix).w3")),
                             down: tensors.matrix(own("\(prefix).w2")))
        }
        let feedForward: FeedForwardBlock
        if gene.experts == 0 {
            feedForward = .dense(swiGLU("feed_forward"))
        } else {
            feedForward = .experts(ExpertsFeedForward(
                router: tensors.matrix(own("feed_forward.gate")),
                selectionBias: settings.expertSelectionBias ? tensors.vector("model.layers.\(l).feed_forward.expert_bias") : nil,
                experts: (0..<gene.experts).map { swiGLU("feed_forward.experts.\($0)") },
                topK: settings.expertsPerToken, normalizeTopK: settings.normalizeTopK, scaling: settings.routedScaling))
        }
        return DecoderLayer(inputNorm: tensors.vector(own("operator_norm")), mixer: mixer,
                            postMixerNorm: settings.sandwichNorm ? tensors.vector(own("post_operator_norm")) : nil,
                            ffnNorm: tensors.vector(own("ffn_norm")), feedForward: feedForward,
                            postFFNNorm: settings.sandwichNorm ? tensors.vector(own("post_ffn_norm")) : nil)
    }
}
