// What a family's GGUF export consists of: the hyperparameter entries and the tensor list (with
// each tensor's Hugging Face source and transform), independent of how the file is then written.
import Foundation
import LFMCore
import LFMFormats

/// Where the values of one exported tensor come from.
public enum GGUFExportSource: Sendable, Equatable {
    /// A checkpoint tensor as stored (a squeeze, e.g. LFM2's `[H, 1, L]` conv kernel, changes only the shape).
    case tensor(String)
    /// A checkpoint tensor whose rows llama.cpp's converter permutes for its RoPE layout
    /// (`LlamaModel.permute`): within each of `heads` groups, the two halves of the rows are interleaved.
    case ropePermuted(String, heads: Int)
    /// Checkpoint tensors of the same shape stacked along a new leading axis (MoE experts).
    case stacked([String])
    /// Values computed from the configuration (llama3's `rope_freqs` factors).
    case values([Float])
}

/// One tensor of an exported GGUF file.
public struct GGUFExportTensor: Sendable, Equatable {
    /// Its GGUF name (`blk.0.attn_q.weight`).
    public var name: String
    /// Shape in PyTorch order (GGUF's dimensions are this reversed).
    public var shape: [Int]
    public var source: GGUFExportSource
    /// Whether llama.cpp's converter keeps it F32 in F16/BF16 files (vectors, norms, the MoE router,
    /// the short-convolution taps).
    public var keepsF32: Bool

    public init(_ name: String, shape: [Int], source: GGUFExportSource, keepsF32: Bool? = nil) {
        self.name = name
        self.shape = shape
        self.source = source
        self.keepsF32 = keepsF32 ?? (shape.count <= 1 || name.hasSuffix("_norm.weight") || name.contains("ffn_gate_inp")
                                     || name.contains("shortconv.conv"))
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The first Hugging Face tensor it is made from (nil for computed values), which places it in
    /// the converter's order.
    var firstSourceName: String? {
        switch source {
        case .tensor(let n), .ropePermuted(let n, _): return n
        case .stacked(let names): return names.max()
        case .values: return nil
        }
    }
}

/// A family's GGUF form of one Hugging Face checkpoint: what llama.cpp's convert_hf_to_gguf.py writes.
public struct GGUFExportDescription: Sendable {
    /// GGUF `general.architecture` (the key prefix of the hyperparameters).
    public var architecture: String
    /// Hyperparameter entries the converter writes before `general.file_type`, in its order.
    public var hyperparameters: [(key: String, value: GGUFValue)]
    /// Entries the converter writes after `general.file_type` (before `general.quantization_version`).
    public var trailingHyperparameters: [(key: String, value: GGUFValue)]
    /// Every tensor, in the converter's order.
    public var tensors: [GGUFExportTensor]
    /// Tokenizer metadata (from tokenizer.json).
    public var tokenizer: GGUFTokenizerMetadata?

    /// Creates a description; `tensors` is put into the converter's order (computed tensors first,
    /// then by Hugging Face name as the safetensors index lists them, a stack where its last part is).
    public init(architecture: String, hyperparameters: [(key: String, value: GGUFValue)],
                trailingHyperparameters: [(key: String, value: GGUFValue)] = [], tensors: [GGUFExportTensor],
                tokenizer: GGUFTokenizerMetadata?) {
        self.architecture = architecture
        self.hyperparameters = hyperparameters
        self.trailingHyperparameters = trailingHyperparameters
        self.tokenizer = tokenizer
        self.tensors = tensors.enumerated().sorted { a, b in
            switch (a.element.firstSourceName, b.element.firstSourceName) {
            case (nil, nil): return a.offset < b.offset
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?): return x < y
            }
        }.map(\.element)
    }

    /// gguf-py's parameter counts: every tensor, experts once per expert for the size label.
    var parameterCounts: (total: Int, shared: Int, expert: Int, experts: Int) {
        var total = 0, shared = 0, expert = 0, expertSum = 0, expertTensors = 0
        for t in tensors {
            total += t.elementCount
            if t.name.contains("_exps."), t.shape.count >= 3 {
                let count = t.shape[t.shape.count - (t.name.contains(".bias") ? 2 : 3)]
                expert += t.elementCount / count
                expertSum += count
                expertTensors += 1
            } else {
                shared += t.elementCount
            }
        }
        return (total, shared, expert, expertTensors > 0 ? expertSum / expertTensors : 0)
    }

    /// Every metadata entry of the converter's output for a folder called `name`: `general.*`,
    /// the hyperparameters, `general.file_type`, `general.quantization_version`, the tokenizer.
    public func entries(name: String, fileType: UInt32) -> [(key: String, value: GGUFValue)] {
        let counts = parameterCounts
        let parts = GGUFGeneralName.nameComponents(name, parameters: counts.total)
        var out: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(architecture)), ("general.type", .string("model")),
            ("general.name", .string(GGUFGeneralName.title(name))),
        ]
        if let version = parts.version { out.append(("general.version", .string(version))) }
        if let finetune = parts.finetune { out.append(("general.finetune", .string(finetune))) }
        if let basename = parts.basename { out.append(("general.basename", .string(basename))) }
        let label = counts.experts > 0 ? "\(counts.experts)x" + GGUFGeneralName.sizeLabel(counts.shared + counts.expert)
            : GGUFGeneralName.sizeLabel(counts.total)
        out.append(("general.size_label", .string(parts.sizeLabel ?? label)))
        out += hyperparameters
        out.append(("general.file_type", .uint32(fileType)))
        out += trailingHyperparameters
        out.append(("general.quantization_version", .uint32(2)))
        return out + (tokenizer?.entries ?? [])
    }
}

/// Shared helpers for the per-family descriptions.
enum GGUFExportKeys {
    /// `<arch>.block_count` … `<arch>.attention.layer_norm_rms_epsilon` as TextModel writes them.
    static func base(_ arch: String, layers: Int, context: Int, hidden: Int, feedForward: Int, heads: Int,
                     keyValueHeads: GGUFValue, ropeTheta: Double, normEpsilon: Float) -> [(key: String, value: GGUFValue)] {
        [("\(arch).block_count", .uint32(UInt32(layers))),
         ("\(arch).context_length", .uint32(UInt32(clamping: context))),
         ("\(arch).embedding_length", .uint32(UInt32(hidden))),
         ("\(arch).feed_forward_length", .uint32(UInt32(feedForward))),
         ("\(arch).attention.head_count", .uint32(UInt32(heads))),
         ("\(arch).attention.head_count_kv", keyValueHeads),
         ("\(arch).rope.freq_base", .float32(Float(ropeTheta))),
         ("\(arch).attention.layer_norm_rms_epsilon", .float32(normEpsilon))]
    }
}
