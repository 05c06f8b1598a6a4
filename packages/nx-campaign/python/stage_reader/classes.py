"""Classes as Python builds them: the class body's namespace, the MRO, inherited attributes."""

import ast
import sys

from .values import (
    ROOT,
    Builtin,
    ClassRef,
    Entry,
    External,
    Function,
    Lit,
    Map,
    Scope,
    Seq,
    Unknown,
    evaluate,
    keyword_entries,
)

# What ceci's PipelineStage defines that a subclass may inherit (ceci/stage.py).
ROOT_ATTRIBUTES = {
    "parallel": Lit(True),
    "dask_parallel": Lit(False),
    "allow_reload": Lit(False),
    "config_options": Map({}),
    "run": Function(abstract=True),
    "config": Function(abstract=False),  # a property
}

# ceci's own file types (ceci/file_types.py). ceci is installed in users' environments, not a
# folder on their search path, so its types' suffixes must be known without reading it.
CECI_FILE_SUFFIXES = {
    "DataFile": None,
    "HDFFile": "hdf5",
    "FitsFile": "fits",
    "TextFile": "txt",
    "YamlFile": "yml",
    "Directory": "",
    "FileCollection": "",
    "PNGFile": "png",
    "PickleFile": "pkl",
    "ParquetFile": "pq",
}

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ("abc", "typing", "enum", "dataclasses", "collections", "os", "pathlib")))


class Undecided(Unknown):
    """An attribute that a class from outside the search path may or may not define."""


def ceci_file_type(qualname):
    module, _, name = qualname.rpartition(".")
    if module in ("ceci", "ceci.file_types") and name in CECI_FILE_SUFFIXES:
        return name
    return None


def known_external(qualname):
    """Classes from outside the search path whose relevant attributes are known (none, or a suffix)."""
    return ceci_file_type(qualname) is not None or qualname.partition(".")[0] in _STDLIB


class ClassInfo:
    def __init__(self, module, node, pos):
        self.module = module
        self.node = node
        self.pos = pos
        self.name = node.name
        self._namespace = None
        self._mro = None

    def namespace(self, program):
        """The class body's names, evaluated in order as Python runs the body."""
        if self._namespace is None:
            self._namespace = {}  # visible while being built, as it is in Python
            _run_body(self, program, self._namespace)
        return self._namespace

    def mro(self, program):
        """C3 linearisation: ClassInfo, ROOT, External and Unknown entries (object left out)."""
        if self._mro is None:
            self._mro = [self, Unknown(f"class {self.name} derives from itself through a circular import", self.node.lineno)]
            bases = [program.canonical(_base(node, program, self)) for node in self.node.bases]
            bases = [b for b in bases if not (isinstance(b, Builtin) and b.name == "object")]
            merged = _c3([_entry_mro(b, program) for b in bases] + [list(bases)])
            if merged is None:
                merged = [Unknown(f"class {self.name}'s bases cannot be put in a consistent order (Python raises TypeError)", self.node.lineno)]
            self._mro = [self] + merged
        return self._mro


def class_attribute(info, attr, program):
    """The attribute as the class would have it: a Value, an Undecided, or None when absent."""
    for entry in info.mro(program):
        if isinstance(entry, ClassInfo):
            namespace = entry.namespace(program)
            if attr in namespace:
                return namespace[attr]
        elif entry is ROOT:
            if attr in ROOT_ATTRIBUTES:
                return ROOT_ATTRIBUTES[attr]
        elif isinstance(entry, External):
            file_type = ceci_file_type(entry.qualname)
            if file_type is not None:
                if attr == "suffix":
                    return Lit(CECI_FILE_SUFFIXES[file_type])
            elif not known_external(entry.qualname):
                return Undecided(f"base {entry.qualname} comes from a module not on the search path", info.node.lineno)
        elif isinstance(entry, Unknown):
            return Undecided(f"base class: {entry.why}", entry.line)
    return None


def _base(node, program, info):
    scope = Scope(program, info.module, info.pos)
    if isinstance(node, ast.Subscript):  # Generic[T] and the like: the class is the subscripted one
        node = node.value
    value = evaluate(node, scope)
    if isinstance(value, ClassRef):
        return value.info
    if value is ROOT or isinstance(value, (Builtin, External, Unknown)):
        return value
    return Unknown(f"base `{ast.unparse(node)}` is not a class", node.lineno)


def _entry_mro(entry, program):
    return entry.mro(program) if isinstance(entry, ClassInfo) else [entry]


def _c3(sequences):
    sequences = [list(s) for s in sequences if s]
    result = []
    while sequences:
        for sequence in sequences:
            head = sequence[0]
            if not any(head in s[1:] for s in sequences):
                break
        else:
            return None
        result.append(head)
        sequences = [[e for e in s if e is not head] for s in sequences]
        sequences = [s for s in sequences if s]
    return result


def _run_body(info, program, namespace):
    scope = Scope(program, info.module, info.pos, local=namespace)
    for stmt in info.node.body:
        kind = type(stmt)
        if kind is ast.Assign:
            value = evaluate(stmt.value, scope)
            for target in stmt.targets:
                _assign(target, value, stmt.value, namespace, scope)
        elif kind is ast.AnnAssign:
            if stmt.value is not None:
                _assign(stmt.target, evaluate(stmt.value, scope), stmt.value, namespace, scope)
        elif kind is ast.AugAssign:
            _augment(stmt, namespace, scope)
        elif kind is ast.Expr and isinstance(stmt.value, ast.Call):
            _mutate(stmt.value, namespace, scope)
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            namespace[stmt.name] = Function(abstract=any(_is_abstract(d) for d in stmt.decorator_list))
        elif kind is ast.ClassDef:
            namespace[stmt.name] = Unknown(f"nested class {stmt.name} is not read", stmt.lineno)
        elif kind is ast.Delete:
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    namespace.pop(target.id, None)
        elif kind in (ast.If, ast.For, ast.While, ast.Try, ast.With) or kind.__name__ == "TryStar":
            for name in _names_set_in(stmt):
                namespace[name] = Unknown(f"`{name}` is set inside a `{kind.__name__.lower()}` block", stmt.lineno)


def _assign(target, value, node, namespace, scope):
    if isinstance(target, ast.Name):
        namespace[target.id] = value
    elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id in namespace:
        name = target.value.id
        current = namespace[name]
        key = evaluate(target.slice, scope)
        if isinstance(current, Map) and isinstance(key, Lit) and isinstance(key.value, str):
            namespace[name] = Map({**current.entries, key.value: Entry(value, node)})
        else:
            namespace[name] = Unknown(f"`{name}[...]` is set item by item", target.lineno)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for name in ast.walk(target):
            if isinstance(name, ast.Name):
                namespace[name.id] = Unknown(f"`{name.id}` is unpacked from a sequence", target.lineno)


def _augment(stmt, namespace, scope):
    if not isinstance(stmt.target, ast.Name):
        return
    name = stmt.target.id
    current = scope.lookup(name, stmt.target)
    more = evaluate(stmt.value, scope)
    if isinstance(stmt.op, ast.Add) and isinstance(current, Seq) and isinstance(more, Seq):
        namespace[name] = Seq(current.items + more.items)
    elif isinstance(stmt.op, ast.BitOr) and isinstance(current, Map) and isinstance(more, Map):
        namespace[name] = Map({**current.entries, **more.entries})
    else:
        namespace[name] = more if isinstance(more, Unknown) else Unknown(f"`{ast.unparse(stmt)}` cannot be read statically", stmt.lineno)


def _mutate(call, namespace, scope):
    """`config_options.update(...)`, `inputs.append(...)` and the like on a name of the class body."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in namespace):
        return
    name = func.value.id
    current = namespace[name]
    if not isinstance(current, (Map, Seq)):
        return
    changed = _changed(current, func.attr, call, scope)
    if changed is None:
        changed = Unknown(f"`{name}` is changed by `{ast.unparse(call)}`, which is not read statically", call.lineno)
    namespace[name] = changed


def _changed(current, method, call, scope):
    if isinstance(current, Map) and method == "update":
        entries = dict(current.entries)
        for arg in call.args:
            more = evaluate(arg, scope)
            if not isinstance(more, Map):
                return more if isinstance(more, Unknown) else None
            entries.update(more.entries)
        keywords = keyword_entries(call.keywords, scope)
        if isinstance(keywords, Unknown):
            return keywords
        entries.update(keywords)
        return Map(entries)
    if isinstance(current, Map) and method == "pop" and call.args:
        key = evaluate(call.args[0], scope)
        if isinstance(key, Lit) and isinstance(key.value, str):
            return Map({k: v for k, v in current.entries.items() if k != key.value})
        return None
    if isinstance(current, Seq) and method == "append" and len(call.args) == 1:
        return Seq(current.items + [evaluate(call.args[0], scope)])
    if isinstance(current, Seq) and method == "extend" and len(call.args) == 1:
        more = evaluate(call.args[0], scope)
        return Seq(current.items + more.items) if isinstance(more, Seq) else None
    return None


def _is_abstract(decorator):
    name = decorator.attr if isinstance(decorator, ast.Attribute) else getattr(decorator, "id", None)
    return name == "abstractmethod"


def _names_set_in(stmt):
    names = []
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            names.append(node.func.value.id)  # a method call that may change the name's value
    return names
