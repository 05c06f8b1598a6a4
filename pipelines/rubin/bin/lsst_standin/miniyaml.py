"""A YAML subset reader for BPS submit files (no PyYAML here): block mappings and sequences
(`- key: value` items too), flow lists `[a, b]` and maps `{a: 1}` (over several lines too),
plain, 'single' and "double" (with escapes) quoted scalars, PyYAML's (YAML 1.1) resolution of
plain scalars: int, float (with a dot), true/false/yes/no/on/off, null/~, block scalars | |- |+
> >- >+, comments, one document (a leading --- allowed). Anything else (anchors, aliases, tags,
merge keys, complex keys, several documents, tabs in indentation, duplicate keys) is an error
naming its line: YamlError("<file>:<line>: ...")."""
import json
import re

BOOL = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$")


class YamlError(ValueError):
    pass


def scalar(text, where):
    """A plain scalar resolved as PyYAML resolves it."""
    t = text.strip()
    if t in ("", "~") or t.lower() == "null" and t in ("null", "Null", "NULL"):
        return None
    if t.lower() in BOOL and t in (t.lower(), t.capitalize(), t.upper()):
        return BOOL[t.lower()]
    if INT.match(t):
        return int(t.replace("_", ""))
    if FLOAT.match(t) and any(c.isdigit() for c in t):
        return float(t.replace("_", ""))
    if t.lower() in (".inf", "+.inf", "-.inf", ".nan"):
        return float(t.lower().replace(".", ""))
    if t[0] in "&*!%@`|>?" or t.startswith("<<"):
        raise YamlError(f"{where}: {t[0]!r} here starts a YAML construct this reader does not support (anchors, aliases, tags, merge keys, complex keys)")
    if t.startswith(("'", '"')):
        raise YamlError(f"{where}: unterminated quoted string {t}")
    return t


def quoted(text, where):
    """A whole single- or double-quoted scalar and the text after it."""
    q = text[0]
    i = 1
    while i < len(text):
        if q == "'" and text[i] == "'":
            if text[i + 1:i + 2] == "'":
                i += 2
                continue
            return text[1:i].replace("''", "'"), text[i + 1:]
        if q == '"' and text[i] == "\\":
            i += 2
            continue
        if q == '"' and text[i] == '"':
            try:
                return json.loads(text[: i + 1].replace("\\/", "/").replace("\\'", "'")), text[i + 1:]
            except ValueError:
                raise YamlError(f"{where}: unsupported escape in {text[: i + 1]}")
        i += 1
    raise YamlError(f"{where}: unterminated quoted string (a quoted scalar over several lines is not supported)")


def strip_comment(line):
    """The line without its comment (a # at its start or after a space, outside quotes)."""
    q = None
    for i, ch in enumerate(line):
        if q:
            if ch == q and not (q == '"' and line[i - 1] == "\\"):
                q = None
        elif ch in "'\"" and (i == 0 or line[i - 1] in " \t[{,:-"):
            q = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


class Reader:
    def __init__(self, text, name):
        self.lines = text.split("\n")
        self.name = name
        self.i = 0

    def where(self, i=None):
        return f"{self.name}:{(self.i if i is None else i) + 1}"

    def content(self):
        """(index, indent, text) of the next line with content, or None."""
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            body = strip_comment(raw)
            if body.strip():
                lead = raw[: len(raw) - len(raw.lstrip())]
                if "\t" in lead:
                    raise YamlError(f"{self.where()}: a tab in the indentation")
                return self.i, len(lead), body.strip()
            self.i += 1
        return None

    def node(self, indent):
        c = self.content()
        if c is None or c[1] < indent:
            return None
        if c[2] == "-" or c[2].startswith("- "):
            return self.sequence(c[1])
        if key_value(c[2]) is None:
            self.i += 1
            return self.value(c[2], c[1], c[0])
        return self.mapping(c[1])

    def mapping(self, indent):
        out = {}
        while True:
            c = self.content()
            if c is None or c[1] < indent:
                return out
            i, ind, body = c
            if ind > indent:
                raise YamlError(f"{self.where(i)}: unexpected indentation")
            kv = key_value(body)
            if kv is None:
                raise YamlError(f"{self.where(i)}: expected 'key: value', got {body!r}")
            key, rest = kv
            key = quoted(key, self.where(i))[0] if key[0] in "'\"" else scalar(key, self.where(i))
            if key in out:
                raise YamlError(f"{self.where(i)}: duplicate key {key!r}")
            self.i += 1
            out[key] = self.value(rest, ind, i, in_mapping=True)

    def sequence(self, indent):
        out = []
        while True:
            c = self.content()
            if c is None or c[1] < indent or not (c[2] == "-" or c[2].startswith("- ")):
                if c is not None and c[1] > indent:
                    raise YamlError(f"{self.where(c[0])}: unexpected indentation")
                return out
            i, ind, body = c
            rest = body[1:].lstrip()
            if rest and (key_value(rest) is not None or rest == "-" or rest.startswith("- ")):
                # "- key: value": a mapping (or "- - x": a sequence) that starts after the dash
                column = ind + (len(body) - len(rest))
                self.lines[i] = " " * column + rest
                out.append(self.node(column))
            else:
                self.i += 1
                out.append(self.value(rest, ind, i))

    def value(self, rest, indent, i, in_mapping=False):
        where = self.where(i)
        if rest == "":
            c = self.content()
            if c is not None and (c[1] > indent or (in_mapping and c[1] == indent and (c[2] == "-" or c[2].startswith("- ")))):
                return self.node(c[1])
            return None
        if re.match(r"[|>][-+]?$", rest):
            return self.block_scalar(rest, indent)
        if re.match(r"[|>]", rest):
            raise YamlError(f"{where}: block scalar header {rest!r} is not supported (use |, |-, |+, >, >- or >+)")
        if rest[0] in "[{":
            text = rest
            while not balanced(text):
                if self.i >= len(self.lines):
                    raise YamlError(f"{where}: unterminated flow collection")
                text += " " + strip_comment(self.lines[self.i]).strip()
                self.i += 1
            v, tail = flow(text, where)
            if tail.strip():
                raise YamlError(f"{where}: unexpected {tail.strip()!r} after a flow collection")
            return v
        if rest[0] in "'\"":
            v, tail = quoted(rest, where)
            if tail.strip():
                raise YamlError(f"{where}: unexpected {tail.strip()!r} after a quoted scalar")
            return v
        if key_value(rest) is not None and not in_mapping:
            raise YamlError(f"{where}: a mapping cannot start here")
        return scalar(rest, where)

    def block_scalar(self, header, indent):
        lines, block = [], None
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            if raw.strip():
                lead = len(raw) - len(raw.lstrip())
                if block is None:
                    block = lead
                if lead < block or lead <= indent:
                    break
                lines.append(raw[block:])
            else:
                lines.append("")
            self.i += 1
        trailing = 0
        while lines and not lines[-1]:
            lines.pop()
            trailing += 1
        if header[0] == "|":
            text = "\n".join(lines)
        else:
            text = lines[0] if lines else ""
            for prev, line in zip(lines, lines[1:]):
                if line == "":
                    text += "\n"
                elif prev == "":
                    text += line
                elif line.startswith(" ") or prev.startswith(" "):
                    text += "\n" + line
                else:
                    text += " " + line
        if not lines:
            return ""
        chomp = header[1:]
        return text if chomp == "-" else text + "\n" + ("\n" * trailing if chomp == "+" else "")


def key_value(text):
    """(key, rest) when the text is 'key: rest' (or 'key:'), else None."""
    if text[0] in "'\"":
        try:
            _, tail = quoted(text, "?")
        except YamlError:
            return None
        m = re.match(r":(\s+|$)(.*)", tail)
        return (text[: len(text) - len(tail)], m.group(2).strip()) if m else None
    if text[0] in "[{":
        return None
    m = re.match(r"([^#]*?)\s*:(\s+|$)(.*)$", text)
    if not m or m.group(1).startswith("- ") or not m.group(1):
        return None
    return m.group(1), m.group(3).strip()


def balanced(text):
    depth, q = 0, None
    for i, ch in enumerate(text):
        if q:
            if ch == q and not (q == '"' and text[i - 1] == "\\"):
                q = None
        elif ch in "'\"":
            q = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth <= 0


def flow(text, where):
    """A flow collection at the start of text, and the text after it."""
    pos = 0

    def skip():
        nonlocal pos
        while pos < len(text) and text[pos] == " ":
            pos += 1

    def item(stops):
        nonlocal pos
        skip()
        if pos >= len(text):
            raise YamlError(f"{where}: unterminated flow collection")
        if text[pos] in "[{":
            close, out = ("]", []) if text[pos] == "[" else ("}", {})
            pos += 1
            while True:
                skip()
                if pos < len(text) and text[pos] == close:
                    pos += 1
                    return out
                if close == "]":
                    out.append(item(",]"))
                else:
                    k = item(":,}")
                    skip()
                    v = None
                    if pos < len(text) and text[pos] == ":":
                        pos += 1
                        v = item(",}")
                    if k in out:
                        raise YamlError(f"{where}: duplicate key {k!r}")
                    out[k] = v
                skip()
                if pos < len(text) and text[pos] == ",":
                    pos += 1
                elif pos >= len(text) or text[pos] != close:
                    raise YamlError(f"{where}: expected ',' or {close!r} in a flow collection")
        if text[pos] in "'\"":
            v, tail = quoted(text[pos:], where)
            pos = len(text) - len(tail)
            return v
        start = pos
        while pos < len(text) and text[pos] not in stops and not (text[pos] == ":" and ":" in stops and text[pos + 1:pos + 2] in (" ", "", ",", "}")):
            pos += 1
        return scalar(text[start:pos], where)

    v = item("")
    return v, text[pos:]


def load(text, name="<yaml>"):
    """The document in text (an empty one is None)."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        if line.rstrip() == "---" and any(l.strip() and not l.lstrip().startswith("#") for l in lines[:n]):
            raise YamlError(f"{name}:{n + 1}: several YAML documents in one file are not supported")
        if line.startswith("%"):
            raise YamlError(f"{name}:{n + 1}: YAML directives are not supported")
    r = Reader("\n".join("" if l.rstrip() in ("---", "...") else l for l in lines), name)
    result = r.node(0)
    c = r.content()
    if c is not None:
        raise YamlError(f"{r.where(c[0])}: unexpected {c[2]!r}")
    return result


def load_file(path):
    with open(path) as f:
        return load(f.read(), path)
