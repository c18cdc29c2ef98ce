import Foundation
import Testing
@testable import LFMChat

private func render(_ source: String, _ context: [String: Value] = [:]) throws -> String {
    try ChatTemplate(source).render(context: context)
}

private func renderError(_ source: String, _ context: [String: Value] = [:]) -> TemplateError? {
    do {
        _ = try render(source, context)
        return nil
    } catch let e as TemplateError {
        return e
    } catch {
        return nil
    }
}

/// One test per construct, with expectations checked against Python jinja2 3.1.6 by hand.
@Suite struct WhitespaceTests {
    @Test func trimBlocksRemovesOneNewlineAfterBlockTags() throws {
        #expect(try render("{% if true %}\nA\n{% endif %}\nB") == "A\nB")
        #expect(try render("{% if true %}\n\nA{% endif %}") == "\nA")
    }

    @Test func lstripBlocksRemovesIndentBeforeBlockTagsOnly() throws {
        #expect(try render("  {% if true %}x{% endif %}") == "x")
        #expect(try render("  {{ 'v' }}") == "  v")
        #expect(try render("a {% if true %}b{% endif %}") == "a b")
        #expect(try render("  {# c #}\nz") == "z")
    }

    @Test func minusMarkersStripAllWhitespace() throws {
        #expect(try render("a \n\t {%- if true -%} \n b \n {%- endif %}") == "ab")
        #expect(try render("x\n  {{- 1 -}}\n  y") == "x1y")
        #expect(try render("a {#- c -#} b") == "ab")
    }

    @Test func plusMarkersDisableStripping() throws {
        #expect(try render("  {%+ if true %}x{% endif %}") == "  x")
        #expect(try render("{% if true +%}\nx{% endif %}") == "\nx")
    }

    @Test func rawBlocksAreVerbatim() throws {
        #expect(try render("{% raw %}{{ x }}{% if %}{% endraw %}") == "{{ x }}{% if %}")
    }

    @Test func trailingNewlineIsDroppedAndCRLFNormalised() throws {
        #expect(try render("a\r\nb\n") == "a\nb")
    }
}

@Suite struct StatementTests {
    @Test func loopVariables() throws {
        let out = try render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
                             + "{{ loop.last }}{{ loop.length }}[{{ loop.previtem }}|{{ loop.nextitem }}] {% endfor %}")
        #expect(out == "103TrueFalse3[|b] 212FalseFalse3[a|c] 321FalseTrue3[b|] ")
    }

    @Test func loopFilterElseBreakContinue() throws {
        #expect(try render("{% for x in range(6) if x is even %}{{ x }}/{{ loop.length }} {% endfor %}") == "0/3 2/3 4/3 ")
        #expect(try render("{% for x in [] %}x{% else %}none{% endfor %}") == "none")
        #expect(try render("{% for x in range(9) %}{% if x == 2 %}{% continue %}{% elif x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}") == "013")
    }

    @Test func loopScopeDoesNotLeakButNamespaceDoes() throws {
        #expect(try render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}") == "1")
        #expect(try render("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}") == "4")
        #expect(try render("{% if true %}{% set y = 3 %}{% endif %}{{ y }}") == "3")
    }

    @Test func setForms() throws {
        #expect(try render("{% set a, b = 'xy' %}{{ b }}{{ a }}") == "yx")
        #expect(try render("{% set s %}in{{ 1 }}{% endset %}{{ s ~ s }}") == "in1in1")
        #expect(try render("{% set s | upper %}abc{% endset %}{{ s }}") == "ABC")
    }

    @Test func macrosAndCall() throws {
        #expect(try render("{% macro m(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}") == "1B23")
        #expect(try render("{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}body{% endcall %}") == "[body]")
    }

    @Test func withAndFilterBlocksAndGeneration() throws {
        #expect(try render("{% with a = 2 %}{{ a * 2 }}{% endwith %}{{ a }}") == "4")
        #expect(try render("{% filter upper %}x{{ 'y' }}{% endfilter %}") == "XY")
        #expect(try render("{% generation %}g{% endgeneration %}") == "g")
    }
}

@Suite struct ExpressionTests {
    @Test func arithmeticFollowsPython() throws {
        #expect(try render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 10 / 4 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ 'a' ~ 1 }}")
                == "3 -4 2 2.5 1024 7 a1")
    }

    @Test func slicing() throws {
        let ctx: [String: Value] = ["l": .array([.int(1), .int(2), .int(3)])]
        #expect(try render("{{ l[1:] }}{{ l[:-1] }}{{ l[::-1] }}{{ 'hello'[1:4] }}{{ 'abc'[::-1] }}", ctx)
                == "[2, 3][1, 2][3, 2, 1]ellcba")
    }

    @Test func comparisonsMembershipLogic() throws {
        #expect(try render("{{ 1 < 2 < 3 }} {{ 'b' in 'abc' }} {{ 3 not in [1] }} {{ 0 or 'x' }} {{ 1 and 0 }} {{ not none }}")
                == "True True True x 0 True")
        #expect(try render("{{ 'y' if 0 else 'n' }}{{ 'y' if 0 }}|") == "n|")
    }

    @Test func pythonPrinting() throws {
        let d = Value.dict([("b", .array([.bool(true), .none, .double(1.5)])), ("a", .string("it's"))])
        #expect(try render("{{ d }}", ["d": d]) == "{'b': [True, None, 1.5], 'a': \"it's\"}")
        #expect(try render("{{ 1e20 }} {{ 1.0 }} {{ 0.1 + 0.2 }} {{ (1,) }}") == "1e+20 1.0 0.30000000000000004 (1,)")
    }

    @Test func undefinedSemantics() throws {
        #expect(try render("[{{ missing }}][{{ missing | length }}][{{ d.nope }}]", ["d": .dict([])]) == "[][0][]")
        #expect(try render("{{ missing is defined }}{{ none.x is defined }}") == "FalseFalse")
    }

    @Test func methodsOnStringsAndDicts() throws {
        #expect(try render("{{ ' a b '.strip().split(' ') }}{{ 'x'.upper() }}{{ 'ab'.startswith('a') }}") == "['a', 'b']XTrue")
        let d = Value.dict([("k", .int(1))])
        #expect(try render("{% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %}{{ d.get('z', 0) }}", ["d": d]) == "k=10")
    }
}

@Suite struct FilterAndTestTests {
    @Test func tojsonMatchesTransformers() throws {
        let v = try Value.parseJSON(#"{"z": [1, 2.0, {}], "a": "é\n\"", "n": null}"#)
        #expect(try render("{{ v | tojson }}", ["v": v]) == #"{"z": [1, 2.0, {}], "a": "é\n\"", "n": null}"#)
        #expect(try render("{{ v | tojson(indent=1) }}", ["v": .array([.int(1)])]) == "[\n 1\n]")
        #expect(try render("{{ v | tojson(sort_keys=true, separators=(',', ':')) }}", ["v": v])
                == #"{"a":"é\n\"","n":null,"z":[1,2.0,{}]}"#)
        #expect(try render("{{ 'é' | tojson(ensure_ascii=true) }}") == #""\u00e9""#)
    }

    @Test func commonFilters() throws {
        #expect(try render("{{ [3, 1, 2] | sort | join(',') }} {{ ' x ' | trim }} {{ none | default('d') }} {{ missing | d('m') }}")
                == "1,2,3 x None m")
        let items = Value.array([.dict([("a", .int(1))]), .dict([("a", .int(2)), ("t", .bool(true))])])
        #expect(try render("{{ xs | map(attribute='a') | list }} {{ xs | selectattr('t') | list | length }} {{ xs | first }}", ["xs": items])
                == "[1, 2] 1 {'a': 1}")
        #expect(try render("{{ 'a\nb' | indent(2) }} {{ 'hello world' | title }} {{ 'x' | capitalize }}") == "a\n  b Hello World X")
    }

    @Test func tests() throws {
        #expect(try render("{{ 1 is odd }}{{ 2 is even }}{{ 6 is divisibleby 3 }}{{ 'a' is string }}{{ {} is mapping }}"
                           + "{{ [] is iterable }}{{ [] is sequence }}{{ 1.5 is number }}{{ none is none }}{{ true is true }}")
                == "TrueTrueTrueTrueTrueTrueTrueTrueTrueTrue")
    }
}

@Suite struct ErrorTests {
    @Test func syntaxErrorsNameLineAndColumn() throws {
        let e = try #require(renderError("line one\n  {% if %}"))
        #expect(e.kind == .syntax)
        #expect(e.line == 2 && e.column == 9)
        let e2 = try #require(renderError("{% for x in y %}\nbody"))
        #expect(e2.kind == .syntax && e2.message.contains("endfor"))
        let e3 = try #require(renderError("ok {{ 1 +* 2 }}"))
        #expect(e3.kind == .syntax && e3.line == 1 && e3.column == 10)
        let e4 = try #require(renderError("{% bogus %}"))
        #expect(e4.kind == .syntax && e4.message == "Encountered unknown tag 'bogus'.")
    }

    @Test func undefinedErrors() throws {
        let e = try #require(renderError("\n{{ missing.attr }}"))
        #expect(e.kind == .undefined && e.message == "'missing' is undefined" && e.line == 2)
        let e2 = try #require(renderError("{{ nope() }}"))
        #expect(e2.kind == .undefined && e2.message == "'nope' is undefined")
        let e3 = try #require(renderError("{{ d.a.b }}", ["d": .dict([])]))
        #expect(e3.message == "'dict object' has no attribute 'a'")
        #expect(renderError("{{ missing + 1 }}")?.kind == .undefined)
    }

    @Test func raiseExceptionUnknownFilterTypeErrors() throws {
        let e = try #require(renderError("a\n  {{ raise_exception('Roles must alternate') }}"))
        #expect(e.kind == .raised && e.message == "Roles must alternate" && e.line == 2 && e.column == 6)
        let f = try #require(renderError("{{ 'x' | frob }}"))
        #expect(f.kind == .unknownFilter && f.message == "No filter named 'frob'.")
        #expect(renderError("{{ 1 is frob }}")?.kind == .unknownTest)
        #expect(renderError("{{ 'a' + 1 }}")?.message == "can only concatenate str (not \"int\") to str")
        #expect(renderError("{{ 1 // 0 }}")?.kind == .type)
        #expect(renderError("{{ missing | tojson }}")?.message == "Object of type Undefined is not JSON serializable")
        #expect(renderError("{% set l = [] %}{{ l.append(1) }}")?.kind == .security)
    }

    @Test func limitsInsteadOfCrashes() throws {
        #expect(renderError("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")?.kind == .limit)
        #expect(renderError("{{ range(100000000) | length }}")?.kind == .limit)
        #expect(renderError("{% for i in range(2100) %}{% for j in range(1000) %}{% endfor %}{% endfor %}")?.kind == .limit)
        #expect(renderError("{{ 9223372036854775807 + 1 }}")?.kind == .limit)
        #expect(renderError("{{ " + String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500) + " }}")?.kind == .syntax)
        #expect(renderError(String(repeating: "{% if true %}", count: 300))?.kind == .syntax)
    }
}

@Suite struct ValueTests {
    @Test func jsonRoundTripKeepsKeyOrderAndNumberKinds() throws {
        let text = #"{"z": 1, "a": [1.5, -0.0, 1e+20, true, null, "é\u0001"], "m": {"y": {}, "b": []}}"#
        let v = try Value.parseJSON(text)
        #expect(try v.jsonString() == #"{"z": 1, "a": [1.5, -0.0, 1e+20, true, null, "é\u0001"], "m": {"y": {}, "b": []}}"#)
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o.keys == ["z", "a", "m"])
        #expect(o["z"] == .int(1))
    }

    @Test func jsonParseErrorsNamePosition() {
        #expect(throws: JSONParseError.self) { try Value.parseJSON("[1,\n  2,]") }
        do {
            _ = try Value.parseJSON("[1,\n  2,]")
        } catch let e as JSONParseError {
            #expect(e.line == 2 && e.column == 5)
        } catch {
            Issue.record("wrong error \(error)")
        }
    }

    @Test func literalsAndChatMessage() throws {
        let v: Value = ["b": 1, "a": [true, "x", 2.5]]
        #expect(v.pythonRepr == "{'b': 1, 'a': [True, 'x', 2.5]}")
        let m = ChatMessage(role: "tool", content: "42", extra: [("tool_call_id", "c1")])
        #expect(try m.value.jsonString() == #"{"role": "tool", "content": "42", "tool_call_id": "c1"}"#)
        let t = try ChatTemplate("{% for m in messages %}{{ m.role }}:{{ m.content }}{% endfor %}{{ add_generation_prompt }}")
        #expect(try t.render(chat: [ChatMessage(role: "user", text: "hi")], addGenerationPrompt: true) == "user:hiTrue")
        #expect(throws: ChatInputError.self) { try t.render(messages: [], addGenerationPrompt: false) }
    }

    @Test func pythonFloatRepr() {
        let cases: [(Double, String)] = [(1.0, "1.0"), (1e16, "1e+16"), (1e15, "1000000000000000.0"), (1e-4, "0.0001"),
                                         (1e-5, "1e-05"), (0.1 + 0.2, "0.30000000000000004"), (-2.5e-7, "-2.5e-07"),
                                         (123456789012345678.0, "1.2345678901234568e+17"), (.infinity, "inf")]
        for (d, s) in cases { #expect(Value.pythonFloatRepr(d) == s, "\(d)") }
    }
}

@Suite struct UnicodeExactnessTests {
    @Test func canonicallyEquivalentStringsStayDistinctLikePython() throws {
        let nfc = "\u{E9}", nfd = "e\u{301}"
        let v = try Value.parseJSON("{\"\(nfc)\": 1, \"\(nfd)\": 2}")
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o.count == 2)
        #expect(try render("{{ a == b }} {{ a in b }} {{ a | length }}{{ b | length }}", ["a": .string(nfc), "b": .string(nfd)])
                == "False False 12")
    }
}

@Suite struct JSONInputTests {
    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONParseError.self) { try Value.parseJSON(data: Data([0x22, 0xFF, 0x22])) }
        #expect((try? Value.parseJSON(data: Data("\"é\"".utf8))) == .string("é"))
    }
}
