/// Turns token ids into text as they are generated.
///
/// Each `append(_:)` returns the text that became complete with that id. Bytes of a multi-byte UTF-8
/// character split across tokens are held back until the character is complete, so a chunk never
/// contains a broken sequence; a special token is one id and is emitted whole (or not at all with
/// `skipSpecialTokens`). Call `flush()` at the end. The concatenation of all chunks equals
/// `tokenizer.decode(ids)` for the same ids and options.
///
/// Bytes that can never form valid UTF-8 throw `TokenizerError.invalidUTF8`, or become U+FFFD when
/// `lossy` is true (the `tokenizers` behavior).
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private let lossy: Bool
    /// Token-local decoders: bytes not yet emitted (an incomplete character).
    private var pending: [UInt8] = []
    /// Other decoders: all ids so far and the number of decoded bytes already emitted.
    private var ids: [Int] = []
    private var emittedBytes = 0
    /// Total bytes consumed so far (for error offsets).
    private var offset = 0

    /// A detokenizer for one stream of ids.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false, lossy: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        self.lossy = lossy
    }

    /// Adds one id; returns the text completed by it (possibly empty).
    public mutating func append(_ id: Int) throws -> String {
        guard id >= 0, id < tokenizer.tokenStrings.count, tokenizer.tokenStrings[id] != nil else {
            throw TokenizerError.unknownTokenId(id: id, vocabularySize: tokenizer.tokenStrings.count)
        }
        if skipSpecialTokens && tokenizer.isSpecial(id) { return "" }
        if let table = tokenizer.decodedBytes {
            pending.append(contentsOf: table[id])
            return try takeComplete(final: false)
        }
        ids.append(id)
        if !tokenizer.decoderOutputIsPrefixStable { return "" }
        let all = try tokenizer.decodeBytes(ids)
        pending = Array(all[min(emittedBytes, all.count)...])
        let before = pending.count
        let text = try takeComplete(final: false)
        emittedBytes += before - pending.count
        return text
    }

    /// Returns whatever is left; throws (or substitutes U+FFFD when lossy) if it is an incomplete character.
    public mutating func flush() throws -> String {
        if tokenizer.decodedBytes == nil && !tokenizer.decoderOutputIsPrefixStable {
            let all = try tokenizer.decodeBytes(ids)
            pending = Array(all[min(emittedBytes, all.count)...])
        }
        let text = try takeComplete(final: true)
        ids.removeAll()
        emittedBytes = 0
        return text
    }

    /// Emits the longest valid prefix of `pending` (replacing invalid parts when lossy).
    private mutating func takeComplete(final: Bool) throws -> String {
        var out: [UInt8] = []
        while !pending.isEmpty {
            let scan = pending.withUnsafeBufferPointer { scanUTF8($0) }
            switch scan {
            case .valid:
                out += pending
                offset += pending.count
                pending.removeAll(keepingCapacity: true)
            case let .incomplete(validEnd):
                out += pending[..<validEnd]
                offset += validEnd
                pending.removeFirst(validEnd)
                if !final { return String(decoding: out, as: UTF8.self) }
                try reject(length: pending.count, into: &out)
            case let .invalid(position, length):
                out += pending[..<position]
                offset += position
                pending.removeFirst(position)
                try reject(length: max(1, length), into: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func reject(length: Int, into out: inout [UInt8]) throws {
        let bad = Array(pending[..<length])
        guard lossy else {
            throw TokenizerError.invalidUTF8(byteOffset: offset, bytes: bad, context: "streaming detokenizer")
        }
        out += [0xEF, 0xBF, 0xBD]  // U+FFFD
        offset += length
        pending.removeFirst(length)
    }
}

extension Tokenizer {
    /// Whether decoding more ids only appends to the bytes decoded so far (false when a decoder strips
    /// trailing characters of a fused string).
    var decoderOutputIsPrefixStable: Bool {
        var fused = false
        for stage in decoder {
            switch stage {
            case .fuse: fused = true
            case let .strip(_, _, stop) where stop > 0 && fused: return false
            default: break
            }
        }
        return true
    }
}
