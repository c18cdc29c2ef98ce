import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// LFM2 (dense): gated short convolutions and grouped-query attention with QK-norm.
public enum LFM2Architecture: ModelArchitecture {
    public static let name = "lfm2"
    public static let huggingFaceModelTypes = ["lfm2"]
    public static let huggingFaceArchitectures = ["Lfm2ForCausalLM"]
    public static let ggufArchitectures = ["lfm2"]

    public static func configuration(huggingFace json: JSONObject) throws -> any ModelConfiguration {
        try LFM2Configuration(huggingFace: json)
    }

    public static func configuration(gguf source: GGUFTensorSource) throws -> any ModelConfiguration {
        try configuration(gguf: source.path, source: source)
    }

    public static func bind(_ configuration: any ModelConfiguration, source: TensorSource, naming: TensorNaming,
                            sourceName: String, placement: WeightPlacement) throws -> (any ModelConfiguration, DecoderWeights) {
        guard var c = configuration as? LFM2Configuration else {
            throw InferenceError.stateMismatch(detail: "an LFM2 checkpoint needs an LFM2 configuration")
        }
        let weights = try LFM2Weights.load(from: source, sourceName: sourceName, naming: naming == .gguf ? .gguf : .huggingFace,
                                           configuration: &c, placement: placement)
        return (c, weights)
    }

    // MARK: LFM2-typed entry points (training, conversion and tests use the concrete configuration)

    /// Reads `config.json` of the Hugging Face model folder `directory`.
    public static func configuration(directory: URL) throws -> LFM2Configuration {
        let configURL = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw FileError.notFound(path: configURL.path)
        }
        return try LFM2Configuration(huggingFace: JSONObject(contentsOf: configURL))
    }

    /// Reads the configuration of an LFM2 GGUF file and opens its tensors (shapes in PyTorch
    /// order). The head counts as untied when the file has an `output.weight` tensor.
    public static func configuration(gguf path: String) throws -> (LFM2Configuration, GGUFTensorSource) {
        let source = try GGUFTensorSource(path: path)
        return (try configuration(gguf: path, source: source), source)
    }

    private static func configuration(gguf path: String, source: GGUFTensorSource) throws -> LFM2Configuration {
        var configuration = try LFM2Configuration(gguf: source.file.metadata, file: path)
        configuration.tieEmbeddings = source.tensor(named: LFM2Tensor.outputHead.ggufName) == nil
        return configuration
    }

    /// Loads a Hugging Face LFM2 folder (`config.json` + `model.safetensors` or a sharded checkpoint).
    public static func load(directory: URL, options: ModelLoadOptions = ModelLoadOptions()) throws -> DecoderModel {
        var configuration = try configuration(directory: directory)
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        let (backend, placement) = options.resolved()
        let weights = try LFM2Weights.load(from: checkpoint, sourceName: directory.path, naming: .huggingFace,
                                           configuration: &configuration, placement: placement)
        return DecoderModel(configuration: configuration, weights: weights, backend: backend)
    }

    /// Loads an LFM2 GGUF file (as llama.cpp's converter writes for `general.architecture` "lfm2"),
    /// with weights in any supported storage type.
    public static func load(gguf path: String, options: ModelLoadOptions = ModelLoadOptions()) throws -> DecoderModel {
        var (configuration, source) = try configuration(gguf: path)
        let (backend, placement) = options.resolved()
        let weights = try LFM2Weights.load(from: source, sourceName: path, naming: .gguf,
                                           configuration: &configuration, placement: placement)
        return DecoderModel(configuration: configuration, weights: weights, backend: backend)
    }
}

extension LFM2Configuration: ModelConfiguration {
    public var architecture: String { LFM2Architecture.name }
    public var mixers: [MixerKind] { layerKinds.map { $0 == .conv ? .conv : .attention } }
    public var shortConvKernel: Int? { convKernel }
    public var cacheShapes: [LayerCacheShape] {
        layerKinds.map {
            $0 == .conv ? .convolution(rows: convKernel - 1, channels: hiddenSize) : .keyValue(width: keyValueDim, window: 0)
        }
    }
}
