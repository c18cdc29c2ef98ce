import Foundation
import Testing
import LFMKernels
@testable import LFMModels

/// Several sequences advanced in one pass must behave exactly as each one alone (the classic
/// hybrid-model bug is sequences sharing or corrupting each other's conv state).
@Suite struct BatchTests {
    let model: DecoderModel

    init() throws {
        let directory = ReferenceCase.root.appendingPathComponent("mixed-gqa2-bf16")
        model = try LFM2Architecture.load(directory: directory, options: ModelLoadOptions(backend: CPUBackend(threads: 2)))
    }

    func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] }! }

    func alone(_ prompt: [Int], steps: Int) throws -> (tokens: [Int], logits: [[Float]]) {
        var state = model.makeState()
        var logits = try model.forward(prompt, state: &state)
        var tokens: [Int] = [], all: [[Float]] = []
        for _ in 0..<steps {
            all.append(logits)
            let next = argmax(logits)
            tokens.append(next)
            logits = try model.forward([next], state: &state)
        }
        return (tokens, all)
    }

    @Test func batchedDecodeEqualsEachSequenceAlone() throws {
        let prompts = [[1, 5, 9, 33, 2, 17, 40], [3, 3, 3], [100, 200, 150, 7, 9, 11, 12, 13, 14, 15, 16, 17, 300], [42]]
        let steps = 10
        let expected = try prompts.map { try alone($0, steps: steps) }

        // Prefill each sequence (one batch with unequal segments), then decode all together.
        var states = prompts.map { _ in model.makeState() }
        var logits = try model.forward(batch: prompts, states: &states)
        var tokens = prompts.map { _ in [Int]() }
        for step in 0..<steps {
            for s in prompts.indices {
                let difference = zip(logits[s], expected[s].logits[step]).map { abs($0 - $1) }.max() ?? 0
                #expect(difference < 1e-4, "sequence \(s) step \(step): \(difference)")
                tokens[s].append(argmax(logits[s]))
            }
            logits = try model.forward(batch: tokens.map { [$0.last!] }, states: &states)
        }
        for s in prompts.indices { #expect(tokens[s] == expected[s].tokens, "sequence \(s)") }
        #expect(states.map(\.position) == prompts.map { $0.count + steps })
    }

    @Test func sequencesJoinAndLeave() throws {
        // One sequence decodes while another is prefilled in the same pass.
        let first = [1, 2, 3, 4, 5], second = [9, 8, 7, 6, 5, 4, 3]
        var a = model.makeState()
        let afterFirst = try model.forward(first, state: &a)
        var states = [a, model.makeState()]
        let next = argmax(afterFirst)
        let mixed = try model.forward(batch: [[next], second], states: &states)
        var alone = a
        let expectedFirst = try model.forward([next], state: &alone)
        var b = model.makeState()
        let expectedSecond = try model.forward(second, state: &b)
        #expect(zip(mixed[0], expectedFirst).map { abs($0 - $1) }.max()! < 1e-4)
        #expect(zip(mixed[1], expectedSecond).map { abs($0 - $1) }.max()! < 1e-4)
        // Same contents up to rounding (the batched pass uses matrix-matrix kernels).
        for (ours, theirs) in [(states[0], alone), (states[1], b)] {
            #expect(ours.position == theirs.position)
            for l in ours.conv.indices {
                let n: Int
                if case .keyValue(let width, _) = ours.shapes[l] { n = ours.position * width } else { n = 0 }
                #expect(zip(ours.conv[l], theirs.conv[l]).allSatisfy { abs($0 - $1) < 1e-4 })
                #expect(zip(ours.keys[l].prefix(n), theirs.keys[l].prefix(n)).allSatisfy { abs($0 - $1) < 1e-4 })
                #expect(zip(ours.values[l].prefix(n), theirs.values[l].prefix(n)).allSatisfy { abs($0 - $1) < 1e-4 })
            }
        }
    }

    @Test func badBatchesAreErrors() throws {
        var states = [model.makeState()]
        #expect(throws: InferenceError.self) { _ = try model.forward(batch: [[1], [2]], states: &states) }
        #expect(throws: InferenceError.emptyInput) { _ = try model.forward(batch: [[]], states: &states) }
        var none: [SequenceState] = []
        #expect(try model.forward(batch: [], states: &none).isEmpty)
    }
}
