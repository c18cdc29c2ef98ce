/// Decoding: ids to token strings, through the decoder stages, to UTF-8 text.
extension Tokenizer {
    /// Text of `ids`. Throws `TokenizerError.unknownTokenId` for an id without a token, and
    /// `TokenizerError.invalidUTF8` when the bytes are not valid UTF-8 (e.g. a multi-byte character cut
    /// in the middle) unless `lossy` is true, in which case each invalid sequence becomes U+FFFD exactly
    /// like `tokenizers`' decode.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false, lossy: Bool = false) throws -> String {
        try decodeUTF8(try decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), lossy: lossy, context: "decode")
    }

    /// Raw bytes of `ids` after the decoder stages.
    public func decodeBytes(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> [UInt8] {
        for id in ids where id < 0 || id >= tokenStrings.count || tokenStrings[id] == nil {
            throw TokenizerError.unknownTokenId(id: id, vocabularySize: tokenStrings.count)
        }
        let kept = skipSpecialTokens ? ids.filter { !specialIds.contains($0) } : ids
        if let decodedBytes {
            var out: [UInt8] = []
            out.reserveCapacity(kept.count * 4)
            for id in kept { out.append(contentsOf: decodedBytes[id]) }
            return out
        }
        let pieces = kept.map { Array((tokenStrings[$0] ?? "").utf8) }
        return decoder.reduce(pieces) { $1.apply($0) }.flatMap { $0 }
    }

    /// Whether the decoder maps each token independently (so streaming can decode token by token).
    var decodesTokenByToken: Bool { decodedBytes != nil }
}
