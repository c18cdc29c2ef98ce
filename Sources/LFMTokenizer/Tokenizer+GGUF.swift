// Building a tokenizer from the `tokenizer.ggml.*` metadata of a GGUF file (passed as plain arrays,
// so this module stays free of any GGUF reader). The one GGUF tokenizer builder; its behaviour follows
// llama.cpp's `llama_vocab` (proven against libllama's `llama_tokenize`, see
// Scripts/reference/gguf-interop/make_tokenizer_gguf_fixtures.py).

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
public enum GGMLTokenType: Int, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// What a `tokenizer.ggml.pre` name means to llama.cpp for a `gpt2` (byte-level BPE) vocabulary.
public struct GGMLPreTokenizer: Sendable, Equatable {
    /// The Split regex family.
    public var kind: Tokenizer.PreTokenizerKind
    /// Whether a pre-tokenized word that is itself a token is taken whole, without merges
    /// (llama.cpp's `ignore_merges`, set for the Llama-3 family).
    public var ignoreMerges: Bool
    /// llama.cpp's `add_bos` when the file has no `tokenizer.ggml.add_bos_token`.
    public var addBosByDefault: Bool

    /// The pre-tokenizer names this builder supports (llama.cpp's names with the same regex).
    public static let known: [String: GGMLPreTokenizer] = {
        let llama3 = GGMLPreTokenizer(kind: .llama3, ignoreMerges: true, addBosByDefault: true)
        let qwen2 = GGMLPreTokenizer(kind: .qwen2, ignoreMerges: false, addBosByDefault: false)
        return [
            "llama3": llama3, "llama-v3": llama3, "llama-bpe": llama3, "lfm2": llama3,
            "qwen2": qwen2, "deepseek-r1-qwen": qwen2,
            "gpt-2": GGMLPreTokenizer(kind: .gpt2, ignoreMerges: false, addBosByDefault: false),
        ]
    }()

    /// The meaning of `name`, or nil if this builder does not support it.
    public init?(name: String) {
        guard let known = GGMLPreTokenizer.known[name] else { return nil }
        self = known
    }

    /// A pre-tokenizer meaning from its parts.
    public init(kind: Tokenizer.PreTokenizerKind, ignoreMerges: Bool, addBosByDefault: Bool) {
        self.kind = kind
        self.ignoreMerges = ignoreMerges
        self.addBosByDefault = addBosByDefault
    }
}

extension Tokenizer {
    /// Builds a byte-level BPE tokenizer from GGUF metadata, giving the ids llama.cpp's `llama_tokenize`
    /// gives on the same file (with `parse_special`: control and user-defined tokens are matched in text).
    ///
    /// - `model`: `tokenizer.ggml.model`; only "gpt2" (byte-level BPE) is supported.
    /// - `tokens`, `tokenTypes` (`GGMLTokenType` raw values, same length), `merges` ("left right").
    /// - `pre`: `tokenizer.ggml.pre`, one of `GGMLPreTokenizer.known`'s keys.
    /// - Control tokens become special added tokens, user-defined ones non-special added tokens
    ///   (both are also vocabulary entries); unused (padding) ids have no text and are never produced.
    /// - `addBosToken` / `addEosToken` (`tokenizer.ggml.add_bos_token` / `add_eos_token`) make
    ///   `encode(_:addSpecialTokens: true)` add BOS / EOS; when nil, llama.cpp's default for `pre` applies
    ///   (BOS for the Llama-3 family, no EOS).
    ///
    /// Throws `TokenizerError.unsupportedOption` / `.invalidField` naming the metadata key at fault.
    public init(
        ggmlModel model: String, tokens: [String], tokenTypes: [Int], merges: [String], pre: String,
        bosTokenId: Int?, eosTokenId: Int?, addBosToken: Bool?, addEosToken: Bool? = nil, source: String = "GGUF"
    ) throws {
        guard model == "gpt2" else {
            throw TokenizerError.unsupportedOption(
                source: source, field: "tokenizer.ggml.model", value: model,
                reason: "only \"gpt2\" (byte-level BPE) vocabularies are supported")
        }
        guard let preTokenizer = GGMLPreTokenizer(name: pre) else {
            throw TokenizerError.unsupportedOption(
                source: source, field: "tokenizer.ggml.pre", value: pre,
                reason: "unknown pre-tokenizer; supported: \(GGMLPreTokenizer.known.keys.sorted().joined(separator: ", "))")
        }
        guard tokenTypes.count == tokens.count else {
            throw TokenizerError.invalidField(
                source: source, field: "tokenizer.ggml.token_type", expected: "\(tokens.count) entries (one per token)",
                found: "\(tokenTypes.count)")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        var added: [AddedToken] = []
        for (id, token) in tokens.enumerated() {
            guard let type = GGMLTokenType(rawValue: tokenTypes[id]) else {
                throw TokenizerError.invalidField(
                    source: source, field: "tokenizer.ggml.token_type[\(id)]", expected: "0...6", found: String(tokenTypes[id]))
            }
            switch type {
            case .unused: continue
            case .control: added.append(AddedToken(id: id, content: token, special: true, normalized: false))
            case .userDefined: added.append(AddedToken(id: id, content: token, special: false, normalized: false))
            case .undefined, .normal, .unknown, .byte: break
            }
            if vocabulary[token] == nil { vocabulary[token] = id }
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.invalidField(
                    source: source, field: "tokenizer.ggml.merges[\(index)]", expected: "\"left right\" (one space)",
                    found: merge.debugDescription)
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        for (field, id) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId)] {
            if let id, id < 0 || id >= tokens.count {
                throw TokenizerError.invalidField(
                    source: source, field: "tokenizer.ggml.\(field)", expected: "an id in 0..<\(tokens.count)", found: String(id))
            }
        }
        let addBos = addBosToken ?? preTokenizer.addBosByDefault
        let addEos = addEosToken ?? false
        for (flag, field, id) in [(addBos, "bos_token_id", bosTokenId), (addEos, "eos_token_id", eosTokenId)]
        where flag && id == nil {
            throw TokenizerError.invalidField(
                source: source, field: "tokenizer.ggml.\(field)", expected: "an id (the file asks to add the token)",
                found: "no value")
        }
        try self.init(
            vocabulary: vocabulary, merges: pairs, addedTokens: added, preTokenizer: preTokenizer.kind,
            ignoreMerges: preTokenizer.ignoreMerges, bosTokenId: bosTokenId, eosTokenId: eosTokenId,
            addBosToken: addBos, addEosToken: addEos, source: source)
    }
}
