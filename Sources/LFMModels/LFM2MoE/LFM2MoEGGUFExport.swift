// The GGUF form of LFM2-MoE checkpoints: llama.cpp's convert_hf_to_gguf.py `LFM2MoeModel` (LFM2's
// names, per-expert tensors stacked into ffn_{gate,down,up}_exps, the router and expert bias).
import Foundation
import LFMCore
import LFMFormats

extension LFM2MoEArchitecture {
    public static func ggufExport(_ configuration: any ModelConfiguration, folder: URL) throws -> GGUFExportDescription? {
        guard let c = configuration as? LFM2MoEConfiguration else {
            throw InferenceError.stateMismatch(detail: "a \(configuration.architecture) configuration cannot describe an LFM2-MoE export")
        }
        let base = c.base, arch = "lfm2moe", h = base.hiddenSize, e = c.expertCount, w = c.expertFeedForwardSize
        let entries = LFM2GGUFExport.hyperparameters(base, architecture: arch, experts: [
            ("\(arch).expert_count", .uint32(UInt32(e))), ("\(arch).expert_used_count", .uint32(UInt32(c.expertsPerToken))),
        ])
        let trailing: [(key: String, value: GGUFValue)] = [
            ("\(arch).expert_feed_forward_length", .uint32(UInt32(w))),
            ("\(arch).leading_dense_block_count", .uint32(UInt32(c.denseLayers))),
            ("\(arch).expert_gating_func", .uint32(2)), // sigmoid
            ("\(arch).vocab_size", .uint32(UInt32(base.vocabularySize))),
            ("\(arch).shortconv.l_cache", .uint32(UInt32(base.convKernel))),
        ]
        var tensors = LFM2GGUFExport.tensors(base, sparse: c.isSparse)
        for l in 0..<base.layerCount where c.isSparse(l) {
            let hf = "model.layers.\(l).feed_forward.", blk = "blk.\(l)."
            func experts(_ part: String) -> GGUFExportSource { .stacked((0..<e).map { "\(hf)experts.\($0).\(part).weight" }) }
            tensors += [GGUFExportTensor(blk + "ffn_gate_inp.weight", shape: [e, h], source: .tensor(hf + "gate.weight")),
                        GGUFExportTensor(blk + "ffn_gate_exps.weight", shape: [e, w, h], source: experts("w1")),
                        GGUFExportTensor(blk + "ffn_down_exps.weight", shape: [e, h, w], source: experts("w2")),
                        GGUFExportTensor(blk + "ffn_up_exps.weight", shape: [e, w, h], source: experts("w3"))]
            if c.useExpertBias {
                tensors.append(GGUFExportTensor(blk + "exp_probs_b.bias", shape: [e], source: .tensor(hf + "expert_bias")))
            }
        }
        let tokenizer = try GGUFTokenizerMetadata(huggingFaceFolder: folder, vocabularySize: base.vocabularySize, configuration: base)
        return GGUFExportDescription(architecture: arch, hyperparameters: entries, trailingHyperparameters: trailing,
                                     tensors: tensors, tokenizer: tokenizer)
    }
}
