import Foundation
import Testing
import LFMKernels
@testable import LFMModels

/// Bounded KV cache policies (KVCachePolicy, SequenceState+Policies): full is today's behaviour,
/// streaming equals hand-built re-positioned caches, prune keeps SnapKV's selection, memory stays flat.
@Suite struct KVCachePolicyTests {
    let model: DecoderModel

    init() throws {
        model = try LFM2Architecture.load(directory: try TinyModelBuilder.make())
    }

    func tokens(_ count: Int, seed: Int = 0) -> [Int] { (0..<count).map { 3 + ($0 * 7 + seed * 13 + $0 * $0) % 55 } }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    /// The most likely next token after the last row of `logits`.
    func argmax(_ logits: [Float], vocabulary: Int? = nil) -> Int {
        let last = Array(logits.suffix(vocabulary ?? model.weights.vocabularySize))
        return last.indices.max { last[$0] < last[$1] } ?? 0
    }

    /// Attention layer indices of `model` with their blocks.
    func attentionLayers(_ model: DecoderModel) -> [(Int, AttentionBlock)] {
        model.weights.layers.enumerated().compactMap { l, layer in
            if case .attention(let a) = layer.mixer { return (l, a) }
            return nil
        }
    }

    /// The test's own RoPE rotation of one stored key row by `delta` positions (double precision).
    func rotated(_ row: ArraySlice<Float>, by delta: Int, _ a: AttentionBlock) -> [Float] {
        var out = Array(row)
        let half = a.headDim / 2
        for head in 0..<(out.count / a.headDim) {
            for j in 0..<half {
                let angle = Double(delta) * Double(a.inverseFrequencies[j])
                let x = Double(out[head * a.headDim + j]), y = Double(out[head * a.headDim + j + half])
                out[head * a.headDim + j] = Float(x * cos(angle) - y * sin(angle))
                out[head * a.headDim + j + half] = Float(y * cos(angle) + x * sin(angle))
            }
        }
        return out
    }

    // MARK: full

    @Test func fullPolicyIsTodaysBehaviour() throws {
        let prompt = tokens(30)
        var plain = model.makeState(maxContext: 64)
        var full = model.makeState(maxContext: 64, policy: .full)
        #expect(plain == full)
        var a = try model.forward(prompt, state: &plain, logits: .all)
        var b = try model.forward(prompt, state: &full, logits: .all)
        #expect(a == b)
        for _ in 0..<10 {
            let next = argmax(a)
            #expect(next == argmax(b))
            a = try model.forward([next], state: &plain)
            b = try model.forward([next], state: &full)
            #expect(a == b)
        }
        #expect(plain == full && !full.hasEvicted && full.ropePosition == full.position)
        // The whole context is still the limit.
        #expect(throws: InferenceError.contextLengthExceeded(requested: 65, limit: 64)) {
            _ = try model.forward(tokens(25), state: &full)
        }
    }

    // MARK: streaming

    @Test func streamingWithRoomForEverythingEqualsFull() throws {
        let policy = KVCachePolicy.streaming(sinks: 4, window: 56)
        let prompt = tokens(40)
        var full = model.makeState(maxContext: 64)
        var streaming = model.makeState(maxContext: 64, policy: policy)
        // The same forward pieces (streaming prefills in pieces of its eviction chunk): bitwise equal.
        var a = try model.forward(prompt, state: &full, logits: .all, chunkSize: policy.slack)
        var b = try model.forward(prompt, state: &streaming, logits: .all)
        #expect(a == b)
        for _ in 0..<20 {
            let next = argmax(a)
            a = try model.forward([next], state: &full)
            b = try model.forward([next], state: &streaming)
            #expect(a == b)
        }
        #expect(!streaming.hasEvicted && streaming.cachedPositions == 60 && streaming.ropePosition == 60)
    }

    /// Decodes one token at a time until the next token makes the streaming policy evict.
    func stateBeforeEviction(_ model: DecoderModel, _ policy: KVCachePolicy, after minimum: Int) throws -> (SequenceState, Int) {
        var state = model.makeState(maxContext: 256, policy: policy)
        var logits = try model.forward([1], state: &state)
        let limit = (policy.bound ?? 0) + policy.slack
        let v = model.weights.vocabularySize
        while !(state.cachedPositions == limit && state.position >= minimum) {
            logits = try model.forward([argmax(logits, vocabulary: v)], state: &state)
        }
        return (state, argmax(logits, vocabulary: v))
    }

    @Test func streamingEvictionEqualsHandBuiltRepositionedCache() throws {
        let (sinks, window) = (2, 16)
        let policy = KVCachePolicy.streaming(sinks: sinks, window: window)
        let drop = policy.slack
        let (before, token) = try stateBeforeEviction(model, policy, after: 40)
        #expect(before.hasEvicted && before.ropePosition == before.cachedPositions)
        // Expected cache: the sinks, then the rows after the dropped ones, their keys re-rotated by
        // −drop with the test's own rotation; RoPE numbering moved back by drop.
        var expected = before
        for (l, a) in attentionLayers(model) {
            let w = a.keyValueDim, kept = before.keptRows(l)
            var keys = Array(before.keys[l][0..<(sinks * w)]), values = Array(before.values[l][0..<(sinks * w)])
            for row in (sinks + drop)..<kept {
                keys += rotated(before.keys[l][(row * w)..<((row + 1) * w)], by: -drop, a)
                values += before.values[l][(row * w)..<((row + 1) * w)]
            }
            expected.keys[l] = keys
            expected.values[l] = values
            expected.firstKept[l] += drop
        }
        expected.policyState.shift += drop
        var actual = before
        let logits = try model.forward([token], state: &actual)
        let reference = try model.forward([token], state: &expected)
        #expect(maxDifference(logits, reference) <= 1e-5, "\(maxDifference(logits, reference))")
        #expect(actual.cachedPositions == sinks + window + 1 && actual.ropePosition == actual.cachedPositions)
        for (l, a) in attentionLayers(model) {
            let n = actual.keptRows(l) * a.keyValueDim
            #expect(maxDifference(Array(actual.keys[l][0..<n]), Array(expected.keys[l][0..<n])) <= 1e-5)
            // Kept values are copied; the new row's differ by the rounding of its inputs.
            #expect(maxDifference(Array(actual.values[l][0..<n]), Array(expected.values[l][0..<n])) <= 1e-5)
        }
    }

    /// Without sinks, re-positioning must not change attention (RoPE is relative): the step after an
    /// eviction equals a full-cache state holding the same rows at their original positions. For
    /// LFM3 this includes the sliding-window layers' shifted keys and partial rotary.
    @Test(arguments: ["lfm2", "lfm3-gqa2-f32"])
    func evictionWithoutSinksEqualsOriginalPositions(name: String) throws {
        let model = name == "lfm2" ? self.model : try FamilyCase.model(FamilyCase.load(name).1)
        let policy = KVCachePolicy.streaming(sinks: 0, window: 16)
        let (before, token) = try stateBeforeEviction(model, policy, after: 0)
        #expect(!before.hasEvicted, "the first eviction comes next")
        let drop = policy.slack
        var original = model.makeState(maxContext: 256)
        original.position = before.position
        original.conv = before.conv
        original.keys = before.keys
        original.values = before.values
        original.firstKept = before.firstKept
        for (l, a) in attentionLayers(model) where a.window == 0 {
            original.keys[l] = Array(before.keys[l][(drop * a.keyValueDim)...])
            original.values[l] = Array(before.values[l][(drop * a.keyValueDim)...])
            original.firstKept[l] += drop
        }
        var streamed = before
        let logits = try model.forward([token], state: &streamed)
        let reference = try model.forward([token], state: &original)
        #expect(streamed.policyState.shift == drop && streamed.ropePosition == 16 + 1)
        #expect(maxDifference(logits, reference) <= 1e-5, "\(maxDifference(logits, reference))")
    }

    // MARK: prune

    /// One head, keys [a_t, 0], both observation queries [1, 0]: scores ∝ exp(a_t).
    @Test func snapKVSelectionByHand() {
        let a: [Float] = [0, 5, 0, 0, 4, 0, 0, 0]
        let keys = a.map { [$0, 0] }
        let queries: [Float] = [1, 0, 1, 0]
        func select(kernel: Int, budget: Int) -> [Int] {
            SnapKV.select(queries: queries, keys: keys, budget: budget, kernel: kernel, heads: 1, kvHeads: 1, headDim: 2, scale: 1)
        }
        #expect(select(kernel: 1, budget: 4) == [1, 4, 6, 7])
        // Average pooling over 3: rows 1 and 2 both pool (e^5 + 2) / 3; row 0 (e^5 + 1) / 3; row 4 (e^4 + 2) / 3.
        #expect(select(kernel: 3, budget: 4) == [1, 2, 6, 7])
        #expect(select(kernel: 1, budget: 3) == [1, 6, 7])
        #expect(select(kernel: 1, budget: 8) == Array(0..<8))
    }

    @Test func pruneKeepsTheBudgetAndSnapKVsRows() throws {
        let policy = KVCachePolicy.prune(budget: 16, observationWindow: 4, poolingKernel: 5)
        var state = model.makeState(maxContext: 64, policy: policy)
        var logits = try model.forward(tokens(40), state: &state)
        #expect(state.cachedPositions == 16 && state.position == 40 && state.ropePosition == 40)
        for (l, _) in attentionLayers(model) { #expect(state.keptRows(l) == 16) }
        // Decode until the next step prunes, then check that step against the full rows.
        while state.cachedPositions < 16 + policy.slack { logits = try model.forward([argmax(logits)], state: &state) }
        let token = argmax(logits)
        var unpruned = state
        unpruned.cachePolicy = .full
        unpruned.policyState = CachePolicyState()
        let reference = try model.forward([token], state: &unpruned)
        let pruned = try model.forward([token], state: &state)
        #expect(pruned == reference, "pruning happens after the step's attention")
        for (l, a) in attentionLayers(model) {
            let w = a.keyValueDim
            let queries = Array((state.policyState.observations[l] ?? []).suffix(4 * a.queryDim))
            let rows = (0..<unpruned.keptRows(l)).map { Array(unpruned.keys[l][($0 * w)..<(($0 + 1) * w)]) }
            let chosen = SnapKV.select(queries: queries, keys: rows, budget: 16, kernel: 5, heads: a.heads, kvHeads: a.kvHeads,
                                       headDim: a.headDim, scale: a.scale)
            #expect(chosen.count == 16 && state.keptRows(l) == 16)
            #expect(Array(state.keys[l][0..<(16 * w)]) == chosen.flatMap { rows[$0] })
            #expect(Array(state.values[l][0..<(16 * w)]) == chosen.flatMap { Array(unpruned.values[l][($0 * w)..<(($0 + 1) * w)]) })
        }
    }

    // MARK: memory

    @Test(arguments: ["full", "streaming", "prune"])
    func memoryStaysBoundedOverLongGenerations(policyName: String) throws {
        let policy: KVCachePolicy = switch policyName {
        case "streaming": .streaming(sinks: 4, window: 60)
        case "prune": .prune(budget: 64, observationWindow: 8)
        default: .full
        }
        let steps = 5_200
        var state = model.makeState(maxContext: policy.isBounded ? 128 : steps + 8, policy: policy)
        var logits = try model.forward([1, 5, 9], state: &state)
        var bytes: [Int] = []
        for step in 1...steps {
            logits = try model.forward([argmax(logits)], state: &state)
            if step % 1_000 == 0 { bytes.append(state.byteCount) }
            if let bound = policy.bound { #expect(state.cachedPositions <= bound + policy.slack) }
        }
        #expect(state.position == steps + 3)
        if policy.isBounded {
            #expect(Set(bytes).count == 1, "\(bytes)")
            #expect(state.cachedPositions >= policy.bound!)
        } else {
            #expect(bytes.last! > 3 * bytes.first!, "\(bytes)")
        }
    }

    /// Regression: prune's declared peak was budget + slack, but a decode step evicts only past
    /// that, so `lfm generate --kv-policy prune` on a model whose context is below the peak failed
    /// at budget + slack + 1 rows ("context length exceeded"). A state sized to the declared peak
    /// now takes every decode step and a chat turn's prompt arriving when the cache is fullest.
    @Test func prunePeakRowsHoldEveryDecodeStepAndChatTurn() throws {
        let policy = KVCachePolicy.prune(budget: 64, observationWindow: 8)
        let peak = try #require(policy.peakRows(chunk: 1))
        #expect(peak == 64 + 8 + 8)
        var state = model.makeState(maxContext: peak, policy: policy)
        var logits = try model.forward(tokens(20), state: &state)
        var turns = 0
        for _ in 0..<400 {
            logits = try model.forward([argmax(logits)], state: &state)
            if state.cachedPositions == 64 + policy.slack, turns < 3 {
                logits = try model.forward(tokens(policy.slack, seed: turns), state: &state)
                turns += 1
            }
            #expect(state.cachedPositions <= peak)
        }
        #expect(turns == 3)
        #expect(state.position == 20 + 400 + 3 * policy.slack)
    }

    @Test func boundedPoliciesCheckRowsNotPositions() throws {
        var state = model.makeState(maxContext: 24, policy: .streaming(sinks: 2, window: 16))
        _ = try model.forward(tokens(200), state: &state)
        #expect(state.position == 200 && state.cachedPositions <= 20)
        // A policy whose rows cannot fit the context is refused before anything runs.
        var small = model.makeState(maxContext: 10, policy: .streaming(sinks: 4, window: 16))
        #expect(throws: InferenceError.contextLengthExceeded(requested: 11, limit: 10)) {
            _ = try model.forward(tokens(11), state: &small)
        }
        #expect(small.position == 0)
    }

    // MARK: parsing

    @Test func policiesParseAndRejectBadValues() throws {
        #expect(try KVCachePolicy.named("full", sinks: -5, window: 0, budget: -1) == .full)
        #expect(try KVCachePolicy.named("streaming", sinks: 4, window: 1020, budget: -1) == .streaming(sinks: 4, window: 1020))
        #expect(try KVCachePolicy.named("prune", sinks: -1, window: -1, budget: 100) == .prune(budget: 100))
        #expect(try KVCachePolicy.named("streaming") == .streaming(sinks: 4, window: 1020))
        #expect(try KVCachePolicy.named("prune") == .prune(budget: 1024, observationWindow: 32, poolingKernel: 5))
        #expect(throws: KVCachePolicyError.unknownPolicy("h2o")) { try KVCachePolicy.named("h2o") }
        #expect(throws: KVCachePolicyError.invalidParameter(name: "sinks", value: -1, expected: ">= 0")) {
            try KVCachePolicy.named("streaming", sinks: -1)
        }
        #expect(throws: KVCachePolicyError.invalidParameter(name: "window", value: 0, expected: ">= 1")) {
            try KVCachePolicy.named("streaming", window: 0)
        }
        #expect(throws: KVCachePolicyError.budgetBelowObservationWindow(budget: 31, observationWindow: 32)) {
            try KVCachePolicy.named("prune", budget: 31)
        }
        #expect(throws: KVCachePolicyError.invalidParameter(name: "budget", value: -3, expected: ">= 1")) {
            try KVCachePolicy.named("prune", budget: -3)
        }
        #expect(throws: KVCachePolicyError.invalidParameter(name: "pooling kernel", value: 4, expected: "odd and >= 1")) {
            try KVCachePolicy.prune(budget: 64, observationWindow: 8, poolingKernel: 4).validate()
        }
        #expect(KVCachePolicy.streaming(sinks: 4, window: 1020).peakRows(chunk: 1) == 1024 + 127)
        #expect(KVCachePolicy.prune(budget: 1024).peakRows(chunk: 1) == 1024 + 128 + 128)
        #expect(KVCachePolicy.full.peakRows(chunk: 1) == nil)
    }
}
