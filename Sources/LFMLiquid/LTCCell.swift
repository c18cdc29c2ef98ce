import Foundation

// `ncps.torch.LTCCell` (ncps 1.0.1, ltc_cell.py): conductance-based liquid time-constant neurons
// with the fused semi-implicit solver, forward and hand-derived backward.
//   u = x·input_w + input_b                                     (input mapping)
//   s_ki = P(sensory_w)·σ(sensory_sigma·(u_k − sensory_mu))·sensory_mask     (once per step)
//   repeat ode_unfolds times, with c = P(cm) / (elapsed / ode_unfolds):
//     a_ji = P(w)·σ(sigma·(v_j − mu))·mask
//     v_i ← (c·v_i + P(gleak)·vleak + Σ_j a_ji·erev_ji + Σ_k s_ki·serev_ki)
//           / (c + P(gleak) + Σ_j a_ji + Σ_k s_ki + ε)
//   out = v[:motor]·output_w + output_b                          (output mapping)
// P = softplus with implicit_param_constraints, identity otherwise. Only synapses whose mask is
// non-zero are visited (sparse NCP wirings cost what they connect); the skipped terms are
// exactly zero in the dense formula.

/// Offsets of an LTCCell's tensors in a `ParameterSet`.
struct LTCLayout {
    let units: Int, sensory: Int, motor: Int
    let unfolds: Int
    let epsilon: Float
    let implicit: Bool
    let inputMapping: LTCMapping, outputMapping: LTCMapping
    let gleak: Int, vleak: Int, cm: Int, sigma: Int, mu: Int, w: Int, erev: Int
    let sensorySigma: Int, sensoryMu: Int, sensoryW: Int, sensoryErev: Int
    let mask: Int, sensoryMask: Int
    let inputW: Int?, inputB: Int?, outputW: Int?, outputB: Int?

    static func register(in params: inout ParameterSet, prefix: String, wiring: Wiring, config: LiquidConfig) -> LTCLayout {
        let n = wiring.units, m = wiring.inputDim
        let gleak = params.add(prefix + "gleak", shape: [n])
        let vleak = params.add(prefix + "vleak", shape: [n])
        let cm = params.add(prefix + "cm", shape: [n])
        let sigma = params.add(prefix + "sigma", shape: [n, n])
        let mu = params.add(prefix + "mu", shape: [n, n])
        let w = params.add(prefix + "w", shape: [n, n])
        let erev = params.add(prefix + "erev", shape: [n, n])
        let sSigma = params.add(prefix + "sensory_sigma", shape: [m, n])
        let sMu = params.add(prefix + "sensory_mu", shape: [m, n])
        let sW = params.add(prefix + "sensory_w", shape: [m, n])
        let sErev = params.add(prefix + "sensory_erev", shape: [m, n])
        let mask = params.add(prefix + "sparsity_mask", shape: [n, n], trainable: false)
        let sMask = params.add(prefix + "sensory_sparsity_mask", shape: [m, n], trainable: false)
        for i in 0..<(n * n) {
            params.values[erev + i] = Float(wiring.adjacency[i])
            params.values[mask + i] = Float(abs(wiring.adjacency[i]))
        }
        for i in 0..<(m * n) {
            params.values[sErev + i] = Float(wiring.sensoryAdjacency[i])
            params.values[sMask + i] = Float(abs(wiring.sensoryAdjacency[i]))
        }
        var inputW: Int? = nil, inputB: Int? = nil, outputW: Int? = nil, outputB: Int? = nil
        if config.inputMapping != .passthrough { inputW = params.add(prefix + "input_w", shape: [m], fill: 1) }
        if config.inputMapping == .affine { inputB = params.add(prefix + "input_b", shape: [m]) }
        if config.outputMapping != .passthrough { outputW = params.add(prefix + "output_w", shape: [wiring.outputDim], fill: 1) }
        if config.outputMapping == .affine { outputB = params.add(prefix + "output_b", shape: [wiring.outputDim]) }
        return LTCLayout(units: n, sensory: m, motor: wiring.outputDim, unfolds: config.odeUnfolds,
                         epsilon: Float(config.epsilon), implicit: config.implicitParamConstraints,
                         inputMapping: config.inputMapping, outputMapping: config.outputMapping,
                         gleak: gleak, vleak: vleak, cm: cm, sigma: sigma, mu: mu, w: w, erev: erev,
                         sensorySigma: sSigma, sensoryMu: sMu, sensoryW: sW, sensoryErev: sErev,
                         mask: mask, sensoryMask: sMask, inputW: inputW, inputB: inputB, outputW: outputW, outputB: outputB)
    }

    /// ncps' uniform initial ranges; erev, masks and mappings keep their wiring/constant values.
    func initialize(_ values: inout [Float], rng: inout some RandomNumberGenerator) {
        func uniform(_ offset: Int, _ count: Int, _ low: Float, _ high: Float) {
            for i in 0..<count { values[offset + i] = Float.random(in: low..<high, using: &rng) }
        }
        let n = units, m = sensory
        uniform(gleak, n, 0.001, 1.0); uniform(vleak, n, -0.2, 0.2); uniform(cm, n, 0.4, 0.6)
        uniform(sigma, n * n, 3, 8); uniform(mu, n * n, 0.3, 0.8); uniform(w, n * n, 0.001, 1.0)
        uniform(sensorySigma, m * n, 3, 8); uniform(sensoryMu, m * n, 0.3, 0.8); uniform(sensoryW, m * n, 0.001, 1.0)
    }

    /// `apply_weight_constraints()`: in explicit mode, clamp w, sensory_w, cm and gleak at 0.
    func applyWeightConstraints(_ values: inout [Float]) {
        guard !implicit else { return }
        for (offset, count) in [(w, units * units), (sensoryW, sensory * units), (cm, units), (gleak, units)] {
            for i in offset..<(offset + count) where values[i] < 0 { values[i] = 0 }
        }
    }
}

/// Positive-mapped weights and the list of connected synapses, prepared once per forward pass.
final class LTCPrepared {
    let pw: FloatBuffer, psw: FloatBuffer, pcm: FloatBuffer, pgleak: FloatBuffer
    let wm: FloatBuffer, swm: FloatBuffer    // P(w)·mask, P(sensory_w)·sensory_mask
    let synapses: [Int32]                    // j·N + i with mask ≠ 0
    let sensorySynapses: [Int32]             // k·N + i with sensory mask ≠ 0

    init(_ l: LTCLayout, _ p: UnsafePointer<Float>) {
        let n = l.units, m = l.sensory
        func positive(_ offset: Int, _ count: Int) -> FloatBuffer {
            let out = FloatBuffer(count)
            for i in 0..<count { out[i] = l.implicit ? Kernels.softplus(p[offset + i]) : p[offset + i] }
            return out
        }
        pw = positive(l.w, n * n); psw = positive(l.sensoryW, m * n)
        pcm = positive(l.cm, n); pgleak = positive(l.gleak, n)
        wm = FloatBuffer(n * n); swm = FloatBuffer(m * n)
        var syn: [Int32] = [], ssyn: [Int32] = []
        for i in 0..<(n * n) { wm[i] = pw[i] * p[l.mask + i]; if p[l.mask + i] != 0 { syn.append(Int32(i)) } }
        for i in 0..<(m * n) { swm[i] = psw[i] * p[l.sensoryMask + i]; if p[l.sensoryMask + i] != 0 { ssyn.append(Int32(i)) } }
        synapses = syn
        sensorySynapses = ssyn
    }
}

/// Per-step activations of an LTCCell.
final class LTCCache {
    let batch: Int
    let u: FloatBuffer          // [B, M] mapped inputs
    let numS: FloatBuffer, denS: FloatBuffer, cmT: FloatBuffer   // [B, N]
    let v: [FloatBuffer]        // unfolds + 1 states [B, N]
    let denom: [FloatBuffer]    // per unfold [B, N] (before + ε)
    let out: FloatBuffer        // [B, motor]
    let num: FloatBuffer, den: FloatBuffer   // scratch [N]

    init(_ l: LTCLayout, batch: Int) {
        num = FloatBuffer(l.units); den = FloatBuffer(l.units)
        self.batch = batch
        u = FloatBuffer(batch * l.sensory)
        numS = FloatBuffer(batch * l.units); denS = FloatBuffer(batch * l.units); cmT = FloatBuffer(batch * l.units)
        v = (0...l.unfolds).map { _ in FloatBuffer(batch * l.units) }
        denom = (0..<l.unfolds).map { _ in FloatBuffer(batch * l.units) }
        out = FloatBuffer(batch * l.motor)
    }

    /// The state after the step.
    var state: FloatBuffer { v[v.count - 1] }
}

extension LTCLayout {
    func forward(_ p: UnsafePointer<Float>, prepared q: LTCPrepared, input: UnsafePointer<Float>, inputStride: Int,
                 h: UnsafePointer<Float>, hStride: Int, ts: UnsafePointer<Float>, cache c: LTCCache) {
        let n = units, m = sensory, batch = c.batch
        for b in 0..<batch {
            for k in 0..<m {
                var x = input[b * inputStride + k]
                if let inputW { x = x * p[inputW + k] }
                if let inputB { x = x + p[inputB + k] }
                c.u[b * m + k] = x
            }
        }
        c.numS.zero(); c.denS.zero()
        for b in 0..<batch {
            let u = c.u.pointer + b * m, num = c.numS.pointer + b * n, den = c.denS.pointer + b * n
            for s in q.sensorySynapses {
                let idx = Int(s), k = idx / n, i = idx - k * n
                let a = q.swm[idx] * Kernels.sigmoid(p[sensorySigma + idx] * (u[k] - p[sensoryMu + idx]))
                num[i] += a * p[sensoryErev + idx]
                den[i] += a
            }
            let dt = ts[b] / Float(unfolds)
            for i in 0..<n { c.cmT[b * n + i] = q.pcm[i] / dt }
            (c.v[0].pointer + b * n).update(from: h + b * hStride, count: n)
        }
        let num = c.num.pointer, den = c.den.pointer
        for t in 0..<unfolds {
            let vIn = c.v[t].pointer, vOut = c.v[t + 1].pointer, dn = c.denom[t].pointer
            for b in 0..<batch {
                for i in 0..<n { num[i] = 0; den[i] = 0 }
                let vb = vIn + b * n
                for s in q.synapses {
                    let idx = Int(s), j = idx / n, i = idx - j * n
                    let a = q.wm[idx] * Kernels.sigmoid(p[sigma + idx] * (vb[j] - p[mu + idx]))
                    num[i] += a * p[erev + idx]
                    den[i] += a
                }
                for i in 0..<n {
                    let r = b * n + i
                    let g = q.pgleak[i]
                    let numerator = c.cmT[r] * vb[i] + g * p[vleak + i] + (num[i] + c.numS[r])
                    let denominator = c.cmT[r] + g + (den[i] + c.denS[r])
                    dn[r] = denominator
                    vOut[r] = numerator / (denominator + epsilon)
                }
            }
        }
        let v = c.state.pointer
        for b in 0..<batch {
            for i in 0..<motor {
                var y = v[b * n + i]
                if let outputW { y = y * p[outputW + i] }
                if let outputB { y = y + p[outputB + i] }
                c.out[b * motor + i] = y
            }
        }
    }

    /// Backward of one step given dL/d out [B, motor] and dL/d state-after [B, N] (`dState`,
    /// consumed). Adds dL/d input and dL/d state-before into `dInput` / `dH`.
    func backward(_ p: UnsafePointer<Float>, prepared q: LTCPrepared, gradP: LTCPositiveGrads, g: UnsafeMutablePointer<Float>,
                  cache c: LTCCache, input: UnsafePointer<Float>, inputStride: Int, ts: UnsafePointer<Float>,
                  dOut: UnsafePointer<Float>?, dState: FloatBuffer,
                  dInput: UnsafeMutablePointer<Float>?, dH: UnsafeMutablePointer<Float>, hStride: Int) {
        let n = units, m = sensory, batch = c.batch
        let vFinal = c.state.pointer
        if let dOut {
            for b in 0..<batch {
                for i in 0..<motor {
                    let go = dOut[b * motor + i]
                    if let outputB { g[outputB + i] += go }
                    if let outputW {
                        g[outputW + i] += go * vFinal[b * n + i]
                        dState[b * n + i] += go * p[outputW + i]
                    } else {
                        dState[b * n + i] += go
                    }
                }
            }
        }
        let dv = dState
        let dPrev = FloatBuffer(batch * n)
        let dNumS = FloatBuffer(batch * n), dDenS = FloatBuffer(batch * n), dCmT = FloatBuffer(batch * n)
        var dnumer = [Float](repeating: 0, count: n), dden = [Float](repeating: 0, count: n)
        for t in stride(from: unfolds - 1, through: 0, by: -1) {
            let vIn = c.v[t].pointer, vOut = c.v[t + 1].pointer
            dPrev.zero()
            for b in 0..<batch {
                let vb = vIn + b * n
                let dpb = dPrev.pointer + b * n
                for i in 0..<n {
                    let r = b * n + i
                    let d = c.denom[t][r] + epsilon
                    dnumer[i] = dv[r] / d
                    dden[i] = -dv[r] * vOut[r] / d
                    dCmT[r] += dnumer[i] * vb[i] + dden[i]
                    dpb[i] += dnumer[i] * c.cmT[r]
                    gradP.gleak[i] += dnumer[i] * p[vleak + i] + dden[i]
                    g[vleak + i] += dnumer[i] * q.pgleak[i]
                    dNumS[r] += dnumer[i]
                    dDenS[r] += dden[i]
                }
                for s in q.synapses {
                    let idx = Int(s), j = idx / n, i = idx - j * n
                    let sg = p[sigma + idx], diff = vb[j] - p[mu + idx]
                    let sv = Kernels.sigmoid(sg * diff)
                    let a = q.wm[idx] * sv
                    let dA = dnumer[i] * p[erev + idx] + dden[i]
                    g[erev + idx] += dnumer[i] * a
                    gradP.w[idx] += dA * sv * p[mask + idx]
                    let dpre = dA * q.wm[idx] * sv * (1 - sv)
                    g[sigma + idx] += dpre * diff
                    g[mu + idx] -= dpre * sg
                    dpb[j] += dpre * sg
                }
            }
            dv.pointer.update(from: dPrev.pointer, count: batch * n)
        }
        for b in 0..<batch {
            for i in 0..<n { dH[b * hStride + i] += dv[b * n + i] }
            let dt = ts[b] / Float(unfolds)
            for i in 0..<n { gradP.cm[i] += dCmT[b * n + i] / dt }
        }
        // Sensory synapses and the input mapping.
        let du = FloatBuffer(batch * m)
        for b in 0..<batch {
            let u = c.u.pointer + b * m
            for s in q.sensorySynapses {
                let idx = Int(s), k = idx / n, i = idx - k * n
                let r = b * n + i
                let sg = p[sensorySigma + idx], diff = u[k] - p[sensoryMu + idx]
                let sv = Kernels.sigmoid(sg * diff)
                let a = q.swm[idx] * sv
                let dA = dNumS[r] * p[sensoryErev + idx] + dDenS[r]
                g[sensoryErev + idx] += dNumS[r] * a
                gradP.sensoryW[idx] += dA * sv * p[sensoryMask + idx]
                let dpre = dA * q.swm[idx] * sv * (1 - sv)
                g[sensorySigma + idx] += dpre * diff
                g[sensoryMu + idx] -= dpre * sg
                du[b * m + k] += dpre * sg
            }
            for k in 0..<m {
                let d = du[b * m + k]
                let x = input[b * inputStride + k]
                if let inputB { g[inputB + k] += d }
                if let inputW { g[inputW + k] += d * x }
                if let dInput { dInput[b * inputStride + k] += inputW.map { d * p[$0 + k] } ?? d }
            }
        }
    }

    /// Moves gradients of the positive-mapped tensors onto the raw parameters (chain rule through
    /// softplus in implicit mode).
    func finishPositiveGrads(_ p: UnsafePointer<Float>, _ gradP: LTCPositiveGrads, _ g: UnsafeMutablePointer<Float>) {
        func apply(_ buffer: FloatBuffer, _ offset: Int) {
            for i in 0..<buffer.count {
                g[offset + i] += implicit ? buffer[i] * Kernels.softplusGrad(p[offset + i]) : buffer[i]
            }
        }
        apply(gradP.w, w); apply(gradP.sensoryW, sensoryW); apply(gradP.cm, cm); apply(gradP.gleak, gleak)
    }
}

/// Gradients with respect to P(w), P(sensory_w), P(cm), P(gleak), summed over a sequence.
final class LTCPositiveGrads {
    let w: FloatBuffer, sensoryW: FloatBuffer, cm: FloatBuffer, gleak: FloatBuffer
    init(_ l: LTCLayout) {
        w = FloatBuffer(l.units * l.units); sensoryW = FloatBuffer(l.sensory * l.units)
        cm = FloatBuffer(l.units); gleak = FloatBuffer(l.units)
    }
}
