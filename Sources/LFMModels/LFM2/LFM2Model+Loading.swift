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
}
