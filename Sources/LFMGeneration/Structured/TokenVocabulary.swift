import Foundation
import LFMTokenizer

/// The bytes of every token of a vocabulary, arranged for computing masks quickly: a byte trie
/// in preorder (so a walk can skip a whole subtree when its first byte is rejected), a second trie
/// of the tokens holding a quote or backslash, and per-token summaries for string contents.
///
/// Build it once per tokenizer; it is immutable apart from a cache of masks.
public final class TokenVocabulary: @unchecked Sendable {
    // @unchecked: every stored property is immutable except the mask cache and its limit, guarded by `lock`.
    /// Number of logits (ids at or beyond the tokenizer's vocabulary are never allowed).
    public let logitCount: Int
    /// Bytes of each id (empty for ids that are never allowed: special, unknown or empty tokens).
    let bytes: [[UInt8]]
    /// The trie of all usable tokens.
    let trie: ByteTrie
    /// The trie of usable tokens that contain `"` or `\`.
    let quoteTrie: ByteTrie
    /// Code points of a token that is plain string content from a character boundary (no quote,
    /// backslash or control byte, valid UTF-8 possibly cut at the end); −1 otherwise.
    let plainChars: [Int32]
    /// Continuation bytes a plain token leaves pending.
    let plainPending: [UInt8]
    /// Ids of plain tokens (for the string-content fast path).
    let plainIds: [Int32]
    /// Bytes of the longest token.
    let longestToken: Int

    private let lock = NSLock()
    private var caches: [ObjectIdentifier: (JSONSchema, [JSONSchema.Thread: [TokenChoice]])] = [:]
    private var cachedEntries = 0
    private var limit = 4096
    /// Most masks kept in the cache before it is cleared.
    public var cacheLimit: Int {
        get { lock.lock(); defer { lock.unlock() }; return limit }
        set { lock.lock(); limit = newValue; lock.unlock() }
    }

    /// Reads every token's bytes from `tokenizer`; `logitCount` is the model's vocabulary size.
    public init(tokenizer: Tokenizer, logitCount: Int) {
        self.logitCount = logitCount
        var bytes = [[UInt8]](repeating: [], count: logitCount)
        for id in 0..<min(logitCount, tokenizer.vocabularySize) where tokenizer.token(for: id) != nil && !tokenizer.isSpecial(id) {
            bytes[id] = (try? tokenizer.decodeBytes([id])) ?? []
        }
        self.bytes = bytes
        var plainChars = [Int32](repeating: -1, count: logitCount)
        var plainPending = [UInt8](repeating: 0, count: logitCount)
        var plainIds: [Int32] = []
        var quoteIds: [Int] = []
        var allIds: [Int] = []
        for id in 0..<logitCount where !bytes[id].isEmpty {
            allIds.append(id)
            let b = bytes[id]
            if b.contains(0x22) || b.contains(0x5C) { quoteIds.append(id); continue }
            if let (chars, pending) = TokenVocabulary.plainSummary(b) {
                plainChars[id] = Int32(chars)
                plainPending[id] = UInt8(pending)
                plainIds.append(Int32(id))
            }
        }
        self.plainChars = plainChars
        self.plainPending = plainPending
        self.plainIds = plainIds
        longestToken = bytes.map(\.count).max() ?? 0
        trie = ByteTrie(ids: allIds, bytes: bytes)
        quoteTrie = ByteTrie(ids: quoteIds, bytes: bytes)
    }

    /// (code points, pending continuation bytes) of string content starting at a character boundary.
    static func plainSummary(_ b: [UInt8]) -> (Int, Int)? {
        var chars = 0, need = 0
        var i = 0
        while i < b.count {
            let c = b[i]
            if need > 0 {
                guard c >= 0x80 && c <= 0xBF else { return nil }
                need -= 1
                i += 1
                continue
            }
            switch c {
            case 0..<0x20, 0x22, 0x5C: return nil
            case 0x20..<0x80: need = 0
            case 0xC2...0xDF: need = 1
            case 0xE0...0xEF: need = 2
            case 0xF0...0xF4: need = 3
            default: return nil
            }
            // The second byte of E0, ED, F0 and F4 is restricted.
            if i + 1 < b.count {
                let n = b[i + 1]
                if (c == 0xE0 && n < 0xA0) || (c == 0xED && n > 0x9F) || (c == 0xF0 && n < 0x90) || (c == 0xF4 && n > 0x8F) { return nil }
            }
            chars += 1
            i += 1
        }
        return (chars, need)
    }

    func cached(_ schema: JSONSchema, _ thread: JSONSchema.Thread) -> [TokenChoice]? {
        lock.lock()
        defer { lock.unlock() }
        return caches[ObjectIdentifier(schema)]?.1[thread]
    }

    func store(_ schema: JSONSchema, _ thread: JSONSchema.Thread, _ choices: [TokenChoice]) {
        lock.lock()
        defer { lock.unlock() }
        if cachedEntries >= limit {
            caches = [:]
            cachedEntries = 0
        }
        let key = ObjectIdentifier(schema)
        var entry = caches[key] ?? (schema, [:])
        entry.1[thread] = choices
        caches[key] = entry
        cachedEntries += 1
    }
}

/// An allowed token and the fewest bytes that complete the value after it.
struct TokenChoice: Sendable {
    let token: Int32
    let distance: Int32
}

/// A byte trie in preorder: node `i` has the byte `byte[i]` at depth `depth[i]` (1-based), its
/// subtree ends before `subtreeEnd[i]`, and the tokens spelled exactly by the path to it are
/// `tokens[tokenBegin[i]..<tokenEnd[i]]`.
struct ByteTrie: Sendable {
    var byte: [UInt8] = []
    var depth: [Int32] = []
    var subtreeEnd: [Int32] = []
    var tokenBegin: [Int32] = []
    var tokenEnd: [Int32] = []
    var tokens: [Int32] = []

    init(ids: [Int], bytes: [[UInt8]]) {
        let sorted = ids.sorted { bytes[$0].lexicographicallyPrecedes(bytes[$1]) }
        var path: [Int] = []          // node index at each depth - 1
        var previous: [UInt8] = []
        for id in sorted {
            let b = bytes[id]
            var common = 0
            while common < min(b.count, previous.count) && b[common] == previous[common] { common += 1 }
            while path.count > common { subtreeEnd[path.removeLast()] = Int32(byte.count) }
            for d in common..<b.count {
                byte.append(b[d])
                depth.append(Int32(d + 1))
                subtreeEnd.append(0)
                tokenBegin.append(Int32(tokens.count))
                tokenEnd.append(Int32(tokens.count))
                path.append(byte.count - 1)
            }
            tokens.append(Int32(id))
            if let last = path.last { tokenEnd[last] = Int32(tokens.count) }
            previous = b
        }
        while let last = path.popLast() { subtreeEnd[last] = Int32(byte.count) }
    }

    var count: Int { byte.count }
}
