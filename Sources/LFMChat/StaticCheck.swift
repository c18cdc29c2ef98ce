/// jinja2's compile-time check: a filter or test name that does not exist is an error when the template is
/// compiled, unless it sits inside an `if` statement or a conditional expression (then it fails only if reached).
enum StaticCheck {
    /// jinja2's built-in filters plus transformers' `tojson`.
    static let filters: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "join", "last",
        "length", "list", "lower", "items", "map", "min", "max", "pprint", "random", "reject", "rejectattr",
        "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum",
        "title", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
        "tojson",
    ]

    /// jinja2's built-in tests.
    static let tests: Set<String> = [
        "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean", "false", "true",
        "integer", "float", "lower", "upper", "string", "mapping", "number", "sequence", "iterable", "callable",
        "sameas", "escaped", "in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", "ge", ">=", "<", "lt",
        "lessthan", "<=", "le",
    ]

    static func check(_ body: [StmtNode]) throws {
        for node in body { try check(node, soft: false) }
    }

    private static func check(_ body: [StmtNode], soft: Bool) throws {
        for node in body { try check(node, soft: soft) }
    }

    private static func check(_ node: StmtNode, soft: Bool) throws {
        switch node.stmt {
        case .output, .breakLoop, .continueLoop: break
        case .expression(let e): try check(e, soft: soft)
        case .ifChain(let branches, let otherwise):
            for (cond, body) in branches {
                try check(cond, soft: true)
                try check(body, soft: true)
            }
            try check(otherwise, soft: true)
        case .forLoop(let loop):
            try check(loop.iterable, soft: soft)
            if let filter = loop.filter { try check(filter, soft: false) }
            try check(loop.body, soft: false)
            try check(loop.otherwise, soft: soft)
        case .set(_, let e): try check(e, soft: soft)
        case .setBlock(_, let body, let filters):
            try check(body, soft: false)
            try checkFilters(filters, soft: soft)
        case .macro(_, let params, let body), .callBlock(_, let params, let body):
            for p in params { if let d = p.defaultValue { try check(d, soft: false) } }
            try check(body, soft: false)
            if case .callBlock(let call, _, _) = node.stmt { try check(call, soft: soft) }
        case .filterBlock(let filters, let body):
            try checkFilters(filters, soft: false)
            try check(body, soft: false)
        case .with(let assignments, let body):
            for (_, e) in assignments { try check(e, soft: soft) }
            try check(body, soft: false)
        case .generation(let body): try check(body, soft: soft)
        }
    }

    private static func checkFilters(_ filters: [(String, [ExprNode], [(String, ExprNode)], SourcePos)], soft: Bool) throws {
        for (name, args, kwargs, pos) in filters {
            if !soft && !StaticCheck.filters.contains(name) {
                throw TemplateError(kind: .unknownFilter, message: "No filter named '\(name)'.", line: pos.line, column: pos.column)
            }
            for a in args { try check(a, soft: soft) }
            for (_, a) in kwargs { try check(a, soft: soft) }
        }
    }

    private static func check(_ node: ExprNode, soft: Bool) throws {
        switch node.expr {
        case .literal, .name: break
        case .list(let items), .tuple(let items): for i in items { try check(i, soft: soft) }
        case .dict(let pairs): for (k, v) in pairs { try check(k, soft: soft); try check(v, soft: soft) }
        case .getattr(let o, _): try check(o, soft: soft)
        case .getitem(let o, let k): try check(o, soft: soft); try check(k, soft: soft)
        case .slice(let o, let a, let b, let c):
            try check(o, soft: soft)
            for part in [a, b, c] { if let part { try check(part, soft: soft) } }
        case .call(let f, let args, let kwargs):
            try check(f, soft: soft)
            for a in args { try check(a, soft: soft) }
            for (_, a) in kwargs { try check(a, soft: soft) }
        case .filter(let v, let name, let args, let kwargs):
            try check(v, soft: soft)
            try checkFilters([(name, args, kwargs, node.pos)], soft: soft)
        case .test(let v, let name, let args, let kwargs, _):
            try check(v, soft: soft)
            if !soft && !tests.contains(name) {
                throw TemplateError(kind: .unknownTest, message: "No test named '\(name)'.", line: node.pos.line, column: node.pos.column)
            }
            for a in args { try check(a, soft: soft) }
            for (_, a) in kwargs { try check(a, soft: soft) }
        case .unary(_, let e), .not(let e): try check(e, soft: soft)
        case .binary(_, let l, let r), .and(let l, let r), .or(let l, let r):
            try check(l, soft: soft); try check(r, soft: soft)
        case .compare(let first, let rest):
            try check(first, soft: soft)
            for (_, e) in rest { try check(e, soft: soft) }
        case .conditional(let v, let cond, let otherwise):
            try check(v, soft: true); try check(cond, soft: true)
            if let otherwise { try check(otherwise, soft: true) }
        }
    }
}
