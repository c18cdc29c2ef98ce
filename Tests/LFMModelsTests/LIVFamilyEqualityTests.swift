import Foundation
import Testing
import LFMKernels
@testable import LFMModels

/// The hand-written families and their LIV descriptions run through the LIV family compute the
/// same logits on the transformers fixtures (issue 17: "a model built from the LIV description of
/// LFM2 computes exactly what the LFM2 implementation computes").
@Suite struct LIVFamilyEqualityTests {
    static let lfm2Root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/lfm2")
    static let familyRoot = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/families")

    static func folders(_ root: URL, prefixes: [String]) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { name in
            prefixes.contains { name.hasPrefix($0) }
                && FileManager.default.fileExists(atPath: root.appendingPathComponent("\(name)/config.json").path)
        }.sorted()
    }

    static let lfm2Cases = folders(lfm2Root, prefixes: [""])
    static let familyCases = folders(familyRoot, prefixes: ["lfm3-", "moe-"])

    @Test func fixturesArePresent() {
        #expect(Self.lfm2Cases.count >= 6)
        #expect(Self.familyCases.filter { $0.hasPrefix("lfm3-") }.count >= 3)
        #expect(Self.familyCases.filter { $0.hasPrefix("moe-") }.count >= 3)
    }

    /// The description's configuration and renaming for a loaded hand-written model.
    static func description(_ configuration: any ModelConfiguration) throws -> LIVDescription {
        switch configuration {
        case let c as LFM2Configuration: return try c.livDescription()
        case let c as LFM3Configuration: return try c.livDescription()
        case let c as LFM2MoEConfiguration: return try c.livDescription()
        default: throw InferenceError.stateMismatch(detail: "no LIV description for \(configuration.architecture)")
        }
    }

    /// Prefill of 12 tokens, then 8 decode steps: every step's logits agree within 1e-5.
    static func compare(_ directory: URL) throws {
        let options = ModelLoadOptions(placement: .mapped, backend: testBackend())
        let family = try #require(try ModelRegistry.load(path: directory.path, options: options) as? DecoderModel)
        let (configuration, renaming) = try description(family.configuration)
        let liv = try LIVArchitecture.load(directory: directory, configuration: configuration, renaming: renaming, options: options)
        #expect(liv.configuration.architecture == "lfm_liv")
        #expect(liv.configuration.parameterCount == family.configuration.parameterCount)
        #expect(liv.configuration.cacheShapes == family.configuration.cacheShapes)
        let v = family.configuration.vocabularySize
        var rng = SeededGenerator(seed: 17)
        let tokens = (0..<20).map { _ in Int(rng.next() % UInt64(v)) }
        var a = family.makeState(), b = liv.makeState()
        var steps = [(try family.forward(Array(tokens[..<12]), state: &a, logits: .all, chunkSize: 512),
                      try liv.forward(Array(tokens[..<12]), state: &b, logits: .all, chunkSize: 512))]
        for token in tokens[12...] {
            steps.append((try family.forward([token], state: &a), try liv.forward([token], state: &b)))
        }
        for (i, (x, y)) in steps.enumerated() {
            #expect(x.count == y.count && !x.isEmpty)
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5, "\(directory.lastPathComponent) step \(i): max |Δ| \(worst)")
        }
    }

    @Test(arguments: lfm2Cases) func lfm2EqualsItsLIVDescription(name: String) throws {
        try Self.compare(Self.lfm2Root.appendingPathComponent(name))
    }

    @Test(arguments: familyCases) func familyEqualsItsLIVDescription(name: String) throws {
        try Self.compare(Self.familyRoot.appendingPathComponent(name))
    }

    /// The LFM2 description binds LFM2's names only through the renaming: without it the load
    /// fails naming the tensor.
    @Test func withoutRenamingTheLFM2CheckpointIsRejected() throws {
        let directory = Self.lfm2Root.appendingPathComponent("mixed-f32")
        let family = try #require(try ModelRegistry.load(path: directory.path, options: ModelLoadOptions(placement: .mapped)) as? DecoderModel)
        let (configuration, renaming) = try Self.description(family.configuration)
        #expect(renaming["model.layers.2.self_attn.o_proj.weight"] == "model.layers.2.self_attn.out_proj.weight")
        #expect(throws: ModelLoadError.missingTensor(name: "model.layers.2.self_attn.q_norm.weight", source: directory.path)) {
            _ = try LIVArchitecture.load(directory: directory, configuration: configuration, options: ModelLoadOptions(placement: .mapped))
        }
    }
}
