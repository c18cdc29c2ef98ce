import Foundation

/// Parsing of Hugging Face `tokenizer.json` into the pipeline stages.
extension Tokenizer {
    static let supportedNormalizers = ["NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Replace", "Prepend", "Strip", "Sequence"]
    static let supportedPreTokenizers = ["Sequence", "Split", "ByteLevel"]
    static let supportedPostProcessors = ["TemplateProcessing", "ByteLevel", "RobertaProcessing", "BertProcessing", "Sequence"]
    static let supportedDecoders = ["ByteLevel", "ByteFallback", "Fuse", "Replace", "Strip", "Sequence"]

    /// Parses a whole tokenizer.json document.
    static func parse(json data: Data, source: String) throws -> Tokenizer {
        let root: JSONValue
        do {
            root = try data.withUnsafeBytes { raw in
                try JSONParser.parse(raw.bindMemory(to: UInt8.self))
            }
        } catch let failure as JSONParser.Failure {
            throw TokenizerError.invalidJSON(
                source: source, reason: "\(failure.message) at byte \(failure.offset) of \(data.count)")
        }
        guard case .object = root else {
            throw TokenizerError.invalidJSON(source: source, reason: "top-level value is not an object")
        }
        let doc = JSONNode(value: root, path: "", source: source)

        let normalizer = try doc.optionalField("normalizer").map { try parseNormalizer($0) }
        var stages: [PreTokenizerStage] = []
        if let pre = try doc.optionalField("pre_tokenizer") { try parsePreTokenizer(pre, into: &stages) }
        let byteLevel = stages.contains { if case .byteLevel = $0 { return true } else { return false } }

        let modelNode = try doc.field("model")
        let modelType = try modelNode.optionalField("type")?.string() ?? "BPE"
        guard modelType == "BPE" else {
            throw TokenizerError.unsupportedStage(source: source, field: "model.type", type: modelType, supported: ["BPE"])
        }
        for option in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = try modelNode.optionalField(option), try !value.string().isEmpty {
                throw TokenizerError.unsupportedOption(
                    source: source, field: value.path, value: try value.string().debugDescription,
                    reason: "subword prefixes/suffixes are not used by byte-level BPE and not implemented")
            }
        }
        if let dropout = try modelNode.optionalField("dropout"), try dropout.double() > 0 {
            throw TokenizerError.unsupportedOption(
                source: source, field: dropout.path, value: String(try dropout.double()),
                reason: "BPE dropout is random and only meant for training")
        }
        var vocabulary: [String: Int] = [:]
        let vocabNode = try modelNode.field("vocab")
        let vocabMembers = try vocabNode.members()
        vocabulary.reserveCapacity(vocabMembers.count)
        for (token, value) in vocabMembers {
            guard case let .number(_, id?) = value else {
                let node = JSONNode(value: value, path: "model.vocab[\(token.debugDescription)]", source: source)
                vocabulary[token] = try node.int()
                continue
            }
            vocabulary[token] = id
        }
        let merges = try parseMerges(try modelNode.field("merges"))
        let model = try BPEModel(
            vocabulary: vocabulary, merges: merges, byteLevel: byteLevel,
            unknownToken: try modelNode.optionalField("unk_token")?.string(),
            fuseUnknown: try modelNode.bool("fuse_unk", default: false),
            byteFallback: try modelNode.bool("byte_fallback", default: false),
            ignoreMerges: try modelNode.bool("ignore_merges", default: false), source: source)

        var added: [AddedToken] = []
        if let list = try doc.optionalField("added_tokens") {
            for node in try list.array() {
                let special = try node.bool("special", default: false)
                added.append(
                    AddedToken(
                        id: try node.field("id").int(), content: try node.field("content").string(), special: special,
                        singleWord: try node.bool("single_word", default: false),
                        lstrip: try node.bool("lstrip", default: false), rstrip: try node.bool("rstrip", default: false),
                        normalized: try node.bool("normalized", default: !special)))
            }
        }

        var post = PostProcessor()
        if let node = try doc.optionalField("post_processor") {
            try parsePostProcessor(node, vocabulary: vocabulary, added: added, into: &post)
        }
        var decoders: [DecoderStage] = []
        if let node = try doc.optionalField("decoder") { try parseDecoder(node, into: &decoders) }

        return try Tokenizer(
            model: model, normalizer: normalizer, preTokenizer: stages, addedTokens: added, postProcessor: post,
            decoder: decoders, source: source)
    }

    private static func parseMerges(_ node: JSONNode) throws -> [(String, String)] {
        guard case let .array(raw) = node.value else { _ = try node.array(); return [] }
        var merges: [(String, String)] = []
        merges.reserveCapacity(raw.count)
        for (index, item) in raw.enumerated() {
            if case let .array(pair) = item, pair.count == 2, case let .string(a) = pair[0],
                case let .string(b) = pair[1]
            {
                merges.append((a, b))
            } else if case let .string(line) = item {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.invalidField(
                        source: node.source, field: "\(node.path)[\(index)]", expected: "\"left right\" (one space)",
                        found: line.debugDescription)
                }
                merges.append((String(parts[0]), String(parts[1])))
            } else {
                throw TokenizerError.invalidField(
                    source: node.source, field: "\(node.path)[\(index)]",
                    expected: "a [left, right] pair of strings or a \"left right\" string", found: item.summary)
            }
        }
        return merges
    }

    private static func parseNormalizer(_ node: JSONNode) throws -> Normalizer {
        let type = try node.type()
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend": return .prepend(try node.field("prepend").string())
        case "Strip":
            return .strip(left: try node.bool("strip_left", default: true), right: try node.bool("strip_right", default: true))
        case "Replace":
            let pattern = try node.field("pattern")
            guard let literal = try pattern.optionalField("String") else {
                throw TokenizerError.unsupportedOption(
                    source: node.source, field: pattern.path, value: pattern.value.summary,
                    reason: "only literal {\"String\": ...} patterns are supported in Replace")
            }
            return .replace(pattern: try literal.string(), content: try node.field("content").string())
        case "Sequence":
            return .sequence(try node.field("normalizers").array().map { try parseNormalizer($0) })
        default:
            throw TokenizerError.unsupportedStage(
                source: node.source, field: node.path + ".type", type: type, supported: supportedNormalizers)
        }
    }

    private static func parsePreTokenizer(_ node: JSONNode, into stages: inout [PreTokenizerStage]) throws {
        let type = try node.type()
        switch type {
        case "Sequence":
            for child in try node.field("pretokenizers").array() { try parsePreTokenizer(child, into: &stages) }
        case "ByteLevel":
            stages.append(
                .byteLevel(
                    addPrefixSpace: try node.bool("add_prefix_space", default: true),
                    useRegex: try node.bool("use_regex", default: true)))
        case "Split":
            let behavior = try node.field("behavior").string()
            guard behavior == "Isolated" else {
                throw TokenizerError.unsupportedOption(
                    source: node.source, field: node.path + ".behavior", value: behavior.debugDescription,
                    reason: "only the Isolated behavior is supported")
            }
            // With Isolated, matches and gaps both become pieces, so `invert` does not change the output.
            let pattern = try node.field("pattern")
            guard let regex = try pattern.optionalField("Regex") else {
                throw TokenizerError.unsupportedOption(
                    source: node.source, field: pattern.path, value: pattern.value.summary,
                    reason: "only {\"Regex\": ...} patterns are supported in Split")
            }
            stages.append(.split(try SplitPattern(regex: try regex.string(), source: node.source, field: regex.path)))
        default:
            throw TokenizerError.unsupportedStage(
                source: node.source, field: node.path + ".type", type: type, supported: supportedPreTokenizers)
        }
    }

    private static func specialId(
        _ node: JSONNode, vocabulary: [String: Int], added: [AddedToken]
    ) throws -> Int {
        // [token, id] pairs as used by Roberta/Bert processing.
        let pair = try node.array()
        guard pair.count == 2 else {
            throw TokenizerError.invalidField(
                source: node.source, field: node.path, expected: "[token, id]", found: "\(pair.count) elements")
        }
        return try pair[1].int()
    }

    private static func parsePostProcessor(
        _ node: JSONNode, vocabulary: [String: Int], added: [AddedToken], into post: inout PostProcessor
    ) throws {
        let type = try node.type()
        switch type {
        case "ByteLevel":
            break  // only trims offsets
        case "Sequence":
            for child in try node.field("processors").array() {
                try parsePostProcessor(child, vocabulary: vocabulary, added: added, into: &post)
            }
        case "RobertaProcessing", "BertProcessing":
            let cls = try specialId(try node.field("cls"), vocabulary: vocabulary, added: added)
            let sep = try specialId(try node.field("sep"), vocabulary: vocabulary, added: added)
            post.prefix = [cls] + post.prefix
            post.suffix += [sep]
        case "TemplateProcessing":
            var specials: [String: [Int]] = [:]
            if let table = try node.optionalField("special_tokens") {
                for (name, _) in try table.members() {
                    let entry = try table.field(name)
                    specials[name] = try entry.field("ids").array().map { try $0.int() }
                }
            }
            var prefix: [Int] = [], suffix: [Int] = []
            var seenSequence = false
            for item in try node.field("single").array() {
                if let special = try item.optionalField("SpecialToken") {
                    let name = try special.field("id").string()
                    guard let ids = specials[name] else {
                        throw TokenizerError.unknownToken(source: node.source, field: special.path + ".id", token: name)
                    }
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else if let sequence = try item.optionalField("Sequence") {
                    let id = try sequence.field("id").string()
                    guard id == "A", !seenSequence else {
                        throw TokenizerError.unsupportedOption(
                            source: node.source, field: sequence.path, value: id.debugDescription,
                            reason: "a single-sequence template must contain sequence A exactly once")
                    }
                    seenSequence = true
                } else {
                    throw TokenizerError.invalidField(
                        source: node.source, field: item.path, expected: "{SpecialToken} or {Sequence}", found: item.value.summary)
                }
            }
            post.prefix = prefix + post.prefix
            post.suffix += suffix
        default:
            throw TokenizerError.unsupportedStage(
                source: node.source, field: node.path + ".type", type: type, supported: supportedPostProcessors)
        }
    }

    private static func parseDecoder(_ node: JSONNode, into stages: inout [DecoderStage]) throws {
        let type = try node.type()
        switch type {
        case "Sequence":
            for child in try node.field("decoders").array() { try parseDecoder(child, into: &stages) }
        case "ByteLevel": stages.append(.byteLevel)
        case "ByteFallback": stages.append(.byteFallback)
        case "Fuse": stages.append(.fuse)
        case "Replace":
            let pattern = try node.field("pattern")
            guard let literal = try pattern.optionalField("String") else {
                throw TokenizerError.unsupportedOption(
                    source: node.source, field: pattern.path, value: pattern.value.summary,
                    reason: "only literal {\"String\": ...} patterns are supported in Replace")
            }
            stages.append(
                .replace(pattern: Array(try literal.string().utf8), content: Array(try node.field("content").string().utf8)))
        case "Strip":
            stages.append(
                .strip(
                    content: Array(try node.field("content").string().utf8), start: try node.field("start").int(),
                    stop: try node.field("stop").int()))
        default:
            throw TokenizerError.unsupportedStage(
                source: node.source, field: node.path + ".type", type: type, supported: supportedDecoders)
        }
    }
}
