"""The butler's data-query language (daf_butler's expression grammar), the part used here:
comparisons = != < <= > >=, IN (...) and NOT IN (...) with numbers, strings and ranges N..M[:S],
AND, OR, NOT, parentheses, case-insensitive keywords, single-quoted strings (the stack's lexer
has no double-quoted strings: a '"' is an unexpected character there too), `dim.id` for `dim`.
Errors as the stack raises them: InvalidQueryError "Failed to parse expression '...'" caused by
the parser's "Syntax error at or near ..." (or lexer's "Unexpected character ..."), and
"Unrecognized identifier 'x'." for a name that is not a dimension.

Evaluated on one data ID with three-valued logic: a comparison on a dimension the data ID does
not have is unknown, and an unknown result does not exclude the data ID (a per-band quantum is
not excluded by `visit > 5`; its per-visit inputs are)."""
import re

from . import dimensions
from .cli import StackError

TOKEN = re.compile(
    r"(?P<ws>\s+)|(?P<range>-?\d+\s*\.\.\s*-?\d+(?:\s*:\s*[1-9]\d*)?)|(?P<num>\d+(?:\.\d*)?(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?)"
    r"|(?P<str>'[^']*')|(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,2})|(?P<op><=|>=|!=|=|<|>|\(|\)|,|-)",
    re.I,
)
KEYWORDS = {"AND", "OR", "NOT", "IN"}
INVALID = "lsst.daf.butler._exceptions.InvalidQueryError"
PARSER = "lsst.daf.butler.queries.expressions.parser.parserYacc"
UNKNOWN = None


def _failed(text, qualname, message):
    return StackError(INVALID, f"Failed to parse expression '{text}'", StackError(qualname, message))


def tokens(text):
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise _failed(text, "lsst.daf.butler.queries.expressions.parser.parserLex.ParserLexError", f"Unexpected character at position {pos}")
        kind, value = m.lastgroup, m.group(m.lastgroup)
        if kind == "ident" and value.upper() in KEYWORDS:
            kind, value = "kw", value.upper()
        if kind != "ws":
            out.append((kind, value, pos))
        pos = m.end()
    return out


def parse(text):
    """The query as a tree; None for an empty query."""
    if not text or not text.strip():
        return None
    toks = tokens(text)
    i = 0

    def peek(kind, value=None):
        return i < len(toks) and toks[i][0] == kind and (value is None or toks[i][1] == value)

    def take(kind=None, value=None):
        nonlocal i
        if i >= len(toks):
            raise _failed(text, f"{PARSER}.ParserEOFError", "End of input reached while expecting further input")
        if kind is not None and not peek(kind, value):
            tok = toks[i][1][1:-1] if toks[i][0] == "str" else toks[i][1]
            raise _failed(text, f"{PARSER}.ParseError", f"Syntax error at or near '{tok}' (line: 1, pos: {toks[i][2] + 1})")
        i += 1
        return toks[i - 1]

    def disjunction():
        node = conjunction()
        while peek("kw", "OR"):
            take()
            node = ("or", node, conjunction())
        return node

    def conjunction():
        node = negation()
        while peek("kw", "AND"):
            take()
            node = ("and", node, negation())
        return node

    def negation():
        if peek("kw", "NOT"):
            take()
            return ("not", negation())
        return predicate()

    def predicate():
        if peek("op", "("):
            take()
            node = disjunction()
            take("op", ")")
            return node
        left = operand()
        if peek("kw", "NOT") or peek("kw", "IN"):
            negate = take()[1] == "NOT"
            if negate:
                take("kw", "IN")
            node = ("in", left, values())
            return ("not", node) if negate else node
        op = take("op")
        if op[1] not in ("=", "!=", "<", "<=", ">", ">="):
            raise _failed(text, f"{PARSER}.ParseError", f"Syntax error at or near '{op[1]}' (line: 1, pos: {op[2] + 1})")
        return ("cmp", op[1], left, operand())

    def operand():
        kind, value, pos = take("op", "-") if peek("op", "-") else (None, None, None)
        if kind:
            k, v, p = take("num")
            return ("lit", -number(v))
        if peek("num"):
            return ("lit", number(take()[1]))
        if peek("str"):
            return ("lit", take()[1][1:-1])
        k, v, p = take("ident")
        return ("dim", identifier(v))

    def values():
        take("op", "(")
        out = [item()]
        while peek("op", ","):
            take()
            out.append(item())
        take("op", ")")
        return out

    def item():
        if peek("range"):
            m = re.match(r"(-?\d+)\s*\.\.\s*(-?\d+)(?:\s*:\s*(\d+))?", take()[1])
            return ("range", int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
        node = operand()
        if node[0] != "lit":
            raise _failed(text, f"{PARSER}.ParseError", "Syntax error: an IN list takes literals")
        return node

    node = disjunction()
    if i != len(toks):
        take("kw", "never")  # raises a syntax error at the first token left over
    return node


def number(text):
    return float(text) if any(c in text for c in ".eE") else int(text)


def identifier(name):
    first, _, rest = name.partition(".")
    if first in dimensions.UNIVERSE and rest in ("", "id"):
        return first
    if first in dimensions.UNIVERSE and rest:
        raise StackError(INVALID, f"Unrecognized field {rest!r} for {first}.")
    raise StackError(INVALID, f"Unrecognized identifier {name!r}.")


def evaluate(node, data_id):
    """True, False or None (unknown) for one data ID."""
    if node is None:
        return True
    kind = node[0]
    if kind == "and":
        a, b = evaluate(node[1], data_id), evaluate(node[2], data_id)
        return False if False in (a, b) else (None if None in (a, b) else True)
    if kind == "or":
        a, b = evaluate(node[1], data_id), evaluate(node[2], data_id)
        return True if True in (a, b) else (None if None in (a, b) else False)
    if kind == "not":
        a = evaluate(node[1], data_id)
        return None if a is None else not a
    d = dimensions.complete(data_id)
    value = lambda operand: operand[1] if operand[0] == "lit" else d.get(operand[1], UNKNOWN)
    if kind == "in":
        v = value(node[1])
        if v is UNKNOWN:
            return None
        for it in node[2]:
            if it[0] == "range" and isinstance(v, int) and it[1] <= v <= it[2] and (v - it[1]) % it[3] == 0:
                return True
            if it[0] == "lit" and v == it[1]:
                return True
        return False
    a, b = value(node[2]), value(node[3])
    if a is UNKNOWN or b is UNKNOWN:
        return None
    try:
        return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node[1]]
    except TypeError:
        return False


def matches(node, data_id):
    """Whether the query keeps the data ID: anything but False."""
    return evaluate(node, data_id) is not False

