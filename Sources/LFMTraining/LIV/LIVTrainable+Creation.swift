// Making an LIV model: random initialization, loading a checkpoint (its own or another family's
// under a renaming), and saving a Hugging Face folder.
import Foundation
import LFMCore
import LFMFormats
import LFMModels

extension LIVTrainable {
    /// A freshly initialized model, deterministic in `seed`, with the conventions of
    /// `LFM2Trainable(randomFor:)`: linear weights, embeddings and conv taps N(0, 1/fan-in)
    /// (fan-in = the last dimension), norms 1, expert selection biases 0. A recurrence's decay
    /// biases are spread evenly over 2 … 4 across its groups (decays sigmoid(2) ≈ 0.88 to
    /// sigmoid(4) ≈ 0.98, memories of roughly 8 to 55 tokens): long memory from the start, which
    /// the decay logits then adjust per token.
    public convenience init(genome: LIVGenome, settings: LIVSettings, seed: UInt64) throws {
        let configuration = try LIVConfiguration(genome: genome, settings: settings)
        var random = SplitMix64(seed: seed)
        var parameters: [String: Tensor] = [:]
        for entry in genome.tensors(settings) {
            let values: [Float]
            if entry.name.hasSuffix("norm.weight") {
                values = [Float](repeating: 1, count: entry.count)
            } else if entry.name.hasSuffix(".expert_bias") {
                values = [Float](repeating: 0, count: entry.count)
            } else if entry.name.hasSuffix(".decay_bias") {
                let groups = entry.count
                values = (0..<groups).map { g in groups == 1 ? 3 : 2 + 2 * Float(g) / Float(groups - 1) }
            } else {
                let std = 1 / Float(entry.shape.last ?? 1).squareRoot()
                values = (0..<entry.count).map { _ in random.normal() * std }
            }
            parameters[entry.name] = Tensor(shape: entry.shape, data: values, requiresGrad: entry.trainable)
        }
        try self.init(configuration: configuration, parameters: parameters)
    }

    /// Loads every tensor of the table from a checkpoint as F32 (F16 and BF16 are widened).
    /// `renaming` maps a table name to the checkpoint's name for that tensor (e.g. LFM3's
    /// `self_attn.g_proj` for `self_attn.gate_proj`, LFM2's `self_attn.out_proj` for `o_proj`),
    /// so a checkpoint of another family can be loaded as its LIV description. Throws on a
    /// missing tensor, a shape that differs (size-1 dimensions aside), an unsupported type, or
    /// a checkpoint tensor the table does not use.
    public convenience init(configuration: LIVConfiguration, source: TensorSource, sourceName: String,
                            renaming: ((String) -> String)? = nil) throws {
        var parameters: [String: Tensor] = [:]
        var used = Set<String>()
        for entry in configuration.genome.tensors(configuration.settings) {
            let name = renaming?(entry.name) ?? entry.name
            guard let stored = source.tensor(named: name) else {
                throw ModelLoadError.missingTensor(name: name, source: sourceName)
            }
            guard stored.shape.filter({ $0 != 1 }) == entry.shape.filter({ $0 != 1 }) else {
                throw ModelLoadError.shapeMismatch(name: name, file: stored.file, expected: entry.shape, found: stored.shape)
            }
            guard let values = stored.floats() else {
                throw ModelLoadError.unsupportedType(name: name, file: stored.file, dtype: stored.dtype.name,
                                                     expected: "F32, F16 or BF16 for training")
            }
            used.insert(name)
            parameters[entry.name] = Tensor(shape: entry.shape, data: values, requiresGrad: entry.trainable)
        }
        let leftovers = source.tensorNames.filter { !used.contains($0) }
        guard leftovers.isEmpty else { throw ModelLoadError.unexpectedTensors(names: leftovers, source: sourceName) }
        try self.init(configuration: configuration, parameters: parameters)
    }

    /// Writes a Hugging Face model folder: `model.safetensors` (every table tensor under its
    /// table name, buffers included, in `dtype`) and `config.json` (`model_type` "lfm_liv", the genome).
    public func save(to directory: URL, dtype: SafeTensorsDType = .f32) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter()
        writer.metadata = ["format": "pt"]
        for entry in configuration.genome.tensors(configuration.settings) {
            guard let tensor = parameters[entry.name] else { throw ModelLoadError.missingTensor(name: entry.name, source: "LIV parameters") }
            writer.add(entry.name, shape: entry.shape, values: tensor.data, as: dtype)
        }
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        try configuration.huggingFaceConfigData(dtype: dtype.torchName)
            .write(to: directory.appendingPathComponent("config.json"), options: .atomic)
    }
}

extension SafeTensorsDType {
    /// The `torch_dtype` name recorded in `config.json`.
    var torchName: String {
        switch self {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        }
    }
}
