import Foundation
import LFMCore

/// The device runtime: one sample at a time, `step(input, dt) -> output`, with every buffer
/// allocated once at creation so that a step allocates nothing. The state is explicit and
/// copyable (`state`, `reset`).
///
/// ```swift
/// let stream = try LiquidStream(model: folder.model)
/// for sample in sensor { let y = stream.step(sample, dt: 0.01) }
/// ```
public final class LiquidStream {
    /// The network.
    public let model: LiquidModel
    private let prepared: Prepared
    private let record: StepRecord
    private let h: FloatBuffer
    private let c: FloatBuffer?
    private let ts: FloatBuffer
    private let input: FloatBuffer
    private let weights: FloatBuffer

    /// A stream starting from the zero state.
    public init(model: LiquidModel) throws {
        self.model = model
        weights = FloatBuffer(copying: model.parameters.values)
        prepared = model.prepare(UnsafePointer(weights.pointer))
        record = model.makeRecord(batch: 1, training: false)
        h = FloatBuffer(model.stateSize)
        c = model.lstm == nil ? nil : FloatBuffer(model.stateSize)
        ts = FloatBuffer(1)
        input = FloatBuffer(model.config.inputSize)
    }

    /// Number of input features per sample.
    public var inputSize: Int { model.config.inputSize }
    /// Number of outputs per sample.
    public var outputSize: Int { model.outputSize }

    /// The current state (a copy).
    public var state: LiquidState {
        get { LiquidState(h: h.array, c: c?.array) }
    }

    /// Replaces the state; its sizes must match.
    public func setState(_ newState: LiquidState) throws {
        guard newState.h.count == h.count else { throw LiquidModelError("state h has \(newState.h.count) values; the model needs \(h.count)") }
        for i in 0..<h.count { h[i] = newState.h[i] }
        if let c {
            guard let nc = newState.c, nc.count == c.count else { throw LiquidModelError("state c must have \(c.count) values (mixed memory)") }
            for i in 0..<c.count { c[i] = nc[i] }
        }
    }

    /// Back to the zero state.
    public func reset() {
        h.zero()
        c?.zero()
    }

    /// One sample: `input` holds `inputSize` values, `dt` the elapsed time since the previous
    /// sample (> 0); the outputs are written to `output` (`outputSize` values). No allocation.
    public func step(_ input: UnsafeBufferPointer<Float>, dt: Float, output: UnsafeMutableBufferPointer<Float>) {
        precondition(input.count == inputSize && output.count >= outputSize, "LiquidStream.step: wrong buffer sizes")
        ts[0] = dt
        if let base = input.baseAddress { self.input.pointer.update(from: base, count: inputSize) }
        var noDropout: SplitMix64? = nil
        model.step(UnsafePointer(weights.pointer), prepared: prepared, input: self.input.pointer, inputStride: inputSize,
                   h: h, c: c, ts: ts.pointer, record: record, dropoutRNG: &noDropout)
        if let out = output.baseAddress { out.update(from: record.out.pointer, count: outputSize) }
    }

    /// Convenience form returning a new array; checks the input size and `dt`.
    public func step(_ input: [Float], dt: Float = 1) throws -> [Float] {
        guard input.count == inputSize else { throw LiquidModelError("sample has \(input.count) features; the model expects \(inputSize)") }
        guard dt > 0, dt.isFinite else { throw LiquidModelError("elapsed time \(dt) is not positive") }
        var out = [Float](repeating: 0, count: outputSize)
        input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in step(i, dt: dt, output: o) } }
        return out
    }
}
