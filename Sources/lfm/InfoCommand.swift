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
        var configuration: any ModelConfiguration
        var dtypeBytes: [String: Int] = [:]
        var weightBytes: Int?
        let directory = URL(fileURLWithPath: model)
        let single = directory.appendingPathComponent("model.safetensors").path
        let index = directory.appendingPathComponent("model.safetensors.index.json").path
        if ModelRegistry.isGGUF(path: model) || FileManager.default.fileExists(atPath: single)
            || FileManager.default.fileExists(atPath: index) {
            // Binding checks every name and shape and settles what only the weights tell.
            let checkpoint = try ModelRegistry.open(path: model)
            configuration = checkpoint.configuration
            var total = 0
            for name in checkpoint.source.tensorNames {
                guard let tensor = checkpoint.source.tensor(named: name) else { continue }
                dtypeBytes[tensor.dtype.name, default: 0] += tensor.bytes.count
                total += tensor.bytes.count
            }
            weightBytes = total
        } else {
            // A configuration alone: resolved without weights.
            configuration = try ModelRegistry.configuration(directory: directory)
        }
        let hasWeights = weightBytes != nil
        let c = configuration
        let context = ctx ?? c.maxPositionEmbeddings
        let mixers = c.mixers
        let attentionIndices = mixers.indices.filter { mixers[$0] == .attention || mixers[$0] == .slidingAttention }
        let convLayers = mixers.filter { $0 == .conv }.count
        let recurrentLayers = mixers.filter { $0 == .recurrence }.count
        let recurrentStateBytes = c.recurrentStateBytes
        let kvBytesPerToken = c.keyValueBytesPerToken(context: context)
        let convStateBytes = c.convolutionStateBytes
        let declared = c.declaredDType.flatMap { ["bfloat16": 2, "float16": 2, "float32": 4][$0] } ?? 2
        let weights = weightBytes ?? c.parameterCount * declared
        let pattern = mixers.map(\.letter).joined()
        let memory = weights + c.keyValueBytes(context: context) + convStateBytes + recurrentStateBytes

        if json {
            let dtypes = dtypeBytes.keys.sorted().map { "\"\($0)\": \(dtypeBytes[$0]!)" }.joined(separator: ", ")
            let extra = c.extraInfo.map { ", \"\($0.key)\": \($0.json)" }.joined()
            print("""
            {"architecture": "\(c.architecture)", "layers": \(c.layerCount), "layer_pattern": "\(pattern)", \
            "attention_layers": [\(attentionIndices.map(String.init).joined(separator: ", "))], \
            "hidden_size": \(c.hiddenSize), "feed_forward_size": \(c.feedForwardSize), "attention_heads": \(c.attentionHeads), \
            "kv_heads": \(c.keyValueHeads), "head_dim": \(c.headDim), "vocab_size": \(c.vocabularySize), \
            "conv_kernel": \(c.shortConvKernel.map(String.init) ?? "null"), "rope_theta": \(c.ropeTheta), \
            "tied_embeddings": \(c.tieEmbeddings), \
            "parameters": \(c.parameterCount), "active_parameters": \(c.activeParameterCount), \
            "has_weights": \(hasWeights), "weight_dtype_bytes": {\(dtypes)}, \
            "weight_bytes": \(weights), "kv_bytes_per_token": \(kvBytesPerToken), "conv_state_bytes": \(convStateBytes), \
            "recurrent_state_bytes": \(recurrentStateBytes), \
            "context": \(context), "memory_bytes": \(memory)\(extra)}
            """)
            return
        }
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        let sparse = c.activeParameterCount != c.parameterCount
        print("architecture:   \(c.architecture) (\(sparse ? "mixture of experts" : "dense"))")
        let recurrent = recurrentLayers > 0 ? " + \(recurrentLayers) recurrence" : ""
        print("layers:         \(c.layerCount) (\(convLayers) conv + \(attentionIndices.count) attention\(recurrent))")
        print("layer pattern:  \(pattern)   (C = short conv, A = attention, S = sliding-window attention, R = recurrence)")
        print("hidden:         \(c.hiddenSize), feed-forward \(c.feedForwardSize), vocab \(c.vocabularySize)")
        print("attention:      \(c.attentionHeads) heads, \(c.keyValueHeads) KV heads, head dim \(c.headDim), RoPE θ \(c.ropeTheta)")
        if let kernel = c.shortConvKernel { print("conv kernel:    \(kernel)") }
        for (key, value) in c.extraInfo { print("\(key + ":")\(String(repeating: " ", count: max(1, 15 - key.count)))\(value)") }
        print("parameters:     \(c.parameterCount.formatted()) (\(c.tieEmbeddings ? "tied" : "untied") head)")
        if sparse { print("active:         \(c.activeParameterCount.formatted()) per token") }
        if hasWeights {
            let dtypes = dtypeBytes.keys.sorted().map { "\($0) \(mib(dtypeBytes[$0]!))" }.joined(separator: ", ")
            print("weights:        \(mib(weights)) (\(dtypes))")
        } else {
            print("weights:        none in this folder; \(mib(weights)) as \(c.declaredDType ?? "bfloat16")")
        }
        print("KV cache:       \(kvBytesPerToken) bytes per token")
        print("conv state:     \(convStateBytes) bytes per sequence")
        if recurrentLayers > 0 { print("recurrent state: \(recurrentStateBytes) bytes per sequence") }
        print("memory needed:  \(mib(memory)) at context \(context)")
    }
}
