import LFMFormats

extension LFM2Configuration {
    /// GGUF architectures this configuration reads.
    public static let supportedGGUFArchitectures = ["lfm2"]

    /// Reads the `lfm2.*` and `tokenizer.ggml.*` metadata of a GGUF file, as llama.cpp's converter
    /// writes it (`file` names the file in errors).
    ///
    /// The layer pattern comes from `lfm2.attention.head_count_kv`: a per-layer array where 0 marks a
    /// short-convolution layer (a scalar means every layer is attention with that many KV heads).
    /// `lfm2.feed_forward_length` is the effective SwiGLU width. Keys llama.cpp also treats as
    /// optional default as it does: `rope.freq_base` 10000, `attention.key_length` H / heads,
    /// the vocabulary size to the length of `tokenizer.ggml.tokens`. The head is assumed tied;
    /// the loader unties it when the file has an `output.weight` tensor.
    public init(gguf metadata: GGUFMetadata, file: String) throws {
        try self.init(gguf: metadata, file: file, architectures: Self.supportedGGUFArchitectures)
    }

    /// Reads the LFM2 keys under any of `architectures` (LFM2-MoE files share them).
    init(gguf metadata: GGUFMetadata, file: String, architectures: [String]) throws {
        let architecture = try metadata.lookup("general.architecture", file: file) { try metadata.string($0) }
        guard architectures.contains(architecture) else {
            throw GGUFModelError.unsupportedArchitecture(file: file, found: architecture, supported: architectures)
        }
        let g = try GGUFHyperparameters(metadata, file: file)
        // Layer pattern: per-layer KV head counts, 0 = short-conv layer.
        let kinds: [LFM2LayerKind] = g.keyValueHeads.map { $0 == 0 ? .conv : .attention }
        let kernel = try g.positive("shortconv.l_cache")
        self.init(vocabularySize: g.vocabulary, hiddenSize: g.hidden, layerKinds: kinds, attentionHeads: g.heads,
                  keyValueHeads: g.attentionKeyValueHeads, headDim: g.headDim, feedForwardSize: g.feedForward,
                  convKernel: kernel, normEpsilon: Float(g.normEpsilon), ropeTheta: g.ropeTheta,
                  maxPositionEmbeddings: g.context, tieEmbeddings: true, bosTokenId: g.bos, eosTokenIds: g.stops,
                  padTokenId: g.pad)
        declaredDType = nil
    }
}
