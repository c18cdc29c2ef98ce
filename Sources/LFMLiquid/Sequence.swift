import Foundation
import LFMCore

// The sequence wrappers `ncps.torch.CfC` / `ncps.torch.LTC` (batch first, return_sequences=True):
// per step, [mixed memory: (h, c) = LSTM(x, (h, c))], then (out, h) = cell(x, h, elapsed), then
// [CfC with proj_size: out = fc(out)]. Backpropagation through time walks the recorded steps in
// reverse. Elapsed times are per sample and per step (ncps squeezes them to one value per step,
// which is only correct for batch 1; with batch 1 both agree).

/// A batch of equally long sequences, batch first.
public struct SequenceBatch: Sendable {
    /// Number of sequences.
    public let batch: Int
    /// Time steps per sequence.
    public let steps: Int
    /// Features per step.
    public let features: Int
    /// [batch, steps, features] row-major.
    public var values: [Float]
    /// Elapsed time before each step, [batch, steps]; nil means 1.0 everywhere.
    public var timespans: [Float]?

    /// Checks the counts and that every elapsed time is finite and > 0.
    public init(batch: Int, steps: Int, features: Int, values: [Float], timespans: [Float]? = nil) throws {
        guard batch >= 1, steps >= 1, features >= 1 else {
            throw LiquidModelError("a sequence batch needs batch, steps and features >= 1 (got \(batch), \(steps), \(features))")
        }
        guard values.count == batch * steps * features else {
            throw LiquidModelError("sequence values: expected \(batch)×\(steps)×\(features) = \(batch * steps * features), got \(values.count)")
        }
        if let timespans {
            guard timespans.count == batch * steps else {
                throw LiquidModelError("timespans: expected \(batch)×\(steps) = \(batch * steps) values, got \(timespans.count)")
            }
            if let bad = timespans.firstIndex(where: { !($0 > 0) || !$0.isFinite }) {
                throw LiquidModelError("timespans: value \(timespans[bad]) at sequence \(bad / steps), step \(bad % steps) is not a positive finite time")
            }
        }
        self.batch = batch
        self.steps = steps
        self.features = features
        self.values = values
        self.timespans = timespans
    }
}

/// The recurrent state: h [batch, stateSize] and, with mixed memory, the LSTM cell c.
public struct LiquidState: Sendable, Equatable {
    /// Hidden state, [batch, stateSize].
    public var h: [Float]
    /// LSTM cell state with mixed memory, [batch, stateSize]; nil otherwise.
    public var c: [Float]?
    /// A state from its parts.
    public init(h: [Float], c: [Float]? = nil) { self.h = h; self.c = c }
}

/// Outputs of a forward pass.
public struct ForwardResult: Sendable {
    /// [batch, steps, outputSize].
    public var outputs: [Float]
    /// The state after the last step.
    public var finalState: LiquidState
}

/// Gradients of a loss with respect to every tensor (same layout as `ParameterSet.values`;
/// zero for masks) and to the inputs.
public struct Gradients: Sendable {
    /// dL/d parameters, flat.
    public var parameters: [Float]
    /// dL/d inputs, [batch, steps, features].
    public var inputs: [Float]
}

/// One recorded step.
final class StepRecord {
    var lstm: LSTMCache?
    var cfc: [CfCCache] = []
    var ltc: LTCCache?
    let hIn: FloatBuffer      // state fed to the liquid cell
    let hOut: FloatBuffer     // state after the step
    let cellOut: FloatBuffer  // cell output before projection
    let out: FloatBuffer      // step output
    init(batch: Int, state: Int, cellOutCount: Int, outCount: Int) {
        hIn = FloatBuffer(batch * state); hOut = FloatBuffer(batch * state)
        cellOut = FloatBuffer(batch * cellOutCount); out = FloatBuffer(batch * outCount)
    }
}

/// Forward-pass preparations that depend only on the parameters.
final class Prepared {
    var cfcEffective: [CfCEffectiveWeights] = []
    var ltc: LTCPrepared?
}

extension LiquidModel {
    /// Runs the sequences; `initial` defaults to zeros.
    public func forward(_ x: SequenceBatch, initial: LiquidState? = nil) throws -> ForwardResult {
        let (records, final) = try run(x, initial: initial, training: false, dropoutSeed: nil)
        return ForwardResult(outputs: gatherOutputs(records, batch: x.batch), finalState: final)
    }

    /// Forward and backward through time for a loss whose gradient with respect to the outputs
    /// [batch, steps, outputSize] is `dOutputs` (and optionally to the final state).
    public func gradients(_ x: SequenceBatch, initial: LiquidState? = nil, dOutputs: [Float],
                          dFinalH: [Float]? = nil, dFinalC: [Float]? = nil,
                          training: Bool = false, dropoutSeed: UInt64? = nil) throws -> (ForwardResult, Gradients) {
        let (records, final) = try run(x, initial: initial, training: training, dropoutSeed: dropoutSeed)
        let outputs = gatherOutputs(records, batch: x.batch)
        guard dOutputs.count == outputs.count else {
            throw LiquidModelError("dOutputs: expected \(outputs.count) values, got \(dOutputs.count)")
        }
        let grads = backward(x, records: records, dOutputs: dOutputs, dFinalH: dFinalH, dFinalC: dFinalC)
        return (ForwardResult(outputs: outputs, finalState: final), grads)
    }

    /// Forward with a loss callback that sees the outputs and returns dL/d outputs; used by
    /// training so that outputs are computed once.
    func forwardBackward(_ x: SequenceBatch, training: Bool, dropoutSeed: UInt64?,
                         loss: ([Float]) -> [Float]) throws -> Gradients {
        let (records, _) = try run(x, initial: nil, training: training, dropoutSeed: dropoutSeed)
        let dOutputs = loss(gatherOutputs(records, batch: x.batch))
        return backward(x, records: records, dOutputs: dOutputs, dFinalH: nil, dFinalC: nil)
    }

    private func gatherOutputs(_ records: [StepRecord], batch: Int) -> [Float] {
        let steps = records.count, o = outputSize
        var outputs = [Float](repeating: 0, count: batch * steps * o)
        for (t, r) in records.enumerated() {
            for b in 0..<batch { for k in 0..<o { outputs[(b * steps + t) * o + k] = r.out[b * o + k] } }
        }
        return outputs
    }

    func prepare(_ p: UnsafePointer<Float>) -> Prepared {
        let prepared = Prepared()
        switch core {
        case .cfc(let l): prepared.cfcEffective = [l.effectiveWeights(p, products: maskedProducts)]
        case .wiredCfC(let ls): prepared.cfcEffective = ls.map { $0.effectiveWeights(p, products: maskedProducts) }
        case .ltc(let l): prepared.ltc = LTCPrepared(l, p)
        }
        return prepared
    }

    func makeRecord(batch: Int, training: Bool) -> StepRecord {
        let record = StepRecord(batch: batch, state: stateSize, cellOutCount: cellOutputSize, outCount: outputSize)
        if let lstm { record.lstm = LSTMCache(lstm, batch: batch) }
        switch core {
        case .cfc(let l): record.cfc = [CfCCache(l, batch: batch, training: training)]
        case .wiredCfC(let ls): record.cfc = ls.map { CfCCache($0, batch: batch, training: training) }
        case .ltc(let l): record.ltc = LTCCache(l, batch: batch)
        }
        return record
    }

    /// One step for the whole batch: reads input rows (stride `inputStride`), the state in
    /// `h`/`c` (updated in place) and elapsed times; fills `record`.
    func step(_ p: UnsafePointer<Float>, prepared: Prepared, input: UnsafePointer<Float>, inputStride: Int,
              h: FloatBuffer, c: FloatBuffer?, ts: UnsafePointer<Float>, record r: StepRecord, dropoutRNG: inout SplitMix64?) {
        let batch = h.count / stateSize
        if let lstm, let c, let cache = r.lstm {
            lstm.forward(p, input: input, inputStride: inputStride, h: h.pointer, c: c.pointer, cache: cache)
            h.pointer.update(from: cache.hNew.pointer, count: h.count)
            c.pointer.update(from: cache.cNew.pointer, count: c.count)
        }
        r.hIn.pointer.update(from: h.pointer, count: h.count)
        switch core {
        case .cfc(let l):
            l.forward(p, effective: prepared.cfcEffective[0], input: input, inputStride: inputStride,
                      h: r.hIn.pointer, hStride: stateSize, ts: ts, cache: r.cfc[0], dropoutRNG: &dropoutRNG)
            r.hOut.pointer.update(from: r.cfc[0].out.pointer, count: h.count)
            r.cellOut.pointer.update(from: r.cfc[0].out.pointer, count: h.count)
        case .wiredCfC(let ls):
            var offset = 0
            var layerInput = input, layerStride = inputStride
            for (i, l) in ls.enumerated() {
                l.forward(p, effective: prepared.cfcEffective[i], input: layerInput, inputStride: layerStride,
                          h: r.hIn.pointer + offset, hStride: stateSize, ts: ts, cache: r.cfc[i], dropoutRNG: &dropoutRNG)
                for b in 0..<batch {
                    (r.hOut.pointer + b * stateSize + offset).update(from: r.cfc[i].out.pointer + b * l.hidden, count: l.hidden)
                }
                layerInput = UnsafePointer(r.cfc[i].out.pointer)
                layerStride = l.hidden
                offset += l.hidden
            }
            r.cellOut.pointer.update(from: r.cfc[ls.count - 1].out.pointer, count: r.cellOut.count)
        case .ltc(let l):
            guard let q = prepared.ltc, let cache = r.ltc else { return }
            l.forward(p, prepared: q, input: input, inputStride: inputStride, h: r.hIn.pointer, hStride: stateSize, ts: ts, cache: cache)
            r.hOut.pointer.update(from: cache.state.pointer, count: h.count)
            r.cellOut.pointer.update(from: cache.out.pointer, count: r.cellOut.count)
        }
        h.pointer.update(from: r.hOut.pointer, count: h.count)
        if let projection {
            Kernels.linear(batch: batch, inDim: projection.inDim, outDim: projection.outDim, x: r.cellOut.pointer,
                           xStride: projection.inDim, w: p + projection.weight, bias: p + projection.bias,
                           y: r.out.pointer, yStride: projection.outDim)
        } else {
            r.out.pointer.update(from: r.cellOut.pointer, count: r.out.count)
        }
    }

    func checkState(_ initial: LiquidState?, batch: Int) throws -> (FloatBuffer, FloatBuffer?) {
        let n = batch * stateSize
        let h = FloatBuffer(n)
        let c: FloatBuffer? = lstm == nil ? nil : FloatBuffer(n)
        if let initial {
            guard initial.h.count == n else { throw LiquidModelError("initial state h: expected \(batch)×\(stateSize) values, got \(initial.h.count)") }
            for i in 0..<n { h[i] = initial.h[i] }
            if let c {
                guard let c0 = initial.c else {
                    throw LiquidModelError("Running a \(config.cell.rawValue) with mixed_memory=True, requires a tuple (h0,c0) to be passed as state")
                }
                guard c0.count == n else { throw LiquidModelError("initial state c: expected \(n) values, got \(c0.count)") }
                for i in 0..<n { c[i] = c0[i] }
            }
        }
        return (h, c)
    }

    private func run(_ x: SequenceBatch, initial: LiquidState?, training: Bool, dropoutSeed: UInt64?) throws -> ([StepRecord], LiquidState) {
        guard x.features == config.inputSize else {
            throw LiquidModelError("input has \(x.features) features per step; the model expects \(config.inputSize)")
        }
        let (h, c) = try checkState(initial, batch: x.batch)
        var records: [StepRecord] = []
        var dropoutRNG: SplitMix64? = training ? SplitMix64(seed: dropoutSeed ?? 0) : nil
        let ts = FloatBuffer(x.batch)
        parameters.values.withUnsafeBufferPointer { pb in
            let p = pb.baseAddress!
            let prepared = prepare(p)
            x.values.withUnsafeBufferPointer { xb in
                for t in 0..<x.steps {
                    for b in 0..<x.batch { ts[b] = x.timespans?[b * x.steps + t] ?? 1 }
                    let record = makeRecord(batch: x.batch, training: training)
                    step(p, prepared: prepared, input: xb.baseAddress! + t * x.features, inputStride: x.steps * x.features,
                         h: h, c: c, ts: ts.pointer, record: record, dropoutRNG: &dropoutRNG)
                    records.append(record)
                }
            }
        }
        return (records, LiquidState(h: h.array, c: c?.array))
    }

    private func backward(_ x: SequenceBatch, records: [StepRecord], dOutputs: [Float], dFinalH: [Float]?, dFinalC: [Float]?) -> Gradients {
        let batch = x.batch, steps = x.steps, o = outputSize, s = stateSize
        var grads = [Float](repeating: 0, count: parameters.values.count)
        var dInputs = [Float](repeating: 0, count: x.values.count)
        let dH = FloatBuffer(batch * s)
        if let dFinalH { for i in 0..<min(dFinalH.count, dH.count) { dH[i] = dFinalH[i] } }
        let dC: FloatBuffer? = lstm == nil ? nil : FloatBuffer(batch * s)
        if let dC, let dFinalC { for i in 0..<min(dFinalC.count, dC.count) { dC[i] = dFinalC[i] } }
        let ts = FloatBuffer(batch)
        let dOut = FloatBuffer(batch * o)
        let dCell = FloatBuffer(batch * cellOutputSize)
        parameters.values.withUnsafeBufferPointer { pb in
            let p = pb.baseAddress!
            let prepared = prepare(p)
            let ltcGrads: LTCPositiveGrads? = { if case .ltc(let l) = core { return LTCPositiveGrads(l) } else { return nil } }()
            grads.withUnsafeMutableBufferPointer { gb in
                let g = gb.baseAddress!
                x.values.withUnsafeBufferPointer { xb in
                    dInputs.withUnsafeMutableBufferPointer { dxb in
                        for t in stride(from: steps - 1, through: 0, by: -1) {
                            let r = records[t]
                            for b in 0..<batch {
                                ts[b] = x.timespans?[b * steps + t] ?? 1
                                for k in 0..<o { dOut[b * o + k] = dOutputs[(b * steps + t) * o + k] }
                            }
                            let input = xb.baseAddress! + t * x.features
                            let dInput = dxb.baseAddress! + t * x.features
                            let rowStride = steps * x.features
                            if let projection {
                                dCell.zero()
                                Kernels.linearBackward(batch: batch, inDim: projection.inDim, outDim: projection.outDim,
                                                       x: r.cellOut.pointer, xStride: projection.inDim, w: p + projection.weight,
                                                       dy: dOut.pointer, dyStride: o, dw: g + projection.weight,
                                                       db: g + projection.bias, dx: dCell.pointer, dxStride: projection.inDim)
                            } else {
                                dCell.pointer.update(from: dOut.pointer, count: dCell.count)
                            }
                            let dHIn = FloatBuffer(batch * s)
                            switch core {
                            case .cfc(let l):
                                for i in 0..<dH.count { dH[i] += dCell[i] }
                                l.backward(p, effective: prepared.cfcEffective[0], g: g, cache: r.cfc[0], ts: ts.pointer,
                                           dOut: dH.pointer, dInput: dInput, inputStride: rowStride, dH: dHIn.pointer, hStride: s)
                            case .wiredCfC(let ls):
                                let offsets = ls.reduce(into: [0]) { $0.append($0.last! + $1.hidden) }
                                var dNext: FloatBuffer? = nil   // dL/d (this layer's output) from the next layer
                                for i in stride(from: ls.count - 1, through: 0, by: -1) {
                                    let l = ls[i]
                                    let dLayer = FloatBuffer(batch * l.hidden)
                                    for b in 0..<batch {
                                        for k in 0..<l.hidden {
                                            var v = dH[b * s + offsets[i] + k]
                                            if i == ls.count - 1 { v += dCell[b * l.hidden + k] }
                                            if let dNext { v += dNext[b * l.hidden + k] }
                                            dLayer[b * l.hidden + k] = v
                                        }
                                    }
                                    let dLayerInput: FloatBuffer? = i == 0 ? nil : FloatBuffer(batch * ls[i - 1].hidden)
                                    l.backward(p, effective: prepared.cfcEffective[i], g: g, cache: r.cfc[i], ts: ts.pointer,
                                               dOut: dLayer.pointer,
                                               dInput: dLayerInput?.pointer ?? dInput, inputStride: dLayerInput == nil ? rowStride : ls[i - 1].hidden,
                                               dH: dHIn.pointer + offsets[i], hStride: s)
                                    dNext = dLayerInput
                                }
                            case .ltc(let l):
                                guard let q = prepared.ltc, let cache = r.ltc, let lg = ltcGrads else { break }
                                let dState = FloatBuffer(batch * s)
                                dState.pointer.update(from: dH.pointer, count: dH.count)
                                l.backward(p, prepared: q, gradP: lg, g: g, cache: cache, input: input, inputStride: rowStride,
                                           ts: ts.pointer, dOut: dCell.pointer, dState: dState, dInput: dInput,
                                           dH: dHIn.pointer, hStride: s)
                            }
                            if let lstm, let dC, let cache = r.lstm {
                                let dCPrev = FloatBuffer(batch * s)
                                lstm.backward(p, g: g, cache: cache, input: input, inputStride: rowStride,
                                              dHNew: dHIn.pointer, dCNew: dC.pointer, dInput: dInput,
                                              dHPrev: dH.pointer, dCPrev: dCPrev.pointer)
                                dC.pointer.update(from: dCPrev.pointer, count: dC.count)
                            } else {
                                dH.pointer.update(from: dHIn.pointer, count: dH.count)
                            }
                        }
                    }
                }
                if case .ltc(let l) = core, let lg = ltcGrads { l.finishPositiveGrads(p, lg, g) }
            }
        }
        for e in parameters.entries where !e.trainable { for i in e.range { grads[i] = 0 } }
        return Gradients(parameters: grads, inputs: dInputs)
    }
}
