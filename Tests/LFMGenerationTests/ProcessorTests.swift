import Foundation
import Testing
@testable import LFMGeneration

struct ProcessorCase: Decodable, CustomStringConvertible {
    let `case`: String
    let processor: String
    let value: Double
    let logits: [FloatOrInf]
    let history: [Int]
    let expected: [FloatOrInf]
    var description: String { `case` }

    static func all() -> [ProcessorCase] {
        struct File: Decodable { let cases: [ProcessorCase] }
        guard let url = Bundle.module.url(forResource: "Fixtures/processors", withExtension: "json"),
              let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
        return file.cases
    }

    var processorUnderTest: LogitsProcessor {
        switch processor {
        case "temperature": return Temperature(Float(value))
        case "top_k": return TopK(Int(value))
        case "top_p": return TopP(Float(value))
        case "min_p": return MinP(Float(value))
        case "typical_p": return TypicalP(Float(value))
        default: return RepetitionPenalty(Float(value))
        }
    }
}

/// A float that JSON writes as a number or as "-inf"/"inf".
struct FloatOrInf: Decodable {
    let value: Float
    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Float.self) { value = number; return }
        value = try container.decode(String.self) == "-inf" ? -.infinity : .infinity
    }
}

@Suite struct ProcessorTests {
    @Test func fixturesArePresent() { #expect(ProcessorCase.all().count >= 40) }

    @Test(arguments: ProcessorCase.all())
    func matchesTransformers(reference: ProcessorCase) {
        var logits = reference.logits.map(\.value)
        reference.processorUnderTest.process(&logits, history: reference.history[...])
        let expected = reference.expected.map(\.value)
        #expect(logits.count == expected.count)
        for (i, (ours, theirs)) in zip(logits, expected).enumerated() {
            if theirs == -.infinity {
                #expect(ours == -.infinity, "\(reference) index \(i) should be filtered")
            } else {
                #expect(abs(ours - theirs) <= 1e-5 * max(1, abs(theirs)), "\(reference) index \(i): \(ours) vs \(theirs)")
            }
        }
    }
}

@Suite struct SamplerTests {
    let logits: [Float] = (0..<100).map { Float(sin(Double($0) * 1.7)) * 3 }

    @Test func greedyPicksTheArgmax() throws {
        var sampler = try Sampler(.greedy)
        let best = logits.indices.max { logits[$0] < logits[$1] }!
        #expect(sampler.sample(logits, history: []) == best)
    }

    @Test func sameSeedSameTokens() throws {
        func draw(_ seed: UInt64) throws -> [Int] {
            var sampler = try Sampler(SamplingParameters(temperature: 0.9, topK: 40, topP: 0.95, seed: seed))
            return (0..<50).map { _ in sampler.sample(logits, history: []) }
        }
        #expect(try draw(7) == draw(7))
        #expect(try draw(7) != draw(8))
    }

    @Test func samplesFollowTheDistribution() throws {
        var sampler = try Sampler(SamplingParameters(temperature: 1, seed: 3))
        let small: [Float] = [0, log(3)] // p = 0.25, 0.75
        let ones = (0..<20_000).filter { _ in sampler.sample(small, history: []) == 1 }.count
        #expect(abs(Double(ones) / 20_000 - 0.75) < 0.02)
    }

    @Test func filteredTokensAreNeverDrawn() throws {
        var sampler = try Sampler(SamplingParameters(temperature: 1.5, topK: 3, seed: 11))
        let allowed = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(3))
        for _ in 0..<500 { #expect(allowed.contains(sampler.sample(logits, history: []))) }
    }

    @Test func penaltiesAndBias() throws {
        let sampler = try Sampler(SamplingParameters(temperature: 0, frequencyPenalty: 0.5, presencePenalty: 1,
                                                     penaltyWindow: 3, logitBias: [0: 2]))
        let out = sampler.processed([1, 1, 1, 1], history: [1, 1, 2, 2, 2])
        // window = last 3 tokens: [2, 2, 2]; token 1 is outside it.
        #expect(out == [3, 1, 1 - 1.5 - 1, 1])
    }

    @Test func invalidParametersAreRejected() {
        #expect(throws: SamplingError.self) { try Sampler(SamplingParameters(temperature: -1)) }
        #expect(throws: SamplingError.self) { try Sampler(SamplingParameters(topP: 0)) }
        #expect(throws: SamplingError.self) { try Sampler(SamplingParameters(minP: 2)) }
        #expect(throws: SamplingError.self) { try Sampler(SamplingParameters(repetitionPenalty: 0)) }
    }

    @Test func generationConfigDefaults() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString).json")
        try Data(#"{"temperature": 0.3, "min_p": 0.15, "repetition_penalty": 1.05, "do_sample": true}"#.utf8).write(to: url)
        let p = try SamplingParameters.fromGenerationConfig(url)
        #expect(p.temperature == 0.3 && p.minP == 0.15 && p.repetitionPenalty == 1.05)
        try Data(#"{"temperature": "hot"}"#.utf8).write(to: url)
        #expect(throws: SamplingError.self) { try SamplingParameters.fromGenerationConfig(url) }
    }
}
