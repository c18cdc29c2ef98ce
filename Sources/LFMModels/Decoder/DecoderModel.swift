// The one decoder forward pass, written top to bottom. Every supported family is a `DecoderWeights`
// value: the blocks say what runs (short convolution or attention; dense or sparse feed-forward;
// optional q/k norms, output gate, biases, sandwich norms, sliding window, RoPE table).
// Mirrors transformers v5.24.0 (`modeling_lfm2.py`, `modeling_lfm2_moe.py`, `modeling_lfm3.py`,
// `modeling_qwen3.py`, `modeling_llama.py`); conv-state handling follows llama.cpp's
// `build_shortconv_block` (one code path for prefill chunks and decode).
import Foundation
import LFMCore
import LFMKernels

/// Which logits a forward call returns.
public enum LogitsSelection: Sendable {
    /// Only the last position's (prefill before sampling, decode).
    case last
    /// Every position's.
    case all
    /// None (prefill of a prefix whose logits nobody reads).
    case none
}

/// A decoder-only language model bound to a compute backend.
public final class DecoderModel: LanguageModel, @unchecked Sendable {
    // @unchecked: every stored property is immutable; `workspaces` is guarded by its own lock.

    /// Hyper-parameters as the model's family reads them.
    public let configuration: any ModelConfiguration
    /// Weights, as blocks.
    public let weights: DecoderWeights
    /// Kernels the forward pass runs on.
    public let backend: ComputeBackend
    private let cacheShapes: [LayerCacheShape]
    /// Per layer, the attention geometry cache policies work with (nil: not attention).
    private let attentionGeometry: [AttentionGeometry?]
    private let sizes: WorkspaceSizes
    private let workspaces = WorkspacePool()

    /// Binds `weights` (described by `configuration`) to `backend`.
    public init(configuration: any ModelConfiguration, weights: DecoderWeights, backend: ComputeBackend) {
        self.configuration = configuration
        self.weights = weights
        self.backend = backend
        cacheShapes = weights.layers.map(\.cacheShape)
        attentionGeometry = weights.layers.map {
            if case .attention(let a) = $0.mixer { return AttentionGeometry(a) }
            return nil
        }
        sizes = WorkspaceSizes(weights)
    }

    /// The same model on other kernels.
    public func rebound(to backend: ComputeBackend) -> DecoderModel {
        DecoderModel(configuration: configuration, weights: weights, backend: backend)
    }

    public var weightBytesPerToken: Int { weights.bytesPerToken }

    public func makeState(maxContext: Int? = nil) -> SequenceState {
        SequenceState(shapes: cacheShapes, maxContext: maxContext ?? configuration.maxPositionEmbeddings)
    }

    public func makeState(maxContext: Int? = nil, kvType: KVCacheType) throws -> SequenceState {
        try checkHeads(kvType)
        return try SequenceState(shapes: cacheShapes, maxContext: maxContext ?? configuration.maxPositionEmbeddings,
                                 kvType: kvType)
    }

    /// Throws `KVCacheError` when an attention layer's heads are not whole blocks of `kvType`.
    private func checkHeads(_ kvType: KVCacheType) throws {
        guard kvType.blockSize > 1 else { return }
        for (l, layer) in weights.layers.enumerated() {
            if case .attention(let a) = layer.mixer { try kvType.validate(headDim: a.headDim, layer: l) }
        }
    }

    public func forward(_ tokens: [Int], state: inout SequenceState, logits selection: LogitsSelection = .last,
                        chunkSize: Int = 512) throws -> [Float] {
        guard !tokens.isEmpty else { throw InferenceError.emptyInput }
        // A streaming cache takes pieces of at most its eviction chunk (see KVCachePolicy).
        let step = min(max(1, chunkSize), state.cachePolicy.largestPiece ?? .max)
        try check(tokens, state: state, pieces: step)
        var result: [Float] = []
        if selection == .all { result.reserveCapacity(tokens.count * weights.vocabularySize) }
        var start = 0
        while start < tokens.count {
            let chunk = Array(tokens[start..<min(start + step, tokens.count)])
            let isLastChunk = start + chunk.count == tokens.count
            let chunkSelection: LogitsSelection = selection == .all ? .all : (isLastChunk ? selection : .none)
            let logits = withUnsafeMutablePointer(to: &state) { pointer in
                forwardRows([chunk], states: UnsafeMutableBufferPointer(start: pointer, count: 1), selection: chunkSelection)
            }
            if selection == .all || isLastChunk { result += logits }
            start += chunk.count
        }
        return result
    }

    public func forward(batch tokens: [[Int]], states: inout [SequenceState]) throws -> [[Float]] {
        guard tokens.count == states.count else {
            throw InferenceError.stateMismatch(detail: "\(tokens.count) token lists for \(states.count) states")
        }
        guard !tokens.isEmpty else { return [] }
        for (i, sequence) in tokens.enumerated() {
            guard !sequence.isEmpty else { throw InferenceError.emptyInput }
            try check(sequence, state: states[i], pieces: sequence.count)
        }
        let logits = states.withUnsafeMutableBufferPointer { forwardRows(tokens, states: $0, selection: .last) }
        let v = weights.vocabularySize
        return (0..<tokens.count).map { Array(logits[($0 * v)..<(($0 + 1) * v)]) }
    }

    /// The experts each mixture-of-experts layer chooses for each of `tokens` (one pass from a
    /// fresh state), keyed by layer; for checking the router against a reference.
    func expertChoices(_ tokens: [Int]) throws -> [Int: [[Int]]] {
        var state = makeState()
        try check(tokens, state: state, pieces: tokens.count)
        var choices: [Int: [[Int]]] = [:]
        _ = withUnsafeMutablePointer(to: &state) { pointer in
            forwardRows([tokens], states: UnsafeMutableBufferPointer(start: pointer, count: 1), selection: .none) {
                choices[$0] = $1
            }
        }
        return choices
    }

    /// Validates tokens and state before anything is modified: the positions (under a bounded
    /// cache policy, the rows its caches hold at the peak, appending `pieces` at a time) must fit.
    private func check(_ tokens: [Int], state: SequenceState, pieces: Int) throws {
        guard state.shapes == cacheShapes else {
            throw InferenceError.stateMismatch(detail: "made for another configuration")
        }
        try checkHeads(state.kvType)
        let split = stride(from: 0, to: tokens.count, by: max(1, pieces)).map { min(pieces, tokens.count - $0) }
        let end = state.peakRows(adding: split)
        guard end <= state.maxContext else {
            throw InferenceError.contextLengthExceeded(requested: end, limit: state.maxContext)
        }
        let v = weights.vocabularySize
        for token in tokens where token < 0 || token >= v {
            throw InferenceError.tokenOutOfRange(token: token, vocabularySize: v)
        }
    }

    /// The forward pass over `segments` (one per sequence, rows laid out one after another);
    /// every buffer holds the total number of rows. `.last` selects each segment's last row.
    /// - Parameter onRoute: called with (layer, each row's chosen experts) by mixture-of-experts layers.
    private func forwardRows(_ segments: [[Int]], states: UnsafeMutableBufferPointer<SequenceState>,
                             selection: LogitsSelection, onRoute: ((Int, [[Int]]) -> Void)? = nil) -> [Float] {
        let h = weights.hiddenSize, eps = weights.normEpsilon
        var offsets: [Int] = []
        var t = 0
        for segment in segments { offsets.append(t); t += segment.count }
        let ws = workspaces.take(rows: t, sizes: sizes)
        defer { workspaces.give(ws) }
        let x = ws.x, normed = ws.normed, mixed = ws.mixed
        for (s, segment) in segments.enumerated() {
            states[s].evictForStreaming(adding: segment.count, layers: attentionGeometry)
        }

        // h⁰ = E[token] (no scaling)
        for (s, segment) in segments.enumerated() {
            for (i, token) in segment.enumerated() { weights.embedding.widenRow(token, into: x + (offsets[s] + i) * h) }
        }

        for (l, layer) in weights.layers.enumerated() {
            // a = inputNorm(h); m = mixer(a); h += postMixerNorm(m)
            rmsNorm(layer.inputNorm, x, rows: t, dim: h, eps: eps, out: normed)
            switch layer.mixer {
            case .conv(let conv):
                shortConvolution(conv, layer: l, segments: segments, offsets: offsets, states: states, ws: ws, rows: t)
            case .attention(let attention):
                attend(attention, layer: l, segments: segments, offsets: offsets, states: states, ws: ws, rows: t)
            case .recurrence(let recurrence):
                recur(recurrence, layer: l, segments: segments, offsets: offsets, states: states, ws: ws, rows: t)
            }
            if let norm = layer.postMixerNorm { rmsNorm(norm, mixed, rows: t, dim: h, eps: eps, out: mixed) }
            backend.add(x, mixed, out: x, count: t * h)

            // u = ffnNorm(h); h += postFFNNorm(ffn(u))
            rmsNorm(layer.ffnNorm, x, rows: t, dim: h, eps: eps, out: normed)
            switch layer.feedForward {
            case .dense(let ffn):
                swiGLU(ffn, input: normed, rows: t, ws: ws, out: mixed)
            case .experts(let moe):
                let choices = mixtureOfExperts(moe, rows: t, ws: ws)
                onRoute?(l, choices)
            }
            if let norm = layer.postFFNNorm { rmsNorm(norm, mixed, rows: t, dim: h, eps: eps, out: mixed) }
            backend.add(x, mixed, out: x, count: t * h)
        }
        for (s, segment) in segments.enumerated() { states[s].position += segment.count }

        // The final norm and the head, for the rows asked for.
        let rows: [Int]
        switch selection {
        case .none: return []
        case .last: rows = segments.indices.map { offsets[$0] + segments[$0].count - 1 }
        case .all: rows = Array(0..<t)
        }
        for (i, row) in rows.enumerated() where i != row {
            (x + i * h).update(from: x + row * h, count: h)
        }
        rmsNorm(weights.finalNorm, x, rows: rows.count, dim: h, eps: eps, out: normed)
        let v = weights.vocabularySize
        var logits = [Float](repeating: 0, count: rows.count * v)
        logits.withUnsafeMutableBufferPointer { out in
            backend.matmul(weights.outputHead, x: normed, xStride: h, m: rows.count, y: out.baseAddress!, yStride: v)
        }
        return logits
    }

    // MARK: Blocks

    /// `in_proj → B | C | X; v = B ⊙ X; u = causal depthwise conv over [state; v]; out_proj(C ⊙ u)`,
    /// from `ws.normed` into `ws.mixed`.
    private func shortConvolution(_ conv: ConvBlock, layer l: Int, segments: [[Int]], offsets: [Int],
                                  states: UnsafeMutableBufferPointer<SequenceState>, ws: Workspace, rows t: Int) {
        let h = weights.hiddenSize
        let wide = ws.wide, narrow = ws.narrow, mixed = ws.mixed
        backend.matmul(conv.inProj, x: ws.normed, xStride: h, m: t, y: wide, yStride: 3 * h)
        for i in 0..<t {
            let row = wide + i * 3 * h
            backend.mul(row, row + 2 * h, out: narrow + i * h, count: h)
        }
        conv.kernel.withUnsafeBufferPointer { w in
            for (s, segment) in segments.enumerated() {
                let first = offsets[s]
                states[s].conv[l].withUnsafeMutableBufferPointer { state in
                    backend.shortConv(x: narrow + first * h, xStride: h, rows: segment.count, channels: h,
                                      kernel: conv.kernelLength,
                                      state: state.baseAddress ?? UnsafeMutablePointer(mutating: w.baseAddress!),
                                      weight: w.baseAddress!, out: mixed + first * h, outStride: h)
                }
            }
        }
        for i in 0..<t {
            backend.mul(wide + i * 3 * h + h, mixed + i * h, out: narrow + i * h, count: h)
        }
        backend.matmul(conv.outProj, x: narrow, xStride: h, m: t, y: mixed, yStride: h)
    }

    /// The gated diagonal recurrence from `ws.normed` into `ws.mixed`: `in_proj` for every row,
    /// each sequence's scan from its state (`RecurrenceBlock.scan`), `out_proj`.
    private func recur(_ r: RecurrenceBlock, layer l: Int, segments: [[Int]], offsets: [Int],
                       states: UnsafeMutableBufferPointer<SequenceState>, ws: Workspace, rows t: Int) {
        let h = weights.hiddenSize, width = 2 * h + r.groups
        backend.matmul(r.inProj, x: ws.normed, xStride: h, m: t, y: ws.wide, yStride: width)
        for (s, segment) in segments.enumerated() {
            let first = offsets[s]
            states[s].conv[l].withUnsafeMutableBufferPointer { state in
                r.scan(projected: ws.wide + first * width, rows: segment.count, hidden: h,
                       state: state.baseAddress!, out: ws.narrow + first * h)
            }
        }
        backend.matmul(r.outProj, x: ws.narrow, xStride: h, m: t, y: ws.mixed, yStride: h)
    }

    /// Grouped-query attention from `ws.normed` into `ws.mixed`: projections (+ biases), per-head
    /// q/k norms, RoPE at each sequence's positions, the sequence's KV cache (full or windowed),
    /// the optional per-head output gate, the output projection.
    private func attend(_ a: AttentionBlock, layer l: Int, segments: [[Int]], offsets: [Int],
                        states: UnsafeMutableBufferPointer<SequenceState>, ws: Workspace, rows t: Int) {
        let h = weights.hiddenSize, eps = weights.normEpsilon
        let qDim = a.queryDim, kvDim = a.keyValueDim, d = a.headDim
        let q = ws.wide, k = ws.wide + t * qDim, v = ws.wide + t * (qDim + kvDim)
        backend.matmul([MatmulProduct(a.q, y: q, yStride: qDim),
                        MatmulProduct(a.k, y: k, yStride: kvDim),
                        MatmulProduct(a.v, y: v, yStride: kvDim)],
                       x: ws.normed, xStride: h, m: t)
        addBias(a.qBias, to: q, width: qDim, rows: t)
        addBias(a.kBias, to: k, width: kvDim, rows: t)
        addBias(a.vBias, to: v, width: kvDim, rows: t)
        // q/k norm: RMSNorm over each head's headDim values, before RoPE.
        if let qNorm = a.qNorm { rmsNorm(qNorm, q, rows: t * a.heads, dim: d, eps: eps, out: q) }
        if let kNorm = a.kNorm { rmsNorm(kNorm, k, rows: t * a.kvHeads, dim: d, eps: eps, out: k) }
        let attended = ws.narrow
        for (s, segment) in segments.enumerated() {
            let first = offsets[s], n = segment.count, p0 = states[s].ropePosition
            a.inverseFrequencies.withUnsafeBufferPointer { f in
                backend.ropeNeox(x: q + first * qDim, xStride: qDim, rows: n, heads: a.heads, headDim: d,
                                 startPosition: p0, inverseFrequencies: f.baseAddress!)
                backend.ropeNeox(x: k + first * kvDim, xStride: kvDim, rows: n, heads: a.kvHeads, headDim: d,
                                 startPosition: p0, inverseFrequencies: f.baseAddress!)
            }
            // Append to the cache, then attend over what it keeps (row r of the cache is position
            // firstKept + r; the window is relative, so positions need not be absolute here).
            let row = states[s].prepareKeyValues(layer: l, adding: n)
            let type = states[s].kvType, rowBytes = states[s].keyValueRowBytes(l)
            states[s].withKeyValueStorage(layer: l) { keys, values in
                backend.storeKeyValues(k + first * kvDim, xStride: kvDim, rows: n, width: kvDim, as: type,
                                       into: keys + row * rowBytes, rowBytes: rowBytes)
                backend.storeKeyValues(v + first * kvDim, xStride: kvDim, rows: n, width: kvDim, as: type,
                                       into: values + row * rowBytes, rowBytes: rowBytes)
                backend.attention(q: q + first * qDim, qStride: qDim, rows: n, startPosition: row,
                                  keys: keys, values: values, kvType: type, kvRowBytes: rowBytes,
                                  heads: a.heads, kvHeads: a.kvHeads, headDim: d, window: a.window, scale: a.scale,
                                  out: attended + first * qDim, outStride: qDim)
            }
            if let geometry = attentionGeometry[l] {
                states[s].observeAndPrune(layer: l, queries: q + first * qDim, rows: n, geometry: geometry)
            }
        }
        if let gate = a.gate {
            // g = sigmoid(a · W_gᵀ), one scalar per (position, head), scales that head's output.
            let g = ws.gate
            backend.matmul(gate, x: ws.normed, xStride: h, m: t, y: g, yStride: a.heads)
            for i in 0..<t {
                for head in 0..<a.heads {
                    let scale = 1 / (1 + exp(-g[i * a.heads + head]))
                    let o = attended + i * qDim + head * d
                    for j in 0..<d { o[j] *= scale }
                }
            }
        }
        backend.matmul(a.out, x: attended, xStride: qDim, m: t, y: ws.mixed, yStride: h)
        addBias(a.outBias, to: ws.mixed, width: h, rows: t)
    }

    /// `out = down(silu(gate · u) ⊙ (up · u))` (+ biases) for `rows` rows of `input` (width H).
    private func swiGLU(_ f: DenseFeedForward, input: UnsafeMutablePointer<Float>, rows m: Int, ws: Workspace,
                        out: UnsafeMutablePointer<Float>) {
        let h = weights.hiddenSize, width = f.width
        backend.matmul([MatmulProduct(f.gate, y: ws.wide, yStride: width),
                        MatmulProduct(f.up, y: ws.wide2, yStride: width)],
                       x: input, xStride: h, m: m)
        addBias(f.gateBias, to: ws.wide, width: width, rows: m)
        addBias(f.upBias, to: ws.wide2, width: width, rows: m)
        backend.siluMul(gate: ws.wide, up: ws.wide2, out: ws.wide, count: m * width)
        backend.matmul(f.down, x: ws.wide, xStride: width, m: m, y: out, yStride: h)
        addBias(f.downBias, to: out, width: h, rows: m)
    }

    /// LFM2-MoE's sparse feed-forward from `ws.normed` into `ws.mixed`: each token's router picks
    /// its experts; the tokens of one expert run through it together (its weights are read once
    /// per chunk), and each token sums its experts' outputs in ascending expert order.
    /// - Returns: each row's chosen experts (ascending).
    @discardableResult
    private func mixtureOfExperts(_ moe: ExpertsFeedForward, rows t: Int, ws: Workspace) -> [[Int]] {
        let h = weights.hiddenSize
        let routes = ExpertRouting(moe, input: ws.normed, rows: t, hidden: h, backend: backend)
        let out = ws.mixed
        out.update(repeating: 0, count: t * h)
        if t == 1 {
            expertsOfOneRow(moe, routes: routes, ws: ws)
            return routes.choices
        }
        for (e, expert) in moe.experts.enumerated() {
            let assigned = routes.tokens[e]
            guard !assigned.isEmpty else { continue }
            let n = assigned.count
            for (i, token) in assigned.enumerated() {
                (ws.gathered + i * h).update(from: ws.normed + token.row * h, count: h)
            }
            swiGLU(expert, input: ws.gathered, rows: n, ws: ws, out: ws.expertOut)
            for (i, token) in assigned.enumerated() {
                let source = ws.expertOut + i * h, target = out + token.row * h
                for j in 0..<h { target[j] += token.weight * source[j] }
            }
        }
        return routes.choices
    }

    /// `mixtureOfExperts` for one row (decode): every chosen expert reads the same input, so all
    /// their gate and up products run as one shared-input matmul (one dispatch and one activation
    /// quantization instead of one per expert), side by side in `ws.wide` / `ws.wide2`; then each
    /// expert's down product, summed in ascending expert order as for several rows. The kernels
    /// and the order of the sums are those of the general path, so the results are identical.
    private func expertsOfOneRow(_ moe: ExpertsFeedForward, routes: ExpertRouting, ws: Workspace) {
        let h = weights.hiddenSize
        let chosen = routes.choices[0]
        guard let width = chosen.first.map({ moe.experts[$0].width }) else { return }
        var products: [MatmulProduct] = []
        for (slot, e) in chosen.enumerated() {
            products.append(MatmulProduct(moe.experts[e].gate, y: ws.wide + slot * width, yStride: width))
            products.append(MatmulProduct(moe.experts[e].up, y: ws.wide2 + slot * width, yStride: width))
        }
        backend.matmul(products, x: ws.normed, xStride: h, m: 1)
        for (slot, e) in chosen.enumerated() {
            addBias(moe.experts[e].gateBias, to: ws.wide + slot * width, width: width, rows: 1)
            addBias(moe.experts[e].upBias, to: ws.wide2 + slot * width, width: width, rows: 1)
        }
        backend.siluMul(gate: ws.wide, up: ws.wide2, out: ws.wide, count: chosen.count * width)
        for (slot, e) in chosen.enumerated() {
            let expert = moe.experts[e]
            backend.matmul(expert.down, x: ws.wide + slot * width, xStride: width, m: 1, y: ws.expertOut, yStride: h)
            addBias(expert.downBias, to: ws.expertOut, width: h, rows: 1)
            guard let weight = routes.tokens[e].first?.weight else { continue }
            for j in 0..<h { ws.mixed[j] += weight * ws.expertOut[j] }
        }
    }

    // MARK: Helpers

    private func rmsNorm(_ weight: [Float], _ x: UnsafeMutablePointer<Float>, rows: Int, dim: Int, eps: Float,
                         out: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { g in
            backend.rmsNorm(x: x, xStride: dim, weight: g.baseAddress!, dim: dim, rows: rows, eps: eps,
                            out: out, outStride: dim)
        }
    }

    private func addBias(_ bias: [Float]?, to y: UnsafeMutablePointer<Float>, width: Int, rows: Int) {
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for i in 0..<rows { backend.add(y + i * width, b.baseAddress!, out: y + i * width, count: width) }
        }
    }
}
