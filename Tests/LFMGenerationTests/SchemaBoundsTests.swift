import Foundation
import Testing
import LFMChat
@testable import LFMGeneration

/// The issue's schema shape: an `anyOf` of `outer` `anyOf`s of `inner` constants (50 × 100 is about 100 KB).
func nestedAnyOfSchema(outer: Int = 50, inner: Int = 100) -> String {
    let groups = (0..<outer).map { i in
        #"{"anyOf":["# + (0..<inner).map { j in #"{"const":"v\#(i)_\#(j)"}"# }.joined(separator: ",") + "]}"
    }
    return #"{"anyOf":["# + groups.joined(separator: ",") + "]}"
}

/// Bounds on compiling schemas and on preparing their first mask (issue 14, item 2).
struct SchemaBoundsTests {
    func tooComplexBound(_ body: () throws -> Void) -> String? {
        do { try body() } catch StructuredOutputError.tooComplex(let bound, _) { return bound } catch { return "other: \(error)" }
        return nil
    }

    @Test func nestedAlternativesAreRefusedQuickly() throws {
        let text = nestedAnyOfSchema()
        #expect(text.utf8.count > 90_000)
        let start = Date()
        let bound = tooComplexBound { _ = try schema(text) }
        #expect(bound == "maxAlternatives 256")
        // The bound is checked on the compiled graph before any matching (about 0.2 s alone here); the
        // margin is for suites running in parallel.
        #expect(Date().timeIntervalSince(start) < 10)
        do { _ = try schema(text) } catch {
            #expect("\(error)".contains("more than 256 anyOf/oneOf alternatives can be alive at once at ''"), "\(error)")
        }
        // Alternatives add up through nesting; a small union compiles.
        #expect(tooComplexBound { _ = try schema(nestedAnyOfSchema(outer: 4, inner: 10)) } == nil)
        var wide = SchemaCompileOptions()
        wide.maxAlternatives = 39
        #expect(tooComplexBound { _ = try schema(nestedAnyOfSchema(outer: 4, inner: 10), wide) } == "maxAlternatives 39")
        wide.maxAlternatives = 40
        #expect(tooComplexBound { _ = try schema(nestedAnyOfSchema(outer: 4, inner: 10), wide) } == nil)
    }

    /// Recursive unions count one level per nesting, not forever.
    @Test func recursiveUnionsStayWithinTheBound() throws {
        let tree = ##"{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"anyOf":[{"type":"null"},{"type":"array","items":{"$ref":"#/$defs/node"}}]}},"required":["v"]}},"$ref":"#/$defs/node"}"##
        #expect(tooComplexBound { _ = try schema(tree) } == nil)
        for text in TestSchemas.all { #expect(tooComplexBound { _ = try schema(text) } == nil, "\(text)") }
        // Items of alternatives: 4 inside the object's property, plus the string and the number.
        let wide = #"{"type":"array","items":{"anyOf":[{"type":"object","properties":{"a":{"anyOf":[{"type":"integer"},{"type":"string"},{"type":"null"},{"type":"boolean"}]}}},{"type":"string"},{"type":"number"}]}}"#
        var options = SchemaCompileOptions()
        options.maxAlternatives = 5
        #expect(tooComplexBound { _ = try schema(wide, options) } == "maxAlternatives 5")
        options.maxAlternatives = 6
        #expect(tooComplexBound { _ = try schema(wide, options) } == nil)
    }

    @Test func nodeLiteralAndTimeBounds() throws {
        let properties = (0..<30).map { #""p\#($0)":{"type":"integer"}"# }.joined(separator: ",")
        let object = #"{"type":"object","properties":{"# + properties + "}}"
        var options = SchemaCompileOptions()
        options.maxNodes = 20
        #expect(tooComplexBound { _ = try schema(object, options) } == "maxNodes 20")
        options.maxNodes = 40
        #expect(tooComplexBound { _ = try schema(object, options) } == nil)
        // 30 optional properties: 30 declared + 30 + 29 + … + 0 property-order entries.
        options.maxLiterals = 30 + 30 * 31 / 2 - 1
        #expect(tooComplexBound { _ = try schema(object, options) } == "maxLiterals 494")
        options.maxLiterals = 30 + 30 * 31 / 2
        #expect(tooComplexBound { _ = try schema(object, options) } == nil)
        let enumeration = #"{"enum":["# + (0..<500).map { #""e\#($0)""# }.joined(separator: ",") + "]}"
        options.maxLiterals = 499
        #expect(tooComplexBound { _ = try schema(enumeration, options) } == "maxLiterals 499")
        // A time limit already spent.
        options = SchemaCompileOptions()
        options.timeLimit = 0
        #expect(tooComplexBound { _ = try schema(object, options) } == "timeLimit 0.0 s")
    }

    @Test func firstMaskWorkIsBoundedAndCounted() throws {
        let vocabulary = StructuredGenerationTests.vocabulary
        var options = SchemaCompileOptions()
        let compiled = try schema(TestSchemas.all[0], options)
        try ConstrainedDecoder(schema: compiled, vocabulary: vocabulary, stopTokens: []).prepareFirstMask()
        options.maxFirstMaskWork = 50
        let small = try schema(TestSchemas.all[0], options)
        #expect(tooComplexBound { try ConstrainedDecoder(schema: small, vocabulary: vocabulary, stopTokens: []).prepareFirstMask() }
                == "maxFirstMaskWork 50")
        // The prepared mask is the one generation then uses.
        var logits = [Float](repeating: 0, count: vocabulary.logitCount)
        _ = try ConstrainedDecoder(schema: compiled, vocabulary: vocabulary, stopTokens: []).mask(&logits, remainingTokens: 100)
        let allowed = logits.indices.filter { logits[$0] > -.infinity }
        #expect(allowed == ConstrainedDecoder(schema: compiled, vocabulary: vocabulary, stopTokens: []).allowedTokens(remainingTokens: 100))
        #expect(!allowed.isEmpty)
    }
}
