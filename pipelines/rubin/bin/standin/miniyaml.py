"""A YAML reader for BPS submit files, the subset they use: block mappings and sequences, flow
lists and mappings, plain and quoted scalars (int, float, bool, null), `|` and `>` block
scalars, comments. Anything else is an error naming its line."""
import json
import re


class YamlError(Exception):
    pass


def scalar(text, line):
    t = text.strip()
    if t == "" or t in ("~", "null", "Null", "NULL"):
        return None
    if t[0] == '"':
        try:
            return json.loads(t)
        except ValueError:
            raise YamlError(f"line {line}: bad double-quoted string {t}")
    if t[0] == "'":
        if not t.endswith("'"):
            raise YamlError(f"line {line}: unterminated single-quoted string")
        return t[1:-1].replace("''", "'")
    if t[0] in "[{":
        return flow(t, line)
    if t in ("true", "True", "TRUE"):
        return True
    if t in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"-?\d+", t):
        return int(t)
    if re.fullmatch(r"-?\d+\.\d*(e[-+]?\d+)?", t, re.I):
        return float(t)
    if t[0] in "&*!|>%@`":
        raise YamlError(f"line {line}: {t[0]!r} (anchors, aliases, tags) is not read here")
    return t


def flow(t, line):
    pos = 0

    def value():
        nonlocal pos
        while pos < len(t) and t[pos] == " ":
            pos += 1
        if t[pos] == "[":
            pos += 1
            out = []
            while True:
                while t[pos] == " ":
                    pos += 1
                if t[pos] == "]":
                    pos += 1
                    return out
                out.append(value())
                while t[pos] == " ":
                    pos += 1
                if t[pos] == ",":
                    pos += 1
        if t[pos] == "{":
            pos += 1
            out = {}
            while True:
                while t[pos] == " ":
                    pos += 1
                if t[pos] == "}":
                    pos += 1
                    return out
                k = atom(":")
                pos += 1
                out[k] = value()
                while t[pos] == " ":
                    pos += 1
                if t[pos] == ",":
                    pos += 1
        return atom(",]}")

    def atom(stops):
        nonlocal pos
        if t[pos] in "\"'":
            q = t[pos]
            end = pos + 1
            while end < len(t) and (t[end] != q or (q == '"' and t[end - 1] == "\\")):
                end += 1
            s = scalar(t[pos : end + 1], line)
            pos = end + 1
            return s
        start = pos
        while pos < len(t) and t[pos] not in stops:
            pos += 1
        return scalar(t[start:pos], line)

    try:
        v = value()
    except IndexError:
        raise YamlError(f"line {line}: unterminated flow collection {t}")
    return v


def strip_comment(s):
    out, q = [], None
    for i, ch in enumerate(s):
        if q:
            if ch == q:
                q = None
        elif ch in "\"'":
            q = ch
        elif ch == "#" and (i == 0 or s[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def load(text):
    lines = [(n + 1, l.rstrip("\n")) for n, l in enumerate(text.split("\n"))]
    items = []  # (line, indent, content, raw)
    for n, raw in lines:
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlError(f"line {n}: a tab in indentation")
        body = strip_comment(raw)
        if body.strip() in ("", "---"):
            items.append((n, None, "", raw))
            continue
        items.append((n, len(body) - len(body.lstrip()), body.strip(), raw))
    pos = 0

    def skip_blank():
        nonlocal pos
        while pos < len(items) and items[pos][1] is None:
            pos += 1

    def block_scalar(style, indent):
        nonlocal pos
        parts = []
        block_indent = None
        while pos < len(items):
            n, ind, content, raw = items[pos]
            if ind is not None and ind <= indent:
                break
            if ind is None and raw.strip() and len(raw) - len(raw.lstrip()) <= indent:
                break  # a comment line outside the block
            if ind is not None and block_indent is None:
                block_indent = ind
            parts.append(raw[block_indent:] if block_indent is not None and len(raw) >= block_indent else "")
            pos += 1
        while parts and not parts[-1].strip():
            parts.pop()
        if style.startswith("|"):
            return "\n".join(parts) + ("" if style.endswith("-") else "\n")
        return " ".join(p.strip() for p in parts if p.strip()) + ("" if style.endswith("-") else "\n")

    def node(indent):
        nonlocal pos
        skip_blank()
        if pos >= len(items):
            return None
        n, ind, content, _ = items[pos]
        if content.startswith("- ") or content == "-":
            return seq(ind)
        return mapping(ind)

    def value_after(rest, n, ind):
        nonlocal pos
        if rest in ("|", "|-", ">", ">-", "|+", ">+"):
            return block_scalar(rest, ind)
        if rest == "":
            skip_blank()
            if pos < len(items) and (items[pos][1] > ind or (items[pos][1] == ind and items[pos][2].startswith("-"))):
                return node(items[pos][1])
            return None
        return scalar(rest, n)

    def mapping(indent):
        nonlocal pos
        out = {}
        while True:
            skip_blank()
            if pos >= len(items) or items[pos][1] < indent:
                return out
            n, ind, content, _ = items[pos]
            if ind > indent:
                raise YamlError(f"line {n}: unexpected indentation")
            m = re.match(r"^((?:\"[^\"]*\"|'[^']*'|[^:#]+?)):(?:\s+|$)(.*)$", content)
            if not m:
                raise YamlError(f"line {n}: expected key: value, got {content!r}")
            key = scalar(m.group(1), n)
            pos += 1
            out[key] = value_after(m.group(2).strip(), n, ind)

    def seq(indent):
        nonlocal pos
        out = []
        while True:
            skip_blank()
            if pos >= len(items) or items[pos][1] != indent or not (items[pos][2].startswith("- ") or items[pos][2] == "-"):
                return out
            n, ind, content, raw = items[pos]
            rest = content[1:].strip()
            if re.match(r"^[^\"'\[{][^:]*:(\s|$)", rest):
                # "- key: value" starts a mapping indented past the dash
                items[pos] = (n, ind + (len(content) - len(rest)), rest, raw)
                out.append(mapping(ind + (len(content) - len(rest))))
            else:
                pos += 1
                out.append(value_after(rest, n, ind))

    result = node(0)
    skip_blank()
    if pos < len(items):
        raise YamlError(f"line {items[pos][0]}: unexpected {items[pos][2]!r}")
    return result if result is not None else {}
