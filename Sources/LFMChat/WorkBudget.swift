/// The work allowance of one template render, so that a hostile template (a chat template is outside data: it
/// comes with a downloaded model and is rendered on every request) ends with a `.limit` error in bounded time
/// and memory instead of running for minutes.
///
/// One counter is charged, in steps, by everything a render does: each evaluated expression node and statement
/// (1), each loop iteration or macro call (``iterationCost``), each item `range()` creates or a filter, method or operator
/// reads or produces (1; sorting charges n·log2 n), and each ``bytesPerStep`` bytes of strings produced,
/// read by filters, or written to the output. Costs are charged before the work where the size is known in
/// advance (ranges, filter inputs, repetition and concatenation), so no single operation runs far past the budget.
final class WorkBudget {
    /// Steps charged per loop iteration or macro call: a new scope and its variables cost several node visits.
    static let iterationCost = 4
    /// String bytes per step.
    static let bytesPerStep = 16

    let limit: Int
    private(set) var used = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// Steps left before the budget runs out (0 once exhausted).
    var remaining: Int { max(0, limit - used) }

    /// Adds `steps`; throws a `.limit` failure once the total exceeds the budget.
    @inline(__always)
    func charge(_ steps: Int) throws {
        let (sum, overflow) = used.addingReportingOverflow(steps)
        used = overflow ? Int.max : sum
        if used > limit { throw exhausted }
    }

    /// Charges the cost of `count` new items.
    func chargeItems(_ count: Int) throws { try charge(max(0, count)) }

    /// Charges the cost of `count` string bytes.
    func chargeBytes(_ count: Int) throws { try charge(count / WorkBudget.bytesPerStep) }

    private var exhausted: TemplateFailure {
        .limit("template render exceeded its work budget of \(limit) steps (loop iterations, evaluated nodes, items and string bytes); render it with a larger ChatTemplate.workBudget if the template is trusted")
    }

    /// The cost of reading `v`: its string bytes, or its item count, plus (when `deep`) the cost of every nested
    /// value, as converting it to text or JSON visits them all. The walk stops once the cost passes `cap`, so it
    /// is itself bounded by the budget (shared sub-lists are counted each time they appear, as printing does).
    static func cost(of v: Value, deep: Bool, cap: Int) -> Int {
        var total = 0
        func walk(_ v: Value) {
            switch v {
            case .string(let s): total += s.utf8.count / bytesPerStep
            case .array(let a), .tuple(let a):
                total += a.count
                if deep { children(a) }
            case .object(let o):
                total += o.count
                if deep { children(o.values) }
            default: break
            }
        }
        // Only strings and containers add to a parent's item count, so scalars are skipped without a call.
        func children(_ items: [Value]) {
            for item in items {
                if total > cap { return }
                switch item {
                case .string, .array, .tuple, .object: walk(item)
                default: continue
                }
            }
        }
        walk(v)
        return total
    }

    /// The most items a Python `==` or `<` of `a` and `b` visits: both sides are walked in step and the walk ends
    /// with the smaller one, so at most the smaller deep cost (counted up to `cap`). Charged before comparing, so
    /// two large structures built from shared sub-lists cannot run ~10^9 item comparisons within the budget.
    static func comparisonCost(_ a: Value, _ b: Value, cap: Int) -> Int {
        // The side that looks smaller is walked first; the other walk stops once it passes that.
        let (small, large) = cost(of: a, deep: false, cap: cap) <= cost(of: b, deep: false, cap: cap) ? (a, b) : (b, a)
        let first = cost(of: small, deep: true, cap: cap)
        return min(first, cost(of: large, deep: true, cap: first))
    }

    /// The most items `needle in container` compares: each item of a list against the needle (nothing for the
    /// other containers, whose membership is a key lookup or a substring search charged elsewhere).
    static func containsCost(_ container: Value, _ needle: Value, cap: Int) -> Int {
        switch container {
        case .array(let a), .tuple(let a):
            let (all, overflow) = (cost(of: needle, deep: true, cap: cap) + 1).multipliedReportingOverflow(by: a.count)
            let bound = overflow ? Int.max : all
            return min(bound, cost(of: container, deep: true, cap: min(cap, bound)))
        default: return 0
        }
    }

    /// Charges a comparison of `a` with `b` (see ``comparisonCost(_:_:cap:)``).
    func chargeComparison(_ a: Value, _ b: Value) throws { try charge(WorkBudget.comparisonCost(a, b, cap: remaining)) }

    /// Charges `needle in container` (see ``containsCost(_:_:cap:)``).
    func chargeContains(_ container: Value, _ needle: Value) throws {
        try charge(WorkBudget.containsCost(container, needle, cap: remaining))
    }

    /// Charges the cost of reading `v` (see ``cost(of:deep:cap:)``).
    func chargeReading(_ v: Value, deep: Bool = false) throws {
        try charge(WorkBudget.cost(of: v, deep: deep, cap: remaining))
    }
}
