/// The syntax tree of a parsed template.
indirect enum Expr: Sendable {
    case literal(Value)
    case name(String)
    case list([ExprNode])
    case tuple([ExprNode])
    case dict([(ExprNode, ExprNode)])
    case getattr(ExprNode, String)
    case getitem(ExprNode, ExprNode)
    case slice(ExprNode, ExprNode?, ExprNode?, ExprNode?)
    case call(ExprNode, [ExprNode], [(String, ExprNode)])
    case filter(ExprNode, String, [ExprNode], [(String, ExprNode)])
    case test(ExprNode, String, [ExprNode], [(String, ExprNode)], negated: Bool)
    case unary(String, ExprNode)
    case binary(String, ExprNode, ExprNode)
    case and(ExprNode, ExprNode)
    case or(ExprNode, ExprNode)
    case not(ExprNode)
    /// A chained comparison `a < b <= c`.
    case compare(ExprNode, [(String, ExprNode)])
    case conditional(ExprNode, cond: ExprNode, otherwise: ExprNode?)
}

/// An expression with its source position.
struct ExprNode: Sendable {
    var expr: Expr
    var pos: SourcePos
}

/// A left-hand side of `set` or `for`.
indirect enum Target: Sendable {
    case name(String)
    case attribute(String, String)
    case tuple([Target])
}

struct MacroParam: Sendable {
    var name: String
    var defaultValue: ExprNode?
}

indirect enum Stmt: Sendable {
    case output(String)
    case expression(ExprNode)
    case ifChain([(ExprNode, [StmtNode])], otherwise: [StmtNode])
    case forLoop(ForLoop)
    case set(Target, ExprNode)
    case setBlock(Target, body: [StmtNode], filters: [(String, [ExprNode], [(String, ExprNode)], SourcePos)])
    case macro(name: String, params: [MacroParam], body: [StmtNode])
    case callBlock(call: ExprNode, params: [MacroParam], body: [StmtNode])
    case filterBlock(filters: [(String, [ExprNode], [(String, ExprNode)], SourcePos)], body: [StmtNode])
    case with([(Target, ExprNode)], body: [StmtNode])
    case breakLoop
    case continueLoop
    /// `{% generation %}` from transformers' AssistantTracker: renders its body unchanged.
    case generation([StmtNode])
}

/// `for target in iterable [if filter] [recursive]`.
struct ForLoop: Sendable {
    var target: Target
    var iterable: ExprNode
    var filter: ExprNode?
    var body: [StmtNode]
    var otherwise: [StmtNode]
    /// Whether the body mentions `loop` (the loop object is only built then).
    var usesLoop: Bool
    /// `recursive`: `loop(items)` renders the body again one level deeper.
    var recursive: Bool
}

struct StmtNode: Sendable {
    var stmt: Stmt
    var pos: SourcePos
}
