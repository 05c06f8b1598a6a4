"""Where Python's import system would find a module on a given search path."""

import os


class Spec:
    """A module found on the search path: a source file, or a namespace package's folders."""

    def __init__(self, name, file, is_package, path):
        self.name = name
        self.file = file  # None for a namespace package
        self.is_package = is_package
        self.path = path  # the package's __path__: the folders its submodules are looked for in

    @property
    def namespace(self):
        return self.file is None


class Finder:
    def __init__(self, search_path):
        self.search_path = list(search_path)
        self.specs = {}
        self.searched = {}  # module name -> candidate paths looked at, its parents' included
        self.absent = {}  # candidate paths looked for and missing, in order (a dict as an ordered set)

    def find(self, name):
        """The module's Spec, or None when it is not on the search path (an external module)."""
        if name not in self.specs:
            self.specs[name] = self._find(name)
        return self.specs[name]

    def _find(self, name):
        parent, _, last = name.rpartition(".")
        searched = []
        if parent:
            outer = self.find(parent)
            searched.extend(self.searched[parent])
            folders = outer.path if outer is not None and outer.is_package else []
        else:
            folders = self.search_path
        self.searched[name] = searched
        portions = []
        # The order of CPython's FileFinder: a regular package, then a module, in each folder;
        # a folder without __init__.py is a namespace portion, used only if nothing else is found.
        for folder in folders:
            package = os.path.join(folder, last)
            init = os.path.join(package, "__init__.py")
            searched.append(init)
            if os.path.isfile(init):
                return Spec(name, init, True, [package])
            self.absent[init] = None
            module = package + ".py"
            searched.append(module)
            if os.path.isfile(module):
                return Spec(name, module, False, [])
            self.absent[module] = None
            if os.path.isdir(package):
                portions.append(package)
        if portions:
            return Spec(name, None, True, portions)
        return None
