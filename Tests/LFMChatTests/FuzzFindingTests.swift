import Foundation
import Testing
@testable import LFMChat

/// The three slow templates the jinja fuzz target found (Benchmarks/server/README.md, "Fuzzing"): each did far
/// more work per budget step than the budget assumed. These check the work itself (what is charged, what is
/// walked), not the time.
@Suite struct FuzzFindingTests {
    private func render(_ source: String, budget: Int = ChatTemplate.defaultWorkBudget) throws -> String {
        var template = try ChatTemplate(source)
        template.workBudget = budget
        return try template.render(context: [:])
    }

    private func renderError(_ source: String, budget: Int) -> TemplateError? {
        do { _ = try render(source, budget: budget); return nil } catch { return error as? TemplateError }
    }

    /// `range(100000) | unique` compared every item with every one kept (charged, so it ended at the budget,
    /// but only after a million comparisons). Numbers and strings are now found by hashing: linear work.
    @Test func uniqueHashesNumbersAndStrings() throws {
        // 5,000 distinct items: ~12.5M comparisons before, a few steps per item now.
        #expect(try render("{{ range(5000) | unique | list | length }}", budget: 50_000) == "5000")
        #expect(try render("{{ range(100000) | unique | list | length }}unique | ") == "100000unique | ")
        // Outputs of Python jinja2 3.1.6: 1, 1.0 and True are one value, the case is ignored unless asked,
        // integers beyond 2^53 stay exact.
        #expect(try render("{{ [1, 1.0, True, '1', 'a', 'A', 2.5, 0, False, -0.0, 'b', 'a'] | unique | list }}")
                == "[1, '1', 'a', 2.5, 0, 'b']")
        #expect(try render("{{ ['a', 'A', 'b'] | unique(case_sensitive=True) | list }}") == "['a', 'A', 'b']")
        #expect(try render("{{ [9007199254740993, 9007199254740992, 9007199254740993] | unique | list }}")
                == "[9007199254740993, 9007199254740992]")
        #expect(try render("{{ [9007199254740991, 9007199254740990, 9007199254740991.0] | unique | list }}")
                == "[9007199254740991, 9007199254740990]")
        #expect(try render("{{ [{'k': 'x'}, {'k': 'X'}, {'k': 'y'}] | unique(attribute='k') | list }}")
                == "[{'k': 'x'}, {'k': 'y'}]")
    }

    /// Values jinja2 cannot hash (lists here) are still compared one by one, and each comparison is charged.
    @Test func uniqueOfListsStaysCharged() throws {
        let source = "{{ range(500) | map('string') | map('list') | unique | list | length }}"
        #expect(try render(source) == "500")
        #expect(renderError(source, budget: 100_000)?.kind == .limit)
    }

    /// `[[range(1000)] * 1000] + 100`: the nesting check of the outer list literal walked the one shared
    /// 1,000-item list a thousand times (a million items, uncharged) before the type error.
    @Test func nestingCheckWalksSharedListsOnce() throws {
        let inner = Value.array((0..<1000).map { .int($0) })
        var work = 0
        let shared = Value.array([.array(Array(repeating: inner, count: 1000))])
        #expect(shared.nestingDepth(limit: 512, work: &work) == 3)
        #expect(work == 1 + 1000 + 1000)
        // A list reached again at a deeper level than before is walked again there (the depth is what is
        // measured); here the deeper one comes first (the walk is last-in first-out), so `inner` is walked once.
        work = 0
        let uneven = Value.array([inner, .array([inner])])
        #expect(uneven.nestingDepth(limit: 512, work: &work) == 3)
        #expect(work == 2 + 1 + 1000)
        work = 0
        let deeperLast = Value.array([.array([inner]), inner])
        #expect(deeperLast.nestingDepth(limit: 512, work: &work) == 3)
        #expect(work == 2 + 1000 + 1 + 1000)
        let error = try #require(renderError("{% set a = [[range(1000)] * 1000] + 100 %}{{ a | tojson | length }}",
                                             budget: 20_000))
        #expect(error.kind == .type && error.message == "can only concatenate list (not \"int\") to list")
        // Ten levels of tenfold sharing: 10^10 paths, each list walked once.
        let deep = "{% set ns = namespace(a=[1]) %}{% for i in range(10) %}{% set ns.a = [ns.a * 10] %}{% endfor %}"
            + "{{ ns.a | length }}"
        #expect(try render(deep, budget: 20_000) == "1")
        // Nesting is still bounded.
        let nested = "{% set ns = namespace(a=[]) %}{% for i in range(600) %}{% set ns.a = [ns.a] %}{% endfor %}"
        #expect(renderError(nested, budget: 10_000_000)?.message == "values nested deeper than 512 levels")
    }

    /// A 100,000-iteration loop of literal text renders within the default budget, each iteration in a fresh
    /// scope (nothing set in one is seen in the next, as in jinja2); the budget alone bounds iterations.
    @Test func loopsAreBoundedByTheBudgetAlone() throws {
        #expect(try render("{% for i in range(3) %}{{ x is defined }}{% set x = 1 %}{% endfor %}") == "FalseFalseFalse")
        let text = try render("{% for i in range(100000) %}\u{AF}{ 'abcdefgh' * 30 }}{% endfor %}")
        #expect(text.unicodeScalars.count == 100_000 * 21)
        // The budget is the one bound on iterations: a caller raising it raises the iteration count too, and
        // the loop still ends at the budget (4 steps an iteration and 1 a statement).
        #expect(renderError("{% for i in range(150000) %}{% endfor %}", budget: 500_000)?.kind == .limit)
        #expect(try render("{% for i in range(150000) %}{% endfor %}x", budget: 1_000_000) == "x")
    }
}

/// Comparisons of containers built from shared sub-lists (found in review, not by the fuzzer): `==`, `in`,
/// tests, `min`/`max`, `sort`, `unique` of lists, `list.index`/`count` and `loop.changed` compare item by item,
/// so two separately built `[[x] * n] * n` values cost n³ item comparisons for one expression node. Each is now
/// charged before it runs with the items it can visit.
@Suite struct DeepComparisonBudgetTests {
    private func render(_ source: String, budget: Int = ChatTemplate.defaultWorkBudget) throws -> String {
        var template = try ChatTemplate(source)
        template.workBudget = budget
        return try template.render(context: [:])
    }

    private func kind(_ source: String, budget: Int) -> TemplateError.Kind? {
        do { _ = try render(source, budget: budget); return nil } catch { return (error as? TemplateError)?.kind }
    }

    /// Two 100 × 100 × 100 structures sharing their leaves: a million item comparisons, ten thousand items made.
    static let setUp = "{% set x = range(100) | list %}{% set a = [[x] * 100] * 100 %}{% set b = [[x] * 100] * 100 %}"

    @Test func comparingSharedStructuresIsChargedForEveryItem() {
        for expression in ["a == b", "a != b", "a <= b", "a < b", "a in [b]", "a is eq(b)", "a is le(b)", "[a, b] | max",
                           "[a, b] | sort", "[a, b] | unique | list", "[b].index(a)", "[b].count(a)",
                           "{% for v in [a, b] %}{{ loop.changed(v) }}{% endfor %}"] {
            let body = expression.hasPrefix("{%") ? expression : "{{ \(expression) }}"
            #expect(kind(Self.setUp + body, budget: 200_000) == .limit, "\(expression)")
        }
    }

    @Test func ordinaryComparisonsAreUnchanged() throws {
        let small = "{% set x = range(10) | list %}{% set a = [[x] * 10] * 10 %}{% set b = [[x] * 10] * 10 %}"
        #expect(try render(small + "{{ a == b }} {{ a[0] == b[1] }} {{ 3 in x }} {{ a in [b] }}", budget: 20_000) == "True True True True")
        #expect(try render("{{ [1, [2, 3]] == [1, [2, 3]] }} {{ [1, 2] < [1, 3] }} {{ 'a' in ['b', 'a'] }} {{ [[2], [1]] | sort }}")
                == "True True True [[1], [2]]")
        #expect(try render("{{ [3, 1, 3].index(3) }} {{ [3, 1, 3].count(3) }} {{ [[1], [1], [2]] | unique | list }}")
                == "0 2 [[1], [2]]")
        #expect(try render("{% for v in [1, 1, 2] %}{{ loop.changed(v) }} {% endfor %}") == "True False True ")
    }
}
