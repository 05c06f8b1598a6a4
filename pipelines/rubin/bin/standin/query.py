"""The butler's data-query language, the part used here: comparisons (= != < <= > >=), IN and
NOT IN lists, AND, OR, NOT, parentheses, numbers and quoted strings. A comparison on a dimension
a data ID does not have is unknown and does not exclude it (three-valued logic)."""
import re

DIMENSIONS = {"instrument", "exposure", "visit", "detector", "band", "physical_filter", "skymap", "tract", "patch", "day_obs"}
TOKEN = re.compile(r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<op><=|>=|!=|=|<|>|\(|\)|,)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))")


class QueryError(Exception):
    pass


def tokens(text):
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"Failed to parse query expression: {text!r}: unexpected character at {pos}: {text[pos:pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "num":
            value = float(value) if "." in value else int(value)
        elif kind == "str":
            value = value[1:-1]
        elif kind == "word" and value.upper() in ("AND", "OR", "NOT", "IN"):
            kind, value = "kw", value.upper()
        out.append((kind, value))
    return out


def parse(text):
    """A query as a tree; None for an empty query."""
    if not text or not text.strip():
        return None
    toks = tokens(text)
    i = 0

    def peek(kind=None, value=None):
        if i >= len(toks):
            return False
        k, v = toks[i]
        return (kind is None or k == kind) and (value is None or v == value)

    def take(kind=None, value=None):
        nonlocal i
        if not peek(kind, value):
            got = toks[i][1] if i < len(toks) else "end of expression"
            raise QueryError(f"Failed to parse query expression: {text!r}: expected {value or kind}, got {got!r}")
        i += 1
        return toks[i - 1][1]

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
        return atom()

    def literal():
        if peek("num") or peek("str"):
            return take()
        raise QueryError(f"Failed to parse query expression: {text!r}: expected a number or a quoted string")

    def atom():
        if peek("op", "("):
            take()
            node = disjunction()
            take("op", ")")
            return node
        if peek("num") and i + 1 < len(toks) and toks[i + 1] in (("op", "<="), ("op", "<")):
            # `lo <= dim`: turned round
            lo = take()
            op = take("op")
            name = dimension()
            return ("cmp", name, {"<=": ">=", "<": ">"}[op], lo)
        name = dimension()
        if peek("kw", "NOT"):
            take()
            take("kw", "IN")
            return ("not", ("in", name, values()))
        if peek("kw", "IN"):
            take()
            return ("in", name, values())
        op = take("op")
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise QueryError(f"Failed to parse query expression: {text!r}: {op!r} is not a comparison")
        return ("cmp", name, op, literal())

    def dimension():
        name = take("word")
        if name not in DIMENSIONS:
            raise QueryError(f"Dimension element name cannot be inferred in this context: {name!r} is not a known dimension ({', '.join(sorted(DIMENSIONS))})")
        return name

    def values():
        take("op", "(")
        vals = [literal()]
        while peek("op", ","):
            take()
            vals.append(literal())
        take("op", ")")
        return vals

    node = disjunction()
    if i != len(toks):
        raise QueryError(f"Failed to parse query expression: {text!r}: unexpected {toks[i][1]!r}")
    return node


def evaluate(node, data_id):
    """True, False or None (unknown)."""
    if node is None:
        return True
    kind = node[0]
    if kind == "and":
        a, b = evaluate(node[1], data_id), evaluate(node[2], data_id)
        return False if a is False or b is False else (None if a is None or b is None else True)
    if kind == "or":
        a, b = evaluate(node[1], data_id), evaluate(node[2], data_id)
        return True if a is True or b is True else (None if a is None or b is None else False)
    if kind == "not":
        a = evaluate(node[1], data_id)
        return None if a is None else not a
    name = node[1]
    if name not in data_id:
        return None
    value = data_id[name]
    if kind == "in":
        return value in node[2]
    op, other = node[2], node[3]
    try:
        return {"=": value == other, "!=": value != other, "<": value < other, "<=": value <= other, ">": value > other, ">=": value >= other}[op]
    except TypeError:
        return False


def matches(node, data_id):
    return evaluate(node, data_id) is not False
