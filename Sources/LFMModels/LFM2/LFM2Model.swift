// LFM2 dense forward pass, written top to bottom.
// Mirrors transformers `models/lfm2/modeling_lfm2.py` (v5.24.0): Lfm2Model.forward,
// Lfm2DecoderLayer, Lfm2ShortConv.slow_forward, Lfm2Attention, Lfm2MLP; conv-state handling
// follows llama.cpp's `build_shortconv_block` (one code path for prefill chunks and decode).
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

/// An LFM2 dense model bound to a compute backend.
public final class LFM2Model: @unchecked Sendable {
    /// Hyper-parameters.
    public let configuration: LFM2Configuration
    /// Weights.
    public let weights: LFM2Weights
    /// Kernels the forward pass runs on.
    public let backend: ComputeBackend
    /// RoPE inverse frequencies `theta^(-2j/headDim)`, computed as transformers does (float32).
    private let inverseFrequencies: [Float]
    private let workspaces = WorkspacePool()

    /// Binds `weights` and `configuration` to `backend`.
    public init(configuration: LFM2Configuration, weights: LFM2Weights, backend: ComputeBackend) {
        self.configuration = configuration
        self.weights = weights
        self.backend = backend
        let d = configuration.headDim
        inverseFrequencies = (0..<(d / 2)).map { j in
            Float(1.0 / pow(configuration.ropeTheta, Double(Float(2 * j) / Float(d))))
        }
    }

    /// A fresh state for one sequence of at most `maxContext` positions (default: the model's).
    public func makeState(maxContext: Int? = nil) -> LFM2State {
        LFM2State(configuration: configuration, maxContext: maxContext ?? configuration.maxPositionEmbeddings)
    }

    /// Runs `tokens` through the model after the positions already in `state`, updating it.
    ///
    /// Long inputs are processed in chunks of `chunkSize` positions with matrix-matrix kernels;
    /// the result does not depend on the chunking.
    /// - Returns: logits, `V` per selected position, row-major.
    public func forward(_ tokens: [Int], state: inout LFM2State, logits selection: LogitsSelection = .last,
                        chunkSize: Int = 512) throws -> [Float] {
        guard !tokens.isEmpty else { throw InferenceError.emptyInput }
        try check(tokens, state: state)
        state.reserve(positions: state.position + tokens.count)
        var result: [Float] = []
        if selection == .all { result.reserveCapacity(tokens.count * configuration.vocabularySize) }
        let step = max(1, chunkSize)
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

    /// Advances several independent sequences in one pass: `tokens[i]` continues `states[i]`.
    ///
    /// All rows go through the projections together (matrix-matrix kernels, so throughput grows
    /// with the batch); the conv state, KV cache and positions of each sequence stay its own.
    /// Typical use: one decode token per sequence (continuous batching), or a prefill chunk of
    /// one sequence next to decode tokens of others.
    /// - Returns: per sequence, the logits of its last token (`V` values).
    public func forward(batch tokens: [[Int]], states: inout [LFM2State]) throws -> [[Float]] {
        guard tokens.count == states.count else {
            throw InferenceError.stateMismatch(detail: "\(tokens.count) token lists for \(states.count) states")
        }
        guard !tokens.isEmpty else { return [] }
        for (i, sequence) in tokens.enumerated() {
            guard !sequence.isEmpty else { throw InferenceError.emptyInput }
            try check(sequence, state: states[i])
            states[i].reserve(positions: states[i].position + sequence.count)
        }
        let logits = states.withUnsafeMutableBufferPointer { forwardRows(tokens, states: $0, selection: .last) }
        let v = configuration.vocabularySize
        return (0..<tokens.count).map { Array(logits[($0 * v)..<(($0 + 1) * v)]) }
    }

    /// Validates tokens and state before anything is modified.
    private func check(_ tokens: [Int], state: LFM2State) throws {
        guard state.isAttention.count == configuration.layerCount, state.keyValueDim == configuration.keyValueDim else {
            throw InferenceError.stateMismatch(detail: "made for another configuration")
        }
        let end = state.position + tokens.count
        guard end <= state.maxContext else {
            throw InferenceError.contextLengthExceeded(requested: end, limit: state.maxContext)
        }
        for token in tokens where token < 0 || token >= configuration.vocabularySize {
            throw InferenceError.tokenOutOfRange(token: token, vocabularySize: configuration.vocabularySize)
        }
    }

    /// The forward pass over `segments` (one per sequence, rows laid out one after another);
    /// every buffer holds the total number of rows. `.last` selects each segment's last row.
    private func forwardRows(_ segments: [[Int]], states: UnsafeMutableBufferPointer<LFM2State>,
                             selection: LogitsSelection) -> [Float] {
        let c = configuration
        let h = c.hiddenSize
        let qDim = c.attentionHeads * c.headDim, kvDim = c.keyValueDim
        var offsets: [Int] = []
        var t = 0
        for segment in segments { offsets.append(t); t += segment.count }
        let ws = workspaces.take(rows: t, configuration: c)
        defer { workspaces.give(ws) }
        let x = ws.x, normed = ws.normed, mixed = ws.mixed, wide = ws.wide, wide2 = ws.wide2, narrow = ws.narrow

        // h⁰ = E[token] (no scaling)
        for (s, segment) in segments.enumerated() {
            for (i, token) in segment.enumerated() { weights.embedding.widenRow(token, into: x + (offsets[s] + i) * h) }
        }

        for (l, layer) in weights.layers.enumerated() {
            // operator_norm
            layer.operatorNorm.withUnsafeBufferPointer { g in
                backend.rmsNorm(x: x, xStride: h, weight: g.baseAddress!, dim: h, rows: t, eps: c.normEpsilon,
                                out: normed, outStride: h)
            }
            switch layer.mixer {
            case .conv(let conv):
                // conv.in_proj → B | C | X, each [t, H] inside rows of 3H
                backend.matmul(conv.inProj, x: normed, xStride: h, m: t, y: wide, yStride: 3 * h)
                // v = B ⊙ X
                for i in 0..<t {
                    let row = wide + i * 3 * h
                    backend.mul(row, row + 2 * h, out: narrow + i * h, count: h)
                }
                // u = depthwise causal conv over [state; v] per sequence; state ← last L−1 rows
                conv.kernel.withUnsafeBufferPointer { w in
                    for (s, segment) in segments.enumerated() {
                        let rows = offsets[s]
                        states[s].conv[l].withUnsafeMutableBufferPointer { state in
                            backend.shortConv(x: narrow + rows * h, xStride: h, rows: segment.count, channels: h,
                                              kernel: c.convKernel,
                                              state: state.baseAddress ?? UnsafeMutablePointer(mutating: w.baseAddress!),
                                              weight: w.baseAddress!, out: mixed + rows * h, outStride: h)
                        }
                    }
                }
                // y = C ⊙ u
                for i in 0..<t {
                    backend.mul(wide + i * 3 * h + h, mixed + i * h, out: narrow + i * h, count: h)
                }
                // conv.out_proj
                backend.matmul(conv.outProj, x: narrow, xStride: h, m: t, y: mixed, yStride: h)

            case .attention(let attention):
                let q = wide, k = wide + t * qDim, v = wide + t * (qDim + kvDim)
                backend.matmul([MatmulProduct(attention.q, y: q, yStride: qDim),
                                MatmulProduct(attention.k, y: k, yStride: kvDim),
                                MatmulProduct(attention.v, y: v, yStride: kvDim)],
                               x: normed, xStride: h, m: t)
                // q_layernorm / k_layernorm: RMSNorm over each head's headDim values
                attention.qNorm.withUnsafeBufferPointer { g in
                    backend.rmsNorm(x: q, xStride: c.headDim, weight: g.baseAddress!, dim: c.headDim,
                                    rows: t * c.attentionHeads, eps: c.normEpsilon, out: q, outStride: c.headDim)
                }
                attention.kNorm.withUnsafeBufferPointer { g in
                    backend.rmsNorm(x: k, xStride: c.headDim, weight: g.baseAddress!, dim: c.headDim,
                                    rows: t * c.keyValueHeads, eps: c.normEpsilon, out: k, outStride: c.headDim)
                }
                for (s, segment) in segments.enumerated() {
                    let rows = offsets[s], n = segment.count, p0 = states[s].position
                    // NeoX RoPE at the sequence's positions p0 ..< p0 + n
                    inverseFrequencies.withUnsafeBufferPointer { f in
                        backend.ropeNeox(x: q + rows * qDim, xStride: qDim, rows: n, heads: c.attentionHeads,
                                         headDim: c.headDim, startPosition: p0, inverseFrequencies: f.baseAddress!)
                        backend.ropeNeox(x: k + rows * kvDim, xStride: kvDim, rows: n, heads: c.keyValueHeads,
                                         headDim: c.headDim, startPosition: p0, inverseFrequencies: f.baseAddress!)
                    }
                    // Append to the sequence's KV cache, then attend causally over its positions 0 ..< p0 + n.
                    states[s].keys[l].withUnsafeMutableBufferPointer { keys in
                        states[s].values[l].withUnsafeMutableBufferPointer { values in
                            (keys.baseAddress! + p0 * kvDim).update(from: k + rows * kvDim, count: n * kvDim)
                            (values.baseAddress! + p0 * kvDim).update(from: v + rows * kvDim, count: n * kvDim)
                            backend.attention(q: q + rows * qDim, qStride: qDim, rows: n, startPosition: p0,
                                              keys: keys.baseAddress!, values: values.baseAddress!, kvStride: kvDim,
                                              heads: c.attentionHeads, kvHeads: c.keyValueHeads, headDim: c.headDim,
                                              scale: 1 / Float(c.headDim).squareRoot(), out: narrow + rows * qDim,
                                              outStride: qDim)
                        }
                    }
                }
                // self_attn.out_proj
                backend.matmul(attention.out, x: narrow, xStride: qDim, m: t, y: mixed, yStride: h)
            }
            // residual
            backend.add(x, mixed, out: x, count: t * h)

            // ffn_norm → SwiGLU: w2(silu(w1 a) ⊙ w3 a) → residual
            layer.ffnNorm.withUnsafeBufferPointer { g in
                backend.rmsNorm(x: x, xStride: h, weight: g.baseAddress!, dim: h, rows: t, eps: c.normEpsilon,
                                out: normed, outStride: h)
            }
            let f = c.feedForwardSize
            backend.matmul([MatmulProduct(layer.ffnGate, y: wide, yStride: f),
                            MatmulProduct(layer.ffnUp, y: wide2, yStride: f)],
                           x: normed, xStride: h, m: t)
            backend.siluMul(gate: wide, up: wide2, out: wide, count: t * f)
            backend.matmul(layer.ffnDown, x: wide, xStride: f, m: t, y: mixed, yStride: h)
            backend.add(x, mixed, out: x, count: t * h)
        }
        for (s, segment) in segments.enumerated() { states[s].position += segment.count }

        // embedding_norm (the final norm) and the tied head, for the rows asked for.
        let rows: [Int]
        switch selection {
        case .none: return []
        case .last: rows = segments.indices.map { offsets[$0] + segments[$0].count - 1 }
        case .all: rows = Array(0..<t)
        }
        for (i, row) in rows.enumerated() where i != row {
            (x + i * h).update(from: x + row * h, count: h)
        }
        weights.finalNorm.withUnsafeBufferPointer { g in
            backend.rmsNorm(x: x, xStride: h, weight: g.baseAddress!, dim: h, rows: rows.count,
                            eps: c.normEpsilon, out: normed, outStride: h)
        }
        var logits = [Float](repeating: 0, count: rows.count * c.vocabularySize)
        logits.withUnsafeMutableBufferPointer { out in
            backend.matmul(weights.outputHead, x: normed, xStride: h, m: rows.count, y: out.baseAddress!,
                           yStride: c.vocabularySize)
        }
        return logits
    }
}

/// Scratch buffers for one forward chunk of `rows` positions.
final class Workspace {
    let rows: Int
    let x, normed, mixed, wide, wide2, narrow: UnsafeMutablePointer<Float>
    private let storage: UnsafeMutablePointer<Float>

    init(rows: Int, configuration c: LFM2Configuration) {
        self.rows = rows
        let h = c.hiddenSize, f = c.feedForwardSize
        let qDim = c.attentionHeads * c.headDim
        let wideWidth = max(3 * h, qDim + 2 * c.keyValueDim, f)
        let narrowWidth = max(h, qDim)
        let sizes = [h, h, h, wideWidth, f, narrowWidth].map { ($0 * rows + 15) / 16 * 16 }
        storage = .allocate(capacity: sizes.reduce(0, +))
        storage.initialize(repeating: 0, count: sizes.reduce(0, +))
        var offset = 0
        var pointers: [UnsafeMutablePointer<Float>] = []
        for size in sizes { pointers.append(storage + offset); offset += size }
        (x, normed, mixed, wide, wide2, narrow) = (pointers[0], pointers[1], pointers[2], pointers[3], pointers[4], pointers[5])
    }

    deinit { storage.deallocate() }
}

/// Reuses workspaces across calls (one per concurrent forward).
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Workspace] = []

    func take(rows: Int, configuration: LFM2Configuration) -> Workspace {
        lock.lock()
        defer { lock.unlock() }
        if let index = free.firstIndex(where: { $0.rows >= rows }) { return free.remove(at: index) }
        return Workspace(rows: rows, configuration: configuration)
    }

    func give(_ workspace: Workspace) {
        lock.lock()
        defer { lock.unlock() }
        free.append(workspace)
        if free.count > 4 { free.sort { $0.rows > $1.rows }; free.removeLast() }
    }
}
