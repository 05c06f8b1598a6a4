"""Quantum graphs: the pipeline (read by nx-campaign's own loader, standing in for pipe_base),
config overrides, and the quanta the data query and the input collections allow, saved as JSON."""
import ast
import datetime
import json
import os
import subprocess
import sys

from . import query as q
from .registry import MissingCollectionError
from .tasks import TASKS, connections

IMPLIED = {"visit": ("exposure", "band", "physical_filter"), "exposure": ("visit", "band", "physical_filter")}


class GraphError(Exception):
    pass


def campaign_cli():
    if os.environ.get("NX_CAMPAIGN_CLI"):
        return os.environ["NX_CAMPAIGN_CLI"]
    d = os.getcwd()
    while True:
        cand = os.path.join(d, "node_modules", "nx-campaign", "bin", "campaign.js")
        if os.path.isfile(cand):
            return cand
        if os.path.dirname(d) == d:
            break
        d = os.path.dirname(d)
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "node_modules", "nx-campaign", "bin", "campaign.js"))


def load_pipeline(uri):
    """The expanded pipeline: `campaign pipeline <uri> --json` (pipe_base's rules)."""
    r = subprocess.run(["node", campaign_cli(), "pipeline", uri, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise GraphError(r.stderr.strip() or f"cannot read the pipeline {uri}")
    return json.loads(r.stdout)


def literal(text):
    """A -c value as pex_config reads it: a Python literal, else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return {"true": True, "false": False}.get(text.lower(), text)


def apply_overrides(tasks, configs, config_files):
    by_label = {t["label"]: t for t in tasks}
    for item in configs:
        label, _, rest = item.partition(":")
        field, eq, value = rest.partition("=")
        if not eq or label not in by_label:
            raise GraphError(f"ValueError: Invalid config override {item!r}: " + ("no task with label " + repr(label) if label not in by_label else "expected label:field=value"))
        by_label[label]["config"][field] = literal(value)
    for item in config_files:
        label, _, path = item.partition(":")
        if label not in by_label:
            raise GraphError(f"ValueError: Invalid config file override {item!r}: no task with label {label!r}")
        if not os.path.isfile(path):
            raise GraphError(f"FileNotFoundError: [Errno 2] No such file or directory: {path!r}")
        for n, line in enumerate(open(path), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            target, eq, value = line.partition("=")
            if not eq or not target.strip().startswith("config."):
                raise GraphError(f"{path}:{n}: only `config.<field> = <literal>` lines are read here (the stand-in runs no code)")
            try:
                by_label[label]["config"][target.strip()[len("config."):]] = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                raise GraphError(f"{path}:{n}: {value.strip()!r} is not a literal (the stand-in runs no code)")


def project(data_id, dims):
    out = {d: data_id[d] for d in dims if d in data_id}
    for d in dims:
        for implied in IMPLIED.get(d, ()):
            if implied in data_id:
                out.setdefault(implied, data_id[implied])
    if "visit" in dims and "visit" not in out and "exposure" in data_id:
        out["visit"] = data_id["exposure"]
    if "exposure" in dims and "exposure" not in out and "visit" in data_id:
        out["exposure"] = data_id["visit"]
    return out


def agree(a, b):
    return all(a[k] == b[k] for k in a.keys() & b.keys())


def build(repo, pipeline, inputs, output, output_run, where, constraint=None):
    """The quanta of `pipeline` (tasks with config) on what `inputs` hold that `where` selects."""
    tasks = pipeline["tasks"]
    known = {t["label"]: connections(t["class"], t["config"]) for t in tasks}
    for t in tasks:
        if known[t["label"]] is None:
            raise GraphError(f"ImportError: cannot import task class {t['class']!r} for task {t['label']!r} (the stand-in knows: {', '.join(sorted(TASKS))})")
    tree = q.parse(where)
    produced = {o["type"] for c in known.values() for o in c["outputs"]}
    needed = {i["type"] for c in known.values() for i in c["inputs"]} - produced
    try:
        repo.resolve(inputs)
    except MissingCollectionError as e:
        raise GraphError(str(e))
    pool = {}
    for ds in repo.find(sorted(needed), inputs):
        if q.matches(tree, ds["dataId"]):
            pool.setdefault(ds["type"], []).append(ds)
    if constraint:
        allowed = repo.find([constraint], inputs)
        for t in list(pool):
            pool[t] = [ds for ds in pool[t] if any(agree(ds["dataId"], c["dataId"]) for c in allowed)]
    # Tasks in dependency order.
    order, done = [], set()
    while len(order) < len(tasks):
        ready = [t for t in tasks if t["label"] not in done and all(i["type"] not in produced or any(i["type"] in [o["type"] for o in known[u["label"]]["outputs"]] for u in order) for i in known[t["label"]]["inputs"])]
        if not ready:
            raise GraphError("Pipeline has a cycle: " + ", ".join(t["label"] for t in tasks if t["label"] not in done))
        for t in ready:
            order.append(t)
            done.add(t["label"])
    quanta = []
    for t in order:
        c = known[t["label"]]
        first = c["inputs"][0]
        groups = {}
        for ds in pool.get(first["type"], []):
            qid = project(ds["dataId"], c["dims"])
            groups.setdefault(json.dumps(qid, sort_keys=True), qid)
        for qid in groups.values():
            ins, complete = [], True
            for conn in c["inputs"]:
                match = [ds for ds in pool.get(conn["type"], []) if agree(ds["dataId"], qid)]
                if not match:
                    complete = False
                    break
                ins += [{"type": ds["type"], "dataId": ds["dataId"], "id": ds.get("id")} for ds in (match if conn["multiple"] else match[:1])]
            if not complete:
                continue
            for pre in c["prerequisites"]:
                found = [ds for ds in repo.find([pre["type"]], inputs) if agree(ds["dataId"], qid)]
                if not found:
                    raise GraphError(f"lsst.pipe.base.PrerequisiteMissingError: No datasets of type {pre['type']!r} (prerequisite input {pre['name']!r} of task {t['label']!r}) found for data ID {qid} in collections {inputs}")
            outs = [{"type": o["type"], "dataId": project(qid, o["dims"]) if o["dims"] else qid} for o in c["outputs"]]
            quanta.append({"id": len(quanta), "task": t["label"], "dataId": qid, "inputs": ins, "outputs": outs})
            for o in outs:
                pool.setdefault(o["type"], []).append({"type": o["type"], "dataId": o["dataId"], "id": None})
    if not quanta:
        raise GraphError(f"RuntimeError: QuantumGraph is empty: no quanta for data query {where!r} in collections {inputs}")
    return {"outputRun": output_run, "output": output, "inputs": inputs, "tasks": tasks, "quanta": quanta, "query": where}


def default_run(output):
    return f"{output}/{datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"


def save(graph, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(graph, f)
    os.replace(path + ".tmp", path)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise GraphError(f"cannot read quantum graph {path}: {e}")


def summary(graph):
    counts = {}
    for qu in graph["quanta"]:
        counts[qu["task"]] = counts.get(qu["task"], 0) + 1
    return f"QuantumGraph contains {len(graph['quanta'])} quanta for {len(counts)} tasks, graph ID: stand-in ({', '.join(f'{k}: {v}' for k, v in counts.items())})"
