import Foundation

/// Everything that can go wrong while loading a tokenizer or decoding ids.
///
/// Every case carries enough context (file, JSON field path, expected vs found) to fix the input
/// without reading the source.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The data is not valid JSON (or not a JSON object at the top level).
    case invalidJSON(source: String, reason: String)
    /// A required field is absent. `field` is a dotted path such as `model.merges`.
    case missingField(source: String, field: String)
    /// A field has the wrong JSON type or an invalid value.
    case invalidField(source: String, field: String, expected: String, found: String)
    /// A pipeline stage (normalizer, pre-tokenizer, model, post-processor, decoder) has a type
    /// this implementation does not support.
    case unsupportedStage(source: String, field: String, type: String, supported: [String])
    /// A stage option is set to a value this implementation does not support.
    case unsupportedOption(source: String, field: String, value: String, reason: String)
    /// A `Split` regex (or one of its alternatives) is not one of the recognized pre-tokenizer patterns.
    case unsupportedRegex(source: String, field: String, pattern: String, alternative: String)
    /// A merge refers to a token (or produces a token) that is not in the vocabulary.
    case mergeNotInVocabulary(source: String, index: Int, merge: String, missing: String)
    /// A special token named by a post-processor or option is not in the vocabulary.
    case unknownToken(source: String, field: String, token: String)
    /// An id passed to `decode` has no token.
    case unknownTokenId(id: Int, vocabularySize: Int)
    /// Decoded bytes are not valid UTF-8.
    case invalidUTF8(byteOffset: Int, bytes: [UInt8], context: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case let .invalidJSON(source, reason):
            return "\(source): not a valid tokenizer JSON object: \(reason)"
        case let .missingField(source, field):
            return "\(source): missing required field '\(field)'"
        case let .invalidField(source, field, expected, found):
            return "\(source): field '\(field)': expected \(expected), found \(found)"
        case let .unsupportedStage(source, field, type, supported):
            return "\(source): field '\(field)': unsupported type '\(type)' (supported: \(supported.joined(separator: ", ")))"
        case let .unsupportedOption(source, field, value, reason):
            return "\(source): field '\(field)': unsupported value \(value): \(reason)"
        case let .unsupportedRegex(source, field, pattern, alternative):
            return "\(source): field '\(field)': unsupported pre-tokenizer regex \(pattern.debugDescription) (unrecognized part: \(alternative.debugDescription))"
        case let .mergeNotInVocabulary(source, index, merge, missing):
            return "\(source): model.merges[\(index)] \(merge.debugDescription): token \(missing.debugDescription) is not in the vocabulary"
        case let .unknownToken(source, field, token):
            return "\(source): field '\(field)': token \(token.debugDescription) is not in the vocabulary"
        case let .unknownTokenId(id, size):
            return "token id \(id) has no token (valid ids are below \(size))"
        case let .invalidUTF8(offset, bytes, context):
            let hex = bytes.map { String(format: "%02X", $0) }.joined(separator: " ")
            return "\(context): invalid UTF-8 at byte offset \(offset) (bytes: \(hex))"
        }
    }
}
