import Foundation
import Testing
import LFMChat
@testable import LFMGeneration

/// Compiles a schema written as JSON text.
func schema(_ json: String, _ options: SchemaCompileOptions = SchemaCompileOptions()) throws -> JSONSchema {
    try JSONSchema(json: json, options: options)
}

/// Whether the matcher accepts `text` as a complete value.
func accepts(_ s: JSONSchema, _ text: String) -> Bool {
    var m = JSONMatcher(schema: s)
    return m.feed(text) && m.isComplete
}

/// Whether `text` is a prefix of some valid value.
func acceptsPrefix(_ s: JSONSchema, _ text: String) -> Bool {
    var m = JSONMatcher(schema: s)
    return m.feed(text)
}

struct StructuredMatcherTests {
    @Test func objectsFollowDeclaredOrderAndRequired() throws {
        let s = try schema(#"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},"required":["a","c"],"additionalProperties":false}"#)
        #expect(accepts(s, #"{"a":1,"b":"x","c":true}"#))
        #expect(accepts(s, #"{"a":1,"c":false}"#))
        #expect(accepts(s, #"{"a": 1, "b": "x", "c": true}"#))
        #expect(!accepts(s, #"{"a":1}"#))                        // c missing
        #expect(!acceptsPrefix(s, #"{"c":true,"a":1}"#))           // order
        #expect(!acceptsPrefix(s, #"{"a":1,"d":1}"#))              // not declared
        #expect(!acceptsPrefix(s, #"{ "a":1}"#))                   // no space after {
        #expect(!acceptsPrefix(s, #"{"a":  1}"#))                  // at most one space
        #expect(!acceptsPrefix(s, #"{"a":1,"c":true,"#))           // nothing may follow c
        #expect(!acceptsPrefix(s, #"{"a":"1"}"#))
        #expect(!accepts(s, #"{"a":1,"c":true} "#))                // no trailing text
    }

    @Test func additionalPropertiesComeAfterTheRequiredOnesAndNeverRepeatADeclaredKey() throws {
        let s = try schema(#"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a"],"additionalProperties":{"type":"string"}}"#)
        #expect(accepts(s, #"{"a":1,"zz":"q","b":2}"#))
        #expect(accepts(s, #"{"a":1,"ab":"q"}"#))
        #expect(!acceptsPrefix(s, #"{"zz":"q""#))                 // a is required first
        #expect(!acceptsPrefix(s, #"{"a":1,"a":"#))                // a again
        #expect(!acceptsPrefix(s, #"{"a":1,"zz":3"#))              // additional values are strings
        #expect(!acceptsPrefix(s, #"{"a":1,"\u0062":"#))          // no escapes in additional keys
        let any = try schema(#"{"type":"json_object"}"#)
        #expect(accepts(any, #"{"x":[1,{"y":null}],"z":"w"}"#))
        #expect(accepts(any, "{}"))
        #expect(!acceptsPrefix(any, "[1]"))
        #expect(accepts(try schema(#"{"type":"object"}"#), #"{"k":1.5}"#))
        // Without the keyword, additional properties are refused (documented default) unless asked for.
        let plain = #"{"type":"object","properties":{"a":{"type":"integer"}}}"#
        #expect(!acceptsPrefix(try schema(plain), #"{"b""#))
        var options = SchemaCompileOptions()
        options.additionalPropertiesByDefault = true
        #expect(accepts(try schema(plain, options), #"{"b":[true]}"#))
    }

    @Test func arraysRespectItemBounds() throws {
        let s = try schema(#"{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3}"#)
        #expect(accepts(s, "[1]"))
        #expect(accepts(s, "[1, 2,3]"))
        #expect(!accepts(s, "[]"))
        #expect(!acceptsPrefix(s, "[1,2,3,"))
        #expect(!acceptsPrefix(s, "[1,]"))
        #expect(!acceptsPrefix(s, "[ 1]"))
        #expect(accepts(try schema(#"{"type":"array"}"#), #"[1,"a",[null]]"#))
    }

    @Test func stringsCountCodePointsAndRejectBadText() throws {
        let s = try schema(#"{"type":"string","minLength":2,"maxLength":3}"#)
        #expect(accepts(s, #""ab""#))
        #expect(accepts(s, #""éà😀""#))
        #expect(accepts(s, #""a\n\u00e9""#))
        #expect(!accepts(s, #""a""#))
        #expect(!acceptsPrefix(s, #""abcd"#))
        #expect(!acceptsPrefix(s, #""\ud83d"#))                    // surrogate escapes
        #expect(!acceptsPrefix(s, #""\x"#))                        // bad escape
        #expect(!acceptsPrefix(s, "\"a\nb"))                       // raw control character
        var m = JSONMatcher(schema: s)
        let fed = [m.feed(Array("\"a".utf8)), m.feed(0xC0), m.feed(0x80), m.feed(0xE0), m.feed(0x80), m.feed([0xA0, 0x80])]
        // C0 is never valid UTF-8, 80 is a stray continuation, E0 80 is overlong.
        #expect(fed == [true, false, false, true, false, true])
        // Unbounded strings get the default maximum.
        let free = try schema(#"{"type":"string"}"#)
        #expect(accepts(free, "\"" + String(repeating: "x", count: 256) + "\""))
        #expect(!acceptsPrefix(free, "\"" + String(repeating: "x", count: 257)))
    }

    @Test func enumsAndConstsMatchTheirCompactText() throws {
        let s = try schema(#"{"enum":["red","green",1,12,null,{"k":[1]}]}"#)
        for text in [#""red""#, #""green""#, "1", "12", "null", #"{"k":[1]}"#] { #expect(accepts(s, text), "\(text)") }
        #expect(!accepts(s, #""gre""#))
        #expect(!acceptsPrefix(s, "13"))
        #expect(!accepts(s, "true"))
        let inArray = try schema(#"{"type":"array","items":{"enum":[1,12]}}"#)
        #expect(accepts(inArray, "[1,12,1]"))
        #expect(!acceptsPrefix(inArray, "[123"))
        let c = try schema(#"{"const":"only"}"#)
        #expect(accepts(c, #""only""#) && !acceptsPrefix(c, #""other"#))
        // enum filtered by type.
        let typed = try schema(#"{"type":"string","enum":["a",1]}"#)
        #expect(accepts(typed, #""a""#) && !acceptsPrefix(typed, "1"))
    }

    @Test func integersAndNumbersWithBounds() throws {
        let i = try schema(#"{"type":"integer","minimum":10,"maximum":20}"#)
        #expect(accepts(i, "15") && accepts(i, "10") && accepts(i, "20"))
        #expect(!accepts(i, "2") && acceptsPrefix(i, "2"))
        #expect(!acceptsPrefix(i, "25") && !acceptsPrefix(i, "-") && !acceptsPrefix(i, "3"))
        #expect(!acceptsPrefix(i, "1.5") && !acceptsPrefix(i, "012"))
        let free = try schema(#"{"type":"integer"}"#)
        #expect(accepts(free, "-0") && accepts(free, "123456789012345"))
        #expect(!acceptsPrefix(free, "1234567890123456"))          // more than 15 digits
        #expect(!acceptsPrefix(free, "1e5"))
        let n = try schema(#"{"type":"number","exclusiveMinimum":0,"maximum":1.5}"#)
        #expect(accepts(n, "0.5") && accepts(n, "1.5") && accepts(n, "1"))
        #expect(!accepts(n, "0") && acceptsPrefix(n, "0.0"))
        #expect(!acceptsPrefix(n, "1.6") && !acceptsPrefix(n, "2") && !acceptsPrefix(n, "-"))
        #expect(!acceptsPrefix(n, "1.") == false)
        #expect(!accepts(n, "1."))
        let negative = try schema(#"{"type":"number","minimum":-2.5,"maximum":-1}"#)
        #expect(accepts(negative, "-2.5") && accepts(negative, "-1") && !acceptsPrefix(negative, "-3") && !acceptsPrefix(negative, "-0"))
        #expect(!acceptsPrefix(negative, "-2.6"))
    }

    @Test func unionsTypeListsAndReferences() throws {
        let s = try schema(##"{"$defs":{"P":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]}},"anyOf":[{"$ref":"#/$defs/P"},{"type":["string","null"]},{"type":"boolean"}]}"##)
        for text in [#"{"x":1.5}"#, #""s""#, "null", "true"] { #expect(accepts(s, text), "\(text)") }
        #expect(!acceptsPrefix(s, "1"))
        let one = try schema(#"{"oneOf":[{"type":"integer"},{"type":"string"}]}"#)
        #expect(accepts(one, "3") && accepts(one, #""3""#))
        // A recursive tree, bounded by the nesting limit.
        var options = SchemaCompileOptions()
        options.maxNesting = 4
        let tree = try schema(##"{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#"}}},"required":["v","kids"]}"##, options)
        #expect(accepts(tree, #"{"v":1,"kids":[{"v":2,"kids":[]}]}"#))
        #expect(!acceptsPrefix(tree, #"{"v":1,"kids":[{"v":2,"kids":[{"#))   // a fifth container
        let definitions = try schema(##"{"definitions":{"S":{"type":"string","maxLength":1}},"type":"array","items":{"$ref":"#/definitions/S"}}"##)
        #expect(accepts(definitions, #"["a","b"]"#) && !acceptsPrefix(definitions, #"["ab"#))
        let allOf = try schema(#"{"allOf":[{"type":"boolean"}],"description":"x"}"#)
        #expect(accepts(allOf, "false"))
    }

    @Test func shortestCompletionCountsTheBytesStillNeeded() throws {
        let s = try schema(#"{"type":"object","properties":{"name":{"type":"string","minLength":2},"n":{"type":"integer","minimum":100}},"required":["name","n"]}"#)
        // {"name":"xx","n":100}
        #expect(s.shortestValueLength == 21)
        var m = JSONMatcher(schema: s)
        #expect(m.shortestCompletion == 21)
        m.feed(#"{"name":"a"#)
        #expect(m.shortestCompletion == 11)                        // a"," n":100}  → x","n":100}
        m.feed(#"bc","n":1"#)
        #expect(m.shortestCompletion == 3)
        m.feed("00}")
        #expect(m.shortestCompletion == 0 && m.isComplete)
    }

    @Test func badSchemasGiveTypedErrors() throws {
        #expect(throws: StructuredOutputError.unsupportedKeyword(keyword: "pattern", pointer: "/properties/name/pattern")) {
            try schema(#"{"type":"object","properties":{"name":{"type":"string","pattern":"^a"}}}"#)
        }
        #expect(throws: StructuredOutputError.unresolvedReference(ref: "#/$defs/Missing", pointer: "/items")) {
            try schema(##"{"type":"array","items":{"$ref":"#/$defs/Missing"}}"##)
        }
        #expect(throws: StructuredOutputError.unresolvedReference(ref: "https://example.com/s.json", pointer: "")) {
            try schema(##"{"$ref":"https://example.com/s.json"}"##)
        }
        #expect(throws: StructuredOutputError.unsatisfiable(pointer: "/properties/a", detail: "the schema is false")) {
            try schema(#"{"properties":{"a":false}}"#)
        }
        #expect(throws: StructuredOutputError.invalidKeyword(keyword: "type", pointer: "", expected: "object, array, string, integer, number, boolean or null", found: "\"date\"")) {
            try schema(#"{"type":"date"}"#)
        }
        #expect(throws: StructuredOutputError.invalidKeyword(keyword: "maxLength", pointer: "", expected: "a non-negative integer", found: "-1")) {
            try schema(#"{"type":"string","maxLength":-1}"#)
        }
        #expect(throws: StructuredOutputError.self) { try schema(#"{"type":"integer","minimum":5,"maximum":4}"#) }
        #expect(throws: StructuredOutputError.self) { try schema(##"{"type":"object","properties":{"a":{"$ref":"#/properties/a"}}}"##) }
        #expect(throws: StructuredOutputError.self) {
            try schema(##"{"type":"object","properties":{"n":{"$ref":"#"}},"required":["n"]}"##)   // no finite instance
        }
        #expect(throws: StructuredOutputError.unsupportedKeyword(keyword: "allOf", pointer: "/allOf")) {
            try schema(#"{"allOf":[{"type":"integer"},{"minimum":1}]}"#)
        }
        #expect(throws: StructuredOutputError.unsupportedKeyword(keyword: "minimum", pointer: "/minimum (beside anyOf)")) {
            try schema(#"{"anyOf":[{"type":"integer"}],"minimum":1}"#)
        }
        // Annotations are ignored.
        _ = try schema(#"{"title":"T","description":"d","type":"string","format":"date-time","default":"x","examples":["y"]}"#)
    }

    @Test func responseFormatWrapper() throws {
        let wrapped = try Value.parseJSON(#"{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}}}"#)
        let s = try #require(try ResponseFormat.parse(wrapped))
        #expect(accepts(s, #"{"ok":true}"#) && !acceptsPrefix(s, #"{"no""#))
        #expect(try ResponseFormat.parse(.dict([("type", .string("text"))])) == nil)
        let object = try #require(try ResponseFormat.parse(.dict([("type", .string("json_object"))])))
        #expect(accepts(object, #"{"a":{"b":[1]}}"#) && !acceptsPrefix(object, "1"))
        #expect(throws: StructuredOutputError.invalidResponseFormat("unknown type 'xml' (expected text, json_object or json_schema)")) {
            try ResponseFormat.parse(.dict([("type", .string("xml"))]))
        }
        #expect(throws: StructuredOutputError.invalidResponseFormat("type json_schema needs an object field 'json_schema'")) {
            try ResponseFormat.parse(.dict([("type", .string("json_schema"))]))
        }
    }
}
