"""The modules of one request: found, read and "imported" in the order Python would import them."""

import ast
import warnings

from .classes import ROOT_ATTRIBUTES, ClassInfo, class_attribute
from .finder import Finder
from .module_source import ModuleSource
from .values import (
    PARAMETER,
    ROOT,
    Builtin,
    ClassRef,
    External,
    Function,
    ModuleRef,
    Scope,
    Unknown,
    evaluate,
)

_END = float("inf")  # a position after every statement: the module as a whole


def ceci_special(module, name):
    """ceci's base class and parameter type, wherever in ceci they are imported from."""
    if module == "ceci" or module.startswith("ceci."):
        if name == "PipelineStage":
            return ROOT
        if name == "StageParameter":
            return PARAMETER
    return None


class Program:
    def __init__(self, search_path):
        self.finder = Finder(search_path)
        self.sources = {}  # module name -> ModuleSource, or None when it could not be read
        self.read_files = {}  # .py files read, in order
        self.errors = []  # {"module", "file", "line", "message"}
        self.imported = set()
        self.classes = []  # ClassInfo of every class statement run on import, in order
        self._infos = {}
        self._resolved = {}
        self._canonical = {}

    # Import: modules run top to bottom, each import running the imported module first.

    def import_module(self, dotted):
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            if not self._run(".".join(parts[:i])):
                return False
        return True

    def _run(self, name):
        if name in self.imported:
            return self.source(name) is not None
        self.imported.add(name)
        source = self.source(name)
        if source is None:
            return False
        for event in source.events:
            if event[0] == "import":
                self.import_module(event[2])
            elif event[0] == "from":
                self._run_from(event[2], event[3])
            else:
                self.classes.append(self.class_info(source, event[2], event[1]))
        return True

    def _run_from(self, module, names):
        if not self.import_module(module):
            return
        source = self.source(module)
        for name in names:
            # `from package import name` imports the submodule unless the package binds the name
            # to something else (`from . import name` in the package itself binds the submodule).
            if source.is_package and not self._binds_other(source, name):
                if self.finder.find(module + "." + name) is not None:
                    self._run(module + "." + name)

    def _binds_other(self, source, name):
        for binding in source.bindings.get(name, ()):
            if not (binding.kind == "from" and binding.target == source.name and binding.attr == name):
                return True
        return any(self.exports(star, name, set()) for star in map(self.source, (m for _, m in source.stars)) if star is not None)

    # Reading

    def source(self, name):
        """The module's ModuleSource; None when it is not on the search path or cannot be read."""
        if name not in self.sources:
            self.sources[name] = self._read(name)
        return self.sources[name]

    def _read(self, name):
        spec = self.finder.find(name)
        if spec is None:
            return None
        if spec.file is None:
            return ModuleSource(spec, None)
        self.read_files[spec.file] = None
        try:
            with open(spec.file, "rb") as f, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. invalid escapes: the users' business, not ours
                tree = ast.parse(f.read(), spec.file)
        except SyntaxError as e:
            error = {"module": name, "file": spec.file, "message": f"syntax error: {e.msg}"}
            if e.lineno is not None:
                error["line"] = e.lineno
            self.errors.append(error)
            return None
        except (OSError, ValueError) as e:  # unreadable, or null bytes in the source
            self.errors.append({"module": name, "file": spec.file, "message": f"cannot read the module: {e}"})
            return None
        source = ModuleSource(spec, tree)
        for line, message in source.problems:
            self.errors.append({"module": name, "file": spec.file, "line": line, "message": message})
        return source

    # Names

    def module_name(self, source, name, pos):
        """What `name` is in the module at statement position `pos` (None when unbound)."""
        binding = source.binding(name, pos)
        for star_pos, star_module in reversed(source.stars):
            if star_pos >= pos or (binding is not None and star_pos < binding.pos):
                continue
            found = self._star_name(star_module, name)
            if found is not None:
                return found
        return self._resolve(source, binding) if binding is not None else None

    def _star_name(self, module, name):
        star_source = self.source(module)
        if star_source is None:
            if self.finder.find(module) is None:
                return External(module + "." + name)  # it may define anything
            return None
        if not self.exports(star_source, name, set()):
            return None
        return self.module_attribute(module, name, None)

    def exports(self, source, name, seen):
        """Whether `from module import *` gives `name` (names only, nothing evaluated)."""
        if source.public_names is not None:
            return name in source.public_names
        if name.startswith("_") or source.name in seen:
            return False
        if name in source.bindings:
            return True
        seen.add(source.name)
        for _, module in source.stars:
            inner = self.source(module)
            if inner is None and self.finder.find(module) is None:
                return True
            if inner is not None and self.exports(inner, name, seen):
                return True
        return False

    def module_attribute(self, module, name, node):
        special = ceci_special(module, name)
        if special is not None:
            return special
        if self.finder.find(module) is None:
            return External(module + "." + name)
        source = self.source(module)
        line = node.lineno if node is not None else None
        if source is None:
            return Unknown(f"module {module} cannot be read (see errors)", line)
        found = self.module_name(source, name, _END)
        if found is not None:
            return found
        if source.is_package and self.finder.find(module + "." + name) is not None:
            return ModuleRef(module + "." + name)
        return Unknown(f"module {module} has no name `{name}`", line)

    def attribute(self, value, attr, node):
        """`value.attr`."""
        if isinstance(value, ModuleRef):
            return self.module_attribute(value.name, attr, node)
        if isinstance(value, External):
            special = ceci_special(value.qualname, attr)
            return special if special is not None else External(value.qualname + "." + attr)
        if isinstance(value, ClassRef):
            found = class_attribute(value.info, attr, self)
            if found is None:
                return Unknown(f"class {value.info.name} has no attribute `{attr}`", node.lineno)
            return found
        if value is ROOT and attr in ROOT_ATTRIBUTES:
            return ROOT_ATTRIBUTES[attr]
        if isinstance(value, Unknown):
            return value
        return Unknown(f"`{ast.unparse(node)}` is computed when the module runs", node.lineno)

    def _resolve(self, source, binding):
        key = id(binding)
        if key in self._resolved:
            return self._resolved[key]
        self._resolved[key] = Unknown(f"a circular definition reaches line {binding.line} of {source.name}", binding.line)
        value = self._value_of(source, binding)
        self._resolved[key] = value
        return value

    def _value_of(self, source, binding):
        kind = binding.kind
        if kind == "module":
            return ModuleRef(binding.target) if self.finder.find(binding.target) is not None else External(binding.target)
        if kind == "from":
            return self.module_attribute(binding.target, binding.attr, None)
        if kind == "value":
            return evaluate(binding.node, Scope(self, source, binding.pos))
        if kind == "class":
            if ceci_special(source.name, binding.node.name) is ROOT:
                return ROOT
            return ClassRef(self.class_info(source, binding.node, binding.pos))
        if kind == "function":
            return Function(abstract=False)
        return Unknown(binding.why, binding.line)

    def class_info(self, source, node, pos):
        key = id(node)
        if key not in self._infos:
            self._infos[key] = ClassInfo(source, node, pos)
        return self._infos[key]

    def canonical(self, value):
        """One object per builtin or external class, so that the MRO can compare them by identity."""
        if isinstance(value, Builtin):
            return self._canonical.setdefault(("builtin", value.name), value)
        if isinstance(value, External):
            return self._canonical.setdefault(("external", value.qualname), value)
        return value
