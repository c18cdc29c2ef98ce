import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// Options for loading a model.
public struct ModelLoadOptions: Sendable {
    /// Where weight matrices live.
    public var placement: WeightPlacement
    /// Kernels to run on (nil: the optimized CPU backend, one thread per core, best ISA of this CPU).
    public var backend: ComputeBackend?

    /// Creates load options.
    public init(placement: WeightPlacement = .hugePages, backend: ComputeBackend? = nil) {
        self.placement = placement
        self.backend = backend
    }
}

extension LFM2Model {
    /// Reads `config.json` of the Hugging Face model folder `directory`.
    public static func configuration(directory: URL) throws -> LFM2Configuration {
        let configURL = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw FileError.notFound(path: configURL.path)
        }
        return try LFM2Configuration(huggingFace: JSONObject(contentsOf: configURL))
    }

    /// Loads a Hugging Face model folder (`config.json` + `model.safetensors` or a sharded checkpoint).
    public static func load(directory: URL, options: ModelLoadOptions = ModelLoadOptions()) throws -> LFM2Model {
        var configuration = try configuration(directory: directory)
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        let weights = try LFM2Weights.load(from: checkpoint, sourceName: directory.path, naming: .huggingFace,
                                           configuration: &configuration, placement: options.placement)
        return LFM2Model(configuration: configuration, weights: weights,
                         backend: options.backend ?? CPUBackend())
    }

    /// Reads the configuration of a GGUF file and opens its tensors (shapes in PyTorch order).
    /// The head counts as untied when the file has an `output.weight` tensor.
    public static func configuration(gguf path: String) throws -> (LFM2Configuration, GGUFTensorSource) {
        let source = try GGUFTensorSource(path: path)
        var configuration = try LFM2Configuration(gguf: source.file.metadata, file: path)
        configuration.tieEmbeddings = source.tensor(named: LFM2Tensor.outputHead.ggufName) == nil
        return (configuration, source)
    }

    /// Loads a GGUF file (as llama.cpp's converter writes for `general.architecture` "lfm2"), with
    /// weights in any supported storage type (F32, F16, BF16, Q4_0 … Q8_0, Q2_K … Q6_K).
    public static func load(gguf path: String, options: ModelLoadOptions = ModelLoadOptions()) throws -> LFM2Model {
        var (configuration, source) = try configuration(gguf: path)
        let weights = try LFM2Weights.load(from: source, sourceName: path, naming: .gguf,
                                           configuration: &configuration, placement: options.placement)
        return LFM2Model(configuration: configuration, weights: weights, backend: options.backend ?? CPUBackend())
    }

    /// Whether `path` names a GGUF file (a regular file starting with the "GGUF" magic) rather than
    /// a model folder.
    public static func isGGUF(path: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        return magic == Data([0x47, 0x47, 0x55, 0x46])
    }

    /// Loads a model from a Hugging Face folder or a GGUF file, whichever `path` is.
    public static func load(path: String, options: ModelLoadOptions = ModelLoadOptions()) throws -> LFM2Model {
        if isGGUF(path: path) { return try load(gguf: path, options: options) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw FileError.notFound(path: path) }
        guard isDirectory.boolValue else { throw ModelPathError.notAModel(path: path) }
        return try load(directory: URL(fileURLWithPath: path), options: options)
    }
}

/// A model path that is neither a model folder nor a GGUF file.
public enum ModelPathError: Error, Equatable, CustomStringConvertible {
    case notAModel(path: String)

    public var description: String {
        switch self {
        case .notAModel(let path): return "\(path): expected a model folder (config.json + safetensors) or a GGUF file (magic \"GGUF\")"
        }
    }
}
