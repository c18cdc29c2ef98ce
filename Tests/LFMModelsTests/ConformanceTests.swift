import Foundation
import Testing
import LFMKernels
@testable import LFMModels

/// One reference case written by Scripts/reference/lfm2/make_lfm2_fixtures.py with transformers.
struct ReferenceCase: Decodable, CustomStringConvertible {
    let `case`: String
    let dtype: String
    let prompt_ids: [Int]
    let prompt_logits: [[Float]]
    let greedy_tokens: [Int]
    let decode_logits: [[Float]]

    var description: String { `case` }

    /// Tolerance on logits: float32 weights must match to 1e-4; 16-bit weights (the reference ran
    /// in float32 on the same rounded weights) to 2e-2.
    var tolerance: Float { dtype == "float32" ? 1e-4 : 2e-2 }

    static let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/lfm2")

    static func all() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/expected.json").path) }.sorted()
    }

    static func load(_ name: String) throws -> (ReferenceCase, URL) {
        let directory = root.appendingPathComponent(name)
        let data = try Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return (try JSONDecoder().decode(ReferenceCase.self, from: data), directory)
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct ConformanceTests {
    @Test func fixturesArePresent() {
        #expect(ReferenceCase.all().count >= 6, "expected the transformers reference cases in Fixtures/lfm2")
    }

    @Test(arguments: ReferenceCase.all(), [WeightPlacement.hugePages, .mapped])
    func promptLogitsMatchTransformers(name: String, placement: WeightPlacement) throws {
        let (reference, directory) = try ReferenceCase.load(name)
        let model = try LFM2Architecture.load(directory: directory, options: ModelLoadOptions(placement: placement, backend: testBackend()))
        var state = model.makeState()
        let logits = try model.forward(reference.prompt_ids, state: &state, logits: .all, chunkSize: 5)
        let v = model.configuration.vocabularySize
        #expect(logits.count == reference.prompt_logits.count * v)
        for (position, expected) in reference.prompt_logits.enumerated() {
            let ours = Array(logits[(position * v)..<((position + 1) * v)])
            let error = maxAbsDifference(ours, expected)
            #expect(error <= reference.tolerance, "\(name) position \(position): max |Δlogit| = \(error)")
        }
    }

    @Test(arguments: ReferenceCase.all())
    func greedyDecodeMatchesTransformers(name: String) throws {
        let (reference, directory) = try ReferenceCase.load(name)
        let model = try LFM2Architecture.load(directory: directory, options: ModelLoadOptions(backend: testBackend()))
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
        #expect(tokens == Array(reference.greedy_tokens.prefix(tokens.count)))
        #expect(tokens.count == reference.greedy_tokens.count)
    }
}

/// The backend conformance tests run on: the optimized CPU backend.
func testBackend() -> ComputeBackend { CPUBackend(threads: 2) }
