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

/// What one layer keeps between forward calls.
public enum LayerCacheShape: Sendable, Equatable {
    /// Nothing (a layer without memory across positions).
    case none
    /// `rows` past rows of `channels` values (a causal convolution of kernel `rows + 1`).
    case convolution(rows: Int, channels: Int)
    /// One key row and one value row of `width` values per position; with `window > 0` only the
    /// last `window - 1` positions are kept between calls (sliding-window attention).
    case keyValue(width: Int, window: Int)
}

/// Everything one sequence carries between forward calls, for any architecture: per layer a
/// KV cache (full or sliding-window), a convolution state, or nothing.
///
/// A value type: `let snapshot = state` takes a snapshot (copy-on-write), and assigning it back
/// restores it. Convolution states cannot be rewound, so snapshots are how a caller backs up.
public struct SequenceState: Sendable, Equatable {
    /// Number of positions processed so far.
    public internal(set) var position: Int = 0
    /// Largest number of positions this state may hold.
    public let maxContext: Int
    /// Per-layer cache shapes (what the model asked for).
    public let shapes: [LayerCacheShape]
    /// Keys per layer: one row of the layer's width per kept position (empty for other layers).
    var keys: [[Float]]
    /// Values per layer, laid out like `keys`.
    var values: [[Float]]
    /// Absolute position of row 0 of `keys[l]`/`values[l]` (0 unless a window dropped rows).
    var firstKept: [Int]
    /// Convolution state per layer: `rows × channels` values, oldest row first (empty for other layers).
    var conv: [[Float]]
    /// How the full-attention layers' caches are bounded (see `KVCachePolicy`; set by
    /// `makeState(maxContext:policy:)`). With a bounded policy `firstKept[l]` counts the rows
    /// evicted so far, wherever they were.
    public internal(set) var cachePolicy: KVCachePolicy = .full
    /// That policy's bookkeeping (SequenceState+Policies.swift).
    var policyState = CachePolicyState()

    /// A fresh state for `shapes` holding at most `maxContext` positions.
    public init(shapes: [LayerCacheShape], maxContext: Int) {
        self.maxContext = maxContext
        self.shapes = shapes
        keys = shapes.map { _ in [] }
        values = shapes.map { _ in [] }
        firstKept = shapes.map { _ in 0 }
        conv = shapes.map {
            if case .convolution(let rows, let channels) = $0 { return [Float](repeating: 0, count: rows * channels) }
            return []
        }
    }

    /// Positions whose keys/values layer `l` holds now.
    func keptRows(_ l: Int) -> Int { position - firstKept[l] }

    /// Makes room in layer `l` for `count` new positions and returns the row where the first goes.
    ///
    /// Full layers keep every position (storage grows geometrically up to `maxContext`). Windowed
    /// layers drop rows older than `window - 1` positions before the new ones once the kept rows
    /// reach twice the window, so their storage stays below `2 · window + count` rows.
    mutating func prepareKeyValues(layer l: Int, adding count: Int) -> Int {
        guard case .keyValue(let width, let window) = shapes[l] else { return 0 }
        var kept = keptRows(l)
        if window > 0, kept > window - 1, kept + count > 2 * window {
            let drop = kept - (window - 1)
            let keepValues = (window - 1) * width
            keys[l].withUnsafeMutableBufferPointer { k in
                if keepValues > 0 { k.baseAddress!.update(from: k.baseAddress! + drop * width, count: keepValues) }
            }
            values[l].withUnsafeMutableBufferPointer { v in
                if keepValues > 0 { v.baseAddress!.update(from: v.baseAddress! + drop * width, count: keepValues) }
            }
            firstKept[l] += drop
            kept = window - 1
        }
        let needed = (kept + count) * width
        if keys[l].count < needed {
            let limit = (window > 0 ? 2 * window + count : maxContext) * width
            let grown = min(max(needed, keys[l].count * 2, 64 * width), max(limit, needed))
            keys[l].append(contentsOf: repeatElement(0, count: grown - keys[l].count))
            values[l].append(contentsOf: repeatElement(0, count: grown - values[l].count))
        }
        return kept
    }

    /// Bytes held by the caches.
    public var byteCount: Int {
        (keys.reduce(0) { $0 + $1.count } + values.reduce(0) { $0 + $1.count } + conv.reduce(0) { $0 + $1.count }) * 4
            + policyState.byteCount
    }

    /// Equality of the meaningful contents: positions processed, convolution states, and the keys
    /// and values a next query could see (every kept position; for windowed layers the last
    /// `window - 1`).
    public static func == (a: SequenceState, b: SequenceState) -> Bool {
        guard a.position == b.position, a.shapes == b.shapes, a.conv == b.conv,
              a.cachePolicy == b.cachePolicy, a.policyState == b.policyState else { return false }
        for l in a.shapes.indices {
            guard case .keyValue(let width, let window) = a.shapes[l] else { continue }
            if window == 0, a.keptRows(l) != b.keptRows(l) { return false }
            let visible = window > 0 ? min(a.position, window - 1) : a.keptRows(l)
            let ra = a.keptRows(l) - visible, rb = b.keptRows(l) - visible
            guard ra >= 0, rb >= 0 else { return false }
            if visible == 0 { continue }
            guard a.keys[l][(ra * width)..<((ra + visible) * width)] == b.keys[l][(rb * width)..<((rb + visible) * width)],
                  a.values[l][(ra * width)..<((ra + visible) * width)] == b.values[l][(rb * width)..<((rb + visible) * width)]
            else { return false }
        }
        return true
    }
}
