import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// How a source names its tensors.
public enum TensorNaming: Sendable, Equatable {
    /// Hugging Face safetensors names (`model.layers.N. …`).
    case huggingFace
    /// llama.cpp GGUF names (`blk.N. …`).
    case gguf
}

/// One model family: how to read its configuration and bind its tensors to decoder blocks.
/// Adding a family is a folder with a type conforming to this and one line in `ModelRegistry`.
public protocol ModelArchitecture {
    /// The registry name (also `ModelConfiguration.architecture`).
    static var name: String { get }
    /// Hugging Face `model_type` values this family reads.
    static var huggingFaceModelTypes: [String] { get }
    /// Hugging Face `architectures` entries (used when `model_type` is absent).
    static var huggingFaceArchitectures: [String] { get }
    /// GGUF `general.architecture` values (empty: no GGUF form).
    static var ggufArchitectures: [String] { get }

    /// Reads a Hugging Face `config.json`.
    static func configuration(huggingFace json: JSONObject) throws -> any ModelConfiguration
    /// Reads GGUF metadata (the tensor list tells e.g. whether the head is tied).
    static func configuration(gguf source: GGUFTensorSource) throws -> any ModelConfiguration
    /// Checks every tensor of `source` against `configuration` and binds them to decoder blocks;
    /// returns the configuration as the checkpoint settles it (e.g. a feed-forward width).
    static func bind(_ configuration: any ModelConfiguration, source: TensorSource, naming: TensorNaming,
                     sourceName: String, placement: WeightPlacement) throws -> (any ModelConfiguration, DecoderWeights)
    /// What llama.cpp's convert_hf_to_gguf.py writes for the Hugging Face folder `folder` read as
    /// `configuration`: hyperparameter entries, tokenizer and tensor list (nil: the family has no
    /// GGUF export description).
    static func ggufExport(_ configuration: any ModelConfiguration, folder: URL) throws -> GGUFExportDescription?
}

extension ModelArchitecture {
    /// No GGUF export unless the family describes one.
    public static func ggufExport(_ configuration: any ModelConfiguration, folder: URL) throws -> GGUFExportDescription? { nil }
}

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

extension ModelLoadOptions {
    /// The backend to run on and the placement to bind with: `.hugePages` becomes `.hugePagesRegrouping`
    /// of the types whose kernels read `BlockOrder.groupsOf8` faster on that backend
    /// (`ComputeBackend.prefersRegrouped`).
    public func resolved() -> (ComputeBackend, WeightPlacement) {
        let backend = self.backend ?? CPUBackend()
        let types = Set([DType.q4_0, .q8_0].filter { backend.prefersRegrouped($0) })
        return (backend, placement == .hugePages && !types.isEmpty ? .hugePagesRegrouping(types) : placement)
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

/// The one registry of model families, keyed by Hugging Face `model_type` / `architectures` and
/// GGUF `general.architecture`, and the entry points that open models through it.
public enum ModelRegistry {
    /// Every family this engine runs (computed: an array of existential metatypes is not
    /// `Sendable`, so it cannot be a stored global in Swift 6 mode).
    public static var architectures: [any ModelArchitecture.Type] { [
        LFM2Architecture.self,
        LFM2MoEArchitecture.self,
        LFM3Architecture.self,
        Qwen3Architecture.self,
        LlamaArchitecture.self,
        LIVArchitecture.self,
    ] }

    /// Every Hugging Face `model_type` some family reads.
    public static var huggingFaceModelTypes: [String] { architectures.flatMap { $0.huggingFaceModelTypes } }
    /// Every GGUF architecture some family reads.
    public static var ggufArchitectures: [String] { architectures.flatMap { $0.ggufArchitectures } }

    /// The family a `config.json` belongs to: by `model_type`, else by `architectures`.
    public static func architecture(huggingFace json: JSONObject) throws -> any ModelArchitecture.Type {
        if let modelType = try json.string("model_type") {
            guard let family = architectures.first(where: { $0.huggingFaceModelTypes.contains(modelType) }) else {
                throw ConfigError.unsupportedModelType(file: json.file, modelType: modelType, supported: huggingFaceModelTypes)
            }
            return family
        }
        let names = try json.strings("architectures") ?? []
        guard let family = architectures.first(where: { !Set($0.huggingFaceArchitectures).isDisjoint(with: names) }) else {
            throw ConfigError.missingKey(file: json.file, key: "model_type")
        }
        return family
    }

    /// The family of a GGUF file's `general.architecture`.
    public static func architecture(gguf metadata: GGUFMetadata, file: String) throws -> any ModelArchitecture.Type {
        let name = try metadata.lookup("general.architecture", file: file) { try metadata.string($0) }
        guard let family = architectures.first(where: { $0.ggufArchitectures.contains(name) }) else {
            throw GGUFModelError.unsupportedArchitecture(file: file, found: name, supported: ggufArchitectures)
        }
        return family
    }

    /// Reads `config.json` of the Hugging Face model folder `directory` (no weights needed).
    public static func configuration(directory: URL) throws -> any ModelConfiguration {
        let json = try configJSON(directory)
        return try architecture(huggingFace: json).configuration(huggingFace: json)
    }

    /// Reads the configuration of a GGUF file and opens its tensors.
    public static func configuration(gguf path: String) throws -> (any ModelConfiguration, GGUFTensorSource) {
        let source = try GGUFTensorSource(path: path)
        let family = try architecture(gguf: source.file.metadata, file: path)
        return (try family.configuration(gguf: source), source)
    }

    /// A model folder or GGUF file opened and every tensor checked, without copying weights.
    public struct Checkpoint {
        public let family: any ModelArchitecture.Type
        /// The configuration as the checkpoint settles it.
        public let configuration: any ModelConfiguration
        public let source: TensorSource
        public let naming: TensorNaming
        /// The GGUF metadata, for GGUF files.
        public let ggufMetadata: GGUFMetadata?
        /// Weights bound in place (memory-mapped).
        public let weights: DecoderWeights
    }

    /// Opens `path` (folder or GGUF file) and binds its tensors in place.
    public static func open(path: String) throws -> Checkpoint {
        try open(path: path, placement: .mapped)
    }

    private static func open(path: String, placement: WeightPlacement) throws -> Checkpoint {
        if isGGUF(path: path) {
            let source = try GGUFTensorSource(path: path)
            let family = try architecture(gguf: source.file.metadata, file: path)
            let (configuration, weights) = try family.bind(try family.configuration(gguf: source), source: source,
                                                           naming: .gguf, sourceName: path, placement: placement)
            return Checkpoint(family: family, configuration: configuration, source: source, naming: .gguf,
                              ggufMetadata: source.file.metadata, weights: weights)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw FileError.notFound(path: path) }
        guard isDirectory.boolValue else { throw ModelPathError.notAModel(path: path) }
        let directory = URL(fileURLWithPath: path)
        let json = try configJSON(directory)
        let family = try architecture(huggingFace: json)
        let configuration = try family.configuration(huggingFace: json)
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        let (settled, weights) = try family.bind(configuration, source: checkpoint, naming: .huggingFace,
                                                 sourceName: directory.path, placement: placement)
        return Checkpoint(family: family, configuration: settled, source: checkpoint, naming: .huggingFace,
                          ggufMetadata: nil, weights: weights)
    }

    /// Loads a model from a Hugging Face folder or a GGUF file, whichever `path` is.
    public static func load(path: String, options: ModelLoadOptions = ModelLoadOptions()) throws -> any LanguageModel {
        let (backend, placement) = options.resolved()
        let opened = try open(path: path, placement: placement)
        return DecoderModel(configuration: opened.configuration, weights: opened.weights, backend: backend)
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

    private static func configJSON(_ directory: URL) throws -> JSONObject {
        let configURL = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw FileError.notFound(path: configURL.path)
        }
        return try JSONObject(contentsOf: configURL)
    }
}
