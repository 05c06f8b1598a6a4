"""Command-line plumbing shared by the stand-ins: option parsing that fails as the stack's click
commands fail (exit 2, "Error: No such option: --foo"), the stack's exceptions as its CLIs report
them (catch_and_exit: an ERROR log with a traceback, exit 1; click's "Error: ..." for a
ClickException), and astropy's table layout (Table.pformat), which scripts parse."""
import argparse
import sys


class StackError(Exception):
    """An exception of the stack, by its qualified class name, optionally caused by another."""

    def __init__(self, qualname, message, cause=None):
        super().__init__(message)
        self.qualname, self.message, self.cause = qualname, message, cause


class ClickError(Exception):
    """click.ClickException: 'Error: <message>' on stderr, exit 1."""


def traceback_text(e):
    """The last part of the traceback Python prints for a StackError (with its cause first)."""
    parts = []
    if e.cause is not None:
        parts += [traceback_text(e.cause), "", "The above exception was the direct cause of the following exception:", ""]
    parts += ["Traceback (most recent call last):", '  File "<stand-in>", line 1, in <module>', f"{e.qualname}: {e.message}"]
    return "\n".join(parts)


def report_crash(log, e):
    """What the stack's catch_and_exit does with an exception: an ERROR log with the traceback."""
    log.error("lsst.daf.butler.cli.utils", "Caught an exception, details are in traceback:\n" + traceback_text(e))
    return 1


class Parser(argparse.ArgumentParser):
    """argparse with click's failure messages and exit code 2, no abbreviated options."""

    def __init__(self, prog, usage_args="", **kw):
        super().__init__(prog=prog, allow_abbrev=False, add_help=False, **kw)
        self.usage_args = usage_args
        self.add_argument("-h", "--help", action="help", help=argparse.SUPPRESS)

    def error(self, message):
        print(f"Usage: {self.prog} [OPTIONS] {self.usage_args}".rstrip(), file=sys.stderr)
        print(f"Try '{self.prog} -h' for help.\n", file=sys.stderr)
        print(f"Error: {click_message(message)}", file=sys.stderr)
        sys.exit(2)


def click_message(message):
    """argparse's wording turned into click's."""
    if message.startswith("unrecognized arguments: "):
        first = message.split(": ", 1)[1].split()[0]
        return f"No such option: {first}" if first.startswith("-") else f"Got unexpected extra argument ({first})"
    if message.startswith("the following arguments are required: "):
        names = message.split(": ", 1)[1].split(", ")
        first = names[0]
        return f"Missing option '{first.split('/')[-1]}'." if first.startswith("-") else f"Missing argument '{first.upper()}'."
    if message.startswith("argument "):
        opt, _, why = message[len("argument "):].partition(": ")
        opt = opt.split("/")[-1]
        if why.startswith("invalid choice: "):
            got, _, choices = why[len("invalid choice: "):].partition(" (choose from ")
            return f"Invalid value for '{opt}': {got} is not one of {choices.rstrip(')')}."
        if why.startswith("invalid int value: ") or why.startswith("invalid float value: "):
            kind = "integer" if "int" in why else "float"
            return f"Invalid value for '{opt}': {why.split(': ', 1)[1]} is not a valid {kind}."
        if why.startswith("expected one argument"):
            return f"Option '{opt}' requires an argument."
        return f"Invalid value for '{opt}': {why}"
    return message


def split_commas(values):
    """click's split_commas callback over a repeated option."""
    return [x.strip() for v in values or [] for x in str(v).split(",") if x.strip()]


class Ordered(argparse.Action):
    """Options whose relative order matters (pipetask's -c and -C): appended to one list."""

    def __call__(self, parser, namespace, value, option_string=None):
        actions = getattr(namespace, "pipeline_actions", None) or []
        actions.append((self.dest, value))
        namespace.pipeline_actions = actions


def table(columns, rows, align=None):
    """Lines of an astropy table as pformat makes them: each column as wide as its widest cell,
    name or '---' (three at least), names centred, cells right-justified unless align says '<'."""
    rows = [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max([len(name), 3] + [len(r[i]) for r in rows]) for i, name in enumerate(columns)]
    aligns = align if isinstance(align, (list, tuple)) else [align or ">"] * len(columns)
    just = lambda text, w, a: text.ljust(w) if a == "<" else text.rjust(w)
    lines = [" ".join(name.center(w) for name, w in zip(columns, widths)), " ".join("-" * w for w in widths)]
    lines += [" ".join(just(c, w, a) for c, w, a in zip(r, widths, aligns)) for r in rows]
    return lines
