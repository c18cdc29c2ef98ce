// Building a tokenizer from the `tokenizer.ggml.*` metadata of a GGUF file (passed as plain arrays,
// so this module stays free of any GGUF reader).

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
public enum GGMLTokenType: Int, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

extension Tokenizer {
    /// Pre-tokenizer names llama.cpp writes as `tokenizer.ggml.pre`, mapped to the Split regex of the
    /// matching Hugging Face tokenizer.json (LFM2's tokenizer.json uses the Llama-3 pattern).
    public static let ggmlPreTokenizers: [String: PreTokenizerKind] = [
        "lfm2": .llama3, "llama-bpe": .llama3, "llama3": .llama3, "qwen2": .qwen2, "gpt-2": .gpt2,
    ]

    /// Builds a byte-level BPE tokenizer from GGUF metadata, giving the same ids as the tokenizer.json
    /// the GGUF was converted from.
    ///
    /// - `model`: `tokenizer.ggml.model`; only "gpt2" (byte-level BPE) is supported.
    /// - `tokens`, `tokenTypes` (`GGMLTokenType` raw values, same length), `merges` ("left right").
    /// - `pre`: `tokenizer.ggml.pre`, one of `ggmlPreTokenizers`' keys.
    /// - Control tokens become special added tokens, user-defined ones non-special added tokens
    ///   (both are also vocabulary entries, as in tokenizer.json); unused (padding) ids have no text.
    /// - `addBosToken` (`tokenizer.ggml.add_bos_token`) makes `encode(_:addSpecialTokens: true)` prepend BOS.
    public init(
        ggmlModel model: String, tokens: [String], tokenTypes: [Int], merges: [String], pre: String,
        bosTokenId: Int?, eosTokenId: Int?, addBosToken: Bool, source: String = "GGUF"
    ) throws {
        guard model == "gpt2" else {
            throw TokenizerError.unsupportedOption(
                source: source, field: "tokenizer.ggml.model", value: model,
                reason: "only \"gpt2\" (byte-level BPE) vocabularies are supported")
        }
        guard let kind = Tokenizer.ggmlPreTokenizers[pre] else {
            throw TokenizerError.unsupportedOption(
                source: source, field: "tokenizer.ggml.pre", value: pre,
                reason: "unknown pre-tokenizer; supported: \(Tokenizer.ggmlPreTokenizers.keys.sorted().joined(separator: ", "))")
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
            case .control: added.append(AddedToken(id: id, content: token, special: true))
            case .userDefined: added.append(AddedToken(id: id, content: token, special: false, normalized: false))
            case .undefined, .normal, .unknown, .byte: break
            }
            if vocabulary[token] == nil { vocabulary[token] = id }
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            guard let space = merge.firstIndex(of: " ") else {
                throw TokenizerError.invalidField(
                    source: source, field: "tokenizer.ggml.merges[\(index)]", expected: "\"left right\"", found: merge.debugDescription)
            }
            pairs.append((String(merge[..<space]), String(merge[merge.index(after: space)...])))
        }
        for (field, id) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId)] {
            if let id, id < 0 || id >= tokens.count {
                throw TokenizerError.invalidField(
                    source: source, field: "tokenizer.ggml.\(field)", expected: "an id in 0..<\(tokens.count)", found: String(id))
            }
        }
        try self.init(
            vocabulary: vocabulary, merges: pairs, addedTokens: added, preTokenizer: kind, bosTokenId: bosTokenId,
            eosTokenId: eosTokenId, addBosToken: addBosToken, source: source)
    }
}
