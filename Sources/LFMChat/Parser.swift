/// Builds the syntax tree from tokens, following jinja2's grammar and operator precedence.
struct Parser {
    private let tokens: [Token]
    private var i = 0
    /// Nesting depth guard: templates are untrusted input.
    private var depth = 0
    /// How many times the name `loop` was read so far (to skip building loop objects nobody reads).
    private var loopReferences = 0
    private static let maxDepth = 200

    static func parse(_ source: String) throws -> [StmtNode] {
        var p = Parser(tokens: try Lexer.tokenize(source))
        let body = try p.parseBody(until: [])
        return body
    }

    private init(tokens: [Token]) { self.tokens = tokens }

    // MARK: - Token helpers

    private var current: Token { tokens[min(i, tokens.count - 1)] }
    private var pos: SourcePos { current.pos }
    private mutating func advance() { if i < tokens.count - 1 { i += 1 } }

    private func describe(_ t: Token) -> String {
        switch t.kind {
        case .data: return "template data"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .int(let n): return "integer \(n)"
        case .float(let d): return "float \(d)"
        case .op(let o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }

    private func fail(_ message: String, at p: SourcePos? = nil) -> TemplateError {
        let p = p ?? pos
        return TemplateError(kind: .syntax, message: message, line: p.line, column: p.column)
    }

    private func isOp(_ o: String) -> Bool { if case .op(o) = current.kind { return true } else { return false } }
    private func isName(_ n: String) -> Bool { if case .name(n) = current.kind { return true } else { return false } }

    private mutating func skipOp(_ o: String) -> Bool {
        if isOp(o) { advance(); return true }
        return false
    }

    private mutating func skipName(_ n: String) -> Bool {
        if isName(n) { advance(); return true }
        return false
    }

    private mutating func expectOp(_ o: String) throws {
        guard skipOp(o) else { throw fail("expected '\(o)', got \(describe(current))") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw fail("expected a name, got \(describe(current))") }
        advance()
        return n
    }

    private mutating func expectBlockEnd() throws {
        guard case .blockEnd = current.kind else {
            throw fail("expected end of statement block, got \(describe(current))")
        }
        advance()
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Parser.maxDepth { throw fail("template nesting deeper than \(Parser.maxDepth) levels") }
    }

    // MARK: - Statements

    /// Parses statements until a block tag whose name is in `until`; leaves the cursor on that name.
    private mutating func parseBody(until: Set<String>) throws -> [StmtNode] {
        try enter()
        defer { depth -= 1 }
        var body: [StmtNode] = []
        while true {
            let t = current
            switch t.kind {
            case .eof:
                if !until.isEmpty {
                    throw fail("Unexpected end of template. Jinja was looking for the following tags: "
                               + until.sorted().map { "'\($0)'" }.joined(separator: " or ") + ".")
                }
                return body
            case .data(let s):
                body.append(StmtNode(stmt: .output(s), pos: t.pos))
                advance()
            case .variableBegin:
                advance()
                let e = try parseTuple(withCondExpr: true)
                guard case .variableEnd = current.kind else {
                    throw fail("expected end of print statement, got \(describe(current))")
                }
                advance()
                body.append(StmtNode(stmt: .expression(e), pos: t.pos))
            case .blockBegin:
                advance()
                guard case .name(let name) = current.kind else {
                    throw fail("tag name expected, got \(describe(current))")
                }
                if until.contains(name) { return body }
                body.append(try parseStatement(name, at: t.pos, inside: until))
            default:
                throw fail("unexpected \(describe(t))")
            }
        }
    }

    private static let endTags: Set<String> = [
        "endif", "endfor", "endmacro", "endset", "endcall", "endfilter", "endwith", "endgeneration",
        "elif", "else", "endraw",
    ]

    private mutating func parseStatement(_ name: String, at start: SourcePos, inside: Set<String>) throws -> StmtNode {
        let namePos = pos
        advance()
        switch name {
        case "if": return try parseIf(start)
        case "for": return try parseFor(start)
        case "set": return try parseSet(start)
        case "macro": return try parseMacro(start)
        case "call": return try parseCallBlock(start)
        case "filter": return try parseFilterBlock(start)
        case "with": return try parseWith(start)
        case "break", "continue":
            try expectBlockEnd()
            return StmtNode(stmt: name == "break" ? .breakLoop : .continueLoop, pos: start)
        case "generation":
            try expectBlockEnd()
            let body = try parseBody(until: ["endgeneration"])
            advance()
            try expectBlockEnd()
            return StmtNode(stmt: .generation(body), pos: start)
        default:
            if Parser.endTags.contains(name) {
                var message = "Encountered unknown tag '\(name)'."
                if !inside.isEmpty {
                    message += " Jinja was looking for the following tags: "
                        + inside.sorted().map { "'\($0)'" }.joined(separator: " or ") + "."
                } else {
                    message = "Unexpected tag '\(name)'."
                }
                throw fail(message, at: namePos)
            }
            throw fail("Encountered unknown tag '\(name)'.", at: namePos)
        }
    }

    private mutating func parseIf(_ start: SourcePos) throws -> StmtNode {
        var branches: [(ExprNode, [StmtNode])] = []
        var otherwise: [StmtNode] = []
        var cond = try parseTuple(withCondExpr: false)
        while true {
            try expectBlockEnd()
            let body = try parseBody(until: ["elif", "else", "endif"])
            branches.append((cond, body))
            let tag = try expectName()
            if tag == "elif" {
                cond = try parseTuple(withCondExpr: false)
                continue
            }
            if tag == "else" {
                try expectBlockEnd()
                otherwise = try parseBody(until: ["endif"])
                advance()
            }
            try expectBlockEnd()
            break
        }
        return StmtNode(stmt: .ifChain(branches, otherwise: otherwise), pos: start)
    }

    private mutating func parseFor(_ start: SourcePos) throws -> StmtNode {
        let referencesBefore = loopReferences
        let target = try parseAssignTarget(allowAttribute: false, extraEnd: ["in"])
        guard skipName("in") else { throw fail("expected 'in', got \(describe(current))") }
        let iterable = try parseTuple(withCondExpr: false, extraEnd: ["recursive"])
        var filter: ExprNode? = nil
        if skipName("if") { filter = try parseExpression(withCondExpr: true) }
        let recursive = skipName("recursive")
        try expectBlockEnd()
        let body = try parseBody(until: ["endfor", "else"])
        var otherwise: [StmtNode] = []
        if try expectName() == "else" {
            try expectBlockEnd()
            otherwise = try parseBody(until: ["endfor"])
            advance()
        }
        try expectBlockEnd()
        return StmtNode(stmt: .forLoop(ForLoop(target: target, iterable: iterable, filter: filter, body: body,
                                               otherwise: otherwise, usesLoop: recursive || loopReferences > referencesBefore,
                                               recursive: recursive)),
                        pos: start)
    }

    private mutating func parseSet(_ start: SourcePos) throws -> StmtNode {
        let target = try parseAssignTarget(allowAttribute: true, extraEnd: [])
        if skipOp("=") {
            let value = try parseTuple(withCondExpr: true)
            try expectBlockEnd()
            return StmtNode(stmt: .set(target, value), pos: start)
        }
        let filters = try parseFilterChain()
        try expectBlockEnd()
        let body = try parseBody(until: ["endset"])
        advance()
        try expectBlockEnd()
        return StmtNode(stmt: .setBlock(target, body: body, filters: filters), pos: start)
    }

    private mutating func parseFilterChain() throws -> [(String, [ExprNode], [(String, ExprNode)], SourcePos)] {
        var filters: [(String, [ExprNode], [(String, ExprNode)], SourcePos)] = []
        while skipOp("|") {
            let p = pos
            var name = try expectName()
            while skipOp(".") { name += "." + (try expectName()) }
            var args: [ExprNode] = [], kwargs: [(String, ExprNode)] = []
            if isOp("(") { (args, kwargs) = try parseCallArgs() }
            filters.append((name, args, kwargs, p))
        }
        return filters
    }

    private mutating func parseFilterBlock(_ start: SourcePos) throws -> StmtNode {
        var filters: [(String, [ExprNode], [(String, ExprNode)], SourcePos)] = []
        let p = pos
        let name = try expectName()
        var args: [ExprNode] = [], kwargs: [(String, ExprNode)] = []
        if isOp("(") { (args, kwargs) = try parseCallArgs() }
        filters.append((name, args, kwargs, p))
        filters += try parseFilterChain()
        try expectBlockEnd()
        let body = try parseBody(until: ["endfilter"])
        advance()
        try expectBlockEnd()
        return StmtNode(stmt: .filterBlock(filters: filters, body: body), pos: start)
    }

    private mutating func parseWith(_ start: SourcePos) throws -> StmtNode {
        var assignments: [(Target, ExprNode)] = []
        while !(current.kind == .blockEnd) {
            if !assignments.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget(allowAttribute: false, extraEnd: [])
            try expectOp("=")
            assignments.append((target, try parseExpression(withCondExpr: true)))
        }
        try expectBlockEnd()
        let body = try parseBody(until: ["endwith"])
        advance()
        try expectBlockEnd()
        return StmtNode(stmt: .with(assignments, body: body), pos: start)
    }

    private mutating func parseMacroParams() throws -> [MacroParam] {
        var params: [MacroParam] = []
        try expectOp("(")
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let name = try expectName()
            var def: ExprNode? = nil
            if skipOp("=") { def = try parseExpression(withCondExpr: true) }
            else if params.contains(where: { $0.defaultValue != nil }) {
                throw fail("non-default argument follows default argument")
            }
            params.append(MacroParam(name: name, defaultValue: def))
        }
        try expectOp(")")
        return params
    }

    private mutating func parseMacro(_ start: SourcePos) throws -> StmtNode {
        let name = try expectName()
        let params = try parseMacroParams()
        try expectBlockEnd()
        let body = try parseBody(until: ["endmacro"])
        advance()
        try expectBlockEnd()
        return StmtNode(stmt: .macro(name: name, params: params, body: body), pos: start)
    }

    private mutating func parseCallBlock(_ start: SourcePos) throws -> StmtNode {
        var params: [MacroParam] = []
        if isOp("(") { params = try parseMacroParams() }
        let call = try parseExpression(withCondExpr: true)
        guard case .call = call.expr else { throw fail("expected call", at: call.pos) }
        try expectBlockEnd()
        let body = try parseBody(until: ["endcall"])
        advance()
        try expectBlockEnd()
        return StmtNode(stmt: .callBlock(call: call, params: params, body: body), pos: start)
    }

    private mutating func parseAssignTarget(allowAttribute: Bool, extraEnd: Set<String>) throws -> Target {
        if allowAttribute, case .name(let n) = current.kind, i + 1 < tokens.count, tokens[i + 1].kind == .op(".") {
            advance(); advance()
            return .attribute(n, try expectName())
        }
        let parenthesised = skipOp("(")
        var targets: [Target] = []
        var sawComma = false
        while true {
            let p = pos
            let name = try expectName()
            if ["true", "false", "none", "True", "False", "None"].contains(name) {
                throw fail("can't assign to '\(name)'", at: p)
            }
            targets.append(.name(name))
            guard skipOp(",") else { break }
            sawComma = true
            if case .name(let n) = current.kind, extraEnd.contains(n) { break }
            if isOp(")") || isOp("=") { break }
        }
        if parenthesised { try expectOp(")") }
        if targets.count == 1 && !sawComma, let only = targets.first { return only }
        return .tuple(targets)
    }

    // MARK: - Expressions

    private mutating func parseTuple(withCondExpr: Bool, extraEnd: Set<String> = []) throws -> ExprNode {
        let start = pos
        var items: [ExprNode] = []
        var isTuple = false
        while true {
            if !items.isEmpty {
                guard skipOp(",") else { break }
                isTuple = true
            }
            if current.kind == .blockEnd || current.kind == .variableEnd || isOp(")") { break }
            if case .name(let n) = current.kind, extraEnd.contains(n) || (n == "if" && !withCondExpr && !items.isEmpty) {
                break
            }
            items.append(try parseExpression(withCondExpr: withCondExpr))
        }
        if !isTuple, let only = items.first, items.count == 1 { return only }
        if items.isEmpty && !isTuple { throw fail("Expected an expression, got \(describe(current))") }
        return ExprNode(expr: .tuple(items), pos: start)
    }

    private mutating func parseExpression(withCondExpr: Bool) throws -> ExprNode {
        try enter()
        defer { depth -= 1 }
        if !withCondExpr { return try parseOr() }
        var expr = try parseOr()
        let saved = depth
        defer { depth = saved }
        while isName("if") {
            try enter()
            let p = pos
            advance()
            let cond = try parseOr()
            var otherwise: ExprNode? = nil
            if skipName("else") { otherwise = try parseExpression(withCondExpr: true) }
            expr = ExprNode(expr: .conditional(expr, cond: cond, otherwise: otherwise), pos: p)
        }
        return expr
    }

    private mutating func parseOr() throws -> ExprNode {
        var left = try parseAnd()
        let saved = depth
        defer { depth = saved }
        while isName("or") {
            let p = pos
            try enter()
            advance()
            left = ExprNode(expr: .or(left, try parseAnd()), pos: p)
        }
        return left
    }

    private mutating func parseAnd() throws -> ExprNode {
        var left = try parseNot()
        let saved = depth
        defer { depth = saved }
        while isName("and") {
            let p = pos
            try enter()
            advance()
            left = ExprNode(expr: .and(left, try parseNot()), pos: p)
        }
        return left
    }

    private mutating func parseNot() throws -> ExprNode {
        if isName("not") {
            let p = pos
            advance()
            try enter()
            defer { depth -= 1 }
            return ExprNode(expr: .not(try parseNot()), pos: p)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> ExprNode {
        let start = pos
        let first = try parseMath1()
        var ops: [(String, ExprNode)] = []
        while true {
            if case .op(let o) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                advance()
                ops.append((o, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not"), i + 1 < tokens.count, tokens[i + 1].kind == .name("in") {
                advance(); advance()
                ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        if ops.isEmpty { return first }
        return ExprNode(expr: .compare(first, ops), pos: start)
    }

    private mutating func parseBinaryLevel(_ ops: [String], _ next: (inout Parser) throws -> ExprNode) throws -> ExprNode {
        var left = try next(&self)
        let saved = depth
        defer { depth = saved }
        while case .op(let o) = current.kind, ops.contains(o) {
            let p = pos
            try enter()
            advance()
            left = ExprNode(expr: .binary(o, left, try next(&self)), pos: p)
        }
        return left
    }

    private mutating func parseMath1() throws -> ExprNode {
        try parseBinaryLevel(["+", "-"]) { try $0.parseConcat() }
    }

    private mutating func parseConcat() throws -> ExprNode {
        try parseBinaryLevel(["~"]) { try $0.parseMath2() }
    }

    private mutating func parseMath2() throws -> ExprNode {
        try parseBinaryLevel(["*", "/", "//", "%"]) { try $0.parsePow() }
    }

    private mutating func parsePow() throws -> ExprNode {
        try parseBinaryLevel(["**"]) { try $0.parseUnary(withFilter: true) }
    }

    private mutating func parseUnary(withFilter: Bool) throws -> ExprNode {
        try enter()
        defer { depth -= 1 }
        var node: ExprNode
        let p = pos
        if isOp("-") || isOp("+") {
            let op = isOp("-") ? "-" : "+"
            advance()
            node = ExprNode(expr: .unary(op, try parseUnary(withFilter: false)), pos: p)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    private mutating func parsePrimary() throws -> ExprNode {
        let t = current
        switch t.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return ExprNode(expr: .literal(.bool(true)), pos: t.pos)
            case "false", "False": return ExprNode(expr: .literal(.bool(false)), pos: t.pos)
            case "none", "None": return ExprNode(expr: .literal(.none), pos: t.pos)
            default:
                if n == "loop" { loopReferences += 1 }
                return ExprNode(expr: .name(n), pos: t.pos)
            }
        case .string(var s):
            advance()
            while case .string(let more) = current.kind { s += more; advance() }
            return ExprNode(expr: .literal(.string(s)), pos: t.pos)
        case .int(let n):
            advance()
            return ExprNode(expr: .literal(.int(n)), pos: t.pos)
        case .float(let d):
            advance()
            return ExprNode(expr: .literal(.double(d)), pos: t.pos)
        case .op("("):
            advance()
            if skipOp(")") { return ExprNode(expr: .tuple([]), pos: t.pos) }
            var items: [ExprNode] = []
            var isTuple = false
            while !isOp(")") {
                if !items.isEmpty {
                    try expectOp(",")
                    isTuple = true
                    if isOp(")") { break }
                }
                items.append(try parseExpression(withCondExpr: true))
            }
            try expectOp(")")
            if !isTuple, items.count == 1 { return items[0] }
            return ExprNode(expr: .tuple(items), pos: t.pos)
        case .op("["):
            advance()
            var items: [ExprNode] = []
            while !isOp("]") {
                if !items.isEmpty {
                    try expectOp(",")
                    if isOp("]") { break }
                }
                items.append(try parseExpression(withCondExpr: true))
            }
            try expectOp("]")
            return ExprNode(expr: .list(items), pos: t.pos)
        case .op("{"):
            advance()
            var items: [(ExprNode, ExprNode)] = []
            while !isOp("}") {
                if !items.isEmpty {
                    try expectOp(",")
                    if isOp("}") { break }
                }
                let key = try parseExpression(withCondExpr: true)
                try expectOp(":")
                items.append((key, try parseExpression(withCondExpr: true)))
            }
            try expectOp("}")
            return ExprNode(expr: .dict(items), pos: t.pos)
        default:
            throw fail("Expected an expression, got \(describe(t))")
        }
    }

    private mutating func parsePostfix(_ start: ExprNode) throws -> ExprNode {
        var node = start
        let saved = depth
        defer { depth = saved }
        while true {
            try enter()
            let p = pos
            if skipOp(".") {
                switch current.kind {
                case .name(let n):
                    advance()
                    node = ExprNode(expr: .getattr(node, n), pos: p)
                case .int(let n):
                    advance()
                    node = ExprNode(expr: .getitem(node, ExprNode(expr: .literal(.int(n)), pos: p)), pos: p)
                default:
                    throw fail("expected name or number after '.', got \(describe(current))")
                }
            } else if skipOp("[") {
                node = try parseSubscript(node, at: p)
            } else if isOp("(") {
                let (args, kwargs) = try parseCallArgs()
                node = ExprNode(expr: .call(node, args, kwargs), pos: node.pos)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ target: ExprNode, at p: SourcePos) throws -> ExprNode {
        var parts: [ExprNode] = []
        var isSlice = false
        var sliceParts: [ExprNode?] = []
        // Only the first element may be a slice in practice; jinja allows tuples of subscripts.
        if isOp(":") || !isOp("]") {
            var start: ExprNode? = nil
            if !isOp(":") { start = try parseExpression(withCondExpr: true) }
            if skipOp(":") {
                isSlice = true
                var stop: ExprNode? = nil, step: ExprNode? = nil
                if !isOp("]") && !isOp(":") && !isOp(",") { stop = try parseExpression(withCondExpr: true) }
                if skipOp(":") {
                    if !isOp("]") && !isOp(",") { step = try parseExpression(withCondExpr: true) }
                }
                sliceParts = [start, stop, step]
            } else if let start {
                parts.append(start)
            }
        }
        if isSlice {
            try expectOp("]")
            return ExprNode(expr: .slice(target, sliceParts[0], sliceParts[1], sliceParts[2]), pos: p)
        }
        var isTuple = false
        while skipOp(",") {
            isTuple = true
            if isOp("]") { break }
            parts.append(try parseExpression(withCondExpr: true))
        }
        try expectOp("]")
        // `x[]` is legal in jinja2 and subscripts with an empty tuple.
        guard let first = parts.first else { return ExprNode(expr: .getitem(target, ExprNode(expr: .tuple([]), pos: p)), pos: p) }
        let index = isTuple ? ExprNode(expr: .tuple(parts), pos: first.pos) : first
        return ExprNode(expr: .getitem(target, index), pos: p)
    }

    private mutating func parseCallArgs() throws -> ([ExprNode], [(String, ExprNode)]) {
        try expectOp("(")
        var args: [ExprNode] = []
        var kwargs: [(String, ExprNode)] = []
        while !isOp(")") {
            if !args.isEmpty || !kwargs.isEmpty {
                try expectOp(",")
                if isOp(")") { break }
            }
            if case .name(let n) = current.kind, i + 1 < tokens.count, tokens[i + 1].kind == .op("=") {
                advance(); advance()
                kwargs.append((n, try parseExpression(withCondExpr: true)))
            } else {
                if !kwargs.isEmpty { throw fail("positional argument follows keyword argument") }
                if isOp("*") || isOp("**") { throw fail("*args and **kwargs in calls are not supported") }
                args.append(try parseExpression(withCondExpr: true))
            }
        }
        try expectOp(")")
        return (args, kwargs)
    }

    private mutating func parseFilterExpr(_ start: ExprNode) throws -> ExprNode {
        var node = start
        let saved = depth
        defer { depth = saved }
        while true {
            try enter()
            if isOp("|") {
                for (name, args, kwargs, p) in try parseFilterChainOnce() {
                    node = ExprNode(expr: .filter(node, name, args, kwargs), pos: p)
                }
            } else if isName("is") {
                let p = pos
                advance()
                let negated = skipName("not")
                var name = try expectName()
                while skipOp(".") { name += "." + (try expectName()) }
                var args: [ExprNode] = [], kwargs: [(String, ExprNode)] = []
                if isOp("(") {
                    (args, kwargs) = try parseCallArgs()
                } else {
                    var takesArg = false
                    switch current.kind {
                    case .name(let n): takesArg = !["else", "or", "and"].contains(n)
                        if n == "is" { throw fail("You cannot chain multiple tests with is") }
                    case .string, .int, .float, .op("["), .op("{"): takesArg = true
                    default: takesArg = false
                    }
                    if takesArg { args = [try parsePostfix(try parsePrimary())] }
                }
                node = ExprNode(expr: .test(node, name, args, kwargs, negated: negated), pos: p)
            } else if isOp("(") {
                let p = pos
                let (args, kwargs) = try parseCallArgs()
                node = ExprNode(expr: .call(node, args, kwargs), pos: p)
            } else {
                return node
            }
        }
    }

    private mutating func parseFilterChainOnce() throws -> [(String, [ExprNode], [(String, ExprNode)], SourcePos)] {
        guard skipOp("|") else { return [] }
        let p = pos
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        var args: [ExprNode] = [], kwargs: [(String, ExprNode)] = []
        if isOp("(") { (args, kwargs) = try parseCallArgs() }
        return [(name, args, kwargs, p)]
    }
}
