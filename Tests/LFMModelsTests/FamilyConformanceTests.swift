import Foundation
import Testing
import LFMKernels
@testable import LFMModels

/// One reference case of Scripts/reference/families/make_family_fixtures.py (transformers 5.24.0):
/// a tiny random LFM3, LFM2-MoE, Qwen3 or Llama checkpoint and its float32 outputs.
struct FamilyCase: Decodable, CustomStringConvertible {
    let `case`: String
    let dtype: String
    let model_type: String
    let prompt_ids: [Int]
    let prompt_logits: [[Float]]
    let greedy_tokens: [Int]
    let decode_logits: [[Float]]
    /// MoE cases: per sparse layer (key: layer index), each prompt position's chosen experts (ascending).
    let router_choices: [String: [[Int]]]?

    var description: String { `case` }
    var tolerance: Float { dtype == "float32" ? 1e-4 : 2e-2 }

    static let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/families")

    static func all() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/expected.json").path) }.sorted()
    }

    static func load(_ name: String) throws -> (FamilyCase, URL) {
        let directory = root.appendingPathComponent(name)
        let data = try Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return (try JSONDecoder().decode(FamilyCase.self, from: data), directory)
    }

    /// The model, through the registry as every command opens it.
    static func model(_ directory: URL, placement: WeightPlacement = .hugePages) throws -> DecoderModel {
        let loaded = try ModelRegistry.load(path: directory.path, options: ModelLoadOptions(placement: placement, backend: testBackend()))
        return try #require(loaded as? DecoderModel)
    }
}

/// Sliding window of a model's first windowed layer (nil: none).
func slidingWindow(_ model: DecoderModel) -> Int? {
    for shape in model.makeState().shapes { if case .keyValue(_, let window) = shape, window > 0 { return window } }
    return nil
}

@Suite struct FamilyConformanceTests {
    @Test func everyFamilyHasFixtures() throws {
        let types = try Set(FamilyCase.all().map { try FamilyCase.load($0).0.model_type })
        #expect(types.isSuperset(of: ["lfm3", "lfm2_moe", "qwen3", "llama"]), "found \(types)")
    }

    /// Prompt logits in chunks of 1, 3, window − 1, window + 1 and the whole prompt all match.
    @Test(arguments: FamilyCase.all())
    func promptLogitsMatchTransformers(name: String) throws {
        let (reference, directory) = try FamilyCase.load(name)
        let model = try FamilyCase.model(directory)
        #expect(model.configuration.architecture == reference.model_type)
        var chunks = [1, 3, reference.prompt_ids.count]
        if let window = slidingWindow(model) { chunks += [max(1, window - 1), window + 1] }
        let v = model.configuration.vocabularySize
        for chunk in chunks {
            var state = model.makeState()
            let logits = try model.forward(reference.prompt_ids, state: &state, logits: .all, chunkSize: chunk)
            #expect(logits.count == reference.prompt_logits.count * v)
            for (position, expected) in reference.prompt_logits.enumerated() {
                let error = maxAbsDifference(Array(logits[(position * v)..<((position + 1) * v)]), expected)
                #expect(error <= reference.tolerance, "\(name) chunk \(chunk) position \(position): max |Δlogit| = \(error)")
            }
        }
    }

    @Test(arguments: FamilyCase.all(), [WeightPlacement.hugePages, .mapped])
    func greedyDecodeMatchesTransformers(name: String, placement: WeightPlacement) throws {
        let (reference, directory) = try FamilyCase.load(name)
        let model = try FamilyCase.model(directory, placement: placement)
        var state = model.makeState()
        var logits = try model.forward(reference.prompt_ids, state: &state)
        var tokens: [Int] = []
        for (step, expected) in reference.decode_logits.enumerated() {
            let error = maxAbsDifference(logits, expected)
            #expect(error <= reference.tolerance, "\(name) decode step \(step): max |Δlogit| = \(error)")
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            tokens.append(next)
            if step + 1 < reference.decode_logits.count { logits = try model.forward([next], state: &state) }
        }
        #expect(tokens == reference.greedy_tokens)
    }

    @Test(arguments: FamilyCase.all().filter { (try? FamilyCase.load($0).0.router_choices) != nil })
    func routerChoosesTransformersExperts(name: String) throws {
        let (reference, directory) = try FamilyCase.load(name)
        let model = try FamilyCase.model(directory)
        let ours = try model.expertChoices(reference.prompt_ids)
        let expected = try #require(reference.router_choices)
        #expect(Set(ours.keys.map(String.init)) == Set(expected.keys))
        for (layer, choices) in expected {
            #expect(ours[Int(layer)!] == choices, "\(name) layer \(layer)")
        }
    }

    /// Snapshot → generate → restore → generate gives the same tokens; two sequences of different
    /// lengths in one batch equal each run alone.
    @Test(arguments: FamilyCase.all())
    func snapshotsAndBatchesAreExact(name: String) throws {
        let (reference, directory) = try FamilyCase.load(name)
        let model = try FamilyCase.model(directory)
        func greedy(_ state: inout SequenceState, _ logits: [Float], steps: Int) throws -> [Int] {
            var logits = logits, tokens: [Int] = []
            for _ in 0..<steps {
                let next = logits.indices.max { logits[$0] < logits[$1] }!
                tokens.append(next)
                logits = try model.forward([next], state: &state)
            }
            return tokens
        }
        var state = model.makeState()
        let logits = try model.forward(reference.prompt_ids, state: &state)
        let snapshot = state
        let first = try greedy(&state, logits, steps: 12)
        state = snapshot
        #expect(try greedy(&state, logits, steps: 12) == first)

        let short = Array(reference.prompt_ids.prefix(5)), long = reference.prompt_ids
        var states = [model.makeState(), model.makeState()]
        let batched = try model.forward(batch: [long, short], states: &states)
        for (i, tokens) in [long, short].enumerated() {
            var alone = model.makeState()
            let expected = try model.forward(tokens, state: &alone)
            #expect(maxAbsDifference(batched[i], expected) <= 1e-4, "\(name) sequence \(i)")
        }
        // Continue both with one decode token each, batched, against alone.
        let next = try model.forward(batch: [[3], [4]], states: &states)
        var alone = model.makeState()
        _ = try model.forward(short, state: &alone)
        #expect(maxAbsDifference(next[1], try model.forward([4], state: &alone)) <= 1e-4)
    }

    /// A sliding-window layer's cache stops growing at the window (decode and chunked prefill).
    @Test func slidingWindowMemoryIsBounded() throws {
        let name = try #require(FamilyCase.all().first { (try? FamilyCase.load($0).0.model_type) == "lfm3" })
        let model = try FamilyCase.model(FamilyCase.load(name).1)
        let window = try #require(slidingWindow(model))
        func slidingStorage(_ state: SequenceState) -> [Int] {
            state.shapes.indices.compactMap { l in
                if case .keyValue(let width, let w) = state.shapes[l], w > 0 { return state.keys[l].count / width }
                return nil
            }
        }
        var state = model.makeState()
        for step in 0..<(6 * window) { _ = try model.forward([step % 50 + 3], state: &state) }
        #expect(!slidingStorage(state).isEmpty)
        #expect(slidingStorage(state).allSatisfy { $0 <= 2 * window + 1 }, "\(slidingStorage(state))")
        var chunked = model.makeState()
        _ = try model.forward((0..<(8 * window)).map { $0 % 50 + 3 }, state: &chunked, logits: .last, chunkSize: window + 1)
        #expect(slidingStorage(chunked).allSatisfy { $0 <= 2 * window + window + 1 }, "\(slidingStorage(chunked))")
    }
}
