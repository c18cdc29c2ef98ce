import LFMModels

/// Snapshots of sequence state after exact token prefixes (a shared system prompt, an earlier turn of a
/// conversation). The conv state cannot be rewound, so a snapshot helps only a prompt that starts with
/// exactly its tokens; a new sequence starts from the longest one.
///
/// Two tiers: hot entries in RAM (at most `capacity` entries and, if `byteLimit > 0`, that many
/// bytes; least recently used out first) and, with a `DiskPrefixStore`, every entry written through
/// to a cache directory, where it survives eviction from RAM and restarts and is mapped back into
/// RAM when a prompt needs it again.
struct PrefixCache {
    struct Entry {
        let tokens: [Int]
        let state: SequenceState
        /// Next-token logits after `tokens`, when known.
        let logits: [Float]?
        /// Whether the disk tier holds it already.
        var persisted = false

        /// RAM the entry holds.
        var byteCount: Int { state.byteCount + (logits?.count ?? 0) * 4 }
    }

    let capacity: Int
    /// Most bytes of hot entries (0: no byte limit).
    let byteLimit: Int
    /// The cold tier, if any.
    let disk: DiskPrefixStore?
    private(set) var entries: [Entry] = []   // most recently used last
    /// Bytes the hot entries hold.
    private(set) var byteCount = 0

    init(capacity: Int, byteLimit: Int = 0, disk: DiskPrefixStore? = nil) {
        self.capacity = max(0, capacity)
        self.byteLimit = max(0, byteLimit)
        self.disk = disk
    }

    /// The entry with the longest token list that `prompt` starts with (an entry equal to the whole
    /// prompt only if it has logits), from RAM or mapped back from disk, marked as recently used.
    mutating func longestPrefix(of prompt: [Int]) -> Entry? {
        var best: Int?
        for (i, entry) in entries.enumerated() {
            let usable = entry.tokens.count < prompt.count || (entry.tokens.count == prompt.count && entry.logits != nil)
            guard usable, entry.tokens.count > (best.map { entries[$0].tokens.count } ?? 0),
                  prompt.starts(with: entry.tokens) else { continue }
            best = i
        }
        let hotLength = best.map { entries[$0].tokens.count } ?? 0
        if capacity > 0, let disk, let item = disk.longestPrefix(of: prompt, longerThan: hotLength), let entry = disk.load(item) {
            admit(entry)
            return entry
        }
        guard let best else { return nil }
        let entry = entries.remove(at: best)
        entries.append(entry)
        return entry
    }

    /// Stores a snapshot (replacing one with the same tokens), evicting the least recently used
    /// from RAM, and queues it for the disk tier.
    mutating func insert(tokens: [Int], state: SequenceState, logits: [Float]?) {
        guard capacity > 0, !tokens.isEmpty else { return }
        let entry = Entry(tokens: tokens, state: state, logits: logits)
        disk?.store(entry)
        admit(entry)
    }

    /// Puts `entry` in RAM as the most recently used and evicts down to the limits.
    private mutating func admit(_ entry: Entry) {
        if let i = entries.firstIndex(where: { $0.tokens == entry.tokens }) {
            byteCount -= entries[i].byteCount
            entries.remove(at: i)
        }
        entries.append(entry)
        byteCount += entry.byteCount
        while entries.count > capacity || (byteLimit > 0 && byteCount > byteLimit && !entries.isEmpty) {
            byteCount -= entries.removeFirst().byteCount
        }
    }
}
