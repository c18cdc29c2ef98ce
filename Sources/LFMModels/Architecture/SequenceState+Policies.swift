// Bounded KV cache policies applied to a `SequenceState` (see `KVCachePolicy`).
//
// Everything here that reads or rewrites cache rows goes through three storage primitives at the
// top — `keyRow(layer:row:)`, `keepRows(layer:indices:)` and `rotateKeys(layer:rows:by:…)` — so a
// change of the key/value storage type only has to re-point those.
import Foundation
import LFMKernels

/// The bookkeeping of a bounded cache policy inside a `SequenceState`.
struct CachePolicyState: Sendable, Equatable {
    /// Positions taken out of RoPE numbering by streaming evictions: a new token's RoPE position
    /// is `position − shift` (= the rows the full-attention layers keep).
    var shift = 0
    /// Prune: per full-attention layer, the RoPE'd queries (`heads · headDim` each) of its last
    /// positions, oldest first: at least the observation window, at most twice it.
    var observations: [Int: [Float]] = [:]

    /// Bytes held (allocated).
    var byteCount: Int { observations.values.reduce(0) { $0 + $1.capacity } * MemoryLayout<Float>.size }
}

/// What the cache policies need to know about one attention layer.
struct AttentionGeometry: Sendable {
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    /// Sliding window (0: full attention, the layers a policy bounds).
    let window: Int
    let scale: Float
    let inverseFrequencies: [Float]

    init(_ a: AttentionBlock) {
        heads = a.heads; kvHeads = a.kvHeads; headDim = a.headDim; window = a.window; scale = a.scale
        inverseFrequencies = a.inverseFrequencies
    }
}

// MARK: Storage primitives

extension SequenceState {
    /// Row `row` of layer `l`'s keys (as stored: RoPE applied), widened to `width` F32 values.
    func keyRow(layer l: Int, row: Int) -> [Float] {
        guard case .keyValue(let width, _) = shapes[l] else { return [] }
        let rowBytes = keyValueRowBytes(l)
        var out = [Float](repeating: 0, count: width)
        keyRows[l].withUnsafeBytes { bytes in
            out.withUnsafeMutableBufferPointer { target in
                // The row was written by this state in its own type, so it always widens.
                try? kvType.storage.dequantizeRow(UnsafeRawBufferPointer(rebasing: bytes[(row * rowBytes)..<((row + 1) * rowBytes)]),
                                                  into: target)
            }
        }
        return out
    }

    /// Keeps only rows `indices` (ascending, each below `held`, the rows layer `l` holds: by
    /// default `keptRows(l)`) of its keys and values, moved to the front in that order; the
    /// storage keeps its capacity.
    mutating func keepRows(layer l: Int, indices: [Int], of held: Int? = nil) {
        guard case .keyValue = shapes[l] else { return }
        let kept = held ?? keptRows(l)
        for (target, source) in indices.enumerated() where target != source {
            moveKeyValueRows(layer: l, from: source, to: target, count: 1)
        }
        firstKept[l] += kept - indices.count
    }

    /// Rotates rows `rows` of layer `l`'s keys by `delta` positions (NeoX half-split pairs, angle
    /// `delta · inverseFrequencies[j]` in double precision): RoPE rotations compose, so a key
    /// rotated at position p becomes the key rotated at p + delta. Zero frequencies stay unrotated.
    /// Keys stored in a narrower type are widened, rotated and stored again with the same rounding
    /// the forward pass uses (as llama.cpp shifts a quantized cache).
    mutating func rotateKeys(layer l: Int, rows: Range<Int>, by delta: Int, inverseFrequencies: [Float], headDim: Int) {
        guard case .keyValue(let width, _) = shapes[l], delta != 0, !rows.isEmpty else { return }
        let half = headDim / 2
        let angles = inverseFrequencies.prefix(half).map { Double(delta) * Double($0) }
        let cosines = angles.map { Float(cos($0)) }, sines = angles.map { Float(sin($0)) }
        let rowBytes = keyValueRowBytes(l), storage = kvType.storage
        var key = [Float](repeating: 0, count: width)
        keyRows[l].withUnsafeMutableBytes { bytes in
            key.withUnsafeMutableBufferPointer { k in
                for row in rows {
                    let stored = UnsafeMutableRawBufferPointer(rebasing: bytes[(row * rowBytes)..<((row + 1) * rowBytes)])
                    try? storage.dequantizeRow(UnsafeRawBufferPointer(stored), into: k)
                    var head = k.baseAddress!
                    for _ in 0..<(width / headDim) {
                        for j in 0..<half {
                            let a = head[j], b = head[j + half]
                            head[j] = a * cosines[j] - b * sines[j]
                            head[j + half] = b * cosines[j] + a * sines[j]
                        }
                        head += headDim
                    }
                    try? storage.quantizeRow(UnsafeBufferPointer(k), into: stored)
                }
            }
        }
    }
}

// MARK: Policies

extension SequenceState {
    /// The RoPE position the next token takes: its position in the text, less the positions a
    /// streaming policy took out (then: the rows the full-attention layers keep).
    public var ropePosition: Int { position - policyState.shift }

    /// Largest number of positions any attention layer without a window keeps now.
    public var cachedPositions: Int {
        shapes.indices.reduce(0) { best, l in
            guard case .keyValue(_, let window) = shapes[l], window == 0 else { return best }
            return max(best, keptRows(l))
        }
    }

    /// Whether a bounded policy evicted rows of a full-attention layer (the cache then no longer
    /// holds every position it processed).
    public var hasEvicted: Bool {
        shapes.indices.contains { l in
            guard case .keyValue(_, let window) = shapes[l], window == 0 else { return false }
            return firstKept[l] > 0
        }
    }

    /// Positions this state can still take: unlimited under a bounded policy, else up to `maxContext`.
    public var room: Int { cachePolicy.isBounded ? .max : maxContext - position }

    /// The largest number of rows a full-attention layer holds while `pieces` (forward pieces, in
    /// order) are appended under the policy; with `.full`, the positions at the end.
    func peakRows(adding pieces: [Int]) -> Int {
        guard cachePolicy.isBounded else { return position + pieces.reduce(0, +) }
        var rows = cachedPositions, peak = rows
        for n in pieces {
            rows = cachePolicy.rowsBeforeAppending(kept: rows, adding: n) + n
            peak = max(peak, rows)
            rows = cachePolicy.rowsAfterPiece(rows, added: n)
        }
        return peak
    }

    /// Streaming: before `count` new positions, evicts the full-attention layers' oldest rows
    /// after the sinks when the policy says so, re-rotates their later kept keys by −dropped and
    /// every windowed layer's kept keys by the same amount, and shifts RoPE numbering with them.
    mutating func evictForStreaming(adding count: Int, layers: [AttentionGeometry?]) {
        guard case .streaming(let sinks, _) = cachePolicy else { return }
        let kept = cachedPositions
        let target = cachePolicy.rowsBeforeAppending(kept: kept, adding: count)
        let drop = kept - target
        guard drop > 0 else { return }
        for (l, geometry) in layers.enumerated() {
            guard let g = geometry else { continue }
            if g.window == 0 {
                keepRows(layer: l, indices: Array(0..<sinks) + Array((sinks + drop)..<kept))
                rotateKeys(layer: l, rows: sinks..<target, by: -drop, inverseFrequencies: g.inverseFrequencies, headDim: g.headDim)
            } else {
                rotateKeys(layer: l, rows: 0..<keptRows(l), by: -drop, inverseFrequencies: g.inverseFrequencies, headDim: g.headDim)
            }
        }
        policyState.shift += drop
    }

    /// Prune: records the RoPE'd queries of the `rows` positions layer `l` just appended (the
    /// observation window), then, when the policy says so, keeps the SnapKV selection of rows.
    mutating func observeAndPrune(layer l: Int, queries: UnsafePointer<Float>, rows n: Int, geometry g: AttentionGeometry) {
        guard case .prune(_, let observation, _) = cachePolicy, g.window == 0 else { return }
        let qDim = g.heads * g.headDim
        let recorded = min(n, observation)
        // In place (no copy of the window per step); trimmed to `observation` rows once it holds twice that.
        policyState.observations[l, default: []]
            .append(contentsOf: UnsafeBufferPointer(start: queries + (n - recorded) * qDim, count: recorded * qDim))
        let recordedValues = policyState.observations[l, default: []].count
        if recordedValues > 2 * observation * qDim { policyState.observations[l, default: []].removeFirst(recordedValues - observation * qDim) }
        // `position` advances after the whole forward pass: the rows held include the n just appended.
        let held = keptRows(l) + n
        guard cachePolicy.rowsAfterPiece(held, added: n) < held else { return }
        keepRows(layer: l, indices: pruneSelection(layer: l, rows: held, geometry: g), of: held)
    }

    /// Which of the `rows` rows layer `l` holds the prune policy keeps (SnapKV, see `SnapKV.select`).
    func pruneSelection(layer l: Int, rows: Int, geometry g: AttentionGeometry) -> [Int] {
        guard case .prune(let budget, let observation, let kernel) = cachePolicy else { return Array(0..<rows) }
        let qDim = g.heads * g.headDim
        let stored = policyState.observations[l] ?? []
        let w = min(observation, stored.count / qDim, rows)
        let queries = Array(stored.suffix(w * qDim))
        let rowKeys = (0..<rows).map { keyRow(layer: l, row: $0) }
        return SnapKV.select(queries: queries, keys: rowKeys, budget: budget, kernel: kernel, heads: g.heads,
                             kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale)
    }
}

/// SnapKV's selection of cache rows (Li et al., 2024; `snapkv_utils.py` `update_kv`), with one
/// selection for all heads of a layer.
enum SnapKV {
    /// The rows to keep, ascending: the last `w` rows (the observation window, whose queries are
    /// `queries`: `w × heads · headDim` values, query `i` at row `keys.count − w + i`) and the top
    /// `budget − w` earlier rows by score. A row's score is the softmax attention the window's
    /// queries give it (each query over the rows up to its own, `scale`d dot products), summed over
    /// queries and heads (query head `h` reads key head `h / (heads / kvHeads)`), then averaged over
    /// `kernel` neighbours with zero padding (`avg_pool1d`, `padding = kernel / 2`). Ties go to the
    /// earlier row. Fewer rows than `budget`: all of them.
    static func select(queries: [Float], keys: [[Float]], budget: Int, kernel: Int, heads: Int, kvHeads: Int,
                       headDim: Int, scale: Float) -> [Int] {
        let rows = keys.count
        guard rows > budget else { return Array(0..<rows) }
        let w = min(queries.count / (heads * headDim), budget)
        let prefix = rows - w
        let group = max(1, heads / max(1, kvHeads))
        var scores = [Double](repeating: 0, count: prefix)
        var logits = [Double](repeating: 0, count: rows)
        for i in 0..<w {
            let visible = prefix + i + 1
            for h in 0..<heads {
                let q = (i * heads + h) * headDim, k = (h / group) * headDim
                var maximum = -Double.infinity
                for t in 0..<visible {
                    var dot = 0.0
                    for d in 0..<headDim { dot += Double(queries[q + d]) * Double(keys[t][k + d]) }
                    logits[t] = dot * Double(scale)
                    maximum = max(maximum, logits[t])
                }
                var total = 0.0
                for t in 0..<visible { logits[t] = exp(logits[t] - maximum); total += logits[t] }
                for t in 0..<prefix { scores[t] += logits[t] / total }
            }
        }
        let radius = kernel / 2
        let pooled = (0..<prefix).map { j in
            (max(0, j - radius)...min(prefix - 1, j + radius)).reduce(0.0) { $0 + scores[$1] } / Double(kernel)
        }
        let chosen = (0..<prefix).sorted { pooled[$0] != pooled[$1] ? pooled[$0] > pooled[$1] : $0 < $1 }
            .prefix(budget - w).sorted()
        return chosen + Array(prefix..<rows)
    }
}

extension LanguageModel {
    /// A fresh state for one sequence of at most `maxContext` positions in the cache (nil: the
    /// model's limit), its full-attention caches bounded by `policy`.
    public func makeState(maxContext: Int?, policy: KVCachePolicy) -> SequenceState {
        var state = makeState(maxContext: maxContext)
        state.cachePolicy = policy
        return state
    }

    /// A fresh state storing keys and values as `kvType` whose full-attention caches follow
    /// `policy`. Throws `KVCacheError` when the model's heads cannot be stored in that type.
    public func makeState(maxContext: Int?, kvType: KVCacheType, policy: KVCachePolicy) throws -> SequenceState {
        var state = try makeState(maxContext: maxContext, kvType: kvType)
        state.cachePolicy = policy
        return state
    }
}
