// The GGUF form of Qwen3 and Llama checkpoints: llama.cpp's convert_hf_to_gguf.py `Qwen3Model` and
// `LlamaModel` (names, hyperparameter keys, Llama's q/k row permutation, llama3's rope_freqs).
import Foundation
import LFMCore
import LFMFormats

extension DenseTransformerFamily {
    public static func ggufExport(_ configuration: any ModelConfiguration, folder: URL) throws -> GGUFExportDescription? {
        guard let c = configuration as? TransformerConfiguration else {
            throw InferenceError.stateMismatch(detail: "a \(configuration.architecture) configuration cannot describe a \(name) export")
        }
        return try TransformerGGUFExport.description(c, folder: folder)
    }
}

/// Qwen3 / Llama export descriptions.
enum TransformerGGUFExport {
    static func description(_ c: TransformerConfiguration, folder: URL) throws -> GGUFExportDescription {
        let arch = c.architecture, isLlama = arch == LlamaArchitecture.name
        func unsupported(_ detail: String) -> Error {
            GGUFConvertError.unsupportedSource(path: folder.path, detail: "cannot write a \(arch) GGUF file: \(detail)")
        }
        if c.slidingWindow != nil { throw unsupported("sliding-window layers have no llama.cpp \(arch) form") }
        var extra: [GGUFExportTensor] = []
        switch c.rope.kind {
        case .standard: break
        case .llama3(let factor, let low, let high, let original):
            guard isLlama else { throw unsupported("llama3 RoPE scaling is written by llama.cpp's Llama converter only") }
            extra.append(GGUFExportTensor("rope_freqs.weight", shape: [c.headDim / 2],
                                          source: .values(llama3RopeFactors(theta: c.rope.theta, headDim: c.headDim, factor: factor,
                                                                            low: low, high: high, original: original))))
        case .proportional: throw unsupported("proportional RoPE has no llama.cpp \(arch) form")
        }
        var entries = GGUFExportKeys.base(arch, layers: c.mixers.count, context: c.maxPositionEmbeddings, hidden: c.hiddenSize,
                                          feedForward: c.feedForwardSize, heads: c.attentionHeads,
                                          keyValueHeads: .uint32(UInt32(c.keyValueHeads)), ropeTheta: c.rope.theta,
                                          normEpsilon: c.normEpsilon)
        // transformers writes head_dim into every Qwen3 / Llama config.json, so the converter writes both.
        entries += [("\(arch).attention.key_length", .uint32(UInt32(c.headDim))),
                    ("\(arch).attention.value_length", .uint32(UInt32(c.headDim)))]
        let trailing: [(key: String, value: GGUFValue)] = isLlama
            ? [("llama.vocab_size", .uint32(UInt32(c.vocabularySize))), ("llama.rope.dimension_count", .uint32(UInt32(c.headDim)))] : []

        let h = c.hiddenSize, f = c.feedForwardSize, q = c.queryDim, kv = c.keyValueDim
        var tensors = extra + [GGUFExportTensor("token_embd.weight", shape: [c.vocabularySize, h], source: .tensor("model.embed_tokens.weight")),
                               GGUFExportTensor("output_norm.weight", shape: [h], source: .tensor("model.norm.weight"))]
        if !c.tieEmbeddings {
            tensors.append(GGUFExportTensor("output.weight", shape: [c.vocabularySize, h], source: .tensor("lm_head.weight")))
        }
        for l in 0..<c.mixers.count {
            let hf = "model.layers.\(l).", blk = "blk.\(l)."
            func plain(_ gguf: String, _ name: String, _ shape: [Int]) -> GGUFExportTensor {
                GGUFExportTensor(blk + gguf, shape: shape, source: .tensor(hf + name))
            }
            // Llama's q/k rows are permuted for llama.cpp's RoPE layout (weights and biases alike).
            func rotated(_ gguf: String, _ name: String, _ shape: [Int], heads: Int) -> GGUFExportTensor {
                GGUFExportTensor(blk + gguf, shape: shape, source: isLlama ? .ropePermuted(hf + name, heads: heads) : .tensor(hf + name))
            }
            tensors += [plain("attn_norm.weight", "input_layernorm.weight", [h]),
                        plain("ffn_norm.weight", "post_attention_layernorm.weight", [h]),
                        rotated("attn_q.weight", "self_attn.q_proj.weight", [q, h], heads: c.attentionHeads),
                        rotated("attn_k.weight", "self_attn.k_proj.weight", [kv, h], heads: c.keyValueHeads),
                        plain("attn_v.weight", "self_attn.v_proj.weight", [kv, h]),
                        plain("attn_output.weight", "self_attn.o_proj.weight", [h, q]),
                        plain("ffn_gate.weight", "mlp.gate_proj.weight", [f, h]),
                        plain("ffn_up.weight", "mlp.up_proj.weight", [f, h]),
                        plain("ffn_down.weight", "mlp.down_proj.weight", [h, f])]
            if c.queryKeyNorm {
                tensors += [plain("attn_q_norm.weight", "self_attn.q_norm.weight", [c.headDim]),
                            plain("attn_k_norm.weight", "self_attn.k_norm.weight", [c.headDim])]
            }
            if c.attentionBias {
                tensors += [rotated("attn_q.bias", "self_attn.q_proj.bias", [q], heads: c.attentionHeads),
                            rotated("attn_k.bias", "self_attn.k_proj.bias", [kv], heads: c.keyValueHeads),
                            plain("attn_v.bias", "self_attn.v_proj.bias", [kv]),
                            plain("attn_output.bias", "self_attn.o_proj.bias", [h])]
            }
            if c.mlpBias {
                tensors += [plain("ffn_gate.bias", "mlp.gate_proj.bias", [f]), plain("ffn_up.bias", "mlp.up_proj.bias", [f]),
                            plain("ffn_down.bias", "mlp.down_proj.bias", [h])]
            }
        }
        let pre: [String: String] = isLlama ? [GGUFTokenizerMetadata.llama3SplitRegex: "llama-bpe"]
            : [GGUFTokenizerMetadata.qwen2SplitRegex: "qwen2"]
        let tokenizer = try GGUFTokenizerMetadata(huggingFaceFolder: folder, vocabularySize: c.vocabularySize, preTokenizers: pre,
                                                  bosTokenId: c.bosTokenId, eosTokenId: c.eosTokenIds.first, paddingTokenId: nil)
        return GGUFExportDescription(architecture: arch, hyperparameters: entries, trailingHyperparameters: trailing,
                                     tensors: tensors, tokenizer: tokenizer)
    }

    /// The converter's llama3 `rope_freqs` factors (unscaled ÷ scaled frequency), computed in
    /// float32 as its torch code does, on the band rule the reader uses.
    static func llama3RopeFactors(theta: Double, headDim: Int, factor: Double, low: Double, high: Double, original: Double) -> [Float] {
        let base = Float(theta), dim = Float(headDim)
        return stride(from: 0, to: headDim, by: 2).map { i -> Float in
            let frequency = 1 / powf(base, Float(i) / dim)
            switch RotaryFrequencies.llama3Band(wavelength: Float(2 * Double.pi) / frequency, lowFreqFactor: low,
                                                highFreqFactor: high, originalMaxPositions: original) {
            case .kept: return 1
            case .divided: return Float(factor)
            case .interpolated(let smooth): return 1 / ((1 - smooth) / Float(factor) + smooth)
            }
        }
    }
}
