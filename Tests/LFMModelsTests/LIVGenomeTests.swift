import Foundation
import Testing
import LFMCore
import LFMFormats
@testable import LFMModels

/// Genomes: both forms round-trip, invalid ones are rejected naming the layer and field, and
/// config.json records them.
@Suite struct LIVGenomeTests {
    /// A random genome that follows every rule of `LIVGenome.validate()`.
    static func randomGenome(_ rng: inout SeededGenerator) -> LIVGenome {
        func pick(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
        let hidden = 8 * pick(1...32), heads = pick(1...8), headDim = 2 * pick(1...32)
        let divisors = { (n: Int) in (1...n).filter { n % $0 == 0 } }
        var layers: [LIVGene] = []
        for l in 0..<pick(1...10) {
            let mixer = LIVClass(rawValue: pick(0...3)) ?? .conv
            var groups: Int
            switch mixer {
            case .conv: groups = pick(2...16)
            case .attention, .slidingAttention: groups = divisors(heads)[pick(0...(divisors(heads).count - 1))]
            case .recurrence: groups = divisors(hidden)[pick(0...(divisors(hidden).count - 1))]
            }
            var share = 0
            let sources = (0..<l).filter { layers[$0].mixer == mixer }
            if !sources.isEmpty, pick(0...1) == 1 {
                let source = sources[pick(0...(sources.count - 1))]
                share = l - source
                groups = layers[source].groups
            }
            let gate = mixer.isAttention ? pick(0...1) : 0
            let experts = pick(0...2) == 0 ? pick(2...16) : 0
            layers.append(LIVGene(mixer: mixer, groups: groups, share: share, gate: gate, feedForward: pick(1...512),
                                  experts: experts))
        }
        return LIVGenome(hiddenSize: hidden, attentionHeads: heads, headDim: headDim, layers: layers)
    }

    static let examples = [
        "h128x4x32 C3:384 C3^1:384 A2:384 R4:256 S2g:384e4 R4^2:256",
        "h8x1x2 R1:1",
        "h48x6x8 C3:96 C3:96 A2:96 C3:96 A2:96 C3:96",
        "h32x2x16 C7:32 S1g:32 A1g:32 S1g^2:32 A1g^2:32",
        "h64x8x8 A8:128e2 A4:64e256 S2:16",
    ]

    @Test func integersAndTextRoundTripOnRandomGenomes() throws {
        var rng = SeededGenerator(seed: 2026)
        for _ in 0..<300 {
            let genome = Self.randomGenome(&rng)
            try genome.validate()
            let fromIntegers = try LIVGenome(integers: genome.integers)
            #expect(fromIntegers == genome)
            #expect(fromIntegers.integers == genome.integers)
            let fromText = try LIVGenome(text: genome.description)
            #expect(fromText == genome)
            #expect(fromText.description == genome.description)
        }
    }

    @Test(arguments: examples) func handExamplesRoundTrip(text: String) throws {
        let genome = try LIVGenome(text: text)
        try genome.validate()
        #expect(genome.description == text)
        #expect(try LIVGenome(integers: genome.integers) == genome)
        #expect(try LIVGenome(integers: genome.integers).description == text)
    }

    @Test func theNumericFormIsDocumented() throws {
        let genome = try LIVGenome(text: "h16x2x8 C3:24 A1g:32e4 R2:8")
        #expect(genome.integers == [16, 2, 8, 0, 3, 0, 0, 24, 0, 1, 1, 0, 1, 32, 4, 3, 2, 0, 0, 8, 0])
    }

    /// The first broken rule, by layer and field.
    func rejection(_ text: String) -> LIVGenomeError? {
        do {
            try LIVGenome(text: text).validate()
            return nil
        } catch let error as LIVGenomeError { return error } catch { return nil }
    }

    func field(_ error: LIVGenomeError?) -> (Int?, String)? {
        guard case .invalid(let layer, let field, _) = error else { return nil }
        return (layer, field)
    }

    @Test func invalidGenomesNameLayerAndField() throws {
        #expect(field(rejection("h32x4x8 C3:8 A3:8"))! == (1, "groups"))       // 3 does not divide 4 heads
        #expect(field(rejection("h32x4x8 C3:8 R5:8"))! == (1, "groups"))       // 5 does not divide 32
        #expect(field(rejection("h32x4x8 C17:8"))! == (0, "groups"))           // too many taps
        #expect(field(rejection("h32x4x8 C3g:8"))! == (0, "gate"))             // a gate on a conv
        #expect(field(rejection("h32x4x8 C3:8 A2^1:8"))! == (1, "share"))      // shares a conv's featurizer
        #expect(field(rejection("h32x4x8 A2:8 A4^1:8"))! == (1, "share"))      // other groups
        #expect(field(rejection("h32x4x8 C3:8 C3^2:8"))! == (1, "share"))      // before the first layer
        #expect(field(rejection("h32x4x8 C3:0"))! == (0, "ffn"))
        #expect(field(rejection("h32x4x8 C3:8e1"))! == (0, "experts"))
        #expect(field(rejection("h30x4x8 C3:8"))! == (nil, "hidden"))
        #expect(field(rejection("h32x4x7 C3:8"))! == (nil, "headDim"))
        // A bad class in the numeric form, and its message.
        do {
            _ = try LIVGenome(integers: [32, 4, 8, 0, 3, 0, 0, 8, 0, 7, 2, 0, 0, 8, 0])
            Issue.record("class 7 accepted")
        } catch let error as LIVGenomeError {
            #expect(field(error)! == (1, "op"))
            #expect(error.description.contains("layer 1") && error.description.contains("found 7"))
        }
        #expect(throws: LIVGenomeError.self) { try LIVGenome(integers: [32, 4, 8, 0, 3]) }
        let message = rejection("h32x4x8 C3:8 A3:8")?.description ?? ""
        #expect(message.contains("layer 1") && message.contains("groups") && message.contains("found 3"), "\(message)")
    }

    @Test(arguments: ["", "x32x4x8 C3:8", "h32x4 C3:8", "h32x4x8", "h32x4x8 X3:8", "h32x4x8 C3", "h32x4x8 C3:8e",
                      "h32x4x8 C3^:8", "h32x4x8 C3:8:9", "h32x4x8 Cx:8", "h32x4x8 C3:8e0"])
    func badTextIsRejected(text: String) {
        #expect(throws: LIVGenomeError.self) { try LIVGenome(text: text) }
    }

    @Test func configurationRoundTripsThroughConfigJSON() throws {
        var settings = LIVSettings(vocabularySize: 77, slidingWindow: 9, normEpsilon: 1e-6, sandwichNorm: true,
                                   fullRope: RopeConfiguration(theta: 5000, kind: .proportional(partialRotaryFactor: 0.5, factor: 1)),
                                   slidingRope: RopeConfiguration(theta: 20_000), tieEmbeddings: false, expertsPerToken: 3,
                                   normalizeTopK: false, routedScaling: 2.5, expertSelectionBias: false,
                                   maxPositionEmbeddings: 1024, bosTokenId: nil, eosTokenIds: [2, 5])
        let genome = try LIVGenome(text: Self.examples[0])
        settings.expertsPerToken = 3
        let configuration = try LIVConfiguration(genome: genome, settings: settings, declaredDType: "float32")
        let data = try configuration.huggingFaceConfigData()
        let read = try LIVConfiguration(huggingFace: JSONObject(data: data, file: "config.json"))
        #expect(read == configuration)
        #expect(try ModelRegistry.architecture(huggingFace: JSONObject(data: data, file: "config.json")) == LIVArchitecture.self)
    }

    func read(_ edit: (inout [String: Any]) -> Void) throws -> LIVConfiguration {
        let configuration = try LIVModelBuilder.configuration("h32x4x8 C3:8 A2:8 R4:8")
        var json = configuration.huggingFaceConfig()
        edit(&json)
        return try LIVConfiguration(huggingFace: JSONObject(file: "config.json", values: json))
    }

    @Test func inconsistentConfigurationsAreRejected() throws {
        _ = try read { _ in }
        #expect(throws: ConfigError.self) { try read { $0["genome_integers"] = [32, 4, 8, 0, 3, 0, 0, 8, 0] } }
        #expect(throws: ConfigError.self) { try read { $0["hidden_size"] = 64 } }
        #expect(throws: ConfigError.self) { try read { $0["num_hidden_layers"] = 2 } }
        #expect(throws: ConfigError.missingKey(file: "config.json", key: "genome")) { try read { $0["genome"] = nil } }
        do {
            _ = try read { $0["genome"] = "h32x4x8 C3:8 A3:8 R4:8"; $0["genome_integers"] = nil }
            Issue.record("an invalid genome was accepted")
        } catch let error as ConfigError {
            guard case .invalidValue(_, let key, let detail) = error else { Issue.record("\(error)"); return }
            #expect(key == "genome" && detail.contains("layer 1"))
        }
        #expect(throws: ConfigError.self) { try read { $0["genome"] = "h32x4x8 C3:8 A2:8e4 R4:8"; $0["genome_integers"] = nil; $0["num_experts_per_tok"] = 5 } }
    }
}
