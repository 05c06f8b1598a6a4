"""One module's top level, read once: what each name is bound to, and what runs on import."""

import ast


class Binding:
    """What a top-level statement binds a name to.

    kind: "module" (a = module `target`), "from" (a = attribute `attr` of module `target`),
    "value" (a = the expression `node`), "class", "function" (node is the definition), or
    "opaque" (bound in a way not read statically; `why` says how).
    """

    def __init__(self, kind, pos, line, node=None, target=None, attr=None, why=None):
        self.kind = kind
        self.pos = pos
        self.line = line
        self.node = node
        self.target = target
        self.attr = attr
        self.why = why


class ModuleSource:
    def __init__(self, spec, tree):
        self.name = spec.name
        self.file = spec.file
        self.is_package = spec.is_package
        self.bindings = {}  # name -> [Binding] in statement order
        self.stars = []  # (pos, absolute module name) of `from M import *`
        # What importing the module does, in order: ("import", pos, module),
        # ("from", pos, module, [names]) and ("class", pos, ClassDef).
        self.events = []
        self.public_names = None  # __all__ when it is a literal list of strings
        self.problems = []  # (line, message): statements that would fail on import
        self._pos = 0
        if tree is not None:
            self._collect(tree.body, fallback=False)

    def binding(self, name, before):
        """The last binding of `name` made before statement position `before`."""
        for b in reversed(self.bindings.get(name, ())):
            if b.pos < before:
                return b
        return None

    def absolute(self, level, module):
        """The absolute name a (possibly relative) `from` import refers to, or None if invalid."""
        if level == 0:
            return module
        package = self.name if self.is_package else self.name.rpartition(".")[0]
        bits = package.rsplit(".", level - 1) if package else []
        if len(bits) < level:
            return None
        return bits[0] + "." + module if module else bits[0]

    def _bind(self, name, binding, fallback):
        # An except handler's binding is a fallback for when the try body failed: the try's own wins.
        if fallback and name in self.bindings:
            return
        self.bindings.setdefault(name, []).append(binding)

    def _collect(self, statements, fallback):
        for stmt in statements:
            self._pos += 1
            pos = self._pos
            kind = type(stmt)
            if kind is ast.Import:
                for alias in stmt.names:
                    if alias.asname:
                        self._bind(alias.asname, Binding("module", pos, stmt.lineno, target=alias.name), fallback)
                    else:
                        top = alias.name.partition(".")[0]
                        self._bind(top, Binding("module", pos, stmt.lineno, target=top), fallback)
                    if not fallback:
                        self.events.append(("import", pos, alias.name))
            elif kind is ast.ImportFrom:
                self._collect_from(stmt, pos, fallback)
            elif kind is ast.ClassDef:
                self._bind(stmt.name, Binding("class", pos, stmt.lineno, node=stmt), fallback)
                if not fallback:
                    self.events.append(("class", pos, stmt))
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                self._bind(stmt.name, Binding("function", pos, stmt.lineno, node=stmt), fallback)
            elif kind is ast.Assign:
                for target in stmt.targets:
                    self._collect_assign(target, stmt.value, pos, fallback)
            elif kind is ast.AnnAssign:
                if stmt.value is not None:
                    self._collect_assign(stmt.target, stmt.value, pos, fallback)
            elif kind is ast.AugAssign:
                self._collect_augment(stmt, pos, fallback)
            elif kind is ast.If:
                if not _skipped_on_import(stmt.test):
                    self._collect(stmt.body, fallback)
                self._collect(stmt.orelse, fallback)
            elif kind is ast.Try or kind.__name__ == "TryStar":
                self._collect(stmt.body, fallback)
                self._collect(stmt.orelse, fallback)
                for handler in stmt.handlers:
                    self._collect(handler.body, fallback=True)
                self._collect(stmt.finalbody, fallback)
            elif kind in (ast.With, ast.AsyncWith):
                self._collect(stmt.body, fallback)
            elif kind in (ast.For, ast.AsyncFor, ast.While):
                if kind is not ast.While:
                    self._opaque_targets(stmt.target, pos, "is a loop variable", fallback)
                self._collect(stmt.body, fallback)
                self._collect(stmt.orelse, fallback)

    def _collect_from(self, stmt, pos, fallback):
        base = self.absolute(stmt.level, stmt.module)
        if base is None:
            dots = "." * stmt.level + (stmt.module or "")
            self.problems.append((stmt.lineno, f"relative import `from {dots} import ...` goes beyond the top-level package"))
            return
        names = []
        for alias in stmt.names:
            if alias.name == "*":
                if not fallback:
                    self.stars.append((pos, base))
            else:
                names.append(alias.name)
                self._bind(alias.asname or alias.name, Binding("from", pos, stmt.lineno, target=base, attr=alias.name), fallback)
        if not fallback:
            self.events.append(("from", pos, base, names))

    def _collect_assign(self, target, value, pos, fallback):
        if isinstance(target, ast.Name):
            self._bind(target.id, Binding("value", pos, target.lineno, node=value), fallback)
            if target.id == "__all__":
                self.public_names = _string_list(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self._opaque_targets(target, pos, "is unpacked from a sequence", fallback)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            # Changing one item of a module-level dict or list: the whole value is no longer a literal.
            name = target.value.id
            self._bind(name, Binding("opaque", pos, target.lineno, why=f"`{name}` is changed item by item"), fallback)

    def _collect_augment(self, stmt, pos, fallback):
        if not isinstance(stmt.target, ast.Name):
            return
        name = stmt.target.id
        if name == "__all__" and self.public_names is not None:
            more = _string_list(stmt.value)
            self.public_names = self.public_names + more if more is not None else None
        self._bind(name, Binding("opaque", pos, stmt.lineno, why=f"`{name}` is changed by `{name} {_OPERATORS.get(type(stmt.op), 'op=')}`"), fallback)

    def _opaque_targets(self, target, pos, why, fallback):
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                self._bind(node.id, Binding("opaque", pos, node.lineno, why=f"`{node.id}` {why}"), fallback)


_OPERATORS = {ast.Add: "+=", ast.BitOr: "|=", ast.Sub: "-=", ast.Mult: "*="}


def _skipped_on_import(test):
    """`if __name__ == "__main__":` and `if TYPE_CHECKING:` bodies do not run when a module is imported."""
    if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
        return True
    if isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING":
        return True
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _string_list(node):
    if isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return [e.value for e in node.elts]
    return None
