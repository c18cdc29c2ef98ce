import ArgumentParser
import Foundation
import LFMCore
import LFMFormats
import LFMModels

/// `lfm info`: what a model is, without running it.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a model's architecture, layer pattern, parameter count, dtypes and memory needs."
    )

    @Option(name: .long, help: "Model folder (config.json, optionally with safetensors) or GGUF file.")
    var model: String

    @Option(name: .long, help: "Context length to size the KV cache for (default: the model's maximum).")
    var ctx: Int?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        var configuration: LFM2Configuration
        var dtypeBytes: [String: Int] = [:]
        var weightBytes: Int?
        var hasWeights = false
        if LFM2Model.isGGUF(path: model) {
            let source: GGUFTensorSource
            (configuration, source) = try LFM2Model.configuration(gguf: model)
            _ = try LFM2Weights.load(from: source, sourceName: model, naming: .gguf, configuration: &configuration,
                                     placement: .mapped)
            var total = 0
            for info in source.file.tensors {
                dtypeBytes[info.type.name, default: 0] += info.byteCount
                total += info.byteCount
            }
            weightBytes = total
            hasWeights = true
        } else {
            configuration = try LFM2Model.configuration(directory: directory)
        }
        let single = directory.appendingPathComponent("model.safetensors").path
        let index = directory.appendingPathComponent("model.safetensors.index.json").path
        if !hasWeights, FileManager.default.fileExists(atPath: single) || FileManager.default.fileExists(atPath: index) {
            let checkpoint = try SafeTensorsCheckpoint(directory: directory)
            // Binding checks every name and shape and fixes the feed-forward width.
            _ = try LFM2Weights.load(from: checkpoint, sourceName: directory.path, configuration: &configuration,
                                     placement: .mapped)
            var total = 0
            for name in checkpoint.tensorNames {
                guard let tensor = checkpoint.tensor(named: name) else { continue }
                dtypeBytes[tensor.dtype.name, default: 0] += tensor.bytes.count
                total += tensor.bytes.count
            }
            weightBytes = total
            hasWeights = true
        }
        let c = configuration
        let context = ctx ?? c.maxPositionEmbeddings
        let attentionLayers = c.layerKinds.filter { $0 == .attention }.count
        let convLayers = c.layerCount - attentionLayers
        let kvBytesPerToken = attentionLayers * 2 * c.keyValueDim * 4
        let convStateBytes = convLayers * (c.convKernel - 1) * c.hiddenSize * 4
        let declared = c.declaredDType.flatMap { ["bfloat16": 2, "float16": 2, "float32": 4][$0] } ?? 2
        let weights = weightBytes ?? c.parameterCount * declared
        let pattern = c.layerKinds.map { $0 == .attention ? "A" : "C" }.joined()
        let memory = weights + kvBytesPerToken * context + convStateBytes

        if json {
            let dtypes = dtypeBytes.keys.sorted().map { "\"\($0)\": \(dtypeBytes[$0]!)" }.joined(separator: ", ")
            print("""
            {"architecture": "lfm2", "layers": \(c.layerCount), "layer_pattern": "\(pattern)", \
            "attention_layers": [\(c.layerKinds.indices.filter { c.layerKinds[$0] == .attention }.map(String.init).joined(separator: ", "))], \
            "hidden_size": \(c.hiddenSize), "feed_forward_size": \(c.feedForwardSize), "attention_heads": \(c.attentionHeads), \
            "kv_heads": \(c.keyValueHeads), "head_dim": \(c.headDim), "vocab_size": \(c.vocabularySize), \
            "conv_kernel": \(c.convKernel), "rope_theta": \(c.ropeTheta), "tied_embeddings": \(c.tieEmbeddings), \
            "parameters": \(c.parameterCount), "has_weights": \(hasWeights), "weight_dtype_bytes": {\(dtypes)}, \
            "weight_bytes": \(weights), "kv_bytes_per_token": \(kvBytesPerToken), "conv_state_bytes": \(convStateBytes), \
            "context": \(context), "memory_bytes": \(memory)}
            """)
            return
        }
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        print("architecture:   lfm2 (dense)")
        print("layers:         \(c.layerCount) (\(convLayers) conv + \(attentionLayers) attention)")
        print("layer pattern:  \(pattern)   (C = short conv, A = attention)")
        print("hidden:         \(c.hiddenSize), feed-forward \(c.feedForwardSize), vocab \(c.vocabularySize)")
        print("attention:      \(c.attentionHeads) heads, \(c.keyValueHeads) KV heads, head dim \(c.headDim), RoPE θ \(c.ropeTheta)")
        print("conv kernel:    \(c.convKernel)")
        print("parameters:     \(c.parameterCount.formatted()) (\(c.tieEmbeddings ? "tied" : "untied") head)")
        if hasWeights {
            let dtypes = dtypeBytes.keys.sorted().map { "\($0) \(mib(dtypeBytes[$0]!))" }.joined(separator: ", ")
            print("weights:        \(mib(weights)) (\(dtypes))")
        } else {
            print("weights:        none in this folder; \(mib(weights)) as \(c.declaredDType ?? "bfloat16")")
        }
        print("KV cache:       \(kvBytesPerToken) bytes per token")
        print("conv state:     \(convStateBytes) bytes per sequence")
        print("memory needed:  \(mib(memory)) at context \(context)")
    }
}
