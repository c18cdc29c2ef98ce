import LFMModels

/// Snapshots of sequence state after exact token prefixes (a shared system prompt, an earlier turn of a
/// conversation), least recently used first out. The conv state cannot be rewound, so a snapshot helps
/// only a prompt that starts with exactly its tokens; a new sequence starts from the longest one.
struct PrefixCache {
    struct Entry {
        let tokens: [Int]
        let state: SequenceState
        /// Next-token logits after `tokens`, when known.
        let logits: [Float]?
    }

    let capacity: Int
    private(set) var entries: [Entry] = []   // most recently used last

    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// The entry with the longest token list that `prompt` starts with (an entry equal to the whole
    /// prompt only if it has logits), marked as recently used.
    mutating func longestPrefix(of prompt: [Int]) -> Entry? {
        var best: Int?
        for (i, entry) in entries.enumerated() {
            let usable = entry.tokens.count < prompt.count || (entry.tokens.count == prompt.count && entry.logits != nil)
            guard usable, entry.tokens.count > (best.map { entries[$0].tokens.count } ?? 0),
                  prompt.starts(with: entry.tokens) else { continue }
            best = i
        }
        guard let best else { return nil }
        let entry = entries.remove(at: best)
        entries.append(entry)
        return entry
    }

    /// Stores a snapshot (replacing one with the same tokens), evicting the least recently used.
    mutating func insert(tokens: [Int], state: SequenceState, logits: [Float]?) {
        guard capacity > 0, !tokens.isEmpty else { return }
        entries.removeAll { $0.tokens == tokens }
        entries.append(Entry(tokens: tokens, state: state, logits: logits))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }
}
