// llama.cpp's per-tensor type choice (src/llama-quant.cpp) from tensor names, for any architecture.
import LFMCore
import LFMFormats

/// The facts about a model llama-quantize's type rules look at.
public struct GGUFQuantizationModel: Sendable {
    /// `<arch>.block_count`.
    public var layerCount: Int
    /// `<arch>.expert_count` (0 for dense models).
    public var expertCount: Int
    /// Query heads per key/value head of layer 0 (`n_gqa()`; 0 when layer 0 has no attention).
    public var groupedQueryRatio: Int

    public init(layerCount: Int, expertCount: Int, groupedQueryRatio: Int) {
        self.layerCount = layerCount
        self.expertCount = expertCount
        self.groupedQueryRatio = groupedQueryRatio
    }

    /// Reads the facts from GGUF metadata written for `architecture`.
    public init(metadata: [(key: String, value: GGUFValue)], architecture arch: String) {
        func int(_ value: GGUFValue?) -> Int? {
            switch value {
            case .uint32(let v)?: return Int(v)
            case .int32(let v)?: return Int(v)
            case .uint64(let v)?: return Int(clamping: v)
            case .int64(let v)?: return Int(v)
            case .array(.int32(let v))?: return v.first.map(Int.init)
            case .array(.uint32(let v))?: return v.first.map(Int.init)
            default: return nil
            }
        }
        let lookup = Dictionary(metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        layerCount = int(lookup["\(arch).block_count"]) ?? 0
        expertCount = int(lookup["\(arch).expert_count"]) ?? 0
        let heads = int(lookup["\(arch).attention.head_count"]) ?? 0
        let kv = int(lookup["\(arch).attention.head_count_kv"]) ?? heads
        groupedQueryRatio = kv == 0 ? 0 : heads / kv
    }
}

/// Chooses each tensor's type under a `GGUFQuantizationMix` as llama-quantize does (no imatrix,
/// no overrides).
public enum GGUFQuantizationRules {
    /// Whether llama-quantize quantizes a tensor called `name` with `dimensions` at all: 2-D and
    /// 3-D tensors ending in "weight", except norms, the MoE router and the convolution taps.
    public static func allowsQuantization(_ name: String, dimensions: Int) -> Bool {
        dimensions >= 2 && name.hasSuffix("weight") && !name.contains("_norm.weight") && !name.contains("ffn_gate_inp.weight")
            && !name.contains("ssm_conv1d") && !name.contains("shortconv.conv.weight")
    }

    /// Layer-ordered tensor order llama-quantize writes: tensors outside layers by name, then each
    /// layer's by name.
    public static func writeOrder(_ names: [String]) -> [String] {
        func key(_ name: String) -> (Int, String) {
            if name.hasPrefix("blk."), let n = Int(name.dropFirst(4).prefix { $0 != "." }) { return (n, name) }
            return (-1, name)
        }
        return names.sorted { key($0) < key($1) }
    }

    /// The type of every tensor (`name`, PyTorch-order `shape`, current `type`), visited in
    /// llama-quantize's order.
    public static func types(_ tensors: [(name: String, shape: [Int], type: DType)], mix: GGUFQuantizationMix,
                             model: GGUFQuantizationModel) -> [String: DType] {
        let order = writeOrder(tensors.map(\.name))
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let nAttentionV = order.filter { $0.contains("attn_v.weight") || $0.contains("attn_qkv.weight") }.count
        let tied = !byName.keys.contains("output.weight")
        let nLayers = model.layerCount
        var iAttentionV = 0, iFFNDown = 0
        func moreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }
        func layer(_ name: String, counter: Int) -> Int {
            guard model.expertCount > 1, name.hasPrefix("blk."), let n = Int(name.dropFirst(4).prefix { $0 != "." }) else { return counter }
            return n
        }
        var out: [String: DType] = [:]
        for name in order {
            guard let t0 = byName[name] else { continue }
            guard allowsQuantization(name, dimensions: t0.shape.count) else { out[name] = t0.type; continue }
            var t = mix.defaultType
            let columns = t0.shape.last ?? 0
            if name == "output.weight" || (tied && name == "token_embd.weight") {
                if columns % t.blockSize != 0 { t = .q8_0 } else if t != .q8_0 { t = .q6_K }
            } else if name == "token_embd.weight" {
                // the mix's default type
            } else if name.contains("attn_v.weight") || name.contains("attn_qkv.weight") {
                switch mix {
                case .q2_k: t = model.groupedQueryRatio >= 4 ? .q4_K : .q3_K
                case .q3_k_m: t = iAttentionV < 2 ? .q5_K : .q4_K
                case .q3_k_l: t = .q5_K
                case .q4_k_m, .q5_k_m: if moreBits(iAttentionV, nAttentionV) { t = .q6_K }
                case .q4_k_s: if iAttentionV < 4 { t = .q5_K }
                case .iq4_nl, .iq4_xs: if model.groupedQueryRatio >= 4 { t = .q5_K }
                default: break
                }
                if model.expertCount == 8 { t = .q8_0 }
                iAttentionV += 1
            } else if name.contains("attn_k.weight") {
                if model.expertCount == 8 { t = .q8_0 }
            } else if name.contains("ffn_down") && !name.contains("ffn_up") && !name.contains("ffn_gate") {
                let (i, n) = (layer(name, counter: iFFNDown), nLayers)
                switch mix {
                case .q2_k: t = .q3_K
                case .q3_k_m: t = i < n / 16 ? .q5_K : .q4_K
                case .q3_k_l: t = .q5_K
                case .q4_k_m, .q5_k_m: if moreBits(i, n) { t = .q6_K }
                case .q4_k_s: if i < n / 8 { t = .q5_K }
                case .iq4_nl, .iq4_xs: if i < n / 8 { t = .q5_K }  // (no imatrix)
                default: break
                }
                iFFNDown += 1
            } else if name.contains("attn_output.weight") {
                if model.expertCount == 8 {
                    if [.q2_k, .q3_k_s, .q3_k_m, .q4_k_s, .q4_k_m, .iq4_nl, .iq4_xs].contains(mix) { t = .q5_K }
                } else {
                    switch mix {
                    case .q2_k: t = .q3_K
                    case .q3_k_m: t = .q4_K
                    case .q3_k_l: t = .q5_K
                    default: break
                    }
                }
            }
            out[name] = fallback(t, columns: columns)
        }
        return out
    }

    /// llama.cpp's `tensor_type_fallback` for rows that are not whole blocks.
    static func fallback(_ type: DType, columns: Int) -> DType {
        guard columns % type.blockSize != 0 else { return type }
        var t = type
        switch t {
        case .q2_K, .q3_K: t = .q4_0
        case .q4_K: t = .q5_0
        case .q5_K: t = .q5_1
        case .q6_K: t = .q8_0
        case .iq4_XS: t = .iq4_NL
        default: break
        }
        return columns % t.blockSize != 0 ? .f16 : t
    }
}
