/// Building a tokenizer from GGUF tokenizer metadata (the arrays are read by the GGUF module).
extension Tokenizer {
    /// GGUF `tokenizer.ggml.token_type` values used here (llama.cpp's `llama_token_type`).
    public enum GGUFTokenType {
        /// A control token (e.g. `<|im_start|>`): matched in text, special when decoding.
        public static let control = 3
        /// A user-defined token: matched in text, not special.
        public static let userDefined = 4
    }

    /// Builds a byte-level BPE tokenizer from GGUF metadata of `tokenizer.ggml.model == "gpt2"`:
    /// `tokens` (`tokenizer.ggml.tokens`, index = id), `merges` (`tokenizer.ggml.merges`, "left right"),
    /// `tokenTypes` (`tokenizer.ggml.token_type`; control and user-defined tokens become added tokens),
    /// and `pre` (`tokenizer.ggml.pre`, e.g. "lfm2", "llama-bpe", "qwen2", "gpt-2").
    public init(
        ggufTokens tokens: [String], merges: [String], tokenTypes: [Int]?, pre: String, bosTokenId: Int?,
        eosTokenId: Int?, addBosToken: Bool, source: String = "GGUF tokenizer metadata"
    ) throws {
        guard let kind = PreTokenizerKind(ggufPre: pre) else {
            throw TokenizerError.unsupportedOption(
                source: source, field: "tokenizer.ggml.pre", value: pre.debugDescription,
                reason: "supported: gpt-2, llama-bpe, lfm2, qwen2")
        }
        if let tokenTypes, tokenTypes.count != tokens.count {
            throw TokenizerError.invalidField(
                source: source, field: "tokenizer.ggml.token_type", expected: "\(tokens.count) entries (one per token)",
                found: "\(tokenTypes.count) entries")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        var added: [AddedToken] = []
        for (id, token) in tokens.enumerated() {
            if vocabulary[token] == nil { vocabulary[token] = id }
            let type = tokenTypes?[id] ?? 1
            if type == GGUFTokenType.control || type == GGUFTokenType.userDefined {
                added.append(AddedToken(id: id, content: token, special: type == GGUFTokenType.control, normalized: false))
            }
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw TokenizerError.invalidField(
                    source: source, field: "tokenizer.ggml.merges[\(index)]", expected: "\"left right\" (one space)",
                    found: merge.debugDescription)
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        try self.init(
            vocabulary: vocabulary, merges: pairs, addedTokens: added, preTokenizer: kind, bosTokenId: bosTokenId,
            eosTokenId: eosTokenId, addBosToken: addBosToken, source: source)
    }
}
