import Foundation
import LFMKernels

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
    /// `channels` values carried from one position to the next (a diagonal linear recurrence's
    /// hidden state; zero before the first position).
    case recurrent(channels: Int)

    /// Bytes one sequence keeps for this layer after `context` positions (F32 values).
    public func bytes(context: Int) -> Int {
        switch self {
        case .none: return 0
        case .convolution(let rows, let channels): return rows * channels * 4
        case .keyValue(let width, let window): return 2 * width * 4 * (window > 0 ? min(context, window) : context)
        case .recurrent(let channels): return channels * 4
        }
    }
}

/// Everything one sequence carries between forward calls, for any architecture: per layer a
/// KV cache (full or sliding-window), a convolution state, a recurrent state, or nothing.
///
/// Keys and values are stored as `kvType` rows (see `KVCacheType`): row `r` of layer `l` is
/// `keyValueRowBytes(l)` bytes at byte `r · keyValueRowBytes(l)` of its storage and holds position
/// `firstKept[l] + r`.
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
    /// How keys and values are stored.
    public let kvType: KVCacheType
    /// Stored keys per layer: one row of `keyValueRowBytes(l)` bytes per kept position, then
    /// unused capacity (empty for other layers).
    var keyRows: [[UInt8]]
    /// Stored values per layer, laid out like `keyRows`.
    var valueRows: [[UInt8]]
    /// Absolute position of row 0 of `keyRows[l]`/`valueRows[l]` (0 unless a window dropped rows).
    var firstKept: [Int]
    /// Fixed-size F32 state per layer: a convolution's `rows × channels` values, oldest row first,
    /// or a recurrence's `channels` values (empty for other layers). KV policies never touch it.
    var conv: [[Float]]
    /// How the full-attention layers' caches are bounded (see `KVCachePolicy`; set by
    /// `makeState(maxContext:policy:)`). With a bounded policy `firstKept[l]` counts the rows
    /// evicted so far, wherever they were.
    public internal(set) var cachePolicy: KVCachePolicy = .full
    /// That policy's bookkeeping (SequenceState+Policies.swift).
    var policyState = CachePolicyState()

    /// A fresh state for `shapes` holding at most `maxContext` positions, keys and values in F32.
    public init(shapes: [LayerCacheShape], maxContext: Int) {
        self.init(validShapes: shapes, maxContext: maxContext, kvType: .f32)
    }

    /// A fresh state whose keys and values are stored as `kvType`.
    ///
    /// Throws `KVCacheError.widthNotBlockMultiple` when a layer's rows are not a whole number of
    /// the type's blocks. (A model's `makeState(maxContext:kvType:)` also checks each head.)
    public init(shapes: [LayerCacheShape], maxContext: Int, kvType: KVCacheType) throws {
        for (l, shape) in shapes.enumerated() {
            if case .keyValue(let width, _) = shape, width % kvType.blockSize != 0 {
                throw KVCacheError.widthNotBlockMultiple(type: kvType, width: width, layer: l)
            }
        }
        self.init(validShapes: shapes, maxContext: maxContext, kvType: kvType)
    }

    private init(validShapes shapes: [LayerCacheShape], maxContext: Int, kvType: KVCacheType) {
        self.maxContext = maxContext
        self.shapes = shapes
        self.kvType = kvType
        keyRows = shapes.map { _ in [] }
        valueRows = shapes.map { _ in [] }
        firstKept = shapes.map { _ in 0 }
        conv = shapes.map {
            switch $0 {
            case .convolution(let rows, let channels): return [Float](repeating: 0, count: rows * channels)
            case .recurrent(let channels): return [Float](repeating: 0, count: channels)
            case .none, .keyValue: return []
            }
        }
    }

    /// Gives this value its own storage now. A copy (snapshot) shares its storage with the
    /// original until the first write, which then copies; call this to pay for that copy at a
    /// chosen time (e.g. outside a timed region).
    public mutating func detach() {
        for l in shapes.indices {
            keyRows[l].withUnsafeMutableBytes { _ in }
            valueRows[l].withUnsafeMutableBytes { _ in }
            conv[l].withUnsafeMutableBytes { _ in }
        }
    }

    /// Largest capacity reserved up front for one layer's keys (or values); beyond it storage
    /// grows by reallocation.
    static let maxReservedBytes = 1 << 30

    /// Positions whose keys/values layer `l` holds now.
    func keptRows(_ l: Int) -> Int { position - firstKept[l] }

    /// Bytes of one stored key (or value) row of layer `l`; 0 for layers without a KV cache.
    func keyValueRowBytes(_ l: Int) -> Int {
        guard case .keyValue(let width, _) = shapes[l] else { return 0 }
        return kvType.rowBytes(width: width)
    }

    /// Moves `count` stored rows of layer `l` (keys and values) from row `source` to row
    /// `destination`; the ranges may overlap. Both must lie within the allocated rows.
    mutating func moveKeyValueRows(layer l: Int, from source: Int, to destination: Int, count: Int) {
        let rowBytes = keyValueRowBytes(l)
        guard count > 0, rowBytes > 0, source != destination else { return }
        func move(_ bytes: UnsafeMutableRawBufferPointer) {
            guard let base = bytes.baseAddress else { return }
            memmove(base + destination * rowBytes, base + source * rowBytes, count * rowBytes)
        }
        keyRows[l].withUnsafeMutableBytes(move)
        valueRows[l].withUnsafeMutableBytes(move)
    }

    /// Runs `body` with the start of layer `l`'s key and value storage (rows of `keyValueRowBytes(l)`).
    mutating func withKeyValueStorage<R>(layer l: Int,
                                         _ body: (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> R) -> R {
        keyRows[l].withUnsafeMutableBytes { k in
            valueRows[l].withUnsafeMutableBytes { v in body(k.baseAddress!, v.baseAddress!) }
        }
    }

    /// Makes room in layer `l` for `count` new positions and returns the row where the first goes.
    ///
    /// Full layers keep every position (storage grows geometrically up to `maxContext`). Windowed
    /// layers drop rows older than `window - 1` positions before the new ones once the kept rows
    /// reach twice the window, so their storage stays below `2 · window + count` rows.
    ///
    /// The first growth reserves capacity for that whole bound (at most `maxReservedBytes` per
    /// array): address space only, as pages are touched when rows are zero-filled, so later
    /// growth neither copies the rows nor holds the old and the new storage at once (which made
    /// a long prefill's peak memory twice its KV cache).
    mutating func prepareKeyValues(layer l: Int, adding count: Int) -> Int {
        guard case .keyValue(_, let window) = shapes[l] else { return 0 }
        let rowBytes = keyValueRowBytes(l)
        var kept = keptRows(l)
        if window > 0, kept > window - 1, kept + count > 2 * window {
            let drop = kept - (window - 1)
            moveKeyValueRows(layer: l, from: drop, to: 0, count: window - 1)
            firstKept[l] += drop
            kept = window - 1
        }
        let needed = (kept + count) * rowBytes
        if keyRows[l].count < needed {
            let limit = (window > 0 ? 2 * window + count : maxContext) * rowBytes
            if keyRows[l].capacity == 0 {
                let reserve = min(max(limit, needed), Self.maxReservedBytes)
                keyRows[l].reserveCapacity(reserve)
                valueRows[l].reserveCapacity(reserve)
            }
            let grown = min(max(needed, keyRows[l].count * 2, 64 * rowBytes), max(limit, needed))
            keyRows[l].append(contentsOf: repeatElement(0, count: grown - keyRows[l].count))
            valueRows[l].append(contentsOf: repeatElement(0, count: grown - valueRows[l].count))
        }
        return kept
    }

    /// Keys per layer widened to F32, every allocated row (for inspection and tests; the forward
    /// pass reads the stored rows). Setting stores the given rows in the state's type.
    var keys: [[Float]] {
        get { keyRows.indices.map { widened(keyRows, $0) } }
        set { keyRows = newValue.indices.map { stored(newValue[$0], $0) } }
    }
    /// Values per layer widened to F32, laid out like `keys`.
    var values: [[Float]] {
        get { valueRows.indices.map { widened(valueRows, $0) } }
        set { valueRows = newValue.indices.map { stored(newValue[$0], $0) } }
    }

    /// `rows` (whole rows of layer `l`'s width) in the state's type.
    private func stored(_ rows: [Float], _ l: Int) -> [UInt8] {
        guard case .keyValue(let width, _) = shapes[l], width > 0 else { return [] }
        let rowBytes = keyValueRowBytes(l), count = rows.count / width
        var out = [UInt8](repeating: 0, count: count * rowBytes)
        rows.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBytes { target in
                for r in 0..<count {
                    try? kvType.storage.quantizeRow(UnsafeBufferPointer(rebasing: source[(r * width)..<((r + 1) * width)]),
                                                    into: UnsafeMutableRawBufferPointer(rebasing: target[(r * rowBytes)..<((r + 1) * rowBytes)]))
                }
            }
        }
        return out
    }

    private func widened(_ storage: [[UInt8]], _ l: Int) -> [Float] {
        guard case .keyValue(let width, _) = shapes[l], width > 0 else { return [] }
        let rowBytes = keyValueRowBytes(l), rows = storage[l].count / rowBytes
        var out = [Float](repeating: 0, count: rows * width)
        storage[l].withUnsafeBytes { bytes in
            out.withUnsafeMutableBufferPointer { target in
                for r in 0..<rows {
                    let row = UnsafeRawBufferPointer(rebasing: bytes[(r * rowBytes)..<((r + 1) * rowBytes)])
                    try? kvType.storage.dequantizeRow(row, into: UnsafeMutableBufferPointer(rebasing: target[(r * width)..<((r + 1) * width)]))
                }
            }
        }
        return out
    }

    /// Bytes held by the caches (KV storage in its stored type, allocated rows included, plus
    /// the F32 convolution and recurrent states).
    public var byteCount: Int {
        keyRows.reduce(0) { $0 + $1.count } + valueRows.reduce(0) { $0 + $1.count } + conv.reduce(0) { $0 + $1.count } * 4
            + policyState.byteCount
    }

    /// Equality of the meaningful contents: positions processed, KV type, convolution and recurrent states, and
    /// the stored bytes of the keys and values a next query could see (every kept position; for
    /// windowed layers the last `window - 1`).
    public static func == (a: SequenceState, b: SequenceState) -> Bool {
        guard a.position == b.position, a.shapes == b.shapes, a.kvType == b.kvType, a.conv == b.conv,
              a.cachePolicy == b.cachePolicy, a.policyState == b.policyState else { return false }
        for l in a.shapes.indices {
            guard case .keyValue(_, let window) = a.shapes[l] else { continue }
            let rowBytes = a.keyValueRowBytes(l)
            if window == 0, a.keptRows(l) != b.keptRows(l) { return false }
            let visible = window > 0 ? min(a.position, window - 1) : a.keptRows(l)
            let ra = a.keptRows(l) - visible, rb = b.keptRows(l) - visible
            guard ra >= 0, rb >= 0 else { return false }
            if visible == 0 { continue }
            let sa = (ra * rowBytes)..<((ra + visible) * rowBytes), sb = (rb * rowBytes)..<((rb + visible) * rowBytes)
            guard a.keyRows[l][sa] == b.keyRows[l][sb], a.valueRows[l][sa] == b.valueRows[l][sb] else { return false }
        }
        return true
    }
}
