"""ceci's registry, as `PipelineStage.__init_subclass__` would fill it, read from the classes."""

import math

from .classes import CECI_FILE_SUFFIXES, ClassInfo, Undecided, ceci_file_type, class_attribute, known_external
from .values import ROOT, Builtin, ClassRef, External, Function, Lit, Map, Seq, StageParam, Unknown, source

_OPTION_TYPES = ("str", "int", "float", "bool", "list", "dict")
_ITEM_TYPES = ("str", "int", "float")


def registered_stages(program):
    """The stages ceci would register, in registration order, as answer entries."""
    registered = {}  # registry name -> entry; a reloaded name moves to its new place
    entries = []
    for info in program.classes:
        try:
            stage = _describe(info, program)
        except Exception as e:  # a bug here must not hide the other classes
            entry = _entry(info, program, info.name)
            entry["error"] = f"internal error in ceci_stages.py while reading this class: {type(e).__name__}: {e}"
            stage = entry, False
        if stage is None:
            continue
        entry, allow_reload = stage
        earlier = registered.get(entry["name"])
        if earlier is not None and not allow_reload:
            _add_error(entry, f"DuplicateStageName: stage name {entry['name']} is already used by class {earlier['class_name']} ({earlier['file']}:{earlier['line']}); give one of them a different `name`")
        else:
            if earlier is not None:
                entries.remove(earlier)
            registered[entry["name"]] = entry
        entries.append(entry)
    return entries


def _describe(info, program):
    """(entry, allow_reload) for a complete stage class, None for any other class."""
    mro = info.mro(program)
    problems = []
    if not any(e is ROOT for e in mro):
        unknown = next((u for u in map(_unreadable, mro) if u is not None), None)
        if unknown is None or not _looks_like_stage(mro, program):
            return None
        problems.append(f"cannot tell whether it is a ceci stage: {unknown}")
    # When that is unknown, every attribute the unreadable base might define is unknown too:
    # the first problem says it all.
    sink = [] if problems else problems
    inputs = class_attribute(info, "inputs", program)
    outputs = class_attribute(info, "outputs", program)
    run = class_attribute(info, "run", program)
    # ceci registers only complete classes: inputs and outputs set, run not abstract.
    if inputs is None or outputs is None or (isinstance(run, Function) and run.abstract):
        return None
    for attr, value in (("inputs", inputs), ("outputs", outputs), ("run", run)):
        if isinstance(value, Undecided):
            sink.append(f"cannot tell whether it has `{attr}`: line {value.line}: {value.why}")
    entry = _entry(info, program, _registry_name(info, mro, program, sink))
    entry["inputs"] = _files(inputs, "inputs", program, sink, suffix_needed=False)
    entry["outputs"] = _files(outputs, "outputs", program, sink, suffix_needed=True)
    if any(f["tag"] == "config" for f in entry["inputs"]):
        sink.append("an input tagged `config` is implicit in ceci (ReservedNameError): rename it")
    config = class_attribute(info, "config", program)
    if config is not None and not isinstance(config, (Function, Undecided)):
        sink.append("a class attribute `config` is reserved by ceci (ReservedNameError): did you mean config_options?")
    entry["config"] = _config(class_attribute(info, "config_options", program), sink)
    entry["parallel"] = _flag(class_attribute(info, "parallel", program), "parallel", True, sink)
    allow_reload = _flag(class_attribute(info, "allow_reload", program), "allow_reload", False, sink)
    if problems:
        entry["error"] = "; ".join(problems)
    return entry, allow_reload


def _entry(info, program, name):
    top = info.module.name.partition(".")[0]
    return {
        "name": name,
        "class_name": info.name,
        "module": info.module.name,
        "top_package": top,
        "namespace": program.finder.find(top).namespace,
        "file": info.module.file,
        "line": info.node.lineno,
        "inputs": [],
        "outputs": [],
        "config": {},
        "parallel": True,
    }


def _add_error(entry, message):
    entry["error"] = entry["error"] + "; " + message if "error" in entry else message


def _unreadable(entry):
    """Why an MRO entry's attributes are unknown, or None when they are known."""
    if isinstance(entry, External) and not known_external(entry.qualname):
        return f"base {entry.qualname} comes from a module not on the search path"
    if isinstance(entry, Unknown):
        return f"line {entry.line}: {entry.why}"
    return None


def _looks_like_stage(mro, program):
    markers = ("inputs", "outputs", "config_options")
    return any(isinstance(e, ClassInfo) and any(m in e.namespace(program) for m in markers) for e in mro)


def _registry_name(info, mro, program, problems):
    """ceci's rule: own or inherited `name`, else the class name; ceci sets `name` on every stage
    class it sees, so a subclass without one inherits its nearest stage ancestor's."""
    for entry in mro:
        if isinstance(entry, ClassInfo):
            namespace = entry.namespace(program)
            if entry is not info and any(e is ROOT for e in entry.mro(program)):
                return _registry_name(entry, entry.mro(program), program, problems)
            if "name" in namespace:
                value = namespace["name"]
                if isinstance(value, Lit) and value.value is None:
                    return info.name
                if isinstance(value, Lit) and isinstance(value.value, str):
                    return value.value
                problems.append(f"`name` is not a literal string: {_why(value)}")
                return info.name
        elif _unreadable(entry) is not None:
            problems.append(f"`name` may be inherited from an unreadable base: {_unreadable(entry)}")
            return info.name
    return info.name


def _files(value, attr, program, problems, suffix_needed):
    if isinstance(value, Unknown):
        problems.append(f"`{attr}` cannot be read statically: {_why(value)}")
        return []
    if not isinstance(value, Seq):
        problems.append(f"`{attr}` is not a list of (tag, file type) pairs")
        return []
    files = []
    for item in value.items:
        if not (isinstance(item, Seq) and len(item.items) == 2):
            problems.append(f"an item of `{attr}` is not a (tag, file type) pair: {_why(item)}")
            continue
        tag, file_type = item.items
        if not (isinstance(tag, Lit) and isinstance(tag.value, str)):
            problems.append(f"a tag of `{attr}` is not a literal string: {_why(tag)}")
            continue
        type_name, suffix, missing = _file_type(file_type, program)
        # Only an output's path needs the suffix; an input's type must still be a class.
        if missing and (suffix_needed or type_name is None):
            problems.append(f"{attr[:-1]} {tag.value}: {missing}")
        files.append({"tag": tag.value, "type": type_name, "suffix": suffix})
    return files


def _file_type(value, program):
    """(type name or None, suffix or None, why the suffix is missing or None)."""
    if isinstance(value, ClassRef):
        name = value.info.name
        suffix = class_attribute(value.info, "suffix", program)
        if isinstance(suffix, Lit) and isinstance(suffix.value, str):
            return name, suffix.value, None
        if suffix is None or isinstance(suffix, Lit):
            return name, None, f"file type {name} sets no suffix"
        return name, None, f"file type {name}: the suffix cannot be read: {_why(suffix)}"
    if isinstance(value, External):
        name = value.qualname.rpartition(".")[2]
        ceci_type = ceci_file_type(value.qualname)
        if ceci_type is not None and CECI_FILE_SUFFIXES[ceci_type] is not None:
            return name, CECI_FILE_SUFFIXES[ceci_type], None
        if ceci_type is not None:
            return name, None, f"file type {name} sets no suffix"
        return name, None, f"file type {value.qualname} comes from a module not on the search path"
    return None, None, f"the file type is not a class: {_why(value)}"


def _config(value, problems):
    if value is None:
        return {}
    if not isinstance(value, Map):
        problems.append(f"`config_options` cannot be read statically: {_why(value)}")
        return {}
    return {key: _option(entry) for key, entry in value.entries.items()}


def _option(entry):
    value = entry.value
    if isinstance(value, StageParam):
        return _parameter_option(value)
    if isinstance(value, Builtin) and value.name in _OPTION_TYPES:
        option = {"type": value.name, "required": True}
        if value.name == "list":
            option["item"] = "str"
        return option
    if isinstance(value, Lit) and value.value is None:
        return {"type": "any", "required": True}
    item_type = _type_list(value)
    if item_type is not None:  # [float]: a list of floats with no usable default
        return {"type": "list", "item": item_type, "required": False}
    ok, default = _literal(value)
    if not ok:
        return {"type": "any", "default": {"expr": source(entry.node)}, "required": False}
    option = {"type": _type_of(default), "default": default, "required": False}
    _add_item(option, default)
    return option


def _parameter_option(param):
    dtype = param.dtype
    type_name = dtype.name if isinstance(dtype, Builtin) and dtype.name in _OPTION_TYPES else "any"
    option = {"type": type_name}
    default = param.default.value if param.default is not None else None
    given_default = default is not None and not (isinstance(default, Lit) and default.value is None)
    literal = None
    if given_default:
        item_type = _type_list(default)
        ok, value = _literal(default)
        if item_type is not None:
            option["item"] = item_type
        elif ok:
            option["default"] = literal = value
        else:
            option["default"] = {"expr": source(param.default.node)}
    if isinstance(param.required, Lit) and isinstance(param.required.value, bool):
        option["required"] = param.required.value
    else:
        option["required"] = not given_default
    if isinstance(param.msg, Lit) and isinstance(param.msg.value, str):
        option["help"] = param.msg.value
    if "item" not in option and (not given_default or literal is not None):
        _add_item(option, literal)
    return option


def _type_list(value):
    """The item type of `[float]`-style values."""
    if isinstance(value, Seq) and len(value.items) == 1 and isinstance(value.items[0], Builtin) and value.items[0].name in _ITEM_TYPES:
        return value.items[0].name
    return None


def _add_item(option, default):
    """ceci parses a list option's command-line value by its default's first item (str if none)."""
    if option["type"] != "list":
        return
    first = default[0] if isinstance(default, list) and default else None
    item = "str" if first is None else _type_of(first)
    if item in _ITEM_TYPES:
        option["item"] = item


def _literal(value):
    """(True, JSON value) for a value made of literals only."""
    if isinstance(value, Lit):
        if isinstance(value.value, float) and not math.isfinite(value.value):
            return False, None
        return True, value.value
    if isinstance(value, Seq):
        items = [_literal(v) for v in value.items]
        return all(ok for ok, _ in items), [v for _, v in items]
    if isinstance(value, Map):
        items = {k: _literal(e.value) for k, e in value.entries.items()}
        return all(ok for ok, _ in items.values()), {k: v for k, (_, v) in items.items()}
    return False, None


def _type_of(default):
    if isinstance(default, bool):  # before int: bool is an int in Python
        return "bool"
    for python_type, name in ((str, "str"), (int, "int"), (float, "float"), (list, "list"), (dict, "dict")):
        if isinstance(default, python_type):
            return name
    return "any"


def _flag(value, attr, fallback, problems):
    if isinstance(value, Lit):
        return bool(value.value)
    if value is None:
        return fallback
    problems.append(f"`{attr}` is not a literal: {_why(value)}")
    return fallback


def _why(value):
    if isinstance(value, Unknown):
        return f"line {value.line}: {value.why}" if value.line else value.why
    return f"it is {type(value).__name__.lower()} here"
