// The GGUF form of LFM2 checkpoints: llama.cpp's convert_hf_to_gguf.py `LFM2Model` (and the parts
// `LFM2MoeModel` shares).
import Foundation
import LFMCore
import LFMFormats

extension LFM2Architecture {
    public static func ggufExport(_ configuration: any ModelConfiguration, folder: URL) throws -> GGUFExportDescription? {
        guard let c = configuration as? LFM2Configuration else {
            throw InferenceError.stateMismatch(detail: "a \(configuration.architecture) configuration cannot describe an LFM2 export")
        }
        let arch = "lfm2"
        return GGUFExportDescription(
            architecture: arch, hyperparameters: LFM2GGUFExport.hyperparameters(c, architecture: arch),
            trailingHyperparameters: [("\(arch).vocab_size", .uint32(UInt32(c.vocabularySize))),
                                      ("\(arch).shortconv.l_cache", .uint32(UInt32(c.convKernel)))],
            tensors: LFM2GGUFExport.tensors(c, sparse: { _ in false }),
            tokenizer: try GGUFTokenizerMetadata(huggingFaceFolder: folder, vocabularySize: c.vocabularySize, configuration: c))
    }
}

/// What LFM2 and LFM2-MoE exports share.
enum LFM2GGUFExport {
    /// TextModel's hyperparameters for LFM2 (`head_count_kv` per layer, 0 for convolutions), with
    /// `experts` entries after the norm epsilon and the key/value widths when the heads do not tile
    /// the hidden size.
    static func hyperparameters(_ c: LFM2Configuration, architecture arch: String,
                                experts: [(key: String, value: GGUFValue)] = []) -> [(key: String, value: GGUFValue)] {
        var entries = GGUFExportKeys.base(arch, layers: c.layerCount, context: c.maxPositionEmbeddings, hidden: c.hiddenSize,
                                          feedForward: c.feedForwardSize, heads: c.attentionHeads,
                                          keyValueHeads: .array(.int32(c.layerKinds.map { $0 == .attention ? Int32(c.keyValueHeads) : 0 })),
                                          ropeTheta: c.ropeTheta, normEpsilon: c.normEpsilon)
        entries += experts
        if c.headDim * c.attentionHeads != c.hiddenSize {
            entries += [("\(arch).attention.key_length", .uint32(UInt32(c.headDim))),
                        ("\(arch).attention.value_length", .uint32(UInt32(c.headDim)))]
        }
        return entries
    }

    /// Every LFM2 tensor of `c` under its GGUF name (the conv kernel squeezed to 2-D), without the
    /// dense feed-forward of layers where `sparse` is true.
    static func tensors(_ c: LFM2Configuration, sparse: (Int) -> Bool) -> [GGUFExportTensor] {
        LFM2Tensor.all(c).compactMap { role in
            switch role {
            case .ffnGate(let l), .ffnUp(let l), .ffnDown(let l): if sparse(l) { return nil }
            default: break
            }
            var shape = role.shape(c)
            if case .convKernel = role { shape = [shape[0], shape[2]] }
            return GGUFExportTensor(role.ggufName, shape: shape, source: .tensor(role.huggingFaceName))
        }
    }
}
