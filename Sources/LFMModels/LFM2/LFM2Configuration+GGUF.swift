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
        let p = architecture + "."
        func int(_ key: String) throws -> Int { try metadata.lookup(p + key, file: file) { try metadata.integer($0) } }
        func optionalInt(_ key: String) throws -> Int? { try metadata.optional(p + key, file: file) { try metadata.integer($0) } }
        func positive(_ key: String, _ value: Int) throws -> Int {
            guard value > 0 else { throw GGUFModelError.invalidValue(file: file, key: p + key, detail: "must be positive (found \(value))") }
            return value
        }

        let layers = try positive("block_count", int("block_count"))
        let hidden = try positive("embedding_length", int("embedding_length"))
        let heads = try positive("attention.head_count", int("attention.head_count"))
        let ffKey = p + "feed_forward_length"
        let ffValues: [Int]
        if case .array? = metadata[ffKey] {
            ffValues = try metadata.lookup(ffKey, file: file) { try metadata.integerArray($0) }
        } else {
            ffValues = [try int("feed_forward_length")]
        }
        guard let ff = ffValues.first, ff > 0, ffValues.allSatisfy({ $0 == ff }) else {
            throw GGUFModelError.invalidValue(file: file, key: ffKey, detail: "expected one positive width for every layer (found \(ffValues))")
        }

        // Layer pattern: per-layer KV head counts, 0 = short-conv layer.
        let kvKey = p + "attention.head_count_kv"
        var kvPerLayer: [Int]
        if case .array? = metadata[kvKey] {
            kvPerLayer = try metadata.lookup(kvKey, file: file) { try metadata.integerArray($0) }
            guard kvPerLayer.count == layers else {
                throw GGUFModelError.invalidValue(file: file, key: kvKey, detail: "has \(kvPerLayer.count) entries but block_count is \(layers)")
            }
        } else if metadata.contains(kvKey) {
            kvPerLayer = Array(repeating: try int("attention.head_count_kv"), count: layers)
        } else {
            kvPerLayer = Array(repeating: heads, count: layers)
        }
        let attentionKV = Set(kvPerLayer.filter { $0 != 0 })
        guard attentionKV.count <= 1, kvPerLayer.allSatisfy({ $0 >= 0 }) else {
            throw GGUFModelError.invalidValue(file: file, key: kvKey, detail: "attention layers must share one positive KV head count (found \(kvPerLayer))")
        }
        let kvHeads = attentionKV.first ?? heads
        guard heads % kvHeads == 0 else {
            throw GGUFModelError.invalidValue(file: file, key: kvKey, detail: "head_count \(heads) is not a multiple of head_count_kv \(kvHeads)")
        }
        let kinds: [LFM2LayerKind] = kvPerLayer.map { $0 == 0 ? .conv : .attention }

        let headDim: Int
        if let explicit = try optionalInt("attention.key_length") {
            headDim = explicit
        } else {
            guard hidden % heads == 0 else {
                throw GGUFModelError.invalidValue(file: file, key: p + "attention.head_count",
                                                  detail: "embedding_length \(hidden) is not divisible by head_count \(heads)")
            }
            headDim = hidden / heads
        }
        guard headDim > 0, headDim % 2 == 0 else {
            throw GGUFModelError.invalidValue(file: file, key: p + "attention.key_length", detail: "head size must be positive and even for RoPE (found \(headDim))")
        }
        if let valueLength = try optionalInt("attention.value_length"), valueLength != headDim {
            throw GGUFModelError.invalidValue(file: file, key: p + "attention.value_length", detail: "must equal the key length \(headDim) (found \(valueLength))")
        }

        let kernel = try positive("shortconv.l_cache", int("shortconv.l_cache"))
        let eps = try metadata.lookup(p + "attention.layer_norm_rms_epsilon", file: file) { try metadata.floatingPoint($0) }
        guard eps > 0, eps.isFinite else {
            throw GGUFModelError.invalidValue(file: file, key: p + "attention.layer_norm_rms_epsilon", detail: "must be positive (found \(eps))")
        }
        let theta = try metadata.optional(p + "rope.freq_base", file: file) { try metadata.floatingPoint($0) } ?? 10_000
        guard theta > 0, theta.isFinite else {
            throw GGUFModelError.invalidValue(file: file, key: p + "rope.freq_base", detail: "must be positive (found \(theta))")
        }
        let context = try positive("context_length", int("context_length"))

        let tokens = try metadata.optional("tokenizer.ggml.tokens", file: file) { try metadata.array($0).count }
        guard let vocabulary = try optionalInt("vocab_size") ?? tokens else {
            throw GGUFModelError.missingKey(file: file, key: p + "vocab_size (or tokenizer.ggml.tokens)")
        }
        guard vocabulary > 0 else { throw GGUFModelError.invalidValue(file: file, key: p + "vocab_size", detail: "must be positive") }
        func tokenId(_ key: String) throws -> Int? {
            guard let id = try metadata.optional(key, file: file, { try metadata.integer($0) }) else { return nil }
            guard id >= 0, id < vocabulary else {
                throw GGUFModelError.invalidValue(file: file, key: key, detail: "id \(id) is outside the vocabulary 0..<\(vocabulary)")
            }
            return id
        }
        let eos = try tokenId("tokenizer.ggml.eos_token_id")
        let eot = try tokenId("tokenizer.ggml.eot_token_id")
        var stops: [Int] = []
        for id in [eos, eot].compactMap({ $0 }) where !stops.contains(id) { stops.append(id) }

        self.init(vocabularySize: vocabulary, hiddenSize: hidden, layerKinds: kinds, attentionHeads: heads,
                  keyValueHeads: kvHeads, headDim: headDim, feedForwardSize: ff, convKernel: kernel,
                  normEpsilon: Float(eps), ropeTheta: theta, maxPositionEmbeddings: context, tieEmbeddings: true,
                  bosTokenId: try tokenId("tokenizer.ggml.bos_token_id"), eosTokenIds: stops,
                  padTokenId: try tokenId("tokenizer.ggml.padding_token_id"))
        declaredDType = nil
    }
}
