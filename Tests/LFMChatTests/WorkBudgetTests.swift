import Foundation
import Testing
@testable import LFMChat

/// Each render has one work budget: hostile templates end with a `.limit` error, real ones never notice it.
@Suite struct WorkBudgetTests {
    private func renderError(_ source: String, _ context: [String: Value] = [:], budget: Int? = nil) -> TemplateError? {
        do {
            var template = try ChatTemplate(source)
            if let budget { template.workBudget = budget }
            _ = try template.render(context: context)
            return nil
        } catch let e as TemplateError {
            return e
        } catch {
            return nil
        }
    }

    /// Templates that took seconds to minutes (debug build) before the budget existed.
    static let hostile = [
        "{% for i in range(2000000) %}{% endfor %}",
        "{% for i in range(10000000) %}{% endfor %}",
        "{{ range(10000000) | sort | length }}",
        "{{ range(10000000) | join(',') | length }}",
        "{{ range(10000000) | tojson | length }}",
        "{% for i in range(1000000) %}{{ 'abcdefgh' * 30 }}{% endfor %}",
        "{% for i in range(100000) %}{{ 'abcdefgh' * 30 }}{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(26) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
        "{{ ('abcdefgh' * 8000000) | length }}",
        "{% set a = [[range(1000)] * 1000] * 100 %}{{ a | tojson | length }}",
        "{{ ('x' * 1000000) | replace('', 'abcdefgh' * 100) | length }}",
    ]

    @Test(arguments: hostile) func hostileTemplateRunsOutOfBudget(source: String) throws {
        let error = try #require(renderError(source))
        #expect(error.kind == .limit)
        #expect(error.message.contains("work budget of \(ChatTemplate.defaultWorkBudget) steps"))
        #expect(error.line == 1 && error.column >= 1)
    }

    @Test func errorNamesTheBudgetAndPosition() throws {
        let error = try #require(renderError("ok\n  {% for i in range(100) %}{{ i }}{% endfor %}", budget: 50))
        #expect(error.kind == .limit)
        #expect(error.message.hasPrefix("template render exceeded its work budget of 50 steps"))
        #expect(error.line == 2)
    }

    /// A list handed in through the context has cost nothing yet: the filters reading it pay for it.
    @Test func filtersChargeForWhatTheyRead() throws {
        let list = Value.array((0..<20_000).map { .int($0) })
        let budget = 50_000
        #expect(renderError("{{ xs | length }}", ["xs": list], budget: budget) == nil)
        #expect(renderError("{{ xs | first }}", ["xs": list], budget: budget) == nil)
        for filter in ["sort", "join(',')", "tojson", "list | join", "map('string') | join", "select('odd') | list",
                       "reject('odd') | list", "unique | list", "reverse | list", "sum"] {
            let doubled = Value.array((0..<60_000).map { .int($0) })
            let xs = filter == "sort" || filter == "unique | list" ? list : doubled
            #expect(renderError("{{ xs | \(filter) }}", ["xs": xs], budget: budget)?.kind == .limit, "\(filter)")
        }
        // Sorting charges n·log2 n: 20,000 items fit a 50,000 budget when joined, not when sorted.
        #expect(renderError("{{ xs | join(',') }}", ["xs": list], budget: budget) == nil)
        #expect(renderError("{{ xs | sort | length }}", ["xs": list], budget: budget)?.kind == .limit)
    }

    @Test func stringGrowthIsCharged() throws {
        let budget = 200_000
        // 16 bytes per step: making a 1 MB string and reading it once fit; making 4 MB does not.
        #expect(renderError("{{ ('a' * 1000000) | length }}", budget: budget) == nil)
        #expect(renderError("{{ ('a' * 4000000) | length }}", budget: budget)?.kind == .limit)
        #expect(renderError("{% set ns = namespace(s='ab') %}{% for i in range(21) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                            budget: budget)?.kind == .limit)
        #expect(renderError("{{ ('x' * 1000) .replace('x', 'y' * 5000) | length }}", budget: budget)?.kind == .limit)
        #expect(renderError("{{ ('x\n' * 10000) | indent(400) | length }}", budget: budget)?.kind == .limit)
        #expect(renderError("{{ 'x' | center(5000000) | length }}", budget: budget)?.kind == .limit)
        #expect(renderError("{% for i in range(1000) %}{{ 'y' * 5000 }}{% endfor %}", budget: budget)?.kind == .limit)
    }

    /// 500 messages with tool calls and a tool list, through the LFM2 template and the Qwen3- and Llama-3-style
    /// fixtures: the output is the same as with an unlimited budget, and half the default budget suffices.
    @Test func longConversationsRenderUnchanged() throws {
        var messages: [Value] = [.dict([("role", .string("system")), ("content", .string("You are helpful."))])]
        for i in 0..<500 {
            switch i % 4 {
            case 0: messages.append(.dict([("role", .string("user")), ("content", .string("Question \(i): " + String(repeating: "word ", count: 60)))]))
            case 1:
                let call = Value.dict([("type", .string("function")),
                                       ("function", .dict([("name", .string("get_weather")), ("arguments", .dict([("city", .string("Paris \(i)"))]))]))])
                messages.append(.dict([("role", .string("assistant")), ("content", .string("")), ("tool_calls", .array([call]))]))
            case 2: messages.append(.dict([("role", .string("tool")), ("content", .string("{\"temperature\": \(i)}"))]))
            default: messages.append(.dict([("role", .string("assistant")), ("content", .string("Answer \(i): " + String(repeating: "text ", count: 80)))]))
            }
        }
        let tool = try Value.parseJSON(#"{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}}, "required": ["city"]}}}"#)
        let tools = Array(repeating: tool, count: 20)
        let now = { Date(timeIntervalSince1970: 1_750_000_000) }
        for file in ["lfm2/chat_template.jinja", "templates/qwen3_tools.jinja", "templates/llama3_tools.jinja"] {
            var unlimited = try ChatTemplate(try Fixtures.text(file))
            unlimited.workBudget = .max
            let expected = try unlimited.render(messages: messages, tools: tools, addGenerationPrompt: true,
                                                bosToken: "<s>", eosToken: "</s>", now: now)
            #expect(expected.utf8.count > 100_000, "\(file)")
            var tight = try ChatTemplate(try Fixtures.text(file))
            #expect(tight.workBudget == ChatTemplate.defaultWorkBudget)
            tight.workBudget = ChatTemplate.defaultWorkBudget / 2
            let rendered = try tight.render(messages: messages, tools: tools, addGenerationPrompt: true,
                                            bosToken: "<s>", eosToken: "</s>", now: now)
            #expect(rendered == expected, "\(file)")
        }
    }
}
