import Foundation
import Testing
import LFMKernels
@testable import LFMModels

/// The state machinery: chunking, decode after prefill, snapshots.
@Suite struct StateTests {
    let model: DecoderModel
    let prompt = [1, 5, 9, 33, 2, 17, 40, 41, 3, 60, 7, 12, 19]

    init() throws {
        let directory = try TinyModelBuilder.make()
        model = try LFM2Architecture.load(directory: directory)
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test(arguments: [1, 3, 7, 13])
    func chunkedPrefillMatchesOnePass(chunk: Int) throws {
        var whole = model.makeState()
        let reference = try model.forward(prompt, state: &whole, logits: .all, chunkSize: prompt.count)
        var chunked = model.makeState()
        let logits = try model.forward(prompt, state: &chunked, logits: .all, chunkSize: chunk)
        #expect(logits.count == reference.count)
        #expect(maxDifference(logits, reference) <= 1e-5)
        #expect(chunked.position == prompt.count)
    }

    @Test func prefillThenDecodeMatchesLongerPrefill() throws {
        var a = model.makeState()
        _ = try model.forward(Array(prompt.dropLast()), state: &a)
        let decoded = try model.forward([prompt.last!], state: &a)
        var b = model.makeState()
        let prefilled = try model.forward(prompt, state: &b)
        #expect(maxDifference(decoded, prefilled) <= 1e-5)
    }

    func greedy(_ state: inout SequenceState, from logits: [Float], steps: Int) throws -> [Int] {
        var next = logits.indices.max { logits[$0] < logits[$1] }!
        var tokens: [Int] = []
        for _ in 0..<steps {
            tokens.append(next)
            let out = try model.forward([next], state: &state)
            next = out.indices.max { out[$0] < out[$1] }!
        }
        return tokens
    }

    /// Rewinding to a checkpoint (no copy of the KV cache) and going on gives exactly the logits
    /// of a state that never went past it, after a prefill chunk and after decode steps, twice.
    @Test func rewindToCheckpointEqualsNeverHavingGoneOn() throws {
        var fresh = model.makeState()
        _ = try model.forward(prompt, state: &fresh)
        let continuation = [44, 8, 23, 5]
        let expected = try model.forward(continuation, state: &fresh, logits: .all, chunkSize: 3)

        var state = model.makeState()
        _ = try model.forward(prompt, state: &state)
        let mark = try #require(state.checkpoint())
        #expect(mark.position == prompt.count)
        _ = try model.forward([51, 52, 53, 54, 55, 56, 57], state: &state, logits: .none, chunkSize: 4)
        for _ in 0..<2 {
            try state.rewind(to: mark)
            #expect(state.position == prompt.count)
            let logits = try model.forward(continuation, state: &state, logits: .all, chunkSize: 3)
            #expect(logits == expected)
            for token in [58, 59, 60] { _ = try model.forward([token], state: &state) }
        }
    }

    /// States whose rows later passes move or drop give no checkpoint; a checkpoint that cannot
    /// belong to the state is refused with a typed error.
    @Test func checkpointsOnlyWhereRowsAreOnlyAppended() throws {
        #expect(SequenceState(shapes: [.keyValue(width: 8, window: 4)], maxContext: 16).checkpoint() == nil)
        #expect(model.makeState(maxContext: 64, policy: .streaming(sinks: 4, window: 28)).checkpoint() == nil)
        var state = model.makeState()
        _ = try model.forward(prompt, state: &state)
        let ahead = try #require(state.checkpoint())
        var shorter = model.makeState()
        _ = try model.forward([1, 2], state: &shorter)
        #expect(throws: InferenceError.self) { try shorter.rewind(to: ahead) }
        var other = SequenceState(shapes: [.keyValue(width: 8, window: 0)], maxContext: 16)
        #expect(throws: InferenceError.self) { try other.rewind(to: ahead) }
    }

    @Test func snapshotRestoreGivesIdenticalTokens() throws {
        var state = model.makeState()
        let logits = try model.forward(prompt, state: &state)
        let snapshot = state
        let first = try greedy(&state, from: logits, steps: 10)
        #expect(state.position == prompt.count + 10)
        state = snapshot
        #expect(state.position == prompt.count)
        let second = try greedy(&state, from: logits, steps: 10)
        #expect(first == second)
        #expect(snapshot.position == prompt.count)
    }

    @Test func contextLimitIsEnforced() throws {
        var state = model.makeState(maxContext: 8)
        #expect(throws: InferenceError.contextLengthExceeded(requested: 13, limit: 8)) {
            _ = try model.forward(prompt, state: &state)
        }
        #expect(throws: InferenceError.tokenOutOfRange(token: 61, vocabularySize: 61)) {
            _ = try model.forward([61], state: &state)
        }
        #expect(throws: InferenceError.emptyInput) { _ = try model.forward([], state: &state) }
    }
}

/// KV storage growth: reserved once, never moved, at most the bound.
@Suite struct KeyValueStorageGrowthTests {
    @Test(arguments: [KVCacheType.f32, .q8_0])
    func storageGrowsInPlaceUpToTheContext(kvType: KVCacheType) throws {
        let width = 64, maxContext = 5000
        var state = try SequenceState(shapes: [.convolution(rows: 2, channels: 8), .keyValue(width: width, window: 0)],
                                      maxContext: maxContext, kvType: kvType)
        let rowBytes = state.keyValueRowBytes(1)
        func storage() -> (UnsafeMutableRawPointer, UnsafeMutableRawPointer) {
            state.withKeyValueStorage(layer: 1) { ($0, $1) }
        }
        #expect(state.prepareKeyValues(layer: 1, adding: 3) == 0)
        state.position = 3
        let first = storage()
        // Grow one piece at a time to the full context: the rows never move.
        while state.position < maxContext {
            let count = min(700, maxContext - state.position)
            #expect(state.prepareKeyValues(layer: 1, adding: count) == state.position)
            state.position += count
            let now = storage()
            #expect(now.0 == first.0 && now.1 == first.1, "storage moved at \(state.position) rows")
        }
        #expect(state.keyRows[1].count == maxContext * rowBytes, "grew past the context")
        #expect(state.keyRows[1].capacity >= maxContext * rowBytes)
        #expect(state.keyRows[0].isEmpty, "a convolution layer got KV storage")
    }
}
