"""Random expression/statement templates for differential testing against jinja2 (used by make_chat_fixtures.py)."""
import random

CONTEXT = {
    "d": {"b": 2, "a": "x", "items": [1, 2], "n": None, "nested": {"k": [1, {"z": "é"}]}},
    "l": [3, 1, 2],
    "s": "Hello, World é🙂",
    "n": None,
    "t": True,
    "f": 1.5,
    "i": -7,
    "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None},
             {"role": "tool", "content": [{"type": "text", "text": "r"}]}],
    "e": "",
    "z": 0,
    "x": "X",
}

ATOMS = ["d", "l", "s", "n", "t", "f", "i", "msgs", "e", "z", "missing", "1", "0", "-2", "2.5", "1e3", "'ab'",
         "\"q'\"", "'é x'", "none", "true", "false", "[]", "[1, 'a']", "{}", "{'k': 1, 'a': [2]}", "(1, 2)",
         "d.a", "d['b']", "d.nested.k", "l[0]", "l[-1]", "msgs[0].content", "msgs[1].content", "msgs[2]['content'][0]",
         "s[1:4]", "l[::-1]", "s[::2]", "d.items", "d.n", "range(3)", "namespace(a=1).a", "loopless"]
BINOPS = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", ">=", "in", "not in", "and", "or", "**"]
FILTERS = ["tojson", "tojson(indent=2)", "tojson(sort_keys=true)", "length", "count", "string", "trim", "upper", "lower",
           "capitalize", "title", "default('D')", "default('D', true)", "first", "last", "list", "join(',')", "join",
           "int", "float", "abs", "round", "round(1)", "replace('l', 'L')", "items", "dictsort", "unique", "sort",
           "reverse", "sum", "min", "max", "map('string')", "map(attribute='role')", "select", "reject('none')",
           "selectattr('role', 'equalto', 'user')", "rejectattr('content')", "indent(2)", "wordcount", "safe", "e",
           "batch(2)", "attr('a')", "center(9)"]
TESTS = ["defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
         "true", "false", "odd", "even", "divisibleby 2", "eq 1", "in l", "boolean", "callable", "lower", "upper"]
METHODS = ["strip()", "lstrip()", "rstrip()", "split()", "split(',')", "startswith('H')", "endswith('é🙂')", "upper()",
           "lower()", "title()", "capitalize()", "replace('o', '0')", "find('o')", "count('l')", "get('a')",
           "get('zz', 0)", "keys()", "values()", "items()", "format(1)", "splitlines()", "rsplit(' ', 1)", "index(1)"]


def expr(r, depth=0):
    k = r.random()
    if depth > 2 or k < 0.3:
        return r.choice(ATOMS)
    if k < 0.5:
        return f"{expr(r, depth + 1)} {r.choice(BINOPS)} {expr(r, depth + 1)}"
    if k < 0.65:
        return f"{expr(r, depth + 1)} | {r.choice(FILTERS)}"
    if k < 0.75:
        neg = "not " if r.random() < 0.3 else ""
        return f"{expr(r, depth + 1)} is {neg}{r.choice(TESTS)}"
    if k < 0.85:
        return f"({expr(r, depth + 1)}).{r.choice(METHODS)}"
    if k < 0.92:
        return f"{expr(r, depth + 1)} if {expr(r, depth + 1)} else {expr(r, depth + 1)}"
    if k < 0.96:
        return f"not {expr(r, depth + 1)}"
    return f"[{expr(r, depth + 1)}, {expr(r, depth + 1)}]"


def template(r):
    k = r.random()
    e = expr(r)
    if k < 0.6:
        return "{{ " + e + " }}"
    if k < 0.75:
        return "{% for x in " + e + " %}{{ loop.index }}:{{ x }};{% else %}E{% endfor %}"
    if k < 0.85:
        return "{% if " + e + " %}Y{% else %}N{% endif %}"
    if k < 0.95:
        return "{% set v = " + e + " %}[{{ v }}]{{ v is defined }}"
    return "  {%- if " + e + " %}\n  a\n  {% endif -%}\n  {{ " + expr(r) + " }}\n"


def cases(n=400, seed=1234):
    """Random templates; `keep(source)` may reject one (the caller drops outputs that print object addresses)."""
    r = random.Random(seed)
    return [template(r) for _ in range(n)]


TEXTS = ["", " ", "  ", "\t", "\n", "\n\n", " \n ", "a", "b ", " c", "\n  ", "  \n", "x\n", "\r\n", "é", "\t\n\t"]


def _open(r, kind):
    return "{" + kind + r.choice(["", "", "-", "+"]) + r.choice([" ", "  ", "\n", ""])


def _close(r, kind):
    return r.choice([" ", "", "\n"]) + r.choice(["", "", "-", "+"] if kind == "%" else ["", "", "-"]) + kind + "}"


def layout(r, depth=0):
    parts = []
    for _ in range(r.randint(1, 5)):
        parts.append(r.choice(TEXTS))
        k = r.random()
        if k < 0.25:
            parts.append(_open(r, "{") + r.choice(["1", "'v'", "x", "none", "loop.index if loop is defined"]) + _close(r, "}").replace("%}", "}}"))
        elif k < 0.35:
            parts.append("{#" + r.choice(["", "-"]) + " c " + r.choice(["", "-"]) + "#}")
        elif k < 0.55 and depth < 3:
            parts.append(_open(r, "%") + r.choice(["if true", "if false", "if x"]) + _close(r, "%"))
            parts.append(layout(r, depth + 1))
            if r.random() < 0.4:
                parts.append(_open(r, "%") + "else" + _close(r, "%"))
                parts.append(layout(r, depth + 1))
            parts.append(_open(r, "%") + "endif" + _close(r, "%"))
        elif k < 0.7 and depth < 3:
            parts.append(_open(r, "%") + r.choice(["for i in [1, 2]", "for i in []", "for i in 'ab' if i != 'a'"]) + _close(r, "%"))
            parts.append(layout(r, depth + 1))
            parts.append(_open(r, "%") + "endfor" + _close(r, "%"))
        elif k < 0.75:
            parts.append(_open(r, "%") + "set y = 2" + _close(r, "%"))
        elif k < 0.8:
            parts.append(_open(r, "%") + "raw" + _close(r, "%").replace("+", "") + r.choice(TEXTS) + "{{ raw }}" + r.choice(TEXTS)
                         + _open(r, "%") + "endraw" + _close(r, "%"))
    parts.append(r.choice(TEXTS))
    return "".join(parts)


def layout_cases(n=300, seed=99):
    r = random.Random(seed)
    return [layout(r) for _ in range(n)]
