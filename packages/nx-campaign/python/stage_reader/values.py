"""What an expression in a module evaluates to, as far as it can be known without running it."""

import ast
import builtins
import math
import operator


class Value:
    pass


class Unknown(Value):
    """Not knowable statically; `why` is a complete phrase for the next engineer."""

    def __init__(self, why, line):
        self.why = why
        self.line = line


class Lit(Value):
    """A str, int, float, bool or None."""

    def __init__(self, value):
        self.value = value


class Seq(Value):
    """A list or tuple: items are Values."""

    def __init__(self, items):
        self.items = items


class Entry:
    """One item of a dict: its value, and the expression that gave it (for `expr` defaults)."""

    def __init__(self, value, node):
        self.value = value
        self.node = node


class Map(Value):
    """A dict with string keys: key -> Entry, in insertion order."""

    def __init__(self, entries):
        self.entries = entries


class Builtin(Value):
    """A Python builtin such as `float`, `dict` or `object`."""

    def __init__(self, name):
        self.name = name


class ModuleRef(Value):
    """A module found on the search path."""

    def __init__(self, name):
        self.name = name


class External(Value):
    """A name from a module that is not on the search path: `qualname` is module.attribute."""

    def __init__(self, qualname):
        self.qualname = qualname


class ClassRef(Value):
    def __init__(self, info):
        self.info = info


class Function(Value):
    def __init__(self, abstract):
        self.abstract = abstract


class StageParam(Value):
    """A call of ceci's StageParameter(dtype, default, fmt, required, msg)."""

    def __init__(self, dtype, default, required, msg):
        self.dtype = dtype
        self.default = default  # an Entry, or None when not given
        self.required = required
        self.msg = msg


class _Singleton(Value):
    def __init__(self, label):
        self.label = label

    def __repr__(self):
        return self.label


ROOT = _Singleton("ceci.PipelineStage")
PARAMETER = _Singleton("ceci.config.StageParameter")

BUILTIN_NAMES = frozenset(dir(builtins))
_PARAMETER_ARGS = ("dtype", "default", "fmt", "required", "msg")
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow, ast.Mod: operator.mod}


def source(node):
    text = ast.unparse(node)
    return text if len(text) <= 80 else text[:77] + "..."


class Scope:
    """Where an expression is evaluated: a module at a statement position, maybe in a class body."""

    def __init__(self, program, module, pos, local=None):
        self.program = program
        self.module = module
        self.pos = pos
        self.local = local

    def lookup(self, name, node):
        if self.local is not None and name in self.local:
            return self.local[name]
        found = self.program.module_name(self.module, name, self.pos)
        if found is not None:
            return found
        if name in BUILTIN_NAMES:
            return Builtin(name)
        return Unknown(f"`{name}` is not defined in {self.module.name}", node.lineno)


def evaluate(node, scope):
    kind = type(node)
    if kind is ast.Constant:
        if isinstance(node.value, (str, int, float, bool, type(None))):
            return Lit(node.value)
        return Unknown(f"`{source(node)}` is not a str, number, bool or None", node.lineno)
    if kind is ast.Name:
        return scope.lookup(node.id, node)
    if kind is ast.Attribute:
        return scope.program.attribute(evaluate(node.value, scope), node.attr, node)
    if kind in (ast.List, ast.Tuple):
        return _sequence(node, scope)
    if kind is ast.Dict:
        return _mapping(node, scope)
    if kind is ast.UnaryOp:
        operand = evaluate(node.operand, scope)
        if isinstance(node.op, (ast.USub, ast.UAdd)) and _is_number(operand):
            return Lit(-operand.value if isinstance(node.op, ast.USub) else operand.value)
    if kind is ast.BinOp:
        return _binary(node, scope)
    if kind is ast.Call:
        return _call(node, scope)
    return Unknown(f"`{source(node)}` is computed when the module runs", node.lineno)


def _is_number(value):
    return isinstance(value, Lit) and type(value.value) in (int, float)


def _sequence(node, scope):
    items = []
    for element in node.elts:
        if isinstance(element, ast.Starred):
            inner = evaluate(element.value, scope)
            if not isinstance(inner, Seq):
                return _unknown_part(inner, element)
            items.extend(inner.items)
        else:
            items.append(evaluate(element, scope))
    return Seq(items)


def _mapping(node, scope):
    entries = {}
    for key, value in zip(node.keys, node.values):
        if key is None:  # {**other}
            inner = evaluate(value, scope)
            if not isinstance(inner, Map):
                return _unknown_part(inner, value)
            entries.update(inner.entries)
            continue
        name = evaluate(key, scope)
        if not (isinstance(name, Lit) and isinstance(name.value, str)):
            return Unknown(f"dict key `{source(key)}` is not a literal string", key.lineno)
        entries[name.value] = Entry(evaluate(value, scope), value)
    return Map(entries)


def _unknown_part(inner, node):
    if isinstance(inner, Unknown):
        return inner
    return Unknown(f"`{source(node)}` is not a list or dict readable here", node.lineno)


def _binary(node, scope):
    left = evaluate(node.left, scope)
    right = evaluate(node.right, scope)
    op = type(node.op)
    if op is ast.Add and isinstance(left, Seq) and isinstance(right, Seq):
        return Seq(left.items + right.items)
    if op is ast.BitOr and isinstance(left, Map) and isinstance(right, Map):
        return Map({**left.entries, **right.entries})
    if op in _ARITHMETIC and _is_number(left) and _is_number(right):
        try:
            result = _ARITHMETIC[op](left.value, right.value)
        except (ArithmeticError, ValueError):
            result = None
        if isinstance(result, (int, float)) and not (isinstance(result, float) and not math.isfinite(result)):
            return Lit(result)
    for side in (left, right):
        if isinstance(side, Unknown):
            return side
    return Unknown(f"`{source(node)}` is computed when the module runs", node.lineno)


def _call(node, scope):
    func = node.func
    # X.copy() of a dict or list is the same value: the class that copies then changes its own.
    if isinstance(func, ast.Attribute) and func.attr == "copy" and not node.args and not node.keywords:
        target = evaluate(func.value, scope)
        if isinstance(target, (Map, Seq, StageParam)):
            return target
    callee = evaluate(func, scope)
    if callee is PARAMETER:
        return _parameter(node, scope)
    if isinstance(callee, Builtin) and callee.name == "dict":
        return _dict_call(node, scope)
    if isinstance(callee, Builtin) and callee.name in ("list", "tuple") and len(node.args) == 1 and not node.keywords:
        inner = evaluate(node.args[0], scope)
        if isinstance(inner, Seq):
            return inner
    if isinstance(callee, Unknown):
        return callee
    return Unknown(f"`{source(node)}` is a call, computed when the module runs", node.lineno)


def _dict_call(node, scope):
    entries = {}
    if len(node.args) > 1:
        return Unknown(f"`{source(node)}` passes dict() more than one positional argument", node.lineno)
    for arg in node.args:
        inner = evaluate(arg, scope)
        if not isinstance(inner, Map):
            return _unknown_part(inner, arg)
        entries.update(inner.entries)
    merged = keyword_entries(node.keywords, scope)
    if isinstance(merged, Unknown):
        return merged
    entries.update(merged)
    return Map(entries)


def keyword_entries(keywords, scope):
    """The entries of `k=v, **other` keyword arguments, or Unknown."""
    entries = {}
    for keyword in keywords:
        if keyword.arg is None:
            inner = evaluate(keyword.value, scope)
            if not isinstance(inner, Map):
                return _unknown_part(inner, keyword.value)
            entries.update(inner.entries)
        else:
            entries[keyword.arg] = Entry(evaluate(keyword.value, scope), keyword.value)
    return entries


def _parameter(node, scope):
    given = {}
    if len(node.args) > len(_PARAMETER_ARGS) or any(isinstance(a, ast.Starred) for a in node.args):
        return Unknown(f"`{source(node)}`: StageParameter takes at most {len(_PARAMETER_ARGS)} plain positional arguments", node.lineno)
    for name, arg in zip(_PARAMETER_ARGS, node.args):
        given[name] = arg
    for keyword in node.keywords:
        if keyword.arg not in _PARAMETER_ARGS or keyword.arg in given:
            return Unknown(f"`{source(node)}`: StageParameter has no argument `{keyword.arg}` (or it is given twice)", node.lineno)
        given[keyword.arg] = keyword.value

    def arg(name):
        return evaluate(given[name], scope) if name in given else None

    default = Entry(evaluate(given["default"], scope), given["default"]) if "default" in given else None
    return StageParam(arg("dtype"), default, arg("required"), arg("msg"))
