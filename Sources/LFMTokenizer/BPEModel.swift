/// Byte-pair-encoding model: vocabulary, ranked merges and the merge algorithm.
///
/// Symbols are token ids. A word (one pre-tokenized piece, as bytes) starts as one symbol per byte
/// (byte-level vocabularies) or per UTF-8 character, and adjacent pairs are merged lowest rank first,
/// leftmost first on ties, exactly like Hugging Face `tokenizers`.
struct BPEModel: Sendable {
    /// Token string (as written in the vocabulary) for each id; nil for unused ids.
    let tokens: [String?]
    /// Token string -> id.
    let vocabulary: [String: Int]
    /// Whether symbols are bytes written in the GPT-2 byte alphabet.
    let byteLevel: Bool
    /// Byte-level mode: id of the single-byte token for each byte (-1 if absent).
    let byteIds: [Int32]
    /// Model-alphabet bytes of a token -> id (raw bytes for byte-level vocabularies, UTF-8 otherwise).
    let idsByBytes: [[UInt8]: Int32]
    /// (left id, right id) -> (rank, merged id).
    let merges: PairTable
    /// Options of the Hugging Face BPE model.
    let unknownId: Int32?
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// Ids of `<0x00>`...`<0xFF>` for byte fallback (-1 if absent).
    let fallbackIds: [Int32]

    /// Ids must be below this bound (2^24), so a corrupt file cannot make the id tables huge.
    static let maxId = 1 << 24

    /// Builds the model. `merges` are (left, right) token strings in rank order.
    init(
        vocabulary: [String: Int], merges: [(String, String)], byteLevel: Bool, unknownToken: String?,
        fuseUnknown: Bool, byteFallback: Bool, ignoreMerges: Bool, source: String
    ) throws {
        self.vocabulary = vocabulary
        self.byteLevel = byteLevel
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        var largestId = -1
        for (token, id) in vocabulary {
            guard id >= 0, id < BPEModel.maxId else {
                throw TokenizerError.invalidField(
                    source: source, field: "model.vocab[\(token.debugDescription)]",
                    expected: "an id in 0..<\(BPEModel.maxId)", found: String(id))
            }
            largestId = max(largestId, id)
        }
        var tokens = [String?](repeating: nil, count: largestId + 1)
        var idsByBytes: [[UInt8]: Int32] = [:]
        idsByBytes.reserveCapacity(vocabulary.count)
        for (token, id) in vocabulary {
            tokens[id] = token
            if byteLevel {
                if let bytes = ByteLevelAlphabet.bytes(of: token) { idsByBytes[bytes] = Int32(id) }
            } else {
                idsByBytes[Array(token.utf8)] = Int32(id)
            }
        }
        self.tokens = tokens
        self.idsByBytes = idsByBytes
        byteIds = (0..<256).map { b in
            let key = ByteLevelAlphabet.string(of: [UInt8(b)])
            return vocabulary[key].map { Int32($0) } ?? -1
        }
        fallbackIds = (0..<256).map { b in
            vocabulary[String(format: "<0x%02X>", b)].map { Int32($0) } ?? -1
        }
        if let unknownToken {
            guard let id = vocabulary[unknownToken] else {
                throw TokenizerError.unknownToken(source: source, field: "model.unk_token", token: unknownToken)
            }
            unknownId = Int32(id)
        } else {
            unknownId = nil
        }
        var table = PairTable(capacity: merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            let merge = left + " " + right
            guard let l = vocabulary[left] else {
                throw TokenizerError.mergeNotInVocabulary(source: source, index: rank, merge: merge, missing: left)
            }
            guard let r = vocabulary[right] else {
                throw TokenizerError.mergeNotInVocabulary(source: source, index: rank, merge: merge, missing: right)
            }
            guard let m = vocabulary[left + right] else {
                throw TokenizerError.mergeNotInVocabulary(source: source, index: rank, merge: merge, missing: left + right)
            }
            table.insert(left: UInt32(l), right: UInt32(r), rank: UInt32(rank), merged: UInt32(m))
        }
        self.merges = table
    }

    /// Appends the ids of one word (model-alphabet bytes, not empty) to `out`.
    func tokenize(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int32], scratch: inout MergeScratch) {
        if ignoreMerges, let id = idsByBytes[Array(word)] {
            out.append(id)
            return
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        initialSymbols(word, into: &scratch.symbols)
        merge(&scratch)
        out.append(contentsOf: scratch.symbols)
    }

    /// One symbol per byte or character; unknown ones go through byte fallback or the unknown token
    /// (characters with neither are dropped, as in Hugging Face `tokenizers`).
    private func initialSymbols(_ word: UnsafeBufferPointer<UInt8>, into symbols: inout [Int32]) {
        var pendingUnknown = false
        func flushUnknown() {
            if pendingUnknown, let unknownId { symbols.append(unknownId) }
            pendingUnknown = false
        }
        var i = 0
        let n = word.count
        while i < n {
            let id: Int32
            let unit: [UInt8]
            if byteLevel {
                id = byteIds[Int(word[i])]
                unit = id >= 0 ? [] : Array(ByteLevelAlphabet.string(of: [word[i]]).utf8)
                i += 1
            } else {
                let len = min(utf8Length(lead: word[i]), n - i)
                unit = Array(word[i..<(i + len)])
                id = idsByBytes[unit] ?? -1
                i += len
            }
            if id >= 0 {
                flushUnknown()
                symbols.append(id)
                continue
            }
            if byteFallback {
                let ids = unit.map { fallbackIds[Int($0)] }
                if ids.allSatisfy({ $0 >= 0 }) {
                    flushUnknown()
                    symbols.append(contentsOf: ids)
                    continue
                }
            }
            if unknownId != nil {
                if pendingUnknown && !fuseUnknown { flushUnknown() }
                pendingUnknown = true
            }
        }
        flushUnknown()
    }

    /// Initial symbols of a word, merged with the quadratic or the heap algorithm (for tests).
    func mergedIds(_ word: [UInt8], useHeap: Bool) -> [Int32] {
        var scratch = MergeScratch()
        word.withUnsafeBufferPointer { initialSymbols($0, into: &scratch.symbols) }
        if scratch.symbols.count >= 2 {
            if useHeap { mergeLarge(&scratch) } else { mergeSmall(&scratch.symbols) }
        }
        return scratch.symbols
    }

    /// Applies merges to `scratch.symbols` in place.
    private func merge(_ scratch: inout MergeScratch) {
        let n = scratch.symbols.count
        if n < 2 { return }
        if n <= 48 {
            mergeSmall(&scratch.symbols)
        } else {
            mergeLarge(&scratch)
        }
    }

    /// Quadratic merge for short words: keeps the rank of each adjacent pair and rescans for the minimum.
    private func mergeSmall(_ symbols: inout [Int32]) {
        var count = symbols.count
        symbols.withUnsafeMutableBufferPointer { s in
            var ranks = [UInt64](repeating: 0, count: count)
            ranks.withUnsafeMutableBufferPointer { r in
                for k in 0..<(count - 1) { r[k] = merges.lookup(UInt32(s[k]), UInt32(s[k + 1])) }
                while count > 1 {
                    var best = UInt64.max
                    var at = -1
                    for k in 0..<(count - 1) where r[k] < best {
                        best = r[k]
                        at = k
                    }
                    if at < 0 { break }
                    s[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
                    // Remove symbol at+1.
                    var k = at + 1
                    while k < count - 1 {
                        s[k] = s[k + 1]
                        r[k] = r[k + 1]
                        k += 1
                    }
                    count -= 1
                    if at > 0 { r[at - 1] = merges.lookup(UInt32(s[at - 1]), UInt32(s[at])) }
                    if at < count - 1 { r[at] = merges.lookup(UInt32(s[at]), UInt32(s[at + 1])) }
                }
            }
        }
        symbols.removeLast(symbols.count - count)
    }

    /// Heap-based merge for long words (linked list of symbols, min-heap of (rank, position)).
    private func mergeLarge(_ scratch: inout MergeScratch) {
        let n = scratch.symbols.count
        var ids = scratch.symbols
        var next = [Int](0..<n).map { $0 + 1 }
        var prev = [Int](0..<n).map { $0 - 1 }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        for k in 0..<(n - 1) {
            let v = merges.lookup(UInt32(ids[k]), UInt32(ids[k + 1]))
            if v != UInt64.max { heap.push(rank: UInt32(v >> 32), position: k, merged: UInt32(v & 0xFFFF_FFFF)) }
        }
        while let top = heap.pop() {
            let k = top.position
            guard alive[k], next[k] < n else { continue }
            let right = next[k]
            let v = merges.lookup(UInt32(ids[k]), UInt32(ids[right]))
            guard v != UInt64.max, UInt32(v & 0xFFFF_FFFF) == top.merged, UInt32(v >> 32) == top.rank else { continue }
            ids[k] = Int32(top.merged)
            alive[right] = false
            next[k] = next[right]
            if next[k] < n { prev[next[k]] = k }
            if prev[k] >= 0 {
                let p = prev[k]
                let pv = merges.lookup(UInt32(ids[p]), UInt32(ids[k]))
                if pv != UInt64.max { heap.push(rank: UInt32(pv >> 32), position: p, merged: UInt32(pv & 0xFFFF_FFFF)) }
            }
            if next[k] < n {
                let nv = merges.lookup(UInt32(ids[k]), UInt32(ids[next[k]]))
                if nv != UInt64.max { heap.push(rank: UInt32(nv >> 32), position: k, merged: UInt32(nv & 0xFFFF_FFFF)) }
            }
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        var k = 0
        while k < n {
            scratch.symbols.append(ids[k])
            k = next[k]
        }
    }
}

/// Reusable buffers for merging.
struct MergeScratch {
    var symbols: [Int32] = []
}

/// Open-addressing hash map from a pair of ids to `rank << 32 | merged id` (`UInt64.max` if absent).
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: UInt64.max, count: size)
        values = [UInt64](repeating: UInt64.max, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// Inserts or replaces (a later duplicate merge overrides an earlier one, as in `tokenizers`).
    mutating func insert(left: UInt32, right: UInt32, rank: UInt32, merged: UInt32) {
        let key = UInt64(left) << 32 | UInt64(right)
        var i = slot(key)
        while keys[i] != UInt64.max && keys[i] != key { i = (i + 1) & mask }
        keys[i] = key
        values[i] = UInt64(rank) << 32 | UInt64(merged)
    }

    @inline(__always)
    func lookup(_ left: UInt32, _ right: UInt32) -> UInt64 {
        let key = UInt64(left) << 32 | UInt64(right)
        return keys.withUnsafeBufferPointer { k in
            var i = slot(key)
            while true {
                let found = k[i]
                if found == key { return values.withUnsafeBufferPointer { $0[i] } }
                if found == UInt64.max { return UInt64.max }
                i = (i + 1) & mask
            }
        }
    }
}

/// Binary min-heap ordered by (rank, position).
struct MinHeap {
    struct Entry { var rank: UInt32; var position: Int; var merged: UInt32 }
    private var items: [Entry] = []

    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.position < b.position
    }

    mutating func push(rank: UInt32, position: Int, merged: UInt32) {
        items.append(Entry(rank: rank, position: position, merged: merged))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !MinHeap.less(items[i], items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && MinHeap.less(items[l], items[m]) { m = l }
                if r < items.count && MinHeap.less(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
