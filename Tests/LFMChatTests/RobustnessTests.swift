import Foundation
import Testing
@testable import LFMChat

/// Mutated and random templates must render or throw a typed error, never crash or hang.
@Suite struct RobustnessTests {
    private struct LCG {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(max(n, 1)))
        }
    }

    private static let pieces = [
        "{%", "%}", "{{", "}}", "{#", "#}", "-", "+", "(", ")", "[", "]", "{", "}", "'", "\"", "endfor", "endif", "if ",
        "for x in ", "else", "elif", "|", ".", ":", "::", "loop.", "ns.x", "**", "//", "~", "\n", " not in ", " is ",
        "raise_exception(", "namespace(", "range(", "999999999999999999999", "-1", "9223372036854775807", "tojson",
        "macro m(", "call", "set ", "=", ",", "none", "messages", "[::-1]", "\\", "é", "🙂", "\r", "\t", "raw", "endraw",
        "break", "continue", "filter", "with", "recursive", "*", "%", " and ", " or ", "not ",
    ]

    @Test func mutatedTemplatesNeverCrash() throws {
        var sources: [String] = []
        for c in try Fixtures.cases("jinja_cases.json") { if let t = c.string("template") { sources.append(t) } }
        for file in ["lfm2/chat_template.jinja", "templates/chatml_tools.jinja", "templates/llama3_tools.jinja",
                     "templates/macro_style.jinja"] {
            sources.append(try Fixtures.text(file))
        }
        let messages = try Value.parseJSON(#"[{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}, {"role": "assistant", "content": "a", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]}, {"role": "tool", "content": "r"}]"#)
        let context: [String: Value] = ["messages": messages, "tools": .array([.dict([("name", .string("t"))])]),
                                        "add_generation_prompt": .bool(true), "bos_token": .string("<s>")]
        // LFM_CHAT_FUZZ="seed,iterations" runs a longer search; the default is a quick fixed run.
        let knob = ProcessInfo.processInfo.environment["LFM_CHAT_FUZZ"]?.split(separator: ",").compactMap { UInt64($0) } ?? []
        var rng = LCG(state: knob.first ?? 42)
        let iterations = knob.count > 1 ? Int(knob[1]) : 3000
        var rendered = 0, failed = 0
        for _ in 0..<iterations {
            var scalars = Array(sources[rng.next(sources.count)].unicodeScalars)
            for _ in 0..<(1 + rng.next(4)) {
                switch rng.next(3) {
                case 0 where !scalars.isEmpty:
                    let a = rng.next(scalars.count)
                    scalars.removeSubrange(a..<min(scalars.count, a + 1 + rng.next(8)))
                case 1 where !scalars.isEmpty:
                    let a = rng.next(scalars.count), b = min(scalars.count, a + rng.next(30))
                    scalars.insert(contentsOf: scalars[a..<b], at: rng.next(scalars.count + 1))
                default:
                    scalars.insert(contentsOf: Self.pieces[rng.next(Self.pieces.count)].unicodeScalars, at: rng.next(scalars.count + 1))
                }
            }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            let source = String(view)
            do {
                _ = try ChatTemplate(source).render(context: context)
                rendered += 1
            } catch is TemplateError {
                failed += 1
            } catch {
                Issue.record("untyped error \(error) for template \(source.debugDescription)")
            }
        }
        // Both outcomes must occur, or the mutations are not exercising anything.
        #expect(rendered > 100 && failed > 100)
    }

    @Test func hostileValuesAreRejectedNotCrashing() throws {
        let cases = [
            "{% set ns = namespace() %}{% set ns.self = ns %}{{ ns }}",
            "{{ [1][-9223372036854775807:9223372036854775807] }}{{ 'ab'[-9223372036854775807] }}",
            "{{ range(-9223372036854775807, 9223372036854775807) | length }}",
            "{{ 'x' * 9223372036854775807 }}",
            "{{ 2 ** 64 }}",
            "{{ -9223372036854775807 - 1 // -1 }}",
            "{{ (-9223372036854775807 - 1) % -1 }}",
            "{{ 'a' | center(9223372036854775807) }}",
            "{{ [1] | tojson(indent=9223372036854775807) }}",
            "{% set ns = namespace(l=1) %}{% for i in range(600) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}",
            "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
            "{% macro m(n) %}{% for x in [n] recursive %}{{ m(n + 1) }}{% endfor %}{% endmacro %}{{ m(0) }}",
            "{{ 1.5 | int }}{{ 1e300 | int }}{{ 'nan' | float | int }}{{ 1e308 * 10 }}{{ (1e308 * 10) | round }}",
        ]
        for source in cases {
            do {
                _ = try ChatTemplate(source).render(context: [:])
            } catch is TemplateError {
            } catch {
                Issue.record("untyped error \(error) for \(source)")
            }
        }
    }
}
