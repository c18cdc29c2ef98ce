import Foundation
import Testing
import LFMCore
import LFMKernels
@testable import LFMModels

/// Sequence states saved to bytes and read back continue exactly; the model fingerprint tells models apart.
@Suite struct StatePersistenceTests {
    let prompt = [1, 5, 9, 33, 2, 17, 40, 41, 3, 60, 7, 12, 19]

    func roundTrip(_ state: SequenceState, model: DecoderModel, maxContext: Int? = nil,
                   relativeTo base: SequenceState? = nil) throws -> SequenceState {
        var w = ByteWriter()
        state.encode(into: &w, relativeTo: base)
        return try w.bytes.withUnsafeBytes {
            try SequenceState.decode($0, shapes: state.shapes, maxContext: maxContext ?? state.maxContext, relativeTo: base)
        }
    }

    func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    /// Greedy continuation from `state` and `logits`: the tokens and the bitwise logits of every step.
    func continueGreedy(_ model: DecoderModel, _ state: SequenceState, _ logits: [Float], steps: Int) throws -> ([Int], [[UInt32]]) {
        var state = state, logits = logits
        var tokens: [Int] = [], trace: [[UInt32]] = []
        for _ in 0..<steps {
            let next = logits.indices.max { logits[$0] < logits[$1] } ?? 0
            tokens.append(next)
            logits = try model.forward([next], state: &state)
            trace.append(bits(logits))
        }
        return (tokens, trace)
    }

    @Test func savedLFM2StateContinuesBitIdentically() throws {
        let model = try LFM2Architecture.load(directory: try TinyModelBuilder.make())
        var state = model.makeState()
        let logits = try model.forward(prompt, state: &state)
        let restored = try roundTrip(state, model: model)
        #expect(restored == state)
        #expect(restored.position == prompt.count)
        let a = try continueGreedy(model, state, logits, steps: 12)
        let b = try continueGreedy(model, restored, logits, steps: 12)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
    }

    @Test func savedSlidingWindowStateContinuesBitIdentically() throws {
        let name = try #require(FamilyCase.all().first { (try? FamilyCase.load($0).0.model_type) == "lfm3" })
        let model = try FamilyCase.model(FamilyCase.load(name).1)
        let window = try #require(slidingWindow(model))
        var state = model.makeState()
        // Past the window, so the windowed layers have dropped rows (firstKept > 0).
        let logits = try model.forward((0..<(3 * window + 5)).map { $0 % 50 + 3 }, state: &state)
        let restored = try roundTrip(state, model: model)
        #expect(restored == state)
        let a = try continueGreedy(model, state, logits, steps: 2 * window)
        let b = try continueGreedy(model, restored, logits, steps: 2 * window)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
    }

    /// Every KV storage type under a bounded policy that has already evicted rows: the saved state
    /// (stored rows, RoPE shift, pruning observations) continues bit-identically; a blob is refused
    /// by a run with another KV type or policy.
    @Test(arguments: [(KVCacheType.q8_0, KVCachePolicy.streaming(sinks: 2, window: 16)),
                      (KVCacheType.f16, KVCachePolicy.prune(budget: 40)),
                      (KVCacheType.q4_0, KVCachePolicy.prune(budget: 40)),
                      (KVCacheType.bf16, KVCachePolicy.full)])
    func typedAndBoundedStatesContinueBitIdentically(type: KVCacheType, policy: KVCachePolicy) throws {
        let model = KVCacheTypeTests.lfm2
        var state = try model.makeState(maxContext: 256, kvType: type, policy: policy)
        let logits = try model.forward((0..<90).map { $0 % 50 + 3 }, state: &state)
        if policy.isBounded { #expect(state.hasEvicted) }
        var w = ByteWriter()
        state.encode(into: &w)
        let restored = try w.bytes.withUnsafeBytes {
            try SequenceState.decode($0, shapes: state.shapes, maxContext: 256, kvType: type, policy: policy)
        }
        #expect(restored == state)
        let a = try continueGreedy(model, state, logits, steps: 40)
        let b = try continueGreedy(model, restored, logits, steps: 40)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        let otherType: KVCacheType = type == .f32 ? .f16 : .f32
        #expect(throws: CacheFileError.self) {
            try w.bytes.withUnsafeBytes { try SequenceState.decode($0, shapes: state.shapes, maxContext: 256, kvType: otherType, policy: policy) }
        }
        let otherPolicy: KVCachePolicy = policy == .full ? .streaming(sinks: 4, window: 64) : .full
        #expect(throws: CacheFileError.self) {
            try w.bytes.withUnsafeBytes { try SequenceState.decode($0, shapes: state.shapes, maxContext: 256, kvType: type, policy: otherPolicy) }
        }
    }

    @Test func relativeEncodingStoresOnlyWhatDiffers() throws {
        let model = try LFM2Architecture.load(directory: try TinyModelBuilder.make())
        var early = model.makeState()
        _ = try model.forward(Array(prompt.prefix(6)), state: &early)
        var late = early
        _ = try model.forward(Array(prompt.dropFirst(6)), state: &late)
        var full = ByteWriter(), relative = ByteWriter()
        early.encode(into: &full)
        early.encode(into: &relative, relativeTo: late)
        #expect(relative.bytes.count < full.bytes.count / 2)
        #expect(try roundTrip(early, model: model, relativeTo: late) == early)
        // Without its base the relative blob is refused.
        #expect(throws: CacheFileError.self) {
            try relative.bytes.withUnsafeBytes { try SequenceState.decode($0, shapes: early.shapes, maxContext: early.maxContext) }
        }
    }

    @Test func mismatchedOrDamagedBlobsAreRefused() throws {
        let model = try LFM2Architecture.load(directory: try TinyModelBuilder.make())
        var state = model.makeState()
        _ = try model.forward(prompt, state: &state)
        var w = ByteWriter()
        state.encode(into: &w)
        let blob = w.bytes
        // Another layer layout, a context too small for the saved positions.
        #expect(throws: CacheFileError.self) {
            try blob.withUnsafeBytes { try SequenceState.decode($0, shapes: Array(state.shapes.dropLast()), maxContext: 256) }
        }
        #expect(throws: CacheFileError.self) {
            try blob.withUnsafeBytes { try SequenceState.decode($0, shapes: state.shapes, maxContext: prompt.count - 1) }
        }
        // Every truncation and every flipped length/count byte is refused or decodes to the same
        // shapes; never a crash.
        for cut in stride(from: 0, to: blob.count, by: max(1, blob.count / 97)) {
            #expect(throws: CacheFileError.self) {
                try Array(blob[..<cut]).withUnsafeBytes { try SequenceState.decode($0, shapes: state.shapes, maxContext: 256) }
            }
        }
        for position in 0..<min(blob.count, 400) {
            var damaged = blob
            damaged[position] ^= 0x40
            if let decoded = try? damaged.withUnsafeBytes({ try SequenceState.decode($0, shapes: state.shapes, maxContext: 256) }) {
                #expect(decoded.shapes == state.shapes)
            }
        }
    }

    @Test func fingerprintChangesWithWeightsAndConfiguration() throws {
        let a = try TinyModelBuilder.make(seed: 1)
        let sameWeights = try TinyModelBuilder.make(seed: 1)
        let otherWeights = try TinyModelBuilder.make(seed: 2)
        var config = TinyModelBuilder.defaultConfig
        config["rope_theta"] = 20000.0
        let otherConfig = try TinyModelBuilder.make(config: config, seed: 1)
        let fa = try ModelFingerprint.compute(path: a.path)
        #expect(try ModelFingerprint.compute(path: a.path) == fa)
        #expect(try ModelFingerprint.compute(path: sameWeights.path) == fa)
        #expect(try ModelFingerprint.compute(path: otherWeights.path) != fa)
        #expect(try ModelFingerprint.compute(path: otherConfig.path) != fa)
        #expect(try ModelFingerprint.compute(path: a.path, salt: "bf16-dot") != fa)
        // A BF16 copy of the same weights is another model for the cache.
        #expect(try ModelFingerprint.compute(path: TinyModelBuilder.make(dtype: .bf16, seed: 1).path) != fa)
    }
}
