/// Encoding: added tokens, normalizer, pre-tokenizer, BPE with a word cache, post-processor.
extension Tokenizer {
    /// Longest word (in bytes) kept in the word cache.
    static let maxCachedWordLength = 128

    /// Token ids of `text`. With `addSpecialTokens` the post-processor's tokens (e.g. BOS) are added.
    /// Special tokens written in the text (e.g. `<|im_start|>`) are always recognized, as in `tokenizers`.
    public func encode(_ text: String, addSpecialTokens: Bool = false) -> [Int] {
        var text = text
        return text.withUTF8 { encodeValidUTF8($0, addSpecialTokens: addSpecialTokens) }
    }

    /// Token ids of UTF-8 bytes; throws `TokenizerError.invalidUTF8` if they are not valid UTF-8.
    public func encode(bytes: [UInt8], addSpecialTokens: Bool = false) throws -> [Int] {
        try bytes.withUnsafeBufferPointer { buffer in
            switch scanUTF8(buffer) {
            case .valid:
                return encodeValidUTF8(buffer, addSpecialTokens: addSpecialTokens)
            case let .incomplete(validEnd):
                throw TokenizerError.invalidUTF8(
                    byteOffset: validEnd, bytes: Array(buffer[validEnd...]), context: "encode(bytes:) input")
            case let .invalid(offset, length):
                throw TokenizerError.invalidUTF8(
                    byteOffset: offset, bytes: Array(buffer[offset..<min(buffer.count, offset + length)]),
                    context: "encode(bytes:) input")
            }
        }
    }

    func encodeValidUTF8(_ text: UnsafeBufferPointer<UInt8>, addSpecialTokens: Bool) -> [Int] {
        var out: [Int32] = []
        out.reserveCapacity(text.count / 3 + 8)
        var scratch = MergeScratch()
        cache.withTable { table in
            rawMatcher.split(text) { start, end, token in
                if let token {
                    out.append(Int32(token.id))
                    return
                }
                let segment = UnsafeBufferPointer(rebasing: text[start..<end])
                if let normalizer {
                    var normalized = normalizer.apply(String(decoding: segment, as: UTF8.self))
                    normalized.withUTF8 { encodeNormalized($0, &out, &table, &scratch) }
                } else {
                    encodeNormalized(segment, &out, &table, &scratch)
                }
            }
        }
        var ids: [Int] = []
        ids.reserveCapacity(out.count + postProcessor.prefix.count + postProcessor.suffix.count)
        if addSpecialTokens { ids += postProcessor.prefix }
        for id in out { ids.append(Int(id)) }
        if addSpecialTokens { ids += postProcessor.suffix }
        return ids
    }

    /// Normalized text: split out normalized added tokens, then pre-tokenize and encode.
    private func encodeNormalized(
        _ text: UnsafeBufferPointer<UInt8>, _ out: inout [Int32], _ table: inout WordTable, _ scratch: inout MergeScratch
    ) {
        if normalizedMatcher.isEmpty {
            preTokenizeAndEncode(text, &out, &table, &scratch)
            return
        }
        normalizedMatcher.split(text) { start, end, token in
            if let token {
                out.append(Int32(token.id))
            } else {
                preTokenizeAndEncode(UnsafeBufferPointer(rebasing: text[start..<end]), &out, &table, &scratch)
            }
        }
    }

    private func preTokenizeAndEncode(
        _ text: UnsafeBufferPointer<UInt8>, _ out: inout [Int32], _ table: inout WordTable, _ scratch: inout MergeScratch
    ) {
        guard let base = text.baseAddress, !text.isEmpty else { return }
        if let scanner = singleScanner {
            scanner.forEachPiece(base, text.count) { start, end in
                encodeWord(base + start, end - start, &out, &table, &scratch)
            }
            return
        }
        runStages(0, text) { piece in
            if let p = piece.baseAddress, !piece.isEmpty { encodeWord(p, piece.count, &out, &table, &scratch) }
        }
    }

    /// Generic pre-tokenizer pipeline: each stage refines the pieces of the previous one.
    private func runStages(
        _ index: Int, _ piece: UnsafeBufferPointer<UInt8>, _ emit: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        guard index < preTokenizer.count else {
            emit(piece)
            return
        }
        switch preTokenizer[index] {
        case let .split(pattern):
            guard let base = piece.baseAddress, !piece.isEmpty else { return }
            SplitScanner(pattern).forEachPiece(base, piece.count) { start, end in
                runStages(index + 1, UnsafeBufferPointer(start: base + start, count: end - start), emit)
            }
        case let .byteLevel(addPrefixSpace, useRegex):
            func split(_ bytes: UnsafeBufferPointer<UInt8>) {
                guard useRegex else {
                    runStages(index + 1, bytes, emit)
                    return
                }
                guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
                gpt2Scanner.forEachPiece(base, bytes.count) { start, end in
                    runStages(index + 1, UnsafeBufferPointer(start: base + start, count: end - start), emit)
                }
            }
            if addPrefixSpace && piece.first != 0x20 {
                let prefixed = [0x20] + Array(piece)
                prefixed.withUnsafeBufferPointer { split($0) }
            } else {
                split(piece)
            }
        }
    }

    @inline(__always)
    private func encodeWord(
        _ p: UnsafePointer<UInt8>, _ n: Int, _ out: inout [Int32], _ table: inout WordTable,
        _ scratch: inout MergeScratch
    ) {
        if n == 1 && model.byteLevel {
            let id = model.byteIds[Int(p[0])]
            if id >= 0 {
                out.append(id)
                return
            }
        }
        guard n <= Tokenizer.maxCachedWordLength else {
            model.tokenize(UnsafeBufferPointer(start: p, count: n), into: &out, scratch: &scratch)
            return
        }
        let hash = WordTable.hash(p, n)
        if let range = table.lookup(hash, p, n) {
            table.values.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
            return
        }
        let before = out.count
        model.tokenize(UnsafeBufferPointer(start: p, count: n), into: &out, scratch: &scratch)
        table.insert(hash, p, n, out[before...])
    }
}
