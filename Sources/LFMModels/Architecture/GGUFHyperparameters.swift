import LFMFormats

/// The `ARCH.*` and `tokenizer.ggml.*` keys every llama.cpp decoder writes, read and checked once
/// for any family (`file` names the file in errors). Defaults are llama.cpp's for optional keys:
/// `rope.freq_base` 10000, `attention.key_length` H / heads, the vocabulary size from the length
/// of `tokenizer.ggml.tokens`.
struct GGUFHyperparameters {
    let metadata: GGUFMetadata
    let file: String
    /// `general.architecture` plus the dot.
    let prefix: String

    var layers = 0, hidden = 0, heads = 0, headDim = 0, context = 0, vocabulary = 0
    /// `feed_forward_length` (a scalar, or an array with one value for every layer).
    var feedForward = 0
    /// `attention.head_count_kv` per layer (a scalar repeated; 0 marks a layer without attention).
    var keyValueHeads: [Int] = []
    var normEpsilon: Double = 0
    var ropeTheta: Double = 0
    var bos: Int?, pad: Int?
    /// `eos` then `eot` (distinct).
    var stops: [Int] = []

    init(_ metadata: GGUFMetadata, file: String) throws {
        self.metadata = metadata
        self.file = file
        prefix = try metadata.lookup("general.architecture", file: file) { try metadata.string($0) } + "."
        layers = try positive("block_count")
        hidden = try positive("embedding_length")
        heads = try positive("attention.head_count")
        let ffKey = prefix + "feed_forward_length"
        let ffValues: [Int]
        if case .array? = metadata[ffKey] {
            ffValues = try metadata.lookup(ffKey, file: file) { try metadata.integerArray($0) }
        } else {
            ffValues = [try int("feed_forward_length")]
        }
        guard let ff = ffValues.first, ff > 0, ffValues.allSatisfy({ $0 == ff }) else {
            throw GGUFModelError.invalidValue(file: file, key: ffKey, detail: "expected one positive width for every layer (found \(ffValues))")
        }
        feedForward = ff
        let kvKey = prefix + "attention.head_count_kv"
        if case .array? = metadata[kvKey] {
            keyValueHeads = try metadata.lookup(kvKey, file: file) { try metadata.integerArray($0) }
            guard keyValueHeads.count == layers else {
                throw GGUFModelError.invalidValue(file: file, key: kvKey, detail: "has \(keyValueHeads.count) entries but block_count is \(layers)")
            }
        } else if metadata.contains(kvKey) {
            keyValueHeads = Array(repeating: try int("attention.head_count_kv"), count: layers)
        } else {
            keyValueHeads = Array(repeating: heads, count: layers)
        }
        let attentionKV = Set(keyValueHeads.filter { $0 != 0 })
        guard attentionKV.count <= 1, keyValueHeads.allSatisfy({ $0 >= 0 }) else {
            throw GGUFModelError.invalidValue(file: file, key: kvKey, detail: "attention layers must share one positive KV head count (found \(keyValueHeads))")
        }
        if let kv = attentionKV.first, heads % kv != 0 {
            throw GGUFModelError.invalidValue(file: file, key: kvKey, detail: "head_count \(heads) is not a multiple of head_count_kv \(kv)")
        }
        if let explicit = try optionalInt("attention.key_length") {
            headDim = explicit
        } else {
            guard hidden % heads == 0 else {
                throw GGUFModelError.invalidValue(file: file, key: prefix + "attention.head_count",
                                                  detail: "embedding_length \(hidden) is not divisible by head_count \(heads)")
            }
            headDim = hidden / heads
        }
        guard headDim > 0, headDim % 2 == 0 else {
            throw GGUFModelError.invalidValue(file: file, key: prefix + "attention.key_length", detail: "head size must be positive and even for RoPE (found \(headDim))")
        }
        if let valueLength = try optionalInt("attention.value_length"), valueLength != headDim {
            throw GGUFModelError.invalidValue(file: file, key: prefix + "attention.value_length", detail: "must equal the key length \(headDim) (found \(valueLength))")
        }
        normEpsilon = try metadata.lookup(prefix + "attention.layer_norm_rms_epsilon", file: file) { try metadata.floatingPoint($0) }
        guard normEpsilon > 0, normEpsilon.isFinite else {
            throw GGUFModelError.invalidValue(file: file, key: prefix + "attention.layer_norm_rms_epsilon", detail: "must be positive (found \(normEpsilon))")
        }
        ropeTheta = try metadata.optional(prefix + "rope.freq_base", file: file) { try metadata.floatingPoint($0) } ?? 10_000
        guard ropeTheta > 0, ropeTheta.isFinite else {
            throw GGUFModelError.invalidValue(file: file, key: prefix + "rope.freq_base", detail: "must be positive (found \(ropeTheta))")
        }
        context = try positive("context_length")
        let tokens = try metadata.optional("tokenizer.ggml.tokens", file: file) { try metadata.array($0).count }
        guard let vocab = try optionalInt("vocab_size") ?? tokens else {
            throw GGUFModelError.missingKey(file: file, key: prefix + "vocab_size (or tokenizer.ggml.tokens)")
        }
        guard vocab > 0 else { throw GGUFModelError.invalidValue(file: file, key: prefix + "vocab_size", detail: "must be positive") }
        vocabulary = vocab
        bos = try tokenId("tokenizer.ggml.bos_token_id")
        pad = try tokenId("tokenizer.ggml.padding_token_id")
        for id in [try tokenId("tokenizer.ggml.eos_token_id"), try tokenId("tokenizer.ggml.eot_token_id")].compactMap({ $0 })
            where !stops.contains(id) { stops.append(id) }
    }

    /// The one KV head count of the attention layers (the head count when there are none).
    var attentionKeyValueHeads: Int { keyValueHeads.first { $0 != 0 } ?? heads }

    func int(_ key: String) throws -> Int { try metadata.lookup(prefix + key, file: file) { try metadata.integer($0) } }
    func optionalInt(_ key: String) throws -> Int? { try metadata.optional(prefix + key, file: file) { try metadata.integer($0) } }
    func optionalDouble(_ key: String) throws -> Double? { try metadata.optional(prefix + key, file: file) { try metadata.floatingPoint($0) } }
    func positive(_ key: String) throws -> Int {
        let value = try int(key)
        guard value > 0 else { throw GGUFModelError.invalidValue(file: file, key: prefix + key, detail: "must be positive (found \(value))") }
        return value
    }

    private func tokenId(_ key: String) throws -> Int? {
        guard let id = try metadata.optional(key, file: file, { try metadata.integer($0) }) else { return nil }
        guard id >= 0, id < vocabulary else {
            throw GGUFModelError.invalidValue(file: file, key: key, detail: "id \(id) is outside the vocabulary 0..<\(vocabulary)")
        }
        return id
    }
}
