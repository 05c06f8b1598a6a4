"""Reads the ceci pipeline stages that Python modules define, without importing anything.

stdin: {"search_path": [folders], "modules": [dotted names]}; stdout: one JSON answer (see
src/config/ceci-python.ts for its fields). Standard library only, Python 3.9+.
"""

import gc
import json
import os
import sys

if sys.version_info < (3, 9):  # ast.unparse
    sys.exit(f"ceci_stages.py needs Python 3.9 or later, not {sys.version.split()[0]}")
sys.dont_write_bytecode = True  # the package folder may be read-only, and must stay clean in git
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stage_reader.program import Program  # noqa: E402
from stage_reader.stages import registered_stages  # noqa: E402


def answer(search_path, modules):
    program = Program(search_path)
    found = []
    for name in modules:
        try:
            program.import_module(name)
        except RecursionError:
            program.errors.append({"module": name, "message": "imports or definitions nest too deeply to be read"})
        spec = program.finder.find(name)
        entry = {"name": name, "found": spec is not None, "searched": program.finder.searched.get(name, [])}
        if spec is not None and spec.file is not None:
            entry["file"] = spec.file
        found.append(entry)
    classes = registered_stages(program)
    files = list(program.read_files) + [p for p in program.finder.absent if p not in program.read_files]
    return {"modules": found, "classes": classes, "files": files, "errors": program.errors}


def read_request(text):
    request = json.loads(text)
    search_path, modules = request.get("search_path"), request.get("modules")
    for key, value in (("search_path", search_path), ("modules", modules)):
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ValueError(f"`{key}` must be a list of strings")
    return search_path, modules


def main():
    try:
        search_path, modules = read_request(sys.stdin.read())
    except (ValueError, AttributeError) as e:
        print(f"ceci_stages.py: bad request on stdin: {e}", file=sys.stderr)
        return 2
    sys.setrecursionlimit(10000)  # deep but finite import chains and nested expressions
    # The parsed trees are millions of objects that live until exit: collecting them would
    # more than double the run time, for no memory this short process needs back.
    gc.disable()
    json.dump(answer(search_path, modules), sys.stdout, allow_nan=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
