import Foundation
import Testing
import LFMFormats
import LFMKernels
@testable import LFMModels
@testable import LFMTraining

/// The LIV ops' backward passes against finite differences, and their forward against direct formulas.
@Suite struct LIVOperatorTests {
    let differences = FiniteDifferenceTests()

    @Test func slidingAttentionGradients() {
        let q = differences.random([6, 8], seed: 21), k = differences.random([6, 4], seed: 22), v = differences.random([6, 4], seed: 23)
        for window in [1, 2, 3] {
            differences.check("sliding \(window)", inputs: [q, k, v]) {
                $0.slidingAttention(q: q, k: k, v: v, heads: 2, kvHeads: 1, headDim: 4, scale: 0.5, window: window, sequenceLength: 3)
            }
        }
    }

    @Test func slidingAttentionSeesExactlyTheWindow() {
        // Window 2 over one sequence: query t averages v_{t-1}, v_t with softmax weights; a key
        // outside the window changing must not change the output.
        let ops = Ops(backend: ReferenceBackend(), tape: Tape(recording: false))
        let q = differences.random([5, 2], seed: 24), k = differences.random([5, 2], seed: 25), v = differences.random([5, 2], seed: 26)
        let y = ops.slidingAttention(q: q, k: k, v: v, heads: 1, kvHeads: 1, headDim: 2, scale: 0.7, window: 2)
        for t in 0..<5 {
            let keys = Array(max(0, t - 1)...t)
            let scores = keys.map { j in 0.7 * (q.data[t * 2] * k.data[j * 2] + q.data[t * 2 + 1] * k.data[j * 2 + 1]) }
            let top = scores.max()!
            let weights = scores.map { expf($0 - top) }, total = weights.reduce(0, +)
            for i in 0..<2 {
                let expected = zip(keys, weights).reduce(Float(0)) { $0 + $1.1 / total * v.data[$1.0 * 2 + i] }
                #expect(abs(y.data[t * 2 + i] - expected) <= 1e-6)
            }
        }
        // A window as long as the sequence is full causal attention.
        let full = ops.attention(q: q, k: k, v: v, heads: 1, kvHeads: 1, headDim: 2, scale: 0.7)
        let wide = ops.slidingAttention(q: q, k: k, v: v, heads: 1, kvHeads: 1, headDim: 2, scale: 0.7, window: 5)
        #expect(full.data == wide.data)
    }

    @Test func headGateGradients() {
        let x = differences.random([4, 6], seed: 27), logits = differences.random([4, 3], seed: 28, scale: 2)
        differences.check("headGate", inputs: [x, logits]) { $0.headGate(x, logits: logits, heads: 3, headDim: 2) }
    }

    @Test func recurrenceGradients() {
        // Hidden 4 in 2 decay groups, two sequences of 5.
        let uzf = differences.random([10, 10], seed: 29, scale: 1.5), bias = differences.random([2], seed: 30)
        differences.check("recurrence", inputs: [uzf, bias]) { $0.recurrence(uzf, decayBias: bias, hidden: 4, sequenceLength: 5) }
    }

    @Test func recurrenceForwardIsTheScan() {
        let uzf = differences.random([6, 5], seed: 31), bias = Tensor(shape: [1], data: [0.4])
        let y = Ops(backend: ReferenceBackend(), tape: Tape(recording: false)).recurrence(uzf, decayBias: bias, hidden: 2, sequenceLength: 3)
        for s in 0..<2 {
            var state = [Double](repeating: 0, count: 2)
            for t in 0..<3 {
                let r = s * 3 + t, row = Array(uzf.data[(r * 5)..<(r * 5 + 5)]).map(Double.init)
                let a = 1 / (1 + exp(-(row[4] + 0.4)))
                for c in 0..<2 {
                    state[c] = a * state[c] + (1 - a) * row[c]
                    let z = row[2 + c], expected = state[c] * z / (1 + exp(-z))
                    #expect(abs(Double(y.data[r * 2 + c]) - expected) <= 1e-6)
                }
            }
        }
    }

    @Test func expertRoutingGradients() {
        // Router logits spread widely so a ±1e-2 probe does not change which experts are chosen.
        let x = differences.random([5, 4], seed: 32)
        let levels: [Float] = [-2.5, -0.8, 0.6, 2.2]
        let logits = Tensor(shape: [5, 4], data: (0..<20).map { levels[($0 % 4 + $0 / 4) % 4] }, requiresGrad: true)
        let experts = (0..<4).map { differences.random([3, 4], seed: 40 + UInt64($0)) }
        for normalize in [true, false] {
            differences.check("experts normalize \(normalize)", inputs: [x, logits] + experts) { ops in
                let (weights, routing) = ops.routeTopK(logits, k: 2, selectionBias: [0, 0.05, 0, -0.05], normalize: normalize, scaling: 1.5)
                let outputs: [Tensor?] = (0..<4).map { e in
                    let tokens = routing.assignments[e].map(\.token)
                    return tokens.isEmpty ? nil : ops.linear(ops.gatherRows(x, tokens), experts[e])
                }
                return ops.combineExperts(outputs, weights: weights, routing: routing, rows: 5, hidden: 3)
            }
        }
    }

    @Test func routingChoosesByBiasedScoreAndWeighsByScore() {
        let ops = Ops(backend: ReferenceBackend(), tape: Tape(recording: false))
        let logits = Tensor(shape: [1, 3], data: [2, 1, 0])
        // The bias moves expert 2 (the smallest logit) to the front of the choice, but the weights stay sigmoid scores.
        let (weights, routing) = ops.routeTopK(logits, k: 2, selectionBias: [0, 0, 1], normalize: true, scaling: 2)
        // sigmoid(0) + 1 = 1.5 > sigmoid(2) ≈ 0.88 > sigmoid(1) ≈ 0.73.
        #expect(routing.experts == [2, 0])
        let s0 = 1 / (1 + expf(-2)), s2: Float = 0.5
        #expect(abs(weights.data[0] - 2 * s2 / (s0 + s2 + 1e-6)) <= 1e-6)
        #expect(abs(weights.data[1] - 2 * s0 / (s0 + s2 + 1e-6)) <= 1e-6)
    }
}
