import LFMModels
import LFMTokenizer

extension Tokenizer {
    /// The tokenizer a GGUF file's `tokenizer.ggml.*` keys describe, as llama.cpp builds it
    /// (`source` names the file in errors). Joins the GGUF reader (LFMModels) and the tokenizer module,
    /// which do not depend on each other.
    init(gguf m: GGUFTokenizerMetadata, source: String) throws {
        try self.init(
            ggmlModel: m.model, tokens: m.tokens, tokenTypes: m.tokenTypes, merges: m.merges, pre: m.pre,
            bosTokenId: m.bosTokenId, eosTokenId: m.eosTokenId, addBosToken: m.addBosToken, addEosToken: m.addEosToken,
            source: source)
    }
}
