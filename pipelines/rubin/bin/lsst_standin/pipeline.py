"""The pipeline of a pipetask command. The YAML is not read here: nx-campaign's own loader does
it as pipe_base does (`node .../campaign.js pipeline <path>[#expr] --json`: imports, parameters,
the expression; its located message on a bad file or expression is passed through). Then the
task configs get the pipeline's config files and the command line's -c label:field=value and
-C label:file overrides, in their order. A config file is read, never executed: only
`config.<field> = <literal>` lines; anything else is an error naming the line."""
import ast
import json
import os
import subprocess

from .cli import StackError

CLI_PATH = os.path.join("node_modules", "nx-campaign", "bin", "campaign.js")


def find_cli():
    """NX_CAMPAIGN_CLI, else node_modules/nx-campaign/bin/campaign.js above the current directory,
    else the one of the workspace these stand-ins are in."""
    if os.environ.get("NX_CAMPAIGN_CLI"):
        return os.environ["NX_CAMPAIGN_CLI"]
    d = os.getcwd()
    while True:
        if os.path.isfile(os.path.join(d, CLI_PATH)):
            return os.path.join(d, CLI_PATH)
        if os.path.dirname(d) == d:
            break
        d = os.path.dirname(d)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.normpath(os.path.join(here, "..", "..", "..", CLI_PATH))


def load(uri):
    cli = find_cli()
    argv = [cli] if not cli.endswith(".js") else ["node", cli]
    try:
        r = subprocess.run(argv + ["pipeline", uri, "--json"], capture_output=True, text=True)
    except OSError as e:
        raise StackError("RuntimeError", f"cannot read the pipeline {uri}: {' '.join(argv)}: {e}")
    if r.returncode != 0:
        raise StackError("ValueError", r.stderr.strip() or r.stdout.strip() or f"{' '.join(argv)} pipeline {uri} --json exited with {r.returncode}")
    try:
        pipeline = json.loads(r.stdout)
    except ValueError:
        raise StackError("ValueError", f"{' '.join(argv)} pipeline {uri} --json printed no JSON")
    for t in pipeline["tasks"]:
        t["config"] = dict(t.get("config") or {})
        if t.get("python"):
            raise StackError("NotImplementedError", f"task {t['label']!r} of {uri} has a python: config block; the stand-in pipetask runs no Python (write the fields as config: values)")
        base = os.path.dirname(pipeline.get("file") or uri.split("#")[0])
        for path in t.get("configFiles") or []:
            t["config"].update(read_config_file(os.path.join(base, os.path.expandvars(path))))
    return pipeline


def literal(text):
    """A -c value as pex_config takes it: a Python literal, else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return {"true": True, "false": False}.get(text.strip().lower(), text)


def read_config_file(path):
    if not os.path.isfile(path):
        raise StackError("FileNotFoundError", f"[Errno 2] No such file or directory: {path!r}")
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            code = line.split("#", 1)[0].strip() if not line.lstrip().startswith(("'", '"')) else line.strip()
            if not code:
                continue
            target, eq, value = code.partition("=")
            target = target.strip()
            if not eq or not target.startswith("config.") or not target[len("config."):].replace(".", "").replace("_", "").isalnum():
                raise StackError("ValueError", f"{path}:{n}: {code!r}: only `config.<field> = <literal>` lines are read by the stand-in pipetask (it runs no Python)")
            try:
                out[target[len("config."):]] = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                raise StackError("ValueError", f"{path}:{n}: {value.strip()!r} is not a Python literal (the stand-in pipetask runs no Python)")
    return out


def apply_overrides(pipeline, actions):
    """The -c and -C options (('config', 'label:field=value') or ('config_file', 'label:file')) in order."""
    by_label = {t["label"]: t for t in pipeline["tasks"]}
    for kind, item in actions:
        label, colon, rest = item.partition(":")
        if not colon or not rest:
            raise StackError("ValueError", f"Invalid {'config' if kind == 'config' else 'config-file'} option {item!r}: expected {'LABEL:NAME=VALUE' if kind == 'config' else 'LABEL:FILE'}")
        if label not in by_label:
            raise StackError("LookupError", f"Task label {label!r} is not in the pipeline (its labels: {', '.join(by_label)})")
        if kind == "config":
            field, eq, value = rest.partition("=")
            if not eq or not field:
                raise StackError("ValueError", f"Invalid config option {item!r}: expected LABEL:NAME=VALUE")
            by_label[label]["config"][field.strip()] = literal(value)
        else:
            by_label[label]["config"].update(read_config_file(rest))
    return pipeline
