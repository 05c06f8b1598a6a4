"""Argument parsing that fails as the stack's click commands do: exit 2, "Error: No such option"."""
import argparse
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"Usage: {self.prog} [OPTIONS]\nTry '{self.prog} --help' for help.\n", file=sys.stderr)
        if "unrecognized arguments" in message:
            message = "No such option: " + message.split(": ", 1)[1].split()[0]
        print(f"Error: {message}", file=sys.stderr)
        sys.exit(2)


def fail(message, code=1):
    """A failure as the stack reports one: the exception's name and message on stderr."""
    print(message, file=sys.stderr)
    sys.exit(code)


def table(header, rows):
    """An astropy-style table (pformat): right-aligned columns, a line of dashes."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = [" ".join(h.rjust(w) for h, w in zip(header, widths)), " ".join("-" * w for w in widths)]
    lines += [" ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)
