// Writes LFM2 models as GGUF files with the keys, names and type rules of llama.cpp's tools.
import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// llama.cpp's quantization mixes (`llama-quantize` type names) this engine can write, with the
/// per-tensor rules of llama.cpp's `llama-quant.cpp` that apply to LFM2 (dense, no experts).
public enum GGUFQuantizationMix: String, CaseIterable, Sendable {
    case q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k

    /// `general.file_type` (llama.cpp's `llama_ftype`).
    public var fileType: UInt32 {
        switch self {
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q2_k: return 10
        case .q3_k_s: return 11
        case .q3_k_m: return 12
        case .q3_k_l: return 13
        case .q4_k_s: return 14
        case .q4_k_m: return 15
        case .q5_k_s: return 16
        case .q5_k_m: return 17
        case .q6_k: return 18
        }
    }

    /// The type most matrices get.
    public var defaultType: DType {
        switch self {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q2_k: return .q2_K
        case .q3_k_s, .q3_k_m, .q3_k_l: return .q3_K
        case .q4_k_s, .q4_k_m: return .q4_K
        case .q5_k_s, .q5_k_m: return .q5_K
        case .q6_k: return .q6_K
        }
    }
}

/// Float storage types `lfm convert` writes.
public enum GGUFFloatType: String, CaseIterable, Sendable {
    case f32, f16, bf16

    public var dtype: DType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        }
    }

    /// `general.file_type` (ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32).
    public var fileType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .bf16: return 32
        }
    }
}

/// Writes an LFM2 model (any `TensorSource`, HF or GGUF names) as a GGUF file.
public enum LFM2GGUFExport {
    /// The `general.*` and `lfm2.*` entries of llama.cpp's convert_hf_to_gguf.py for `c`, in its order.
    public static func modelEntries(_ c: LFM2Configuration, name: String, fileType: UInt32) -> [(key: String, value: GGUFValue)] {
        let parts = nameComponents(name, parameters: c.parameterCount)
        var out: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("lfm2")), ("general.type", .string("model")),
            ("general.name", .string(title(name))),
        ]
        if let version = parts.version { out.append(("general.version", .string(version))) }
        if let finetune = parts.finetune { out.append(("general.finetune", .string(finetune))) }
        if let basename = parts.basename { out.append(("general.basename", .string(basename))) }
        out.append(("general.size_label", .string(parts.sizeLabel ?? sizeLabel(c.parameterCount))))
        out += [
            ("lfm2.block_count", .uint32(UInt32(c.layerCount))),
            ("lfm2.context_length", .uint32(UInt32(clamping: c.maxPositionEmbeddings))),
            ("lfm2.embedding_length", .uint32(UInt32(c.hiddenSize))),
            ("lfm2.feed_forward_length", .uint32(UInt32(c.feedForwardSize))),
            ("lfm2.attention.head_count", .uint32(UInt32(c.attentionHeads))),
            ("lfm2.attention.head_count_kv", .array(.int32(c.layerKinds.map { $0 == .attention ? Int32(c.keyValueHeads) : 0 }))),
            ("lfm2.rope.freq_base", .float32(Float(c.ropeTheta))),
            ("lfm2.attention.layer_norm_rms_epsilon", .float32(c.normEpsilon)),
        ]
        if c.headDim * c.attentionHeads != c.hiddenSize {
            out.append(("lfm2.attention.key_length", .uint32(UInt32(c.headDim))))
            out.append(("lfm2.attention.value_length", .uint32(UInt32(c.headDim))))
        }
        out += [("general.file_type", .uint32(fileType)), ("lfm2.vocab_size", .uint32(UInt32(c.vocabularySize))),
                ("lfm2.shortconv.l_cache", .uint32(UInt32(c.convKernel))), ("general.quantization_version", .uint32(2))]
        return out
    }

    /// gguf-py's `Metadata.id_to_title` for a folder name ("tiny-f32" -> "Tiny F32").
    static func title(_ id: String) -> String {
        id.replacingOccurrences(of: "-", with: " ").split(separator: " ").map { word -> String in
            let w = String(word)
            let isVersion = w.first.map { $0.isNumber } == true || (w.first == "v" && w.dropFirst().first?.isNumber == true)
            return w == w.lowercased() && !isVersion ? w.capitalized : w
        }.joined(separator: " ")
    }

    /// gguf-py's `Metadata.get_model_id_components` for a folder name without an organization
    /// ("lfm2-350m-bf16" -> basename "lfm2", size label "350M"): parts are versions ("v2", "1.5"),
    /// types ("bf16", "q4_k"), size labels ("350M", "1.2B", within 7/8 of the parameter count) or
    /// finetunes ("instruct", "chat", and unmarked parts after the first marked one); leading unmarked
    /// parts form the basename, which is dropped when nothing else was found.
    static func nameComponents(_ id: String, parameters: Int) -> (basename: String?, finetune: String?, version: String?, sizeLabel: String?) {
        func full(_ pattern: String, _ text: String) -> Bool {
            text.range(of: "^(?:\(pattern))$", options: [.regularExpression, .caseInsensitive]) != nil
        }
        guard !id.contains(" ") else { return (nil, nil, nil, nil) }
        var parts = id.split(separator: "-").map(String.init)
        var types = [Set<String>](repeating: [], count: parts.count)
        for (i, part) in parts.enumerated() {
            if full(#"(v|iter)?\d+([.]\d+)*"#, part) {
                types[i].insert("version")
            } else if full(#"i?q\d(_\w)*|b?fp?(16|32)"#, part) {
                types[i].insert("type")
                parts[i] = part.uppercased()
            } else if i > 0, full(#"\d+([._]\d+)?[KMBT]"#, part) {
                var label = part.replacingOccurrences(of: "_", with: ".")
                label = String(label.dropLast()) + label.suffix(1).uppercased()
                if let value = Double(label.dropLast()), let scale = " KMBT".firstIndex(of: label.last ?? " ") {
                    let labelParams = value * pow(1000, Double(" KMBT".distance(from: " KMBT".startIndex, to: scale)))
                    if parameters > 0, abs(labelParams - Double(parameters)) > Double(7 * parameters / 8) {
                        types[i].insert("finetune")
                        label = String(label.dropLast()) + label.suffix(1).lowercased()
                    }
                }
                if types[i].isEmpty { types[i].insert("size_label") }
                parts[i] = label
            } else if i > 0, full("chat|instruct|vision|lora", part) {
                types[i].insert("finetune")
            }
        }
        var atStart = true
        for i in parts.indices {
            if atStart, (types[i].isEmpty && parts[i].first?.isLetter == true) || types[i].contains("version") {
                types[i].insert("basename")
            } else {
                atStart = false
                if types[i].isEmpty { types[i].insert("finetune") }
            }
        }
        for i in parts.indices.reversed() {
            if types[i].contains("basename"), types[i].count > 1 { types[i].remove("basename") } else { break }
        }
        func join(_ kind: String, excluding: String? = nil) -> String? {
            var seen: [String] = []
            for (p, t) in zip(parts, types) where t.contains(kind) && !(excluding.map { t.contains($0) } ?? false) && !seen.contains(p) {
                seen.append(p)
            }
            return seen.isEmpty ? nil : seen.joined(separator: "-")
        }
        let size = join("size_label"), finetune = join("finetune"), version = join("version", excluding: "basename")
        let basename = size == nil && finetune == nil && version == nil ? nil : join("basename")
        return (basename, finetune, version, size)
    }

    /// gguf-py's `model_weight_count_rounded_notation` ("94K", "1.2B").
    static func sizeLabel(_ count: Int) -> String {
        let n = Double(count)
        let (scaled, suffix): (Double, String) = n > 1e12 ? (n * 1e-12, "T") : n > 1e9 ? (n * 1e-9, "B") : n > 1e6 ? (n * 1e-6, "M") : (n * 1e-3, "K")
        let digits = String(Int(scaled.rounded(.toNearestOrEven))).drop { $0 == "0" }.count
        return String(format: "%.\(max(2 - digits, 0))f", scaled) + suffix
    }

    /// Tensors of `c` in llama.cpp's loader order (non-layer tensors, then by layer; by name within).
    public static func orderedRoles(_ c: LFM2Configuration) -> [LFM2Tensor] {
        func key(_ r: LFM2Tensor) -> (Int, String) {
            let name = r.ggufName
            if name.hasPrefix("blk."), let n = Int(name.dropFirst(4).prefix { $0 != "." }) { return (n, name) }
            return (-1, name)
        }
        return LFM2Tensor.all(c).sorted { key($0) < key($1) }
    }

    /// llama.cpp's type for every tensor under `mix` (llama-quant.cpp: only matrices ending in
    /// "weight" except norms and the conv kernel are quantized; the tied embedding / output head
    /// gets Q6_K unless the mix is Q8_0; attn_v and ffn_down get more bits in the _M mixes on the
    /// layers `use_more_bits` picks; rows that are not whole blocks fall back as llama.cpp does).
    public static func quantizedTypes(_ c: LFM2Configuration, mix: GGUFQuantizationMix,
                                      keep: (LFM2Tensor) -> DType) -> [LFM2Tensor: DType] {
        let roles = orderedRoles(c)
        let nAttentionV = roles.filter { if case .attentionV = $0 { return true } else { return false } }.count
        let nFFNDown = c.layerCount
        var iAttentionV = 0, iFFNDown = 0
        func moreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }
        var types: [LFM2Tensor: DType] = [:]
        for role in roles {
            if role.isVector { types[role] = keep(role); continue }
            var t = mix.defaultType
            let columns = role.shape(c).last ?? 0
            switch role {
            case .outputHead,
                 .tokenEmbedding where c.tieEmbeddings: // the embedding only when it is also the head
                if columns % t.blockSize != 0 { t = .q8_0 } else if t != .q8_0 { t = .q6_K }
            case .attentionV:
                switch mix {
                case .q2_k: t = c.attentionHeads / c.keyValueHeads >= 4 ? .q4_K : .q3_K
                case .q3_k_m: t = iAttentionV < 2 ? .q5_K : .q4_K
                case .q3_k_l: t = .q5_K
                case .q4_k_m, .q5_k_m: if moreBits(iAttentionV, nAttentionV) { t = .q6_K }
                case .q4_k_s: if iAttentionV < 4 { t = .q5_K }
                default: break
                }
                iAttentionV += 1
            case .ffnDown:
                let (i, n) = (iFFNDown, nFFNDown)
                switch mix {
                case .q2_k: t = .q3_K
                case .q3_k_m: t = i < n / 16 ? .q5_K : .q4_K
                case .q3_k_l: t = .q5_K
                case .q4_k_m: if moreBits(i, n) { t = .q6_K }
                case .q5_k_m: if moreBits(i, n) { t = .q6_K }
                case .q4_k_s: if i < n / 8 { t = .q5_K }
                default: break
                }
                iFFNDown += 1
            case .attentionOut:
                switch mix {
                case .q2_k: t = .q3_K
                case .q3_k_m: t = .q4_K
                case .q3_k_l: t = .q5_K
                default: break
                }
            default: break
            }
            // tensor_type_fallback: rows that are not whole blocks.
            if columns % t.blockSize != 0 {
                switch t {
                case .q2_K, .q3_K: t = .q4_0
                case .q4_K: t = .q5_0
                case .q5_K: t = .q5_1
                case .q6_K: t = .q8_0
                default: break
                }
                if columns % t.blockSize != 0 { t = .f16 }
            }
            types[role] = t
        }
        return types
    }

    /// The bytes of `tensor` stored as `target` (dequantizing, widening, rounding or quantizing
    /// with the reference quantizers, which are byte-exact with ggml's).
    public static func encode(_ tensor: StoredTensor, as target: DType) throws -> [UInt8] {
        if tensor.dtype == target { return [UInt8](tensor.bytes) }
        let values: [Float]
        if tensor.dtype.isQuantized {
            values = try tensor.dtype.dequantize([UInt8](tensor.bytes), count: tensor.elementCount)
        } else {
            values = tensor.floats() ?? []
        }
        switch target {
        case .f32: return values.withUnsafeBytes { [UInt8]($0) }
        case .f16: return values.map { HalfConversion.floatToF16($0) }.withUnsafeBytes { [UInt8]($0) }
        case .bf16: return values.map { HalfConversion.floatToBF16($0) }.withUnsafeBytes { [UInt8]($0) }
        default: return try target.quantize(values)
        }
    }

    /// Tensors of `c` in the order llama.cpp's converter writes them: by Hugging Face name, as the
    /// safetensors files list them.
    public static func converterOrder(_ c: LFM2Configuration) -> [LFM2Tensor] {
        LFM2Tensor.all(c).sorted { $0.huggingFaceName < $1.huggingFaceName }
    }

    /// Writes `metadata` and every tensor of `c` from `source` (named with `naming`) stored as
    /// `types[role]` to `path`, in `order` (default: llama.cpp's loader order, which llama-quantize
    /// writes); `progress(done, total)` is called with element counts.
    public static func write(to path: String, configuration c: LFM2Configuration, source: TensorSource, sourceName: String,
                             naming: LFM2Weights.Naming, metadata: [(key: String, value: GGUFValue)],
                             types: [LFM2Tensor: DType], order: [LFM2Tensor]? = nil,
                             progress: ((Int, Int) -> Void)? = nil) throws {
        var writer = GGUFWriter()
        for entry in metadata { try writer.add(entry.key, entry.value) }
        let roles = order ?? orderedRoles(c)
        var byName: [String: (LFM2Tensor, StoredTensor)] = [:]
        var total = 0
        for role in roles {
            let name = naming.name(of: role)
            guard let tensor = source.tensor(named: name) else { throw ModelLoadError.missingTensor(name: name, source: sourceName) }
            guard let type = types[role], let gguf = GGUFTensorType(rawValue: type.rawValue) else {
                throw GGUFConvertError.unsupportedSource(path: sourceName, detail: "no storage type chosen for \(name)")
            }
            var shape = role.shape(c)
            if case .convKernel = role { shape = [shape[0], shape[2]] } // stored squeezed, {L, H}
            guard tensor.elementCount == shape.reduce(1, *) else {
                throw ModelLoadError.shapeMismatch(name: name, file: tensor.file, expected: shape, found: tensor.shape)
            }
            try writer.addTensor(name: role.ggufName, dimensions: shape.reversed(), type: gguf)
            byName[role.ggufName] = (role, tensor)
            total += tensor.elementCount
        }
        var done = 0
        try writer.write(to: path) { info, sink in
            guard let (role, tensor) = byName[info.name], let type = types[role] else { throw GGUFError.missingTensor(info.name) }
            try sink.write(try encode(tensor, as: type))
            done += tensor.elementCount
            progress?(done, total)
        }
    }
}
