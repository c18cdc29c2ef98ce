import Foundation

/// A variable scope. `for` bodies and macros open a new one; `if` does not (as in jinja2).
final class Frame {
    var vars: [String: Value] = [:]
    let parent: Frame?
    init(parent: Frame?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var f: Frame? = self
        while let frame = f {
            if let v = frame.vars[name] { return v }
            f = frame.parent
        }
        return nil
    }
}

enum Flow { case normal, breakLoop, continueLoop }

/// Executes a parsed template against a context.
final class Interpreter {
    let globals: [String: Value]
    /// The render's work allowance, charged by nodes, iterations, items and bytes (see ``WorkBudget``).
    let budget: WorkBudget
    private var callDepth = 0
    private static let maxCallDepth = 200
    /// Output size cap (code units) so a hostile template cannot exhaust memory.
    static let maxOutput = 256 * 1024 * 1024

    init(globals: [String: Value], budget: WorkBudget) {
        self.globals = globals
        self.budget = budget
    }

    func render(_ body: [StmtNode], context: [String: Value]) throws -> String {
        let root = Frame(parent: nil)
        for (k, v) in context { root.vars[k] = v }
        var out = ""
        _ = try exec(body, root, &out)
        return out
    }

    // MARK: - Statements

    func exec(_ body: [StmtNode], _ frame: Frame, _ out: inout String) throws -> Flow {
        for node in body {
            let flow = try exec(node, frame, &out)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func exec(_ node: StmtNode, _ frame: Frame, _ out: inout String) throws -> Flow {
        try charge(steps: 1, at: node.pos)
        switch node.stmt {
        case .output(let s):
            try charge(bytes: s.utf8.count, at: node.pos)
            out += s
            if out.utf8.count > Interpreter.maxOutput {
                throw TemplateFailure.limit("rendered output exceeds \(Interpreter.maxOutput) bytes").at(node.pos)
            }
        case .expression(let e):
            let v = try eval(e, frame)
            let text = try printed(v, at: node.pos)
            try charge(bytes: text.utf8.count, at: node.pos)
            out += text
            if out.utf8.count > Interpreter.maxOutput {
                throw TemplateFailure.limit("rendered output exceeds \(Interpreter.maxOutput) bytes").at(node.pos)
            }
        case .ifChain(let branches, let otherwise):
            for (cond, body) in branches where try eval(cond, frame).isTruthy {
                return try exec(body, frame, &out)
            }
            return try exec(otherwise, frame, &out)
        case .forLoop(let loop):
            let iterable = try eval(loop.iterable, frame)
            return try runLoop(loop, try iterate(iterable, at: loop.iterable.pos), depth: 1, frame, &out)
        case .set(let target, let expr):
            try assign(target, try eval(expr, frame), frame, at: node.pos)
        case .setBlock(let target, let body, let filters):
            var captured = ""
            _ = try exec(body, Frame(parent: frame), &captured)
            var v = Value.string(captured)
            for (name, args, kwargs, p) in filters {
                v = try applyFilter(name, v, args.map { try eval($0, frame) }, try kwargs.map { ($0.0, try eval($0.1, frame)) }, frame, at: p)
            }
            try assign(target, v, frame, at: node.pos)
        case .filterBlock(let filters, let body):
            var captured = ""
            _ = try exec(body, frame, &captured)
            var v = Value.string(captured)
            for (name, args, kwargs, p) in filters {
                v = try applyFilter(name, v, args.map { try eval($0, frame) }, try kwargs.map { ($0.0, try eval($0.1, frame)) }, frame, at: p)
            }
            let text = try printed(v, at: node.pos)
            try charge(bytes: text.utf8.count, at: node.pos)
            out += text
        case .macro(let name, let params, let body):
            frame.vars[name] = makeMacro(name: name, params: params, body: body, defining: frame, caller: nil)
        case .callBlock(let callExpr, let params, let body):
            guard case .call(let calleeExpr, let argExprs, let kwargExprs) = callExpr.expr else { return .normal }
            let caller = makeMacro(name: "caller", params: params, body: body, defining: frame, caller: nil)
            let callee = try eval(calleeExpr, frame)
            var kwargs = try kwargExprs.map { ($0.0, try eval($0.1, frame)) }
            kwargs.append(("caller", caller))
            let v = try call(callee, try argExprs.map { try eval($0, frame) }, kwargs, at: callExpr.pos, calleeExpr: calleeExpr)
            let text = try printed(v, at: node.pos)
            try charge(bytes: text.utf8.count, at: node.pos)
            out += text
        case .with(let assignments, let body):
            let inner = Frame(parent: frame)
            for (target, expr) in assignments { try assign(target, try eval(expr, frame), inner, at: node.pos) }
            return try exec(body, inner, &out)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        case .generation(let body):
            return try exec(body, frame, &out)
        }
        return .normal
    }

    // MARK: - Budget charges placed at a template position

    /// Charges `steps` of the work budget for work done at `pos`; running out is a `.limit` error there.
    private func charge(steps: Int, at pos: SourcePos) throws {
        do { try budget.charge(steps) } catch let failure as TemplateFailure { throw failure.at(pos) }
    }

    /// Charges `count` bytes of text produced at `pos`.
    private func charge(bytes count: Int, at pos: SourcePos) throws {
        try charge(steps: count / WorkBudget.bytesPerStep, at: pos)
    }

    /// Charges `count` new items made at `pos`.
    private func charge(items count: Int, at pos: SourcePos) throws {
        try charge(steps: max(0, count), at: pos)
    }

    /// `v` as text, charging first for visiting every nested value (a list printed many times over through
    /// shared sub-lists would otherwise build a huge string before any byte count is known).
    func printed(_ v: Value, at pos: SourcePos) throws -> String {
        switch v {
        case .array, .tuple, .object:
            try charge(steps: WorkBudget.cost(of: v, deep: true, cap: budget.remaining), at: pos)
        default: break
        }
        return v.pythonString
    }

    /// Runs a `for` loop over `items`; `depth` counts `recursive` levels (1 at the top).
    private func runLoop(_ loop: ForLoop, _ all: [Value], depth: Int, _ frame: Frame, _ out: inout String) throws -> Flow {
        var items = all
        if let filter = loop.filter {
            var kept: [Value] = []
            for item in items {
                try charge(steps: WorkBudget.iterationCost, at: filter.pos)
                let f = Frame(parent: frame)
                try assign(loop.target, item, f, at: filter.pos)
                if try eval(filter, f).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            return try exec(loop.otherwise, frame, &out)
        }
        let changed = ChangeTracker()
        let pos = loop.iterable.pos
        for i in items.indices {
            let item = items[i]
            // The work budget is the one bound on iterations (nested loops included).
            try charge(steps: WorkBudget.iterationCost, at: pos)
            let f = Frame(parent: frame)
            if loop.usesLoop {
                let info = loopObject(i, items, depth: depth, changed: changed)
                if loop.recursive {
                    f.vars["loop"] = .callable(Callable(name: "loop", attributes: info) { [unowned self] args, _ in
                        guard args.count == 1 else { throw TemplateFailure.type("loop() takes exactly one argument") }
                        guard depth < Interpreter.maxCallDepth else {
                            throw TemplateFailure.limit("recursive loop deeper than \(Interpreter.maxCallDepth) levels")
                        }
                        var inner = ""
                        _ = try self.runLoop(loop, try self.iterate(args[0], at: loop.iterable.pos), depth: depth + 1, frame, &inner)
                        return .string(inner)
                    })
                } else {
                    f.vars["loop"] = .object(info)
                }
            }
            try assign(loop.target, item, f, at: pos)
            let flow = try exec(loop.body, f, &out)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    /// Remembers the last arguments of `loop.changed(...)` across the iterations of one loop.
    private final class ChangeTracker {
        var last: [Value]? = nil
    }

    /// jinja2's `loop` variable for iteration `i`.
    private func loopObject(_ i: Int, _ items: [Value], depth: Int, changed: ChangeTracker) -> OrderedDict {
        let n = items.count
        var loop = OrderedDict()
        loop["index"] = .int(i + 1)
        loop["index0"] = .int(i)
        loop["revindex"] = .int(n - i)
        loop["revindex0"] = .int(n - i - 1)
        loop["first"] = .bool(i == 0)
        loop["last"] = .bool(i == n - 1)
        loop["length"] = .int(n)
        loop["depth"] = .int(depth)
        loop["depth0"] = .int(depth - 1)
        loop["previtem"] = i > 0 ? items[i - 1] : .undefined
        loop["nextitem"] = i + 1 < n ? items[i + 1] : .undefined
        loop["cycle"] = .callable(Callable(name: "cycle") { args, _ in
            guard !args.isEmpty else { throw TemplateFailure.type("no items for cycling given") }
            return args[i % args.count]
        })
        let budget = self.budget  // not `self`: a template can keep the callable (in a namespace) past the loop
        loop["changed"] = .callable(Callable(name: "changed") { args, _ in
            if let last = changed.last, last.count == args.count {
                for (x, y) in zip(last, args) { try budget.chargeComparison(x, y) }
                if zip(last, args).allSatisfy({ $0.pyEquals($1) }) { return .bool(false) }
            }
            changed.last = args
            return .bool(true)
        })
        return loop
    }

    func iterate(_ v: Value, at pos: SourcePos) throws -> [Value] {
        switch v {
        case .undefined: return []
        case .array(let a), .tuple(let a): return a
        case .object(let o): return o.keys.map { .string($0) }
        case .string(let s):
            // One item per character: charge the bytes as items before making them.
            try charge(items: s.utf8.count, at: pos)
            return s.unicodeScalars.map { .string(String($0)) }
        case .lazy(let l):
            let items: [Value]
            do { items = try l.drain() } catch let failure as TemplateFailure { throw failure.at(pos) }
            try charge(items: items.count, at: pos)
            return items
        default: throw TemplateFailure.type("'\(v.typeName)' object is not iterable").at(pos)
        }
    }

    private func assign(_ target: Target, _ value: Value, _ frame: Frame, at pos: SourcePos) throws {
        switch target {
        case .name(let n):
            frame.vars[n] = value
        case .attribute(let obj, let attr):
            guard let ns = frame.lookup(obj) ?? globals[obj], case .namespace(let space) = ns else {
                throw TemplateError(kind: .type, message: "cannot assign attribute on non-namespace object",
                                    line: pos.line, column: pos.column)
            }
            if attr.hasPrefix("_") {
                throw TemplateFailure.security("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(attr)'. Please rename the attribute.").at(pos)
            }
            space.attributes[attr] = value
        case .tuple(let targets):
            let items = try iterate(value, at: pos)
            guard items.count == targets.count else {
                let msg = items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))"
                throw TemplateFailure.type(msg).at(pos)
            }
            for (t, item) in zip(targets, items) { try assign(t, item, frame, at: pos) }
        }
    }

    private func makeMacro(name: String, params: [MacroParam], body: [StmtNode], defining: Frame, caller: Value?) -> Value {
        .callable(Callable(name: name, isMacro: true) { [unowned self] args, kwargs in
            let f = Frame(parent: defining)
            var kwargs = kwargs
            if args.count > params.count {
                throw TemplateFailure.type("macro '\(name)' takes not more than \(params.count) argument(s)")
            }
            for (i, p) in params.enumerated() {
                if i < args.count {
                    f.vars[p.name] = args[i]
                } else if let k = kwargs.firstIndex(where: { $0.0 == p.name }) {
                    f.vars[p.name] = kwargs[k].1
                    kwargs.remove(at: k)
                } else if let d = p.defaultValue {
                    f.vars[p.name] = try self.eval(d, f)
                } else {
                    f.vars[p.name] = .undefined
                }
            }
            if let k = kwargs.firstIndex(where: { $0.0 == "caller" }) {
                f.vars["caller"] = kwargs[k].1
                kwargs.remove(at: k)
            }
            if let extra = kwargs.first {
                throw TemplateFailure.type("macro '\(name)' takes no keyword argument '\(extra.0)'")
            }
            f.vars["varargs"] = .tuple([])
            f.vars["kwargs"] = .object(OrderedDict())
            try self.budget.charge(WorkBudget.iterationCost)
            self.callDepth += 1
            defer { self.callDepth -= 1 }
            if self.callDepth > Interpreter.maxCallDepth {
                throw TemplateFailure.limit("maximum macro recursion depth (\(Interpreter.maxCallDepth)) exceeded")
            }
            var out = ""
            _ = try self.exec(body, f, &out)
            return .string(out)
        })
    }

    // MARK: - Expressions

    func eval(_ node: ExprNode, _ frame: Frame) throws -> Value {
        try charge(steps: 1, at: node.pos)
        do {
            return try evalInner(node, frame)
        } catch let failure as TemplateFailure {
            throw failure.at(node.pos)
        }
    }

    /// Raises jinja2's UndefinedError for `v` when it is undefined.
    private func defined(_ v: Value, _ node: ExprNode, _ frame: Frame) throws -> Value {
        if case .undefined = v { throw TemplateFailure.undefined(undefinedMessage(node, frame)) }
        return v
    }

    private func undefinedMessage(_ node: ExprNode, _ frame: Frame) -> String {
        switch node.expr {
        case .name(let n): return "'\(n)' is undefined"
        case .getattr(let obj, let attr):
            if let o = try? evalInner(obj, frame), !o.isUndefined { return "'\(o.typeName) object' has no attribute '\(attr)'" }
            return undefinedMessage(obj, frame)
        case .getitem(let obj, let key):
            if let o = try? evalInner(obj, frame), !o.isUndefined {
                if let k = try? evalInner(key, frame) {
                    if case .string(let s) = k { return "'\(o.typeName) object' has no attribute '\(s)'" }
                    return "'\(o.typeName) object' has no element \(k.pythonRepr)"
                }
            }
            return undefinedMessage(obj, frame)
        default: return "the value is undefined"
        }
    }

    private func evalInner(_ node: ExprNode, _ frame: Frame) throws -> Value {
        switch node.expr {
        case .literal(let v): return v
        case .name(let n): return frame.lookup(n) ?? globals[n] ?? .undefined
        case .list(let items): return try checkNesting(.array(try items.map { try eval($0, frame) }))
        case .tuple(let items): return try checkNesting(.tuple(try items.map { try eval($0, frame) }))
        case .dict(let pairs):
            var d = OrderedDict()
            for (k, v) in pairs {
                let key = try eval(k, frame)
                d[key.pythonString] = try eval(v, frame)
            }
            return try checkNesting(.object(d))
        case .getattr(let objExpr, let attr):
            let obj = try defined(try eval(objExpr, frame), objExpr, frame)
            return try getattr(obj, attr)
        case .getitem(let objExpr, let keyExpr):
            let obj = try defined(try eval(objExpr, frame), objExpr, frame)
            return try getitem(obj, try eval(keyExpr, frame))
        case .slice(let objExpr, let a, let b, let c):
            let obj = try defined(try eval(objExpr, frame), objExpr, frame)
            return try slice(obj, try a.map { try eval($0, frame) }, try b.map { try eval($0, frame) },
                             try c.map { try eval($0, frame) })
        case .call(let calleeExpr, let argExprs, let kwargExprs):
            let callee = try eval(calleeExpr, frame)
            let args = try argExprs.map { try eval($0, frame) }
            let kwargs = try kwargExprs.map { ($0.0, try eval($0.1, frame)) }
            return try call(callee, args, kwargs, at: node.pos, calleeExpr: calleeExpr, frame: frame)
        case .filter(let valueExpr, let name, let argExprs, let kwargExprs):
            let v = try eval(valueExpr, frame)
            let args = try argExprs.map { try eval($0, frame) }
            let kwargs = try kwargExprs.map { ($0.0, try eval($0.1, frame)) }
            return try applyFilter(name, v, args, kwargs, frame, at: node.pos)
        case .test(let valueExpr, let name, let argExprs, let kwargExprs, let negated):
            let v = try eval(valueExpr, frame)
            let args = try argExprs.map { try eval($0, frame) }
            let kwargs = try kwargExprs.map { ($0.0, try eval($0.1, frame)) }
            let r = try applyTest(name, v, args + kwargs.map(\.1), at: node.pos)
            return .bool(negated ? !r : r)
        case .unary(let op, let operandExpr):
            let v = try defined(try eval(operandExpr, frame), operandExpr, frame)
            guard let n = v.numeric else {
                throw TemplateFailure.type("bad operand type for unary \(op): '\(v.typeName)'")
            }
            if op == "+" { return n }
            switch n {
            case .int(let i):
                let (r, o) = (0).subtractingReportingOverflow(i)
                if o { throw TemplateFailure.limit("integer overflow") }
                return .int(r)
            case .double(let d): return .double(-d)
            default: return n
            }
        case .binary(let op, let l, let r):
            let lv = try eval(l, frame)
            let rv = try eval(r, frame)
            if op == "~" {
                let text = try printed(lv, at: node.pos) + printed(rv, at: node.pos)
                try budget.chargeBytes(text.utf8.count)
                return .string(text)
            }
            _ = try defined(lv, l, frame)
            _ = try defined(rv, r, frame)
            try budget.charge(Interpreter.binaryCost(op, lv, rv, cap: budget.remaining))
            return try Operators.binary(op, lv, rv)
        case .and(let l, let r):
            let lv = try eval(l, frame)
            return lv.isTruthy ? try eval(r, frame) : lv
        case .or(let l, let r):
            let lv = try eval(l, frame)
            return lv.isTruthy ? lv : try eval(r, frame)
        case .not(let e):
            return .bool(!(try eval(e, frame)).isTruthy)
        case .compare(let first, let ops):
            var left = try eval(first, frame)
            for (op, rightExpr) in ops {
                let right = try eval(rightExpr, frame)
                if op == "in" || op == "notin" { try budget.chargeContains(right, left) } else { try budget.chargeComparison(left, right) }
                if !(try Operators.compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let value, let cond, let otherwise):
            if try eval(cond, frame).isTruthy { return try eval(value, frame) }
            if let otherwise { return try eval(otherwise, frame) }
            return .undefined
        }
    }

    private func call(_ callee: Value, _ args: [Value], _ kwargs: [(String, Value)], at pos: SourcePos,
                      calleeExpr: ExprNode, frame: Frame? = nil) throws -> Value {
        switch callee {
        case .callable(let c):
            do {
                // Built-in functions and methods pay for the items their arguments hand them and that they
                // return; a macro's own statements are charged as they run.
                if !c.isMacro {
                    for a in args { try budget.chargeReading(a) }
                    for (_, a) in kwargs { try budget.chargeReading(a) }
                }
                let result = try c.body(args, kwargs)
                if !c.isMacro { try budget.chargeReading(result) }
                return result
            } catch let failure as TemplateFailure {
                throw failure.at(pos)
            }
        case .undefined:
            let message = frame.map { undefinedMessage(calleeExpr, $0) } ?? "'\(calleeExpr)' is undefined"
            throw TemplateFailure.undefined(message).at(pos)
        default:
            throw TemplateFailure.type("'\(callee.typeName)' object is not callable").at(pos)
        }
    }

    /// The cost of `l op r` known before computing it: the items or bytes a repetition or concatenation makes.
    static func binaryCost(_ op: String, _ l: Value, _ r: Value, cap: Int) -> Int {
        switch op {
        case "*":
            let (seq, times): (Value, Value) = if case .int = r { (l, r) } else { (r, l) }
            guard case .int(let n) = times, n > 0 else { return 0 }
            let (size, perStep): (Int, Int) = switch seq {
            case .string(let s): (s.utf8.count, WorkBudget.bytesPerStep)
            case .array(let a), .tuple(let a): (a.count, 1)
            default: (0, 1)
            }
            let (total, overflow) = size.multipliedReportingOverflow(by: n)
            return overflow ? Int.max : total / perStep
        case "+":
            return WorkBudget.cost(of: l, deep: false, cap: cap) + WorkBudget.cost(of: r, deep: false, cap: cap)
        default: return 0
        }
    }

    /// Values nested deeper than this cannot be built (Python would hit its recursion limit printing them).
    static let maxNesting = 512

    /// `v` once its depth is known to be within ``maxNesting``; charges the items the check looked at (each
    /// shared list once per level, so at most the items of lists that were charged when they were made).
    func checkNesting(_ v: Value) throws -> Value {
        var work = 0
        let depth = v.nestingDepth(limit: Interpreter.maxNesting, work: &work)
        try budget.chargeItems(work)
        if depth > Interpreter.maxNesting {
            throw TemplateFailure.limit("values nested deeper than \(Interpreter.maxNesting) levels")
        }
        return v
    }

    // MARK: - Attribute and item access

    /// jinja2 `getattr`: Python attributes (methods) first, then dict keys.
    func getattr(_ obj: Value, _ attr: String) throws -> Value {
        if let method = Methods.bound(obj, attr, budget: budget) {
            try budget.chargeReading(obj)
            return method
        }
        switch obj {
        case .callable(let c): return c.attributes?[attr] ?? .undefined
        case .object(let o): return o[attr] ?? .undefined
        case .namespace(let n): return n.attributes[attr] ?? .undefined
        default: return .undefined
        }
    }

    /// jinja2 `getitem`: subscription first, then attributes for string keys.
    func getitem(_ obj: Value, _ key: Value) throws -> Value {
        switch obj {
        case .object(let o):
            if case .string(let k) = key, let v = o[k] { return v }
        case .array(let a), .tuple(let a):
            if let i = key.numeric, case .int(let n) = i {
                let idx = n < 0 ? a.count + n : n
                return idx >= 0 && idx < a.count ? a[idx] : .undefined
            }
        case .string(let s):
            if let i = key.numeric, case .int(let n) = i {
                let scalars = Array(s.unicodeScalars)
                let idx = n < 0 ? scalars.count + n : n
                return idx >= 0 && idx < scalars.count ? .string(String(scalars[idx])) : .undefined
            }
        case .namespace(let n):
            if case .string(let s) = key { return n.attributes[s] ?? .undefined }
        default: break
        }
        if case .string(let s) = key { return try getattr(obj, s) }
        return .undefined
    }

    private func slice(_ obj: Value, _ a: Value?, _ b: Value?, _ c: Value?) throws -> Value {
        func intOrNil(_ v: Value?) throws -> Int? {
            guard let v else { return nil }
            switch v {
            case .none: return nil
            case .undefined: throw TemplateFailure.undefined("slice index is undefined")
            default:
                if let n = v.numeric, case .int(let i) = n { return i }
                throw TemplateFailure.type("slice indices must be integers or None or have an __index__ method")
            }
        }
        let start = try intOrNil(a), stop = try intOrNil(b), step = try intOrNil(c) ?? 1
        guard step != 0 else { throw TemplateFailure.type("slice step cannot be zero") }
        func indices(_ count: Int) -> [Int] {
            // Python's slice.indices, written so that extreme bounds cannot overflow.
            func clamp(_ i: Int, _ lower: Int, _ upper: Int) -> Int {
                if i < 0 { return i < -count ? lower : max(i + count, lower) }
                return min(i, upper)
            }
            if step > 0 {
                let lo = start.map { clamp($0, 0, count) } ?? 0
                let hi = stop.map { clamp($0, 0, count) } ?? count
                return lo < hi ? Array(stride(from: lo, to: hi, by: step)) : []
            } else {
                let lo = start.map { clamp($0, -1, count - 1) } ?? count - 1
                let hi = stop.map { clamp($0, -1, count - 1) } ?? -1
                return lo > hi ? Array(stride(from: lo, to: hi, by: step)) : []
            }
        }
        switch obj {
        case .array(let arr): return .array(indices(arr.count).map { arr[$0] })
        case .tuple(let arr): return .tuple(indices(arr.count).map { arr[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in indices(scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        default:
            throw TemplateFailure.type("'\(obj.typeName)' object is not subscriptable")
        }
    }
}
