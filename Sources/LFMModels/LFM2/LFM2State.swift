/// Errors raised while running a model.
public enum InferenceError: Error, CustomStringConvertible, Equatable {
    case contextLengthExceeded(requested: Int, limit: Int)
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    case emptyInput
    case stateMismatch(detail: String)

    public var description: String {
        switch self {
        case .contextLengthExceeded(let requested, let limit):
            return "context length exceeded: \(requested) tokens requested, the limit is \(limit)"
        case .tokenOutOfRange(let token, let vocabularySize):
            return "token id \(token) is outside the vocabulary (0..<\(vocabularySize))"
        case .emptyInput: return "no tokens to process"
        case .stateMismatch(let detail): return "state does not belong to this model: \(detail)"
        }
    }
}

/// Everything one sequence carries between forward calls: a KV cache for each attention layer
/// and `kernel - 1` rows of convolution state for each conv layer.
///
/// A value type: `let snapshot = state` takes a snapshot (copy-on-write), and assigning it back
/// restores it. The conv state cannot be rewound, so snapshots are how a caller backs up.
public struct LFM2State: Sendable, Equatable {
    /// Number of positions processed so far.
    public internal(set) var position: Int = 0
    /// Largest number of positions this state may hold.
    public let maxContext: Int
    /// Keys per attention layer (indexed by layer; empty for conv layers), one row of
    /// `keyValueDim` per position.
    var keys: [[Float]]
    /// Values per attention layer, laid out like `keys`.
    var values: [[Float]]
    /// Conv state per conv layer (indexed by layer; empty for attention layers): `kernel - 1` rows of `H`.
    var conv: [[Float]]
    /// Row width of `keys`/`values`.
    let keyValueDim: Int
    /// Which layers keep a KV cache.
    let isAttention: [Bool]

    init(configuration c: LFM2Configuration, maxContext: Int) {
        self.maxContext = maxContext
        keyValueDim = c.keyValueDim
        isAttention = c.layerKinds.map { $0 == .attention }
        keys = c.layerKinds.map { _ in [] }
        values = c.layerKinds.map { _ in [] }
        conv = c.layerKinds.map { $0 == .conv ? [Float](repeating: 0, count: (c.convKernel - 1) * c.hiddenSize) : [] }
    }

    /// Grows the KV storage of every attention layer to hold `positions` rows (geometric growth).
    mutating func reserve(positions: Int) {
        for l in keys.indices where isAttention[l] {
            let needed = positions * keyValueDim
            if keys[l].count < needed {
                let grown = min(max(needed, keys[l].count * 2, 64 * keyValueDim), maxContext * keyValueDim)
                keys[l].append(contentsOf: repeatElement(0, count: grown - keys[l].count))
                values[l].append(contentsOf: repeatElement(0, count: grown - values[l].count))
            }
        }
    }

    /// Bytes held by the caches.
    public var byteCount: Int {
        (keys.reduce(0) { $0 + $1.count } + values.reduce(0) { $0 + $1.count } + conv.reduce(0) { $0 + $1.count }) * 4
    }

    /// Equality of the meaningful contents (positions processed, caches up to `position`).
    public static func == (a: LFM2State, b: LFM2State) -> Bool {
        guard a.position == b.position, a.conv == b.conv, a.keys.count == b.keys.count else { return false }
        let n = a.position * a.keyValueDim
        for l in a.keys.indices where !a.keys[l].isEmpty || !b.keys[l].isEmpty {
            guard a.keys[l].count >= n, b.keys[l].count >= n,
                  a.keys[l][0..<n] == b.keys[l][0..<n], a.values[l][0..<n] == b.values[l][0..<n] else { return false }
        }
        return true
    }
}
