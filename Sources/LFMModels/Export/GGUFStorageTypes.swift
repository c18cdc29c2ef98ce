// The storage choices of `lfm convert` / `lfm quantize` and gguf-py's `general.*` naming rules.
import Foundation
import LFMCore
import LFMFormats
import LFMKernels

/// llama.cpp's quantization mixes (`llama-quantize` type names) this engine can write (the
/// per-tensor rules are `GGUFQuantizationRules`).
public enum GGUFQuantizationMix: String, CaseIterable, Sendable {
    case q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k
    case iq4_nl, iq4_xs

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
        case .iq4_nl: return 25
        case .iq4_xs: return 30
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
        case .iq4_nl: return .iq4_NL
        case .iq4_xs: return .iq4_XS
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

/// gguf-py's `general.*` naming of a converted folder (`Metadata` and `utility`).
public enum GGUFGeneralName {
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
}
