import LFMCore

/// The coarse operations the decoder forward passes are written in.
///
/// Every operation works on whole rows of `Float` activations laid out row-major (one row per
/// token) with an explicit row stride, so the model can point at slices of its scratch buffers.
/// `ReferenceBackend` implements each with plain scalar loops and is the oracle the optimized
/// `CPUBackend` is tested against.
public protocol ComputeBackend: AnyObject, Sendable {
    /// `y[i, n] = Σ_k x[i, k] · w[n, k]` for `i < m`, `n < w.rows`, `k < w.cols`.
    /// - Parameters:
    ///   - x: `m` rows of `w.cols` values, `xStride` floats apart.
    ///   - y: `m` rows of `w.rows` values, `yStride` floats apart (overwritten).
    func matmul(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                y: UnsafeMutablePointer<Float>, yStride: Int)

    /// Several products of the same activations (attention's q, k and v; the FFN's gate and up):
    /// for each product, `y[i, n] = Σ_k x[i, k] · weight[n, k]`, exactly what `matmul` gives for
    /// it alone. A backend may share the work they have in common (one quantization of the
    /// activations, one parallel loop over all their rows). Every weight has `x`'s width.
    func matmul(_ products: [MatmulProduct], x: UnsafePointer<Float>, xStride: Int, m: Int)

    /// RMSNorm of `rows` rows of `dim` values: `out = weight ⊙ x / sqrt(mean(x²) + eps)`.
    /// `out` may equal `x`.
    func rmsNorm(x: UnsafePointer<Float>, xStride: Int, weight: UnsafePointer<Float>, dim: Int, rows: Int,
                 eps: Float, out: UnsafeMutablePointer<Float>, outStride: Int)

    /// NeoX-style (half-split) rotary embedding applied in place to `heads` heads of `headDim`
    /// values in each of `rows` rows; row `i` is at absolute position `startPosition + i`.
    /// `inverseFrequencies` has `headDim / 2` entries (`theta^(-2j/headDim)`).
    func ropeNeox(x: UnsafeMutablePointer<Float>, xStride: Int, rows: Int, heads: Int, headDim: Int,
                  startPosition: Int, inverseFrequencies: UnsafePointer<Float>)

    /// Stores `rows` rows of `width` activations as KV cache rows of `type` (see `KVCacheType`):
    /// F32 copied, F16 / BF16 rounded to nearest even, Q8_0 / Q4_0 quantized exactly as ggml's
    /// reference quantizers (`width` a multiple of 32). A block holding a NaN or an infinity is
    /// stored as scale NaN, so it reads back as NaN.
    /// - Parameters:
    ///   - x: `rows` rows of `width` floats, `xStride` apart.
    ///   - out: `rows` rows of `type.rowBytes(width:)` bytes, `rowBytes` apart.
    func storeKeyValues(_ x: UnsafePointer<Float>, xStride: Int, rows: Int, width: Int, as type: KVCacheType,
                        into out: UnsafeMutableRawPointer, rowBytes: Int)

    /// Causal grouped-query attention for `rows` new queries at absolute positions
    /// `startPosition ..< startPosition + rows`, over cached keys/values for positions
    /// `0 ..< startPosition + rows` (already written), stored as `kvType` rows.
    ///
    /// Query head `h` reads KV head `h / (heads / kvHeads)`. Results equal softmax attention over
    /// the widened rows up to F32 rounding.
    /// - Parameters:
    ///   - q: `rows` rows of `heads * headDim`, `qStride` apart.
    ///   - keys, values: one row of `kvHeads * headDim` values of `kvType` per position, `kvRowBytes`
    ///     apart (Q8_0 / Q4_0 need `headDim` a multiple of 32).
    ///   - out: `rows` rows of `heads * headDim`, `outStride` apart.
    ///   - window: a query sees at most the last `window` positions, itself included (sliding-window
    ///     attention: key `j` is visible to query `i` iff `i - window < j <= i`); 0 = no limit.
    ///   - scale: multiplier of the scores (1/sqrt(headDim)).
    func attention(q: UnsafePointer<Float>, qStride: Int, rows: Int, startPosition: Int,
                   keys: UnsafeRawPointer, values: UnsafeRawPointer, kvType: KVCacheType, kvRowBytes: Int,
                   heads: Int, kvHeads: Int, headDim: Int, window: Int, scale: Float,
                   out: UnsafeMutablePointer<Float>, outStride: Int)

    /// Depthwise causal convolution over `[state; x]` with one length-`kernel` filter per channel.
    ///
    /// `out[t, c] = Σ_j weight[c, j] · window[t + j, c]` with `window = concat(state, x)` along
    /// time; afterwards `state` holds the last `kernel - 1` rows of `window`. Used unchanged for
    /// prefill chunks and single-token decode.
    /// - Parameters:
    ///   - x: `rows` rows of `channels`, `xStride` apart.
    ///   - state: `kernel - 1` rows of `channels` (contiguous), updated in place.
    ///   - weight: `channels` rows of `kernel` taps (oldest first).
    func shortConv(x: UnsafePointer<Float>, xStride: Int, rows: Int, channels: Int, kernel: Int,
                   state: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>,
                   out: UnsafeMutablePointer<Float>, outStride: Int)

    /// `out[i] = silu(gate[i]) · up[i]` for `count` elements (`silu(g) = g / (1 + e^-g)`).
    func siluMul(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int)

    /// `out[i] = a[i] · b[i]` for `count` elements.
    func mul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int)

    /// `out[i] = a[i] + b[i]` for `count` elements.
    func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int)

    /// Whether this backend's kernels read `dtype` weights in `BlockOrder.groupsOf8` faster than in
    /// the GGUF order (loaders then regroup the copies they make). Default: no.
    func prefersRegrouped(_ dtype: DType) -> Bool
}

/// One output of `ComputeBackend.matmul(_:x:xStride:m:)`: the weight and where its rows go.
public struct MatmulProduct {
    public let weight: WeightMatrix
    public let y: UnsafeMutablePointer<Float>
    public let yStride: Int

    public init(_ weight: WeightMatrix, y: UnsafeMutablePointer<Float>, yStride: Int) {
        self.weight = weight
        self.y = y
        self.yStride = yStride
    }
}

extension ComputeBackend {
    public func prefersRegrouped(_ dtype: DType) -> Bool { false }

    /// `attention` over F32 keys/values rows `kvStride` floats apart.
    public func attention(q: UnsafePointer<Float>, qStride: Int, rows: Int, startPosition: Int,
                          keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int,
                          heads: Int, kvHeads: Int, headDim: Int, window: Int, scale: Float,
                          out: UnsafeMutablePointer<Float>, outStride: Int) {
        attention(q: q, qStride: qStride, rows: rows, startPosition: startPosition,
                  keys: UnsafeRawPointer(keys), values: UnsafeRawPointer(values), kvType: .f32,
                  kvRowBytes: kvStride * MemoryLayout<Float>.stride, heads: heads, kvHeads: kvHeads, headDim: headDim,
                  window: window, scale: scale, out: out, outStride: outStride)
    }

    /// One `matmul` per product.
    public func matmul(_ products: [MatmulProduct], x: UnsafePointer<Float>, xStride: Int, m: Int) {
        for p in products { matmul(p.weight, x: x, xStride: xStride, m: m, y: p.y, yStride: p.yStride) }
    }
}
