import Foundation
import Testing
@testable import LFMChat

/// Byte-for-byte comparison with transformers 5.24.0 / Jinja2 3.1.6 renderings.
@Suite struct FixtureTests {
    @Test func chatCasesMatchTransformers() throws {
        let cases = try Fixtures.cases("chat_cases.json")
        #expect(cases.count >= 30)
        var templates: [String: ChatTemplate] = [:]
        for c in cases {
            let name = c.string("name") ?? "?"
            let path = try #require(c.string("template"))
            if templates[path] == nil { templates[path] = try ChatTemplate(try Fixtures.text(path)) }
            let template = try #require(templates[path])
            guard case .array(let messages)? = c["messages"] else { Issue.record("\(name): no messages"); continue }
            var tools: [Value]? = nil
            if case .array(let t)? = c["tools"] { tools = t }
            var extra: [String: Value] = [:]
            if case .object(let e)? = c["extra_context"] { for (k, v) in e.pairs { extra[k] = v } }
            let now = try #require(Fixtures.localDate(c.string("now") ?? ""))
            let result = Result {
                try template.render(messages: messages, tools: tools,
                                    addGenerationPrompt: c["add_generation_prompt"]?.isTruthy ?? false,
                                    continueFinalMessage: c["continue_final_message"]?.isTruthy ?? false,
                                    extraContext: extra, bosToken: c.string("bos_token"), eosToken: c.string("eos_token"),
                                    now: { now })
            }
            if let expected = c.string("expected") {
                switch result {
                case .success(let got):
                    #expect(got == expected, "\(name): rendering differs")
                    #expect(Array(got.utf8) == Array(expected.utf8), "\(name): bytes differ")
                case .failure(let error):
                    Issue.record("\(name): unexpected error \(error)")
                }
            } else if case .object(let err)? = c["error"] {
                switch result {
                case .success(let got):
                    Issue.record("\(name): expected \(err.string("type") ?? "") but rendered \(got.debugDescription)")
                case .failure(let error as TemplateError):
                    #expect(error.kind == Fixtures.kind(forPython: err.string("type") ?? ""), "\(name): \(error)")
                    if error.kind == .raised || error.kind == .type {
                        #expect(error.message == err.string("message"), "\(name): \(error.message)")
                    }
                case .failure(let error as ChatInputError):
                    #expect(err.string("type") == "ValueError", "\(name): \(error)")
                case .failure(let error):
                    Issue.record("\(name): unexpected error type \(error)")
                }
            }
        }
    }

    @Test func jinjaConstructCasesMatchJinja2() throws {
        let cases = try Fixtures.cases("jinja_cases.json")
        #expect(cases.count >= 80)
        let now = try #require(Fixtures.localDate("2026-03-07T09:05:03"))
        for c in cases {
            let name = c.string("name") ?? "?"
            let source = try #require(c.string("template"))
            var context: [String: Value] = [:]
            if case .object(let o)? = c["context"] { for (k, v) in o.pairs { context[k] = v } }
            let result = Result { try ChatTemplate(source).render(context: context, now: { now }) }
            if let expected = c.string("expected") {
                switch result {
                case .success(let got): #expect(got == expected, "\(name)")
                case .failure(let error): Issue.record("\(name): unexpected error \(error)")
                }
            } else if case .object(let err)? = c["error"] {
                let type = err.string("type") ?? ""
                switch result {
                case .success(let got):
                    Issue.record("\(name): expected \(type) but rendered \(got.debugDescription)")
                case .failure(let error as TemplateError):
                    let msg = err.string("message") ?? ""
                    switch type {
                    case _ where msg.hasPrefix("No filter named") || msg.hasPrefix("No test named"):
                        #expect(error.kind == (msg.hasPrefix("No filter") ? .unknownFilter : .unknownTest), "\(name): \(error)")
                        #expect(error.message == msg, "\(name)")
                    default:
                        #expect(error.kind == Fixtures.kind(forPython: type), "\(name): \(error)")
                    }
                    if case .int(let line)? = err["line"] {
                        #expect(error.line == line, "\(name): line \(error.line) vs jinja2 \(line)")
                    }
                    if [.raised, .type, .security, .undefined].contains(error.kind) {
                        #expect(error.message == err.string("message"), "\(name): \(error.message)")
                    }
                case .failure(let error):
                    Issue.record("\(name): unexpected error type \(error)")
                }
            }
        }
    }
}

/// 400 random templates (Scripts/reference/chat/random_cases.py) rendered by jinja2 in transformers' environment.
@Suite struct RandomDifferentialTests {
    @Test func randomTemplatesMatchJinja2() throws {
        // LFM_CHAT_RANDOM_CASES=/path/to/file.json checks a larger, locally generated set instead.
        let override = ProcessInfo.processInfo.environment["LFM_CHAT_RANDOM_CASES"]
        let text = try override.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? Fixtures.text("random_cases.json")
        guard case .object(let root) = try Value.parseJSON(text),
              case .object(let ctx)? = root["context"], case .array(let cases)? = root["cases"] else {
            Issue.record("random_cases.json has an unexpected shape")
            return
        }
        var context: [String: Value] = [:]
        for (k, v) in ctx.pairs { context[k] = v }
        #expect(cases.count >= 700 || override != nil)
        var mismatches = 0
        for case .object(let c) in cases {
            let source = c.string("template") ?? ""
            let result = Result { try ChatTemplate(source).render(context: context) }
            if let expected = c.string("expected") {
                switch result {
                case .success(let got):
                    if got != expected { mismatches += 1 }
                    #expect(got == expected, "\(source.debugDescription)")
                case .failure(let error):
                    mismatches += 1
                    Issue.record("\(source.debugDescription): unexpected error \(error)")
                }
            } else if case .object(let err)? = c["error"] {
                let type = err.string("type") ?? ""
                switch result {
                case .success(let got):
                    mismatches += 1
                    Issue.record("\(source.debugDescription): expected \(type) (\(err.string("message") ?? "")) but rendered \(got.debugDescription)")
                case .failure(let error as TemplateError):
                    if let kind = Fixtures.kind(forPython: type) {
                        #expect(error.kind == kind, "\(source.debugDescription): \(error) vs \(type): \(err.string("message") ?? "")")
                    }
                case .failure(let error):
                    Issue.record("\(source.debugDescription): untyped error \(error)")
                }
            }
        }
        #expect(mismatches == 0)
    }
}
