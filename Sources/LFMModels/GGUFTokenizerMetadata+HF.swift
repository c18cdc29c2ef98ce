// The tokenizer metadata llama.cpp's converter derives from a Hugging Face tokenizer.json.
import Foundation
import LFMFormats

/// Errors deriving GGUF tokenizer metadata from a Hugging Face folder.
public enum GGUFConvertError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, detail: String)
    case unsupportedTokenizer(file: String, detail: String)
    case unsupportedSource(path: String, detail: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let detail): return "\(file): cannot read: \(detail)"
        case .unsupportedTokenizer(let file, let detail): return "\(file): \(detail)"
        case .unsupportedSource(let path, let detail): return "\(path): \(detail)"
        }
    }
}

extension GGUFTokenizerMetadata {
    /// Split regex of LFM2's tokenizer.json (llama.cpp names this pre-tokenizer "lfm2").
    static let lfm2SplitRegex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Derives the metadata from `tokenizer.json` (+ `tokenizer_config.json`, `chat_template.jinja`)
    /// of a Hugging Face folder the way llama.cpp's convert_hf_to_gguf.py does for LFM2:
    /// `vocabularySize` ids (missing ones become "[PAD<id>]" of type unused), added tokens typed
    /// control (special, or looking like `<|…|>`) or user-defined, merges as "left right",
    /// pre-tokenizer "lfm2" (only LFM2's Split regex is accepted), special ids from
    /// tokenizer_config.json names, else from config.json (`configuration`).
    public init(huggingFaceFolder folder: URL, vocabularySize: Int, configuration: LFM2Configuration) throws {
        try self.init(huggingFaceFolder: folder, vocabularySize: vocabularySize, preTokenizers: [Self.lfm2SplitRegex: "lfm2"],
                      bosTokenId: configuration.bosTokenId, eosTokenId: configuration.eosTokenIds.first,
                      paddingTokenId: configuration.padTokenId)
    }

    /// Split regex of Qwen2/Qwen3's tokenizer.json (single digits; llama.cpp's "qwen2").
    public static let qwen2SplitRegex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Llama 3's Split regex (the same as LFM2's; llama.cpp's "llama-bpe").
    public static var llama3SplitRegex: String { lfm2SplitRegex }

    /// As above for any family: `preTokenizers` maps each accepted Split regex to the name llama.cpp
    /// gives it (`tokenizer.ggml.pre`); the ids are config.json's, used when tokenizer_config.json
    /// names no such token.
    public init(huggingFaceFolder folder: URL, vocabularySize: Int, preTokenizers: [String: String],
                bosTokenId: Int?, eosTokenId: Int?, paddingTokenId: Int?) throws {
        let file = folder.appendingPathComponent("tokenizer.json")
        func object(_ url: URL) throws -> [String: Any]? {
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            do {
                guard let o = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                    throw GGUFConvertError.unreadable(file: url.path, detail: "expected a JSON object")
                }
                return o
            } catch let error as GGUFConvertError { throw error } catch {
                throw GGUFConvertError.unreadable(file: url.path, detail: error.localizedDescription)
            }
        }
        guard let root = try object(file) else { throw GGUFConvertError.unreadable(file: file.path, detail: "file not found") }
        let config = try object(folder.appendingPathComponent("tokenizer_config.json")) ?? [:]
        guard let model = root["model"] as? [String: Any], model["type"] as? String == "BPE",
              let vocab = model["vocab"] as? [String: Int] else {
            throw GGUFConvertError.unsupportedTokenizer(file: file.path, detail: "expected a BPE model with a vocab object")
        }
        // Pre-tokenizer: LFM2's Split regex followed by ByteLevel.
        let pre = root["pre_tokenizer"] as? [String: Any]
        let stages = (pre?["pretokenizers"] as? [[String: Any]]) ?? []
        let regex = ((stages.first?["pattern"] as? [String: Any])?["Regex"] as? String)
        guard let regex, let preName = preTokenizers[regex], stages.count == 2, stages[1]["type"] as? String == "ByteLevel" else {
            throw GGUFConvertError.unsupportedTokenizer(
                file: file.path, detail: "pre_tokenizer is not a Split with one of the regexes llama.cpp names for this family ("
                    + preTokenizers.values.sorted().joined(separator: ", ") + "), then ByteLevel; cannot name it for llama.cpp")
        }
        var rawMerges: [String] = []
        for (index, merge) in ((model["merges"] as? [Any]) ?? []).enumerated() {
            if let s = merge as? String { rawMerges.append(s) } else if let pair = merge as? [String], pair.count == 2 {
                rawMerges.append(pair[0] + " " + pair[1])
            } else {
                throw GGUFConvertError.unsupportedTokenizer(file: file.path, detail: "model.merges[\(index)] is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        var added: [Int: (content: String, special: Bool)] = [:]
        for token in (root["added_tokens"] as? [[String: Any]]) ?? [] {
            guard let id = token["id"] as? Int, let content = token["content"] as? String else { continue }
            added[id] = (content, token["special"] as? Bool ?? false)
        }
        var reverse: [Int: String] = [:]
        for (token, id) in vocab { reverse[id] = token }
        for (id, token) in added { reverse[id] = token.content }
        if let top = reverse.keys.max(), top >= vocabularySize {
            throw GGUFConvertError.unsupportedTokenizer(file: file.path, detail: "token id \(top) is outside the model's vocabulary of \(vocabularySize)")
        }
        var tokens: [String] = [], types: [Int] = []
        tokens.reserveCapacity(vocabularySize)
        for id in 0..<vocabularySize {
            guard let token = reverse[id] else {
                tokens.append("[PAD\(id)]"); types.append(5); continue
            }
            tokens.append(token)
            if let a = added[id] {
                let looksSpecial = ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(token)
                    || (token.hasPrefix("<|") && token.hasSuffix("|>")) || (token.hasPrefix("<｜") && token.hasSuffix("｜>"))
                    || (token.hasPrefix("<unused") && token.hasSuffix(">"))
                types.append(a.special || looksSpecial ? 3 : 4)
            } else {
                types.append(1)
            }
        }
        func tokenName(_ key: String) -> String? {
            if let name = config[key] as? String { return name }
            return (config[key] as? [String: Any])?["content"] as? String
        }
        func id(named key: String) -> Int? {
            guard let name = tokenName(key) else { return nil }
            return vocab[name] ?? added.first(where: { $0.value.content == name })?.key
        }
        // add_bos / add_eos: tokenizer_config.json, else the post-processor's template.
        var addBos = config["add_bos_token"] as? Bool
        var addEos = config["add_eos_token"] as? Bool
        // gguf-py's SpecialVocab reads the TemplateProcessing post-processor (a leading special token
        // means add_bos, a trailing one add_eos, a special token between A and B of the pair template
        // add_sep); tokenizer_config.json's add_*_token flags override.
        var addSep: Bool?
        let post = root["post_processor"] as? [String: Any]
        let processors = (post?["processors"] as? [[String: Any]]) ?? (post.map { [$0] } ?? [])
        if let template = processors.first(where: { $0["type"] as? String == "TemplateProcessing" }),
           let single = template["single"] as? [[String: Any]], single.count > 1 {
            func special(_ item: [String: Any]?) -> String? { (item?["SpecialToken"] as? [String: Any])?["id"] as? String }
            let first = special(single.first), last = special(single.last)
            if first != nil { addBos = addBos ?? true }
            if last != nil { addEos = addEos ?? true }
            if var pair = template["pair"] as? [[String: Any]], !pair.isEmpty {
                if first != nil, special(pair.first) == first { pair.removeFirst() }
                if last != nil, special(pair.last) == last { pair.removeLast() }
                func sequence(_ item: [String: Any]?) -> String? { (item?["Sequence"] as? [String: Any])?["id"] as? String }
                if sequence(pair.first) == "A", sequence(pair.last) == "B", pair.count > 2 {
                    let middle = Array(pair[1..<(pair.count - 1)])
                    let separators = Set([tokenName("sep_token"), tokenName("eos_token")].compactMap { $0 })
                    var sep = false
                    if let entry = special(middle.first), separators.contains(entry), last == nil { sep = true }
                    if middle.count == 2, let entry = special(middle[1]), separators.contains(entry) { sep = true }
                    addSep = sep
                }
            }
        }
        if let flag = config["add_sep_token"] as? Bool { addSep = flag }
        var template: String?
        let jinja = folder.appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinja.path) {
            do { template = try String(contentsOf: jinja, encoding: .utf8) } catch {
                throw GGUFConvertError.unreadable(file: jinja.path, detail: error.localizedDescription)
            }
        } else if let t = config["chat_template"] as? String {
            template = t
        }
        self.model = "gpt2"
        self.pre = preName
        self.tokens = tokens
        self.tokenTypes = types
        self.merges = rawMerges
        self.bosTokenId = id(named: "bos_token") ?? bosTokenId
        self.eosTokenId = id(named: "eos_token") ?? eosTokenId
        self.paddingTokenId = id(named: "pad_token") ?? paddingTokenId
        self.addBosToken = addBos ?? false
        self.addEosToken = addEos
        self.addSepToken = addSep
        self.chatTemplate = template
    }

    /// The `tokenizer.*` entries in the order llama.cpp's converter writes them.
    public var entries: [(key: String, value: GGUFValue)] {
        var out: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string(model)), ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .array(.string(tokens))),
            ("tokenizer.ggml.token_type", .array(.int32(tokenTypes.map { Int32(clamping: $0) }))),
        ]
        if !merges.isEmpty { out.append(("tokenizer.ggml.merges", .array(.string(merges)))) }
        if let bosTokenId { out.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(clamping: bosTokenId)))) }
        if let eosTokenId { out.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(clamping: eosTokenId)))) }
        if let paddingTokenId { out.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(clamping: paddingTokenId)))) }
        if let addBosToken { out.append(("tokenizer.ggml.add_bos_token", .bool(addBosToken))) }
        if let addSepToken { out.append(("tokenizer.ggml.add_sep_token", .bool(addSepToken))) }
        if let addEosToken { out.append(("tokenizer.ggml.add_eos_token", .bool(addEosToken))) }
        if let chatTemplate { out.append(("tokenizer.chat_template", .string(chatTemplate))) }
        return out
    }
}
