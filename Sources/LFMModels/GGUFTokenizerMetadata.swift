// The tokenizer and chat-template metadata of a GGUF file, as plain values.
import LFMFormats

/// `tokenizer.ggml.*` and `tokenizer.chat_template` of a GGUF file, read and type-checked, ready to
/// hand to `LFMTokenizer.Tokenizer(ggmlModel:…)` (`lfm` joins the two: `Tokenizer(gguf:source:)`) (which does not depend on the GGUF reader).
public struct GGUFTokenizerMetadata: Sendable, Equatable {
    /// `tokenizer.ggml.model` ("gpt2" for byte-level BPE).
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer name llama.cpp's converter detected.
    public var pre: String
    /// `tokenizer.ggml.tokens`.
    public var tokens: [String]
    /// `tokenizer.ggml.token_type` (llama.cpp token types; all 1 = normal when absent).
    public var tokenTypes: [Int]
    /// `tokenizer.ggml.merges` ("left right", rank order).
    public var merges: [String]
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var paddingTokenId: Int?
    /// `tokenizer.ggml.add_bos_token`, if present (when absent llama.cpp's default for `pre` applies:
    /// true for the Llama-3 family, "lfm2" included).
    public var addBosToken: Bool?
    /// `tokenizer.ggml.add_eos_token`, if present.
    public var addEosToken: Bool?
    /// `tokenizer.ggml.add_sep_token`, if present.
    public var addSepToken: Bool?
    /// `tokenizer.chat_template`, if the file has one.
    public var chatTemplate: String?

    /// Reads the keys from `metadata` (`file` names the file in errors).
    public init(metadata: GGUFMetadata, file: String) throws {
        model = try metadata.lookup("tokenizer.ggml.model", file: file) { try metadata.string($0) }
        pre = try metadata.lookup("tokenizer.ggml.pre", file: file) { try metadata.string($0) }
        tokens = try metadata.lookup("tokenizer.ggml.tokens", file: file) { try metadata.stringArray($0) }
        tokenTypes = try metadata.optional("tokenizer.ggml.token_type", file: file) { try metadata.integerArray($0) }
            ?? Array(repeating: 1, count: tokens.count)
        merges = try metadata.optional("tokenizer.ggml.merges", file: file) { try metadata.stringArray($0) } ?? []
        bosTokenId = try metadata.optional("tokenizer.ggml.bos_token_id", file: file) { try metadata.integer($0) }
        eosTokenId = try metadata.optional("tokenizer.ggml.eos_token_id", file: file) { try metadata.integer($0) }
        paddingTokenId = try metadata.optional("tokenizer.ggml.padding_token_id", file: file) { try metadata.integer($0) }
        addBosToken = try metadata.optional("tokenizer.ggml.add_bos_token", file: file) { try metadata.bool($0) }
        addEosToken = try metadata.optional("tokenizer.ggml.add_eos_token", file: file) { try metadata.bool($0) }
        addSepToken = try metadata.optional("tokenizer.ggml.add_sep_token", file: file) { try metadata.bool($0) }
        chatTemplate = try metadata.optional("tokenizer.chat_template", file: file) { try metadata.string($0) }
    }

    /// Opens the GGUF file at `path` and reads its tokenizer metadata.
    public init(path: String) throws {
        try self.init(metadata: GGUFFile(path: path).metadata, file: path)
    }
}
