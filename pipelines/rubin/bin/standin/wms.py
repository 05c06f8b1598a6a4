"""The stand-in bps's workflow management: submit files resolved as BPS resolves them
(includeConfigs, {key} and ${ENV}), runs numbered in ${BPS_STANDIN_HOME:-~/.lsst-standin}/bps,
one detached runner per run executing its quanta as jobs, their states in <submitPath>/jobs.json."""
import datetime
import json
import os
import re
import sqlite3

from . import miniyaml

STATES = ["UNKNOWN", "MISFIT", "UNREADY", "READY", "PENDING", "RUNNING", "DELETED", "HELD", "SUCCEEDED", "FAILED", "PRUNED"]
DEFAULTS = {
    "operator": os.environ.get("USER") or "user",
    "payload": {"output": "u/{operator}/{payloadName}", "outputRun": "{output}/{timestamp}"},
    "submitPath": "${PWD}/submit/{outputRun}",
    "requestMemory": 2048,
    "requestCpus": 1,
    "numberOfRetries": 5,
    "retryUnlessExit": [1, 2],
    "project": "",
    "campaign": "",
}


def home():
    return os.path.join(os.environ.get("BPS_STANDIN_HOME") or os.path.join(os.path.expanduser("~"), ".lsst-standin"), "bps")


def db():
    os.makedirs(home(), exist_ok=True)
    c = sqlite3.connect(os.path.join(home(), "runs.sqlite3"), timeout=60, isolation_level=None)
    c.execute("CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, submit_dir TEXT, name TEXT, operator TEXT, project TEXT, campaign TEXT, payload TEXT, pid INTEGER, state TEXT)")
    return c


def merge(base, over):
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def env(text):
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: os.environ.get(m.group(1), m.group(0)), text)


def read(path):
    with open(path) as f:
        data = miniyaml.load(f.read())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a BPS config is a mapping")
    return data


def resolve(path):
    """The submit file over BPS's defaults and its includeConfigs (later over earlier, the file over all)."""
    own = read(path)
    cfg = dict(DEFAULTS)
    for inc in own.get("includeConfigs") or []:
        p = env(str(inc))
        if not os.path.isfile(p):
            raise FileNotFoundError(f"FileNotFoundError: includeConfigs: {p}")
        cfg = merge(cfg, read(p))
    cfg = merge(cfg, own)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    def lookup(key, section):
        for scope in (section, cfg.get("site", {}).get(cfg.get("computeSite", ""), {}), cfg):
            if isinstance(scope, dict) and key in scope and not isinstance(scope[key], dict):
                return scope[key]
        if key == "timestamp":
            return stamp
        return ""

    def fill(value, section, depth=0):
        if not isinstance(value, str) or depth > 10:
            return value
        new = env(re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: str(lookup(m.group(1), section)), value))
        return new if new == value else fill(new, section, depth + 1)

    payload = cfg.get("payload", {})
    flat = {**cfg, **payload}
    get = lambda k: fill(flat.get(k, ""), payload)
    return cfg, {k: get(k) for k in ("payloadName", "butlerConfig", "inCollection", "dataQuery", "output", "outputRun", "submitPath", "qgraphFile", "pipelineYaml", "operator", "project", "campaign")}


def jobs_file(submit_dir):
    return os.path.join(submit_dir, "jobs.json")


def load_jobs(submit_dir):
    try:
        with open(jobs_file(submit_dir)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def save_jobs(submit_dir, jobs):
    tmp = jobs_file(submit_dir) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(jobs, f)
    os.replace(tmp, jobs_file(submit_dir))


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (OSError, TypeError):
        return False


def run_state(row):
    """The run's state: the runner's final word, else RUNNING while it lives, else FAILED."""
    _id, submit_dir, _name, _op, _proj, _camp, _payload, pid, state = row
    if state in ("SUCCEEDED", "FAILED", "DELETED"):
        return state
    if alive(pid):
        return "RUNNING" if any(j["state"] != "READY" for j in load_jobs(submit_dir)) else "PENDING"
    return "FAILED"
