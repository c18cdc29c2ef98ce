import Foundation
import LFMCore

// `ncps.torch.CfCCell` (ncps 1.0.1, cfc_cell.py): forward and hand-derived backward.
//   z = backbone([input, h])            (backbone_layers × Linear → activation [→ Dropout, layers ≥ 1])
//   default: h' = tanh(ff1 z)·(1 − σ(ta·t + tb)) + σ(ta·t + tb)·tanh(ff2 z)
//   no_gate: h' = tanh(ff1 z) + σ(ta·t + tb)·tanh(ff2 z)
//   pure:    h' = −A·exp(−t·(|w_tau| + |ff1 z|))·ff1 z + A
// In wired mode (`WiredCfCCell`) there is no backbone and ff1/ff2 weights are multiplied by the
// layer's sparsity mask ([hidden, input + hidden], the transposed |adjacency| stacked with ones);
// those masked products run dense or as sparse rows (MaskedSparse.swift), chosen by density.

/// Offsets of one CfCCell's tensors in a `ParameterSet`.
struct CfCLayout {
    let inputSize: Int
    let hidden: Int
    let mode: CfCMode
    let activation: BackboneActivation
    /// Backbone Linear layers: weight/bias offsets and sizes.
    let backbone: [(weight: Int, bias: Int, inDim: Int, outDim: Int, dropout: Bool)]
    let dropoutRate: Float
    let ff1Weight: Int, ff1Bias: Int
    let ff2Weight: Int, ff2Bias: Int
    let timeAWeight: Int, timeABias: Int
    let timeBWeight: Int, timeBBias: Int
    let wTau: Int, a: Int
    let mask: Int?

    var concatDim: Int { inputSize + hidden }
    var headInput: Int { backbone.last?.outDim ?? concatDim }

    /// Registers the cell's tensors under `prefix` (e.g. `rnn_cell.` or `rnn_cell.layer_0.`),
    /// in ncps' order.
    static func register(in params: inout ParameterSet, prefix: String, inputSize: Int, hidden: Int, mode: CfCMode,
                         activation: BackboneActivation, backboneUnits: Int, backboneLayers: Int,
                         dropout: Double, mask: [Float]?) -> CfCLayout {
        var maskOffset: Int? = nil
        if let mask {
            let offset = params.add(prefix + "sparsity_mask", shape: [hidden, inputSize + hidden], trainable: false)
            params.values.replaceSubrange(offset..<(offset + mask.count), with: mask)
            maskOffset = offset
        }
        var wTau = -1, a = -1
        if mode == .pure {
            wTau = params.add(prefix + "w_tau", shape: [1, hidden])
            a = params.add(prefix + "A", shape: [1, hidden], fill: 1)
        }
        var backbone: [(Int, Int, Int, Int, Bool)] = []
        var module = 0
        var inDim = inputSize + hidden
        for layer in 0..<backboneLayers {
            let w = params.add(prefix + "backbone.\(module).weight", shape: [backboneUnits, inDim])
            let b = params.add(prefix + "backbone.\(module).bias", shape: [backboneUnits])
            let hasDropout = layer >= 1 && dropout > 0
            backbone.append((w, b, inDim, backboneUnits, hasDropout))
            module += hasDropout ? 3 : 2
            inDim = backboneUnits
        }
        let head = inDim
        let ff1W = params.add(prefix + "ff1.weight", shape: [hidden, head])
        let ff1B = params.add(prefix + "ff1.bias", shape: [hidden])
        var ff2W = -1, ff2B = -1, taW = -1, taB = -1, tbW = -1, tbB = -1
        if mode != .pure {
            ff2W = params.add(prefix + "ff2.weight", shape: [hidden, head])
            ff2B = params.add(prefix + "ff2.bias", shape: [hidden])
            taW = params.add(prefix + "time_a.weight", shape: [hidden, head])
            taB = params.add(prefix + "time_a.bias", shape: [hidden])
            tbW = params.add(prefix + "time_b.weight", shape: [hidden, head])
            tbB = params.add(prefix + "time_b.bias", shape: [hidden])
        }
        return CfCLayout(inputSize: inputSize, hidden: hidden, mode: mode, activation: activation,
                         backbone: backbone.map { (weight: $0.0, bias: $0.1, inDim: $0.2, outDim: $0.3, dropout: $0.4) },
                         dropoutRate: Float(dropout),
                         ff1Weight: ff1W, ff1Bias: ff1B, ff2Weight: ff2W, ff2Bias: ff2B,
                         timeAWeight: taW, timeABias: taB, timeBWeight: tbW, timeBBias: tbB,
                         wTau: wTau, a: a, mask: maskOffset)
    }

    /// ncps' initialisation: Xavier-uniform on every trainable 2-D tensor (w_tau and A included),
    /// PyTorch's Linear default U(±1/√fan_in) on biases.
    func initialize(_ values: inout [Float], rng: inout some RandomNumberGenerator) {
        func xavier(_ offset: Int, _ rows: Int, _ cols: Int) {
            let bound = Float((6.0 / Double(rows + cols)).squareRoot())
            for i in 0..<(rows * cols) { values[offset + i] = Float.random(in: -bound..<bound, using: &rng) }
        }
        func bias(_ offset: Int, _ n: Int, fanIn: Int) {
            let bound = Float(1 / Double(fanIn).squareRoot())
            for i in 0..<n { values[offset + i] = Float.random(in: -bound..<bound, using: &rng) }
        }
        for layer in backbone {
            xavier(layer.weight, layer.outDim, layer.inDim)
            bias(layer.bias, layer.outDim, fanIn: layer.inDim)
        }
        xavier(ff1Weight, hidden, headInput); bias(ff1Bias, hidden, fanIn: headInput)
        if mode == .pure {
            xavier(wTau, 1, hidden)
            xavier(a, 1, hidden)
        } else {
            for (w, b) in [(ff2Weight, ff2Bias), (timeAWeight, timeABias), (timeBWeight, timeBBias)] {
                xavier(w, hidden, headInput); bias(b, hidden, fanIn: headInput)
            }
        }
    }
}

/// Per-step activations of one CfCCell, kept for the backward pass (or reused in streaming).
final class CfCCache {
    let batch: Int
    let x0: FloatBuffer               // [B, input + hidden]
    let pre: [FloatBuffer]            // backbone pre-activations
    let act: [FloatBuffer]            // backbone outputs (after dropout)
    let dropMask: [FloatBuffer?]
    let ff1: FloatBuffer, ff2: FloatBuffer, ta: FloatBuffer, tb: FloatBuffer, ti: FloatBuffer
    let out: FloatBuffer              // [B, hidden]

    init(_ layout: CfCLayout, batch: Int, training: Bool) {
        self.batch = batch
        x0 = FloatBuffer(batch * layout.concatDim)
        pre = layout.backbone.map { FloatBuffer(batch * $0.outDim) }
        act = layout.backbone.map { FloatBuffer(batch * $0.outDim) }
        dropMask = layout.backbone.map { $0.dropout && training ? FloatBuffer(batch * $0.outDim) : nil }
        let n = batch * layout.hidden
        ff1 = FloatBuffer(n); ff2 = FloatBuffer(n); ta = FloatBuffer(n); tb = FloatBuffer(n); ti = FloatBuffer(n)
        out = FloatBuffer(n)
    }
}

extension CfCLayout {
    /// Effective ff1/ff2 weights (masked in wired mode: dense W ⊙ M, or sparse rows when
    /// `products` picks them for the mask's density), computed once per forward pass.
    func effectiveWeights(_ p: UnsafePointer<Float>, products: MaskedProductMode = .auto) -> CfCEffectiveWeights {
        guard let mask else { return .unmasked }
        let n = hidden * headInput
        if products.useSparse(density: MaskedSparseRows.density(p + mask, count: n)) {
            return CfCEffectiveWeights(
                sparse1: MaskedSparseRows(weight: p + ff1Weight, mask: p + mask, rows: hidden, cols: headInput),
                sparse2: mode == .pure ? nil : MaskedSparseRows(weight: p + ff2Weight, mask: p + mask, rows: hidden, cols: headInput))
        }
        let e1 = FloatBuffer(n), e2 = mode == .pure ? nil : FloatBuffer(n)
        for i in 0..<n {
            e1[i] = p[ff1Weight + i] * p[mask + i]
            if let e2 { e2[i] = p[ff2Weight + i] * p[mask + i] }
        }
        return CfCEffectiveWeights(ff1: e1, ff2: e2)
    }

    /// y = z·W1ᵀ + b1 (or W2) with the effective weights.
    private func head(_ which: Int, _ p: UnsafePointer<Float>, _ effective: CfCEffectiveWeights, batch: Int,
                      z: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let k = headInput
        let (sparse, dense, weight, bias) = which == 1 ? (effective.sparse1, effective.ff1, ff1Weight, ff1Bias)
                                                       : (effective.sparse2, effective.ff2, ff2Weight, ff2Bias)
        if let sparse {
            sparse.linear(batch: batch, x: z, xStride: k, bias: p + bias, y: y, yStride: hidden)
        } else {
            Kernels.linear(batch: batch, inDim: k, outDim: hidden, x: z, xStride: k,
                           w: dense.map { UnsafePointer($0.pointer) } ?? p + weight, bias: p + bias, y: y, yStride: hidden)
        }
    }

    /// Backward of `head`: parameter gradients into `g` (masked), dz added into `dz`. `dW` is
    /// scratch for the dense masked case (the mask is applied after all heads, see `backward`).
    private func headBackward(_ which: Int, _ p: UnsafePointer<Float>, _ effective: CfCEffectiveWeights, batch: Int,
                              z: UnsafePointer<Float>, dy: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>,
                              dW: FloatBuffer?, dz: UnsafeMutablePointer<Float>) {
        let k = headInput
        let (sparse, dense, weight, bias) = which == 1 ? (effective.sparse1, effective.ff1, ff1Weight, ff1Bias)
                                                       : (effective.sparse2, effective.ff2, ff2Weight, ff2Bias)
        if let sparse {
            sparse.linearBackward(batch: batch, x: z, xStride: k, dy: dy, dyStride: hidden, dw: g + weight, db: g + bias,
                                  dx: dz, dxStride: k)
        } else {
            Kernels.linearBackward(batch: batch, inDim: k, outDim: hidden, x: z, xStride: k,
                                   w: dense.map { UnsafePointer($0.pointer) } ?? p + weight,
                                   dy: dy, dyStride: hidden, dw: dW?.pointer ?? g + weight, db: g + bias, dx: dz, dxStride: k)
        }
    }

    /// One step: reads input [B, inputSize] (row stride `inputStride`), h [B, hidden] (stride
    /// `hStride`) and per-sample elapsed times; writes `cache.out`.
    func forward(_ p: UnsafePointer<Float>, effective: CfCEffectiveWeights,
                 input: UnsafePointer<Float>, inputStride: Int, h: UnsafePointer<Float>, hStride: Int,
                 ts: UnsafePointer<Float>, cache: CfCCache, dropoutRNG: inout SplitMix64?) {
        let batch = cache.batch
        let cat = concatDim
        for b in 0..<batch {
            (cache.x0.pointer + b * cat).update(from: input + b * inputStride, count: inputSize)
            (cache.x0.pointer + b * cat + inputSize).update(from: h + b * hStride, count: hidden)
        }
        var z = UnsafePointer(cache.x0.pointer)
        for (l, layer) in backbone.enumerated() {
            Kernels.linear(batch: batch, inDim: layer.inDim, outDim: layer.outDim, x: z, xStride: layer.inDim,
                           w: p + layer.weight, bias: p + layer.bias, y: cache.pre[l].pointer, yStride: layer.outDim)
            Kernels.activate(activation, cache.pre[l].pointer, cache.act[l].pointer, batch * layer.outDim)
            if let mask = cache.dropMask[l], var rng = dropoutRNG {
                let keep = 1 - dropoutRate
                for i in 0..<mask.count {
                    mask[i] = Float(rng.unit()) < keep ? 1 / keep : 0
                    cache.act[l][i] *= mask[i]
                }
                dropoutRNG = rng
            }
            z = UnsafePointer(cache.act[l].pointer)
        }
        let k = headInput
        head(1, p, effective, batch: batch, z: z, y: cache.ff1.pointer)
        let out = cache.out.pointer
        if mode == .pure {
            for b in 0..<batch {
                let t = ts[b]
                for i in 0..<hidden {
                    let f = cache.ff1[b * hidden + i]
                    let a = p[self.a + i]
                    out[b * hidden + i] = -a * exp(-t * (abs(p[wTau + i]) + abs(f))) * f + a
                }
            }
            return
        }
        head(2, p, effective, batch: batch, z: z, y: cache.ff2.pointer)
        Kernels.linear(batch: batch, inDim: k, outDim: hidden, x: z, xStride: k, w: p + timeAWeight, bias: p + timeABias,
                       y: cache.ta.pointer, yStride: hidden)
        Kernels.linear(batch: batch, inDim: k, outDim: hidden, x: z, xStride: k, w: p + timeBWeight, bias: p + timeBBias,
                       y: cache.tb.pointer, yStride: hidden)
        let n = batch * hidden
        Kernels.tanh(cache.ff1.pointer, into: cache.ff1.pointer, n)
        Kernels.tanh(cache.ff2.pointer, into: cache.ff2.pointer, n)
        for b in 0..<batch {
            let row = b * hidden
            Kernels.sigmoid(cache.ta.pointer + row, times: ts[b], plus: cache.tb.pointer + row, into: cache.ti.pointer + row, hidden)
        }
        for j in 0..<n {
            let f1 = cache.ff1[j], f2 = cache.ff2[j], gate = cache.ti[j]
            out[j] = mode == .noGate ? f1 + gate * f2 : f1 * (1 - gate) + gate * f2
        }
    }

    /// Backward of one step given dL/d out. Accumulates parameter gradients into `g`, adds
    /// dL/d input into `dInput` (stride `inputStride`) and dL/d h into `dH` (stride `hStride`).
    func backward(_ p: UnsafePointer<Float>, effective: CfCEffectiveWeights, g: UnsafeMutablePointer<Float>,
                  cache: CfCCache, ts: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                  dInput: UnsafeMutablePointer<Float>?, inputStride: Int, dH: UnsafeMutablePointer<Float>, hStride: Int) {
        let batch = cache.batch
        let k = headInput
        let n = batch * hidden
        let z: UnsafePointer<Float> = backbone.isEmpty ? UnsafePointer(cache.x0.pointer) : UnsafePointer(cache.act[backbone.count - 1].pointer)
        let dz = FloatBuffer(batch * k)
        // Masked weights get masked gradients: dW = (dyᵀ z) ⊙ mask (the sparse rows apply the
        // mask themselves).
        let dW1 = mask == nil || effective.sparse1 != nil ? nil : FloatBuffer(hidden * k)
        let dW2 = mask == nil || mode == .pure || effective.sparse2 != nil ? nil : FloatBuffer(hidden * k)
        let d1 = FloatBuffer(n)
        if mode == .pure {
            for b in 0..<batch {
                let t = ts[b]
                for i in 0..<hidden {
                    let j = b * hidden + i
                    let f = cache.ff1[j], a = p[self.a + i], w = p[wTau + i]
                    let e = exp(-t * (abs(w) + abs(f)))
                    let go = dOut[j]
                    g[self.a + i] += go * (1 - e * f)
                    let signW: Float = w > 0 ? 1 : (w < 0 ? -1 : 0)
                    g[wTau + i] += go * a * f * e * t * signW
                    d1[j] = go * (-a * e * (1 - t * abs(f)))
                }
            }
            headBackward(1, p, effective, batch: batch, z: z, dy: d1.pointer, g: g, dW: dW1, dz: dz.pointer)
        } else {
            let d2 = FloatBuffer(n), dta = FloatBuffer(n), dtb = FloatBuffer(n)
            for b in 0..<batch {
                let t = ts[b]
                for i in 0..<hidden {
                    let j = b * hidden + i
                    let f1 = cache.ff1[j], f2 = cache.ff2[j], gate = cache.ti[j], go = dOut[j]
                    let df1 = mode == .noGate ? go : go * (1 - gate)
                    let df2 = go * gate
                    let dgate = mode == .noGate ? go * f2 : go * (f2 - f1)
                    d1[j] = df1 * (1 - f1 * f1)
                    d2[j] = df2 * (1 - f2 * f2)
                    let dpre = dgate * gate * (1 - gate)
                    dta[j] = dpre * t
                    dtb[j] = dpre
                }
            }
            headBackward(1, p, effective, batch: batch, z: z, dy: d1.pointer, g: g, dW: dW1, dz: dz.pointer)
            headBackward(2, p, effective, batch: batch, z: z, dy: d2.pointer, g: g, dW: dW2, dz: dz.pointer)
            Kernels.linearBackward(batch: batch, inDim: k, outDim: hidden, x: z, xStride: k, w: p + timeAWeight,
                                   dy: dta.pointer, dyStride: hidden, dw: g + timeAWeight, db: g + timeABias,
                                   dx: dz.pointer, dxStride: k)
            Kernels.linearBackward(batch: batch, inDim: k, outDim: hidden, x: z, xStride: k, w: p + timeBWeight,
                                   dy: dtb.pointer, dyStride: hidden, dw: g + timeBWeight, db: g + timeBBias,
                                   dx: dz.pointer, dxStride: k)
        }
        if let mask, dW1 != nil || dW2 != nil {
            for i in 0..<(hidden * k) {
                if let dW1 { g[ff1Weight + i] += dW1[i] * p[mask + i] }
                if let dW2 { g[ff2Weight + i] += dW2[i] * p[mask + i] }
            }
        }
        // Backbone, last layer first.
        var dCur = dz
        for l in stride(from: backbone.count - 1, through: 0, by: -1) {
            let layer = backbone[l]
            if let m = cache.dropMask[l] { for i in 0..<dCur.count { dCur[i] *= m[i] } }
            Kernels.activationBackward(activation, cache.pre[l].pointer, dCur.pointer, dCur.count)
            let x: UnsafePointer<Float> = l == 0 ? UnsafePointer(cache.x0.pointer) : UnsafePointer(cache.act[l - 1].pointer)
            let dx = FloatBuffer(batch * layer.inDim)
            Kernels.linearBackward(batch: batch, inDim: layer.inDim, outDim: layer.outDim, x: x, xStride: layer.inDim,
                                   w: p + layer.weight, dy: dCur.pointer, dyStride: layer.outDim,
                                   dw: g + layer.weight, db: g + layer.bias, dx: dx.pointer, dxStride: layer.inDim)
            dCur = dx
        }
        let cat = concatDim
        for b in 0..<batch {
            if let dInput { for i in 0..<inputSize { dInput[b * inputStride + i] += dCur[b * cat + i] } }
            for i in 0..<hidden { dH[b * hStride + i] += dCur[b * cat + inputSize + i] }
        }
    }
}
