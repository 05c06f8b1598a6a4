"""Logging as the stack's CLIs set it up (daf_butler's CliLog): records on stderr as
"{name} {levelname}: {message}", or with --long-log
"{levelname} {asctime} {name} ({label})({filename}:{lineno}) - {message}"; the `lsst` loggers
at INFO unless --log-level says otherwise (LEVEL, or component=LEVEL, '.' for the root);
--log-file appends the same records (JSON lines for a .json file)."""
import datetime
import json
import os
import sys

LEVELS = {"TRACE": 5, "DEBUG": 10, "VERBOSE": 15, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


class Log:
    def __init__(self, long_log=False, levels=(), files=()):
        self.long = long_log
        self.levels = {"": 30, "lsst": 20}
        for item in levels:
            name, _, level = item.rpartition("=")
            if level.upper() not in LEVELS:
                raise ValueError(f"Invalid value for '--log-level': {level!r} is not one of {', '.join(LEVELS)}.")
            self.levels[{"": "lsst", ".": ""}.get(name, name)] = LEVELS[level.upper()]
        self.files = list(files)
        self.label = ""

    def enabled(self, name, level):
        parts = name.split(".")
        for i in range(len(parts), -1, -1):
            key = ".".join(parts[:i])
            if key in self.levels:
                return LEVELS[level] >= self.levels[key]
        return LEVELS[level] >= self.levels[""]

    def emit(self, level, name, message):
        if not self.enabled(name, level):
            return
        frame = sys._getframe(2)
        where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
        stamp = datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(sep="T", timespec="milliseconds")
        if self.long:
            line = f"{level} {stamp} {name} ({self.label})({where}) - {message}"
        else:
            line = f"{name} {level}: {message}"
        sys.stderr.flush()
        os.write(2, (line + "\n").encode())  # one write: lines of parallel quanta do not mix
        for path in self.files:
            with open(path, "a") as f:
                if path.endswith(".json"):
                    f.write(json.dumps({"name": name, "levelname": level, "asctime": stamp, "message": message, "MDC": {"LABEL": self.label}}) + "\n")
                else:
                    f.write(f"{level} {stamp} {name} ({self.label})({where}) - {message}\n")

    def trace(self, name, message):
        self.emit("TRACE", name, message)

    def debug(self, name, message):
        self.emit("DEBUG", name, message)

    def verbose(self, name, message):
        self.emit("VERBOSE", name, message)

    def info(self, name, message):
        self.emit("INFO", name, message)

    def warning(self, name, message):
        self.emit("WARNING", name, message)

    def error(self, name, message):
        self.emit("ERROR", name, message)


def add_global_options(parser):
    """The logging options every stack CLI takes before its subcommand."""
    parser.add_argument("--log-level", action="append", default=[])
    parser.add_argument("--long-log", action="store_true")
    parser.add_argument("--log-file", action="append", default=[])
    parser.add_argument("--log-tty", dest="log_tty", action="store_true", default=True)
    parser.add_argument("--no-log-tty", dest="log_tty", action="store_false")
    parser.add_argument("--log-label", action="append", default=[])


def from_options(a):
    from .cli import split_commas

    return Log(a.long_log, split_commas(a.log_level), split_commas(a.log_file))
