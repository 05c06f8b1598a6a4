"""The YAML a stages config file uses, read with the standard library: nested block mappings,
block and flow lists, flow mappings of scalars, and plain, quoted, numeric, boolean and null
scalars."""
import re


def scalar(text):
    text = text.strip()
    if not text or text in ("~", "null", "Null", "NULL"):
        return None
    if text[0] in "\"'" and text[-1] == text[0]:
        return text[1:-1]
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [scalar(x) for x in inner.split(",")] if inner else []
    if text.startswith("{") and text.endswith("}"):
        inner = text[1:-1].strip()
        pairs = [item.partition(":") for item in inner.split(",")] if inner else []
        return {k.strip(): scalar(v) for k, _, v in pairs}
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", text):
        return float(text)
    return text


def load_yaml(text):
    lines = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.strip():
            lines.append((len(line) - len(line.lstrip()), line.strip()))
    value, _ = block(lines, 0, lines[0][0] if lines else 0)
    return value or {}


def block(lines, i, indent):
    if i < len(lines) and lines[i][1].startswith("- "):
        out = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            out.append(scalar(lines[i][1][2:]))
            i += 1
        return out, i
    out = {}
    while i < len(lines) and lines[i][0] == indent:
        key, _, rest = lines[i][1].partition(":")
        i += 1
        if rest.strip():
            out[key.strip()] = scalar(rest)
        elif i < len(lines) and lines[i][0] > indent:
            out[key.strip()], i = block(lines, i, lines[i][0])
        elif i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            out[key.strip()], i = block(lines, i, indent)
        else:
            out[key.strip()] = None
    return out, i
