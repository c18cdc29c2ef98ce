import Foundation
import Testing
@testable import LFMGeneration

/// A `TokenOutput` that writes each token as its number and stops after `stopAfter`.
private struct NumberOutput: TokenOutput {
    var stopAfter: Int?
    var fed: [Int] = []
    private(set) var stopped = false

    mutating func feed(_ token: Int) -> [GenerationEvent] {
        fed.append(token)
        if token == stopAfter { stopped = true }
        return [.text("\(token)")]
    }
}

/// The shared per-token rules on hand-made logits (the loops' agreement is in LFMServerTests/LoopParityTests).
@Suite struct TokenStepperTests {
    /// Ten logits, token 1 the most likely, then 8, then 6.
    static let logits: [Float] = [0, 5, 0, 0, 0, 0, 2, 0, 3, 0]

    func stepper(maxTokens: Int = 16, stops: Set<Int> = [], forced: [[Int]] = [], topLogprobs: Int? = nil,
                 sampling: SamplingParameters = .greedy) throws -> TokenStepper {
        TokenStepper(sampler: try Sampler(sampling), stopTokens: stops, maxTokens: maxTokens, forcedPrefixes: forced, topLogprobs: topLogprobs)
    }

    @Test func aSingleForcedPrefixIsTakenAsItIsThenTheSamplerChooses() throws {
        var s = try stepper(forced: [[5, 6, 7]])
        var output = NumberOutput()
        var chosen: [Int] = []
        for _ in 0..<4 {
            var logits = Self.logits
            let token = try #require(try s.choose(&logits, history: []))
            chosen.append(token)
            #expect(s.advance(token, output: &output).finish == nil)
        }
        #expect(chosen == [5, 6, 7, 1])
        #expect(output.fed == chosen && s.generated == chosen)
    }

    @Test func withoutRecordingOnlyTheForcedPrefixIsKeptAndTheBudgetStillCounts() throws {
        var s = TokenStepper(sampler: try Sampler(.greedy), stopTokens: [], maxTokens: 6, forcedPrefixes: [[5, 6], [5, 8]],
                             recordsTokens: false)
        var output = NumberOutput()
        var chosen: [Int] = []
        var finish: FinishReason?
        while s.canContinue, finish == nil {
            var logits = Self.logits
            let token = try #require(try s.choose(&logits, history: []))
            chosen.append(token)
            finish = s.advance(token, output: &output).finish
        }
        // The prefixes still steer (5, then 8 over 6), the budget ends it, and only two tokens are kept.
        #expect(chosen == [5, 8, 1, 1, 1, 1] && finish == .length)
        #expect(s.count == 6 && s.generated == [5, 8] && output.fed == chosen)
    }

    @Test func divergingPrefixesLetTheSamplerChooseAmongTheirNextTokensOnly() throws {
        var s = try stepper(forced: [[6, 2], [8, 3]])
        var output = NumberOutput()
        var logits = Self.logits
        // 8 (logit 3) over 6 (logit 2); 1 (logit 5) is not allowed, and the row is masked to the two.
        #expect(try s.choose(&logits, history: []) == 8)
        #expect(logits.enumerated().filter { $0.element.isFinite }.map(\.offset) == [6, 8])
        _ = s.advance(8, output: &output)
        var next = Self.logits
        #expect(try s.choose(&next, history: []) == 3)  // only [8, 3] is left: forced
        _ = s.advance(3, output: &output)
        next = Self.logits
        #expect(try s.choose(&next, history: []) == 1)  // past the prefixes the sampler is free

        var t = try stepper(forced: [[5, 6, 9], [5, 8]])
        var row = Self.logits
        #expect(try t.choose(&row, history: []) == 5)
        _ = t.advance(5, output: &output)
        row = Self.logits
        #expect(try t.choose(&row, history: []) == 8)  // 8 (logit 3) over 6 (logit 2); 1 is not allowed
        _ = t.advance(8, output: &output)
        row = Self.logits
        #expect(try t.choose(&row, history: []) == 1)  // [5, 8] is done; [5, 6, 9] no longer matches
    }

    @Test func seededSamplingAtADivergenceStaysAmongTheAlternatives() throws {
        var seen = Set<Int>()
        for seed in 0..<40 {
            var s = try stepper(forced: [[6], [8]], sampling: SamplingParameters(temperature: 1.5, seed: UInt64(seed)))
            var logits = Self.logits
            seen.insert(try #require(try s.choose(&logits, history: [])))
        }
        #expect(seen == [6, 8])
    }

    @Test func theLogprobIsOfTheUnmaskedLogitsAndComesWithTheToken() throws {
        var s = try stepper(forced: [[6], [8]], topLogprobs: 2)
        var output = NumberOutput()
        var logits = Self.logits
        let token = try #require(try s.choose(&logits, history: []))
        let step = s.advance(token, output: &output)
        // log-softmax of the raw row: 8 has logit 3 against a sum of exp over all ten tokens.
        let logSum = log(7 + exp(5.0) + exp(2.0) + exp(3.0))
        let entry = try #require(step.logprob)
        #expect(entry.chosen.token == 8 && abs(Double(entry.chosen.logprob) - (3 - logSum)) < 1e-5)
        #expect(entry.top.map(\.token) == [1, 8] && abs(Double(entry.top[0].logprob) - (5 - logSum)) < 1e-5)
        #expect(step.events == [.text("8")])
        var plain = try stepper()
        var row = Self.logits
        let t = try #require(try plain.choose(&row, history: []))
        #expect(plain.advance(t, output: &output).logprob == nil)
    }

    @Test func finishReasons() throws {
        var output = NumberOutput()
        // A stop token is recorded but neither fed nor given a logprob.
        var s = try stepper(stops: [1], topLogprobs: 0)
        var logits = Self.logits
        let stop = try #require(try s.choose(&logits, history: []))
        #expect(s.advance(stop, output: &output) == TokenStepper.Step(logprob: nil, events: [], finish: .stop))
        #expect(s.generated == [1] && output.fed.isEmpty)
        // No budget: nothing is recorded.
        var zero = try stepper(maxTokens: 0)
        #expect(zero.advance(1, output: &output).finish == .length && zero.generated.isEmpty && output.fed.isEmpty)
        // The budget, after the token's events.
        var two = try stepper(maxTokens: 2)
        #expect(two.advance(3, output: &output).finish == nil)
        let last = two.advance(4, output: &output)
        #expect(last.finish == .length && last.events == [.text("4")])
        // A stop string in the output.
        var stopping = NumberOutput(stopAfter: 5)
        var s3 = try stepper()
        #expect(s3.advance(2, output: &stopping).finish == nil)
        #expect(s3.advance(5, output: &stopping).finish == .stop)
        // The context: no room for the next token.
        var s4 = try stepper()
        #expect(s4.advance(2, output: &output, room: 2).finish == nil)
        #expect(s4.advance(2, output: &output, room: 1).finish == .length)
        // No output at all (lfm generate without a tokenizer).
        var none: NumberOutput? = nil
        var s5 = try stepper(maxTokens: 1)
        #expect(s5.advance(2, output: &none) == TokenStepper.Step(logprob: nil, events: [], finish: .length))
    }

    @Test func aJSONValueClosedAtTheBudgetEndsWithLength() throws {
        let schema = try JSONSchema(json: #"{"type":"integer"}"#)
        let constraint = ConstrainedDecoder(schema: schema, vocabulary: StructuredGenerationTests.vocabulary, stopTokens: [7])
        var s = TokenStepper(sampler: try Sampler(.greedy), constraint: constraint, stopTokens: [7], maxTokens: 1)
        var logits = [Float](repeating: 0, count: StructuredGenerationTests.vocabulary.logitCount)
        let token = try #require(try s.choose(&logits, history: []))
        var output = NumberOutput()
        #expect(s.constraint?.isComplete == true)
        #expect(s.advance(token, output: &output).finish == .length)
    }
}
