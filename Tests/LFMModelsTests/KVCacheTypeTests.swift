import Foundation
import Testing
import LFMKernels
@testable import LFMModels

/// Whole models with each KV cache type: prefill in chunks, decode, snapshots, batching, memory,
/// and how far the logits move from the F32 cache.
@Suite struct KVCacheTypeTests {
    /// A tiny random LFM2 whose heads are one Q8_0 / Q4_0 block (head dimension 32, GQA 2:1).
    static let lfm2: DecoderModel = {
        var config = TinyModelBuilder.defaultConfig
        config["hidden_size"] = 64
        config["num_attention_heads"] = 2
        config["num_key_value_heads"] = 1
        config["block_ff_dim"] = 96
        do {
            return try LFM2Architecture.load(directory: try TinyModelBuilder.make(config: config, seed: 5),
                                             options: ModelLoadOptions(backend: testBackend()))
        } catch {
            preconditionFailure("tiny LFM2: \(error)")
        }
    }()

    let prompt = [1, 5, 9, 33, 2, 17, 40, 41, 3, 60, 7, 12, 19, 22, 8, 50, 44, 31, 6, 27, 13, 58, 36, 4, 11, 29, 45, 14,
                  38, 21, 10, 55, 16, 47, 25, 3, 39, 18]

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func argmax(_ x: [Float]) -> Int { x.indices.max { x[$0] < x[$1] }! }

    /// Prompt logits (all positions, prefilled in chunks of 5) then 8 greedy decode steps.
    func run(_ model: DecoderModel, _ state: inout SequenceState) throws -> (prompt: [Float], decode: [[Float]], tokens: [Int]) {
        let promptLogits = try model.forward(prompt, state: &state, logits: .all, chunkSize: 5)
        let v = model.weights.vocabularySize
        var next = argmax(Array(promptLogits.suffix(v)))
        var decode: [[Float]] = [], tokens: [Int] = []
        for _ in 0..<8 {
            tokens.append(next)
            let out = try model.forward([next], state: &state)
            decode.append(out)
            next = argmax(out)
        }
        return (promptLogits, decode, tokens)
    }

    /// F32 through the typed API is the F32 default, bit for bit.
    @Test func f32TypeIsTheDefault() throws {
        let model = Self.lfm2
        var a = model.makeState(), b = try model.makeState(maxContext: nil, kvType: .f32)
        let x = try run(model, &a), y = try run(model, &b)
        #expect(x.prompt == y.prompt && x.decode == y.decode)
        #expect(a == b)
    }

    /// Every type: chunked prefill equals one-pass prefill, a snapshot restores exactly, stored
    /// bytes are what the type says, and a batch of two types equals each alone.
    @Test(arguments: KVCacheType.allCases)
    func runsSnapshotsAndBatches(type: KVCacheType) throws {
        let model = Self.lfm2
        var state = try model.makeState(maxContext: 128, kvType: type)
        #expect(state.kvType == type)
        let whole = try model.forward(prompt, state: &state, logits: .all, chunkSize: prompt.count)
        var chunked = try model.makeState(maxContext: 128, kvType: type)
        let pieces = try model.forward(prompt, state: &chunked, logits: .all, chunkSize: 5)
        // Quantization is per row, so the stored rows do not depend on the chunking... up to the
        // rounding of the K/V projections, which differ between GEMM shapes: an element that
        // rounds differently can land one storage step away (BF16: 2^-8 relative), which moved
        // these logits by 2.6e-4 on an AVX-512 CPU without BF16 instructions. Positions agree.
        #expect(maxDifference(whole, pieces) <= (type == .f32 ? 1e-4 : 1e-3), "\(type): chunked prefill")
        #expect(chunked.position == state.position)

        let snapshot = state
        let first = try (0..<6).map { _ in try model.forward([7], state: &state) }
        #expect(state != snapshot)
        state = snapshot
        #expect(state == snapshot)
        let second = try (0..<6).map { _ in try model.forward([7], state: &state) }
        #expect(first == second, "\(type): restored snapshot continues identically")

        // Storage: one row of kvType.rowBytes(width: 32) per position and layer, keys and values.
        for (l, shape) in state.shapes.enumerated() {
            if case .keyValue(let width, _) = shape {
                #expect(state.keyValueRowBytes(l) == type.rowBytes(width: width))
                #expect(state.keyRows[l].count % type.rowBytes(width: width) == 0)
            }
        }

        // A batch mixing this type with F32 gives each sequence what it gets alone.
        var alone = snapshot
        let expected = try model.forward([9], state: &alone)
        var f32 = model.makeState(maxContext: 128)
        _ = try model.forward(prompt, state: &f32)
        var f32Alone = f32
        let expectedF32 = try model.forward([9], state: &f32Alone)
        var states = [snapshot, f32]
        let batched = try model.forward(batch: [[9], [9]], states: &states)
        #expect(maxDifference(batched[0], expected) <= 1e-4, "\(type): batched")
        #expect(maxDifference(batched[1], expectedF32) <= 1e-4, "\(type): batched F32 neighbour")
        #expect(states[0].kvType == type && states[1].kvType == .f32)
    }

    /// Bytes per position shrink as the type says (F32 4, F16/BF16 2, Q8_0 34/32, Q4_0 18/32 per value).
    @Test func byteCountIsTheStoredBytes() throws {
        let model = Self.lfm2
        var sizes: [KVCacheType: Int] = [:]
        for type in KVCacheType.allCases {
            var state = try model.makeState(maxContext: 64, kvType: type)
            _ = try model.forward(Array(prompt.prefix(30)), state: &state, logits: .none)
            let kv = state.keyRows.reduce(0) { $0 + $1.count } + state.valueRows.reduce(0) { $0 + $1.count }
            sizes[type] = kv
            #expect(state.byteCount == kv + state.conv.reduce(0) { $0 + $1.count } * 4)
        }
        let f32 = try #require(sizes[.f32])
        #expect(sizes[.f16] == f32 / 2 && sizes[.bf16] == f32 / 2)
        #expect(sizes[.q8_0] == f32 / 128 * 34)
        #expect(sizes[.q4_0] == f32 / 128 * 18)
    }

    /// How far each type moves the logits from the F32 cache, on the prompt and 8 decode steps.
    ///
    /// Bound: the logits of this model span about 7.5 (measured; the range is printed). A stored
    /// value's error is at most half a step: 2^-12 relative for F16, 2^-9 for BF16, 1/254 of its
    /// block's largest magnitude for Q8_0 and 1/16 of it for Q4_0. Attention outputs are convex
    /// combinations of the values, so they move by at most the value error plus the effect of the
    /// key error on the weights; through the remaining layers the tiny model amplifies
    /// perturbations by a small factor. Each type must stay below 8x its relative step times the
    /// logit range (F16 ~0.015, BF16 ~0.12, Q8_0 ~0.24, Q4_0 ~3.8; measured 0.0009, 0.0069, 0.020,
    /// 0.32), and the error must grow with
    /// the step (F16 ≤ BF16, F16 ≤ Q8_0 ≤ Q4_0): a broken quantizer or scale fails both.
    @Test func logitsStayCloseToF32() throws {
        let model = Self.lfm2
        var base = model.makeState()
        let reference = try run(model, &base)
        let referenceLogits = reference.prompt + reference.decode.flatMap { $0 }
        let range = (referenceLogits.max() ?? 0) - (referenceLogits.min() ?? 0)
        let steps: [KVCacheType: Float] = [.f16: 1.0 / 4096, .bf16: 1.0 / 512, .q8_0: 1.0 / 254, .q4_0: 1.0 / 16]
        var differences: [KVCacheType: Float] = [:]
        for type in [KVCacheType.f16, .bf16, .q8_0, .q4_0] {
            var state = try model.makeState(maxContext: nil, kvType: type)
            // Same tokens as the F32 run (teacher-forced): decode the F32 run's greedy tokens.
            let promptLogits = try model.forward(prompt, state: &state, logits: .all, chunkSize: 5)
            var logits = promptLogits
            for token in reference.tokens { logits += try model.forward([token], state: &state) }
            let difference = maxDifference(logits, referenceLogits)
            differences[type] = difference
            print("KV \(type): max |logit - F32 logit| = \(difference) (logit range \(range))")
            #expect(difference <= 8 * steps[type]! * range, "\(type): \(difference)")
        }
        #expect(differences[.f16]! <= differences[.bf16]!)
        #expect(differences[.f16]! <= differences[.q8_0]! && differences[.q8_0]! <= differences[.q4_0]!)
        #expect(differences[.q8_0]! > 0, "Q8_0 must actually quantize")
    }

    /// A model whose heads are not whole blocks refuses Q8_0 / Q4_0 with a typed error (LFM3
    /// fixture: head dimension 16, sliding windows) and runs the float types.
    @Test func blockTypesNeedWholeBlocksPerHead() throws {
        let name = try #require(FamilyCase.all().first { $0.hasPrefix("lfm3-gqa2") })
        let model = try FamilyCase.model(FamilyCase.load(name).1)
        #expect(throws: KVCacheError.headDimensionNotBlockMultiple(type: .q8_0, headDim: 16, layer: 1)) {
            _ = try model.makeState(maxContext: nil, kvType: .q8_0)
        }
        #expect(throws: KVCacheError.self) { _ = try model.makeState(maxContext: nil, kvType: .q4_0) }
        var f32 = model.makeState()
        let reference = try model.forward(Array(prompt.prefix(12)), state: &f32, logits: .all, chunkSize: 3)
        for type in [KVCacheType.f16, .bf16] {
            var state = try model.makeState(maxContext: nil, kvType: type)
            let logits = try model.forward(Array(prompt.prefix(12)), state: &state, logits: .all, chunkSize: 3)
            let difference = maxDifference(logits, reference)
            print("LFM3 KV \(type): max |logit - F32 logit| = \(difference)")
            #expect(difference < 0.05, "\(type) with sliding windows")
        }
    }

    /// Width checks at state creation: rows that are not whole blocks are a typed error.
    @Test func stateRejectsRowsThatAreNotWholeBlocks() {
        #expect(throws: KVCacheError.widthNotBlockMultiple(type: .q4_0, width: 48, layer: 1)) {
            _ = try SequenceState(shapes: [.none, .keyValue(width: 48, window: 0)], maxContext: 8, kvType: .q4_0)
        }
    }
}
