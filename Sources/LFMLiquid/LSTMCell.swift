import Foundation
import LFMCore

// ncps' own `LSTMCell` (ncps/torch/lstm.py), used by `mixed_memory=True`:
//   z = input_map(x) + recurrent_map(h)     (recurrent_map has no bias); chunks i, ig, fg, og
//   c' = c·σ(fg + 1) + tanh(i)·σ(ig);  h' = tanh(c')·σ(og)

/// Offsets of the mixed-memory LSTM's tensors.
struct LSTMLayout {
    let inputSize: Int, hidden: Int
    let inputWeight: Int, inputBias: Int, recurrentWeight: Int

    static func register(in params: inout ParameterSet, inputSize: Int, hidden: Int) -> LSTMLayout {
        let w = params.add("lstm.input_map.weight", shape: [4 * hidden, inputSize])
        let b = params.add("lstm.input_map.bias", shape: [4 * hidden])
        let r = params.add("lstm.recurrent_map.weight", shape: [4 * hidden, hidden])
        return LSTMLayout(inputSize: inputSize, hidden: hidden, inputWeight: w, inputBias: b, recurrentWeight: r)
    }

    /// ncps' init: Xavier-uniform input map, orthogonal recurrent map, biases U(−0.1, 0.1).
    func initialize(_ values: inout [Float], rng: inout SplitMix64) {
        let rows = 4 * hidden
        let bound = Float((6.0 / Double(rows + inputSize)).squareRoot())
        for i in 0..<(rows * inputSize) { values[inputWeight + i] = Float.random(in: -bound..<bound, using: &rng) }
        for i in 0..<rows { values[inputBias + i] = Float.random(in: -0.1..<0.1, using: &rng) }
        // Orthonormal columns of a Gaussian [4H, H] matrix (Gram–Schmidt), as orthogonal_ gives.
        var columns = (0..<hidden).map { _ in (0..<rows).map { _ in rng.gaussian() } }
        for c in 0..<hidden {
            for prior in 0..<c {
                let d = zip(columns[c], columns[prior]).reduce(0) { $0 + $1.0 * $1.1 }
                for r in 0..<rows { columns[c][r] -= d * columns[prior][r] }
            }
            let norm = max(columns[c].reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for r in 0..<rows { columns[c][r] /= norm }
        }
        for r in 0..<rows { for c in 0..<hidden { values[recurrentWeight + r * hidden + c] = Float(columns[c][r]) } }
    }
}

/// Per-step activations of the LSTM.
final class LSTMCache {
    let batch: Int
    let gates: FloatBuffer     // [B, 4H]: tanh(i), σ(ig), σ(fg+1), σ(og)
    let cNew: FloatBuffer      // [B, H]
    let hNew: FloatBuffer      // [B, H]
    let hIn: FloatBuffer, cIn: FloatBuffer

    init(_ l: LSTMLayout, batch: Int) {
        self.batch = batch
        gates = FloatBuffer(batch * 4 * l.hidden)
        cNew = FloatBuffer(batch * l.hidden); hNew = FloatBuffer(batch * l.hidden)
        hIn = FloatBuffer(batch * l.hidden); cIn = FloatBuffer(batch * l.hidden)
    }
}

extension LSTMLayout {
    func forward(_ p: UnsafePointer<Float>, input: UnsafePointer<Float>, inputStride: Int,
                 h: UnsafePointer<Float>, c: UnsafePointer<Float>, cache: LSTMCache) {
        let batch = cache.batch, hd = hidden
        cache.hIn.pointer.update(from: h, count: batch * hd)
        cache.cIn.pointer.update(from: c, count: batch * hd)
        let z = cache.gates.pointer
        Kernels.linear(batch: batch, inDim: inputSize, outDim: 4 * hd, x: input, xStride: inputStride,
                       w: p + inputWeight, bias: p + inputBias, y: z, yStride: 4 * hd)
        for b in 0..<batch {
            let zr = z + b * 4 * hd, hr = h + b * hd
            for o in 0..<(4 * hd) { zr[o] += Kernels.dot(hr, p + recurrentWeight + o * hd, hd) }
            for i in 0..<hd {
                let a = tanh(zr[i]), ig = Kernels.sigmoid(zr[hd + i])
                let fg = Kernels.sigmoid(zr[2 * hd + i] + 1), og = Kernels.sigmoid(zr[3 * hd + i])
                zr[i] = a; zr[hd + i] = ig; zr[2 * hd + i] = fg; zr[3 * hd + i] = og
                let cn = c[b * hd + i] * fg + a * ig
                cache.cNew[b * hd + i] = cn
                cache.hNew[b * hd + i] = tanh(cn) * og
            }
        }
    }

    /// Backward given dL/dh' and dL/dc'; adds dL/d input, writes dL/dh and dL/dc (previous).
    func backward(_ p: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>, cache: LSTMCache,
                  input: UnsafePointer<Float>, inputStride: Int, dHNew: UnsafePointer<Float>, dCNew: UnsafePointer<Float>,
                  dInput: UnsafeMutablePointer<Float>?, dHPrev: UnsafeMutablePointer<Float>, dCPrev: UnsafeMutablePointer<Float>) {
        let batch = cache.batch, hd = hidden
        let dz = FloatBuffer(batch * 4 * hd)
        for b in 0..<batch {
            let gr = cache.gates.pointer + b * 4 * hd, dzr = dz.pointer + b * 4 * hd
            for i in 0..<hd {
                let a = gr[i], ig = gr[hd + i], fg = gr[2 * hd + i], og = gr[3 * hd + i]
                let tc = tanh(cache.cNew[b * hd + i])
                let dh = dHNew[b * hd + i]
                let dc = dCNew[b * hd + i] + dh * og * (1 - tc * tc)
                dCPrev[b * hd + i] = dc * fg
                dzr[i] = dc * ig * (1 - a * a)
                dzr[hd + i] = dc * a * ig * (1 - ig)
                dzr[2 * hd + i] = dc * cache.cIn[b * hd + i] * fg * (1 - fg)
                dzr[3 * hd + i] = dh * tc * og * (1 - og)
            }
        }
        for i in 0..<(batch * hd) { dHPrev[i] = 0 }
        Kernels.linearBackward(batch: batch, inDim: inputSize, outDim: 4 * hd, x: input, xStride: inputStride,
                               w: p + inputWeight, dy: dz.pointer, dyStride: 4 * hd, dw: g + inputWeight, db: g + inputBias,
                               dx: dInput, dxStride: inputStride)
        Kernels.linearBackward(batch: batch, inDim: hd, outDim: 4 * hd, x: cache.hIn.pointer, xStride: hd,
                               w: p + recurrentWeight, dy: dz.pointer, dyStride: 4 * hd, dw: g + recurrentWeight, db: nil,
                               dx: dHPrev, dxStride: hd)
    }
}
