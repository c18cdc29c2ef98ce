import Foundation

/// A byte-level BPE tokenizer that produces the same ids as Hugging Face `tokenizers` for the
/// tokenizer.json files of LFM2, Llama-3, Qwen2 and GPT-2 style models.
///
/// The pipeline follows tokenizer.json: added tokens are split out of the raw text first, the rest
/// is normalized, pre-tokenized (a hand-written scanner implements the `Split` regex), encoded by the
/// BPE model, and the post-processor adds special tokens when asked. Stage types this implementation
/// does not know make loading throw `TokenizerError.unsupportedStage` (never a silent skip).
///
/// ```swift
/// let tokenizer = try Tokenizer(contentsOf: modelFolder)        // reads tokenizer.json
/// let ids = tokenizer.encode("Hello", addSpecialTokens: true)   // [1, 36309] for LFM2
/// let text = try tokenizer.decode(ids, skipSpecialTokens: true) // "Hello"
/// ```
///
/// `Tokenizer` is a value type and `Sendable`; encoding from several threads is safe (words already
/// seen are cached in a shared, locked table).
public struct Tokenizer: Sendable {
    let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: [PreTokenizerStage]
    let postProcessor: PostProcessor
    let decoder: [DecoderStage]
    /// Added tokens matched on the raw text / on the normalized text.
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// Scanner for the fast path: the pre-tokenizer is one `Split` (or GPT-2 ByteLevel) and nothing else.
    let singleScanner: SplitScanner?
    let gpt2Scanner: SplitScanner
    /// Token text for every id (vocabulary and added tokens).
    let tokenStrings: [String?]
    /// Ids of special added tokens.
    let specialIds: Set<Int>
    /// Decoded bytes per id when the decoder maps tokens independently (nil otherwise).
    let decodedBytes: [[UInt8]]?
    let cache: WordCache

    /// All added tokens (special and not), in tokenizer.json order.
    public let addedTokens: [AddedToken]
    /// Id of the beginning-of-sequence token: the first id the post-processor adds, or the one named
    /// by `tokenizer_config.json` when loaded from a folder.
    public let bosTokenId: Int?
    /// Id of the end-of-sequence token when `tokenizer_config.json` names it (nil otherwise).
    public let eosTokenId: Int?

    /// Number of ids: one more than the largest id of the vocabulary and the added tokens (64,400 for
    /// LFM2, whose models pad their embedding table to 65,536 rows).
    public var vocabularySize: Int { tokenStrings.count }

    /// Loads a tokenizer.json document. `source` names it in error messages.
    public init(json: Data, source: String = "tokenizer.json") throws {
        self = try Tokenizer.parse(json: json, source: source)
    }

    /// Loads a tokenizer.json file, or the `tokenizer.json` inside a model folder. A
    /// `tokenizer_config.json` next to it, if present, supplies the bos/eos token names.
    public init(contentsOf url: URL) throws {
        var file = url
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = url.appendingPathComponent("tokenizer.json")
        }
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw TokenizerError.unreadableFile(path: file.path, reason: error.localizedDescription)
        }
        var tokenizer = try Tokenizer.parse(json: data, source: file.path)
        let config = file.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        if let configData = try? Data(contentsOf: config) {
            try tokenizer.applyConfig(configData, source: config.path)
        }
        self = tokenizer
    }

    /// Pre-tokenizer regex family of a byte-level BPE vocabulary built without tokenizer.json (e.g.
    /// from GGUF metadata `tokenizer.ggml.pre`).
    public enum PreTokenizerKind: Sendable, Equatable {
        /// GPT-2 (`ByteLevel` with its built-in regex).
        case gpt2
        /// Llama-3 and LFM2 (digits in groups of up to three).
        case llama3
        /// Qwen2 (single digits).
        case qwen2
        /// Any regex `SplitPattern` recognizes.
        case regex(String)
    }

    /// Builds a byte-level BPE tokenizer from its parts (vocabulary strings in the GPT-2 byte alphabet,
    /// merges in rank order). `addBosToken` / `addEosToken` make `encode(_:addSpecialTokens: true)` prepend
    /// `bosTokenId` / append `eosTokenId`; `ignoreMerges` takes a pre-tokenized word that is itself a token whole.
    public init(
        vocabulary: [String: Int], merges: [(String, String)], addedTokens: [AddedToken],
        preTokenizer: PreTokenizerKind, ignoreMerges: Bool = false, bosTokenId: Int? = nil, eosTokenId: Int? = nil,
        addBosToken: Bool = false, addEosToken: Bool = false, source: String = "vocabulary"
    ) throws {
        let stages: [PreTokenizerStage]
        switch preTokenizer {
        case .gpt2: stages = [.byteLevel(addPrefixSpace: false, useRegex: true)]
        case .llama3:
            stages = [
                .split(try SplitPattern(regex: SplitPattern.llama3Regex, source: source, field: "pre")),
                .byteLevel(addPrefixSpace: false, useRegex: false),
            ]
        case .qwen2:
            stages = [
                .split(try SplitPattern(regex: SplitPattern.qwen2Regex, source: source, field: "pre")),
                .byteLevel(addPrefixSpace: false, useRegex: false),
            ]
        case let .regex(regex):
            stages = [
                .split(try SplitPattern(regex: regex, source: source, field: "pre")),
                .byteLevel(addPrefixSpace: false, useRegex: false),
            ]
        }
        let model = try BPEModel(
            vocabulary: vocabulary, merges: merges, byteLevel: true, unknownToken: nil, fuseUnknown: false,
            byteFallback: false, ignoreMerges: ignoreMerges, source: source)
        var post = PostProcessor()
        if addBosToken, let bosTokenId { post.prefix = [bosTokenId] }
        if addEosToken, let eosTokenId { post.suffix = [eosTokenId] }
        try self.init(
            model: model, normalizer: nil, preTokenizer: stages, addedTokens: addedTokens, postProcessor: post,
            decoder: [.byteLevel], source: source, bosTokenId: bosTokenId, eosTokenId: eosTokenId)
    }

    init(
        model: BPEModel, normalizer: Normalizer?, preTokenizer: [PreTokenizerStage], addedTokens: [AddedToken],
        postProcessor: PostProcessor, decoder: [DecoderStage], source: String, bosTokenId: Int? = nil,
        eosTokenId: Int? = nil
    ) throws {
        self.model = model
        cache = WordCache()
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        // Without a decoder, `tokenizers` joins the token strings with spaces.
        let stages: [DecoderStage] = decoder.isEmpty ? [.joinWithSpaces] : decoder
        self.decoder = stages
        self.addedTokens = addedTokens
        gpt2Scanner = SplitScanner(SplitPattern.gpt2)
        singleScanner = Tokenizer.fastPathScanner(preTokenizer)

        var strings = model.tokens
        for (index, token) in addedTokens.enumerated() {
            guard token.id >= 0, token.id < BPEModel.maxId else {
                throw TokenizerError.invalidField(
                    source: source, field: "added_tokens[\(index)].id", expected: "an id in 0..<\(BPEModel.maxId)",
                    found: String(token.id))
            }
            if token.id >= strings.count { strings += [String?](repeating: nil, count: token.id + 1 - strings.count) }
            strings[token.id] = token.content
        }
        tokenStrings = strings
        specialIds = Set(addedTokens.filter(\.special).map(\.id))
        for id in postProcessor.prefix + postProcessor.suffix where id < 0 || id >= strings.count || strings[id] == nil {
            throw TokenizerError.unknownToken(source: source, field: "post_processor", token: "id \(id)")
        }
        // Added tokens: special ones first, then the others, as `tokenizers` orders its tries.
        let ordered = addedTokens.filter(\.special) + addedTokens.filter { !$0.special }
        let raw = ordered.filter { !$0.normalized }
        let normalized = ordered.filter(\.normalized)
        rawMatcher = AddedTokenMatcher(tokens: raw, patterns: raw.map { Array($0.content.utf8) })
        normalizedMatcher = AddedTokenMatcher(
            tokens: normalized,
            patterns: normalized.map { Array((normalizer?.apply($0.content) ?? $0.content).utf8) })

        self.bosTokenId = bosTokenId ?? postProcessor.prefix.first
        self.eosTokenId = eosTokenId
        if stages.allSatisfy(\.isTokenLocal) {
            decodedBytes = strings.map { token in
                guard let token else { return [] }
                return stages.reduce([Array(token.utf8)]) { $1.apply($0) }.flatMap { $0 }
            }
        } else {
            decodedBytes = nil
        }
    }

    /// The scanner when the whole pre-tokenizer is one regex split over bytes (ByteLevel without prefix
    /// space only maps bytes to the byte alphabet, which the model does implicitly).
    static func fastPathScanner(_ stages: [PreTokenizerStage]) -> SplitScanner? {
        let identity = PreTokenizerStage.byteLevel(addPrefixSpace: false, useRegex: false)
        if stages.count == 1 || (stages.count == 2 && stages[1] == identity), case let .split(pattern) = stages[0] {
            return SplitScanner(pattern)
        }
        if stages == [.byteLevel(addPrefixSpace: false, useRegex: true)] { return SplitScanner(SplitPattern.gpt2) }
        return nil
    }

    /// Reads `bos_token` / `eos_token` from tokenizer_config.json (strings or {"content": ...} objects).
    mutating func applyConfig(_ data: Data, source: String) throws {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TokenizerError.invalidJSON(source: source, reason: "not a JSON object")
        }
        func tokenId(_ key: String) throws -> Int? {
            let value = root[key]
            let name: String?
            if let s = value as? String {
                name = s
            } else if let object = value as? [String: Any] {
                name = object["content"] as? String
            } else {
                name = nil
            }
            guard let name else { return nil }
            guard let id = id(for: name) else {
                throw TokenizerError.unknownToken(source: source, field: key, token: name)
            }
            return id
        }
        let bos = try tokenId("bos_token")
        let eos = try tokenId("eos_token")
        self = Tokenizer(copying: self, bosTokenId: bos ?? bosTokenId, eosTokenId: eos ?? eosTokenId)
    }

    private init(copying other: Tokenizer, bosTokenId: Int?, eosTokenId: Int?) {
        model = other.model
        cache = other.cache
        normalizer = other.normalizer
        preTokenizer = other.preTokenizer
        postProcessor = other.postProcessor
        decoder = other.decoder
        rawMatcher = other.rawMatcher
        normalizedMatcher = other.normalizedMatcher
        singleScanner = other.singleScanner
        gpt2Scanner = other.gpt2Scanner
        tokenStrings = other.tokenStrings
        specialIds = other.specialIds
        decodedBytes = other.decodedBytes
        addedTokens = other.addedTokens
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
    }

    // MARK: Lookup

    /// Id of a token string (vocabulary or added token), written as in tokenizer.json (byte alphabet).
    public func id(for token: String) -> Int? {
        if let added = addedTokens.first(where: { $0.content == token }) { return added.id }
        return model.vocabulary[token]
    }

    /// Token string of an id, as written in tokenizer.json.
    public func token(for id: Int) -> String? {
        guard id >= 0, id < tokenStrings.count else { return nil }
        return tokenStrings[id]
    }

    /// Whether `id` is a special added token (skipped by `decode(_:skipSpecialTokens: true)`).
    public func isSpecial(_ id: Int) -> Bool { specialIds.contains(id) }
}
