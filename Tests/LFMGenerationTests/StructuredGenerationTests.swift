import Foundation
import Testing
import LFMChat
import LFMTokenizer
@testable import LFMGeneration

/// Schemas the generation tests use, covering every supported construct.
enum TestSchemas {
    static let all: [String] = [
        // Objects with required/optional properties, enums, bounded numbers, arrays.
        #"{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":150},"mood":{"enum":["happy","sad",null]},"tags":{"type":"array","items":{"type":"string","maxLength":6},"maxItems":3},"score":{"type":"number","minimum":-1,"maximum":1}},"required":["name","age","mood"],"additionalProperties":false}"#,
        // Unions, type lists, references, nested arrays.
        ##"{"$defs":{"point":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},"required":["x","y"]}},"type":"object","properties":{"kind":{"const":"path"},"points":{"type":"array","items":{"$ref":"#/$defs/point"},"minItems":1,"maxItems":4},"label":{"type":["string","null"],"maxLength":8}},"required":["kind","points","label"]}"##,
        // Any JSON object.
        #"{"type":"json_object"}"#,
        // An array of a union at the top level.
        #"{"type":"array","items":{"anyOf":[{"type":"boolean"},{"type":"integer","minimum":-50,"maximum":50},{"type":"string","minLength":1,"maxLength":4}]},"minItems":2,"maxItems":6}"#,
        // Additional properties with a schema, after a required property; a recursive tree.
        ##"{"type":"object","properties":{"id":{"type":"integer"},"child":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["id"],"additionalProperties":{"type":"boolean"}}"##,
    ]
}

@Suite(.serialized) struct StructuredGenerationTests {
    static let vocabulary: TokenVocabulary = {
        let (model, tokenizer, _) = ChatModel.shared
        return TokenVocabulary(tokenizer: tokenizer, logitCount: model.configuration.vocabularySize)
    }()

    /// Parses `text` and checks it against the schema with both JSON readers.
    func check(_ text: String, _ schemaText: String, _ context: String) throws {
        let value: Value
        do { value = try Value.parseJSON(text) } catch {
            Issue.record("\(context): output does not parse: \(text.debugDescription): \(error)")
            return
        }
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil, "\(context): \(text)")
        let validator = SchemaValidator(schema: try Value.parseJSON(schemaText))
        #expect(validator.firstError(value) == nil, "\(context): \(text.debugDescription): \(validator.firstError(value) ?? "")")
    }

    @Test func twoHundredConstrainedGenerationsParseAndValidate() async throws {
        let session = ChatModel.session()
        var limits = SchemaCompileOptions()
        limits.defaultMaxStringLength = 24   // shorter strings keep the debug-build test quick
        let schemas = try TestSchemas.all.map { try JSONSchema(json: $0, options: limits) }
        var finishes: [FinishReason: Int] = [:]
        var nonTrivial = 0
        for run in 0..<200 {
            let which = run % schemas.count
            let temperature: Float = [0, 0.7, 0, 1.0, 0, 1.5][run / schemas.count % 6]
            let sampling = SamplingParameters(temperature: temperature, topK: run % 3 == 0 ? 40 : 0, seed: UInt64(run))
            let maxTokens = schemas[which].shortestValueLength + 2 + (run * 7) % 16
            let options = GenerationOptions(sampling: sampling, maxTokens: maxTokens, responseFormat: schemas[which])
            let prompt = [1, 6, 423 + run % 50, 1024 + run]
            let result = try await collect(session.generate(promptTokens: prompt, options: options))
            let context = "run \(run) schema \(which) T=\(temperature) max \(maxTokens)"
            #expect((result.stats?.completionTokens ?? .max) <= maxTokens, "\(context)")
            try check(result.text, TestSchemas.all[which], context)
            finishes[result.finish ?? .cancelled, default: 0] += 1
            if result.text.count > 12 { nonTrivial += 1 }
        }
        // Both ways of ending happen, and outputs are not all minimal.
        #expect((finishes[.stop] ?? 0) > 0 && (finishes[.length] ?? 0) > 0, "\(finishes)")
        #expect(nonTrivial > 100)
    }

    @Test func masksEqualBruteForceOverTheVocabulary() throws {
        let vocabulary = Self.vocabulary
        let s = try JSONSchema(json: TestSchemas.all[0])
        let prefixes = ["", #"{"#, #"{"name":"ab"#, #"{"name":"a\"#, #"{"name":"ab","age":1"#, #"{"name":"ab","age":12,"mood":"#,
                        "{\"name\":\"\u{E9}", #"{"name":"ab","age":12,"mood":null,"tags":["x"#]
        for prefix in prefixes {
            var decoder = ConstrainedDecoder(schema: s, vocabulary: vocabulary, stopTokens: [7])
            for b in prefix.utf8 {   // feed through single-byte tokens
                let id = try #require(vocabulary.bytes.firstIndex(of: [b]))
                try decoder.accept(id)
            }
            let fast = Set(decoder.allowedTokens(remainingTokens: 10_000))
            var brute = Set<Int>()
            for id in 0..<vocabulary.logitCount where !vocabulary.bytes[id].isEmpty {
                var m = decoder.matcher
                if m.feed(vocabulary.bytes[id]) { brute.insert(id) }
            }
            if decoder.isComplete { brute.insert(7) }
            #expect(fast == brute, "prefix \(prefix.debugDescription): \(fast.symmetricDifference(brute).prefix(10).map { vocabulary.bytes[$0] })")
            #expect(!fast.isEmpty)
        }
    }

    @Test func aSmallBudgetClosesTheValueInTime() async throws {
        let vocabulary = Self.vocabulary
        let s = try JSONSchema(json: TestSchemas.all[0])
        var decoder = ConstrainedDecoder(schema: s, vocabulary: vocabulary, stopTokens: [])
        // Prefer long tokens: the fewer bytes per token, the more the budget binds.
        var remaining = s.shortestValueLength + 3
        while remaining > 0 {
            let allowed = decoder.allowedTokens(remainingTokens: remaining)
            guard let token = allowed.max(by: { vocabulary.bytes[$0].count < vocabulary.bytes[$1].count }) else { break }
            try decoder.accept(token)
            remaining -= 1
            if decoder.isComplete && decoder.allowedTokens(remainingTokens: remaining).isEmpty { break }
        }
        #expect(decoder.isComplete, "\(String(decoding: decoder.output, as: UTF8.self))")
        try check(String(decoding: decoder.output, as: UTF8.self), TestSchemas.all[0], "budget")
        await #expect(throws: StructuredOutputError.budgetTooSmall(needed: s.shortestValueLength, available: 5)) {
            _ = try await ChatModel.session().generate(promptTokens: [1], options: GenerationOptions(maxTokens: 5, responseFormat: s))
        }
    }

    @Test func randomByteWalksOfTheMatcherValidate() throws {
        var random = SeededRandom(seed: 5)
        for (which, text) in TestSchemas.all.enumerated() {
            let s = try JSONSchema(json: text)
            for walk in 0..<30 {
                var m = JSONMatcher(schema: s)
                var out: [UInt8] = []
                let length = 10 + Int(random.next() % 80)
                while !(m.isComplete && (out.count >= length || random.next() % 4 == 0)) {
                    let bytes = m.allowedBytes
                    guard !bytes.isEmpty else { break }
                    // Past the target length, only bytes that bring completion closer.
                    let closer = bytes.filter { (m.advanced(by: $0)?.shortestCompletion ?? .max) < m.shortestCompletion }
                    let pool = out.count >= length && !closer.isEmpty ? closer : bytes
                    let b = pool[Int(random.next() % UInt64(pool.count))]
                    m.feed(b)
                    out.append(b)
                    if out.count > 2000 { break }
                }
                #expect(m.isComplete, "schema \(which) walk \(walk) stuck at \(String(decoding: out, as: UTF8.self))")
                try check(String(decoding: out, as: UTF8.self), text, "schema \(which) walk \(walk)")
            }
        }
    }
}

struct SchemaValidatorTests {
    @Test func validatorAcceptsAndRejectsPerKeyword() throws {
        func valid(_ schema: String, _ value: String) throws -> Bool {
            SchemaValidator(schema: try Value.parseJSON(schema)).isValid(try Value.parseJSON(value))
        }
        #expect(try valid(#"{"type":"integer"}"#, "3") && valid(#"{"type":"integer"}"#, "3.0") && !valid(#"{"type":"integer"}"#, "3.5"))
        #expect(try !valid(#"{"type":"number"}"#, "true") && !valid(#"{"type":"boolean"}"#, "1"))
        #expect(try valid(#"{"type":["string","null"]}"#, "null") && !valid(#"{"type":["string","null"]}"#, "1"))
        #expect(try valid(#"{"type":"string","minLength":2,"maxLength":2}"#, #""é😀""#) && !valid(#"{"maxLength":1,"type":"string"}"#, #""ab""#))
        #expect(try valid(#"{"minimum":1,"maximum":2}"#, "2") && !valid(#"{"minimum":1,"maximum":2}"#, "2.5"))
        #expect(try !valid(#"{"exclusiveMinimum":1}"#, "1") && valid(#"{"exclusiveMaximum":1}"#, "0.9"))
        #expect(try valid(#"{"enum":[1,"a",{"k":[true]}]}"#, #"{"k":[true]}"#) && !valid(#"{"enum":[1]}"#, "true"))
        #expect(try valid(#"{"const":1}"#, "1.0") && !valid(#"{"const":"1"}"#, "1"))
        let object = #"{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}"#
        #expect(try valid(object, #"{"a":1}"#) && !valid(object, #"{}"#) && !valid(object, #"{"a":1,"b":2}"#) && !valid(object, #"{"a":"x"}"#))
        #expect(try valid(#"{"properties":{"a":{"type":"integer"}}}"#, #"{"b":"x"}"#))   // JSON Schema default: allowed
        #expect(try valid(#"{"additionalProperties":{"type":"string"}}"#, #"{"b":"x"}"#) && !valid(#"{"additionalProperties":{"type":"string"}}"#, #"{"b":1}"#))
        #expect(try valid(#"{"items":{"type":"integer"},"minItems":1,"maxItems":2}"#, "[1,2]") && !valid(#"{"items":{"type":"integer"}}"#, #"[1,"x"]"#))
        #expect(try !valid(#"{"minItems":1}"#, "[]") && !valid(#"{"maxItems":1}"#, "[1,2]"))
        #expect(try valid(#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#, "1") && !valid(#"{"anyOf":[{"type":"string"}]}"#, "1"))
        #expect(try !valid(#"{"oneOf":[{"type":"number"},{"type":"integer"}]}"#, "1") && valid(#"{"oneOf":[{"type":"number"},{"type":"integer"}]}"#, "1.5"))
        let ref = ##"{"$defs":{"s":{"type":"string"}},"items":{"$ref":"#/$defs/s"}}"##
        #expect(try valid(ref, #"["a"]"#) && !valid(ref, "[1]"))
        #expect(try !valid("false", "1") && valid("true", "1"))
        #expect(try valid(#"{"type":"json_object"}"#, "{}") && !valid(#"{"type":"json_object"}"#, "[]"))
    }
}
