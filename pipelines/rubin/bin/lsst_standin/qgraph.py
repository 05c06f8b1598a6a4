"""Quantum graphs: built from the pipeline's tasks (their connections in tasks.py), the input
collections and the data query, as pipe_base's AllDimensionsQuantumGraphBuilder builds one, and
saved as JSON (our format, not the stack's: the header with output run and collections, the
tasks with their config, the quanta with data IDs and their input, prerequisite and output
dataset refs, each with its id, run and file path).

A quantum's data ID comes from its regular inputs projected onto the task's dimensions; a
multiple input takes every dataset that agrees with it (inputs group by that projection); a
quantum needs at least one dataset of each regular input, and a dataset of each prerequisite
(else "Not enough datasets (0) found for non-optional connection ...", an error). Inputs come
from the input collections (searched in order, the first of each data ID) or from the outputs of
tasks upstream in the same graph. The data query applies to every input and quantum data ID with
three-valued logic (query.py)."""
import datetime
import getpass
import json
import os
import uuid

from . import dimensions as dims
from . import query
from .cli import StackError
from .tasks import TASKS, connections

FORMAT = "lsst-standin quantum graph"
PIPE = "lsst.pipe.base"


def timestamp():
    """Instrument.makeCollectionTimestamp()."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def resolve_tasks(pipeline):
    """The pipeline's tasks with their connections, producers before consumers."""
    tasks = []
    for t in pipeline["tasks"]:
        conns = connections(t["class"], t["config"])
        if conns is None:
            module, _, name = t["class"].rpartition(".")
            raise StackError("ImportError", f"cannot import name {name!r} from {module!r} for task {t['label']!r}: the stand-in pipetask knows these task classes: {', '.join(sorted(TASKS))}")
        tasks.append({"label": t["label"], "class": t["class"], "config": t["config"], **conns})
    producer = {o["type"]: t["label"] for t in tasks for o in t["outputs"]}
    for t in tasks:
        for o in t["outputs"]:
            if producer[o["type"]] != t["label"]:
                raise StackError(f"{PIPE}.pipeline_graph.DuplicateOutputError", f"Dataset type {o['type']!r} is produced by both {producer[o['type']]!r} and {t['label']!r}.")
    order, done = [], set()
    while len(order) < len(tasks):
        ready = [t for t in tasks if t["label"] not in done and all(producer.get(i["type"], t["label"]) in done | {t["label"]} for i in t["inputs"] + t["prerequisites"])]
        if not ready:
            raise StackError(f"{PIPE}.pipeline_graph.PipelineGraphError", f"Cycle detected among tasks {[t['label'] for t in tasks if t['label'] not in done]}.")
        order += ready
        done |= {t["label"] for t in ready}
    return order


def build(repo, pipeline, runs, output_run, output, where, log, constraint=None, skip_existing_in=(), clobber=False, inputs=()):
    """The graph (a dict) of `pipeline` on what the RUN collections `runs` hold that `where` keeps."""
    tasks = resolve_tasks(pipeline)
    tree = query.parse(where)
    produced = {o["type"] for t in tasks for o in t["outputs"]}
    overall = list(dict.fromkeys(i["type"] for t in tasks for i in t["inputs"] if i["type"] not in produced))
    check_constraint(constraint, overall, tasks)
    pool = {typ: [ds for ds in repo.find(typ, runs) if query.matches(tree, ds["dataId"])] for typ in overall}
    skip_runs = repo.flatten(list(skip_existing_in)) if skip_existing_in else []
    cache = {}

    def find(typ, where_runs):
        if (typ, tuple(where_runs)) not in cache:
            cache[typ, tuple(where_runs)] = repo.find(typ, where_runs) if where_runs and repo.get_type(typ) else []
        return cache[typ, tuple(where_runs)]

    quanta, types = [], {}
    for t in tasks:
        for c in t["inputs"] + t["prerequisites"] + t["outputs"]:
            types.setdefault(c["type"], {"dimensions": dims.ordered(c["dims"]), "storageClass": c["storageClass"]})
        candidates = {}
        for conn in t["inputs"]:
            for ds in pool.get(conn["type"], []):
                if dims.covers(ds["dataId"], t["dims"]):
                    qid = dims.project(ds["dataId"], t["dims"])
                    candidates.setdefault(dims.key(qid, t["dims"]), qid)
        for key in sorted(candidates):
            qid = candidates[key]
            if not query.matches(tree, qid):
                continue
            quantum = make_quantum(repo, find, t, qid, pool, runs, output_run, skip_runs, clobber)
            if quantum is None:
                continue
            for ref in quantum["outputs"]:
                pool.setdefault(ref["type"], []).append(ref)
            if not quantum.get("skipped"):
                quanta.append(quantum)
    empty = f"Initial data ID query returned no rows, so QuantumGraph will be empty.\n" + "\n".join(
        f"No datasets of type {typ!r} in collections {runs} for data query {where!r}." for typ in overall if not pool.get(typ)
    )
    if not quanta:
        log.error(f"{PIPE}.all_dimensions_quantum_graph_builder", empty.strip())
    header = {"graphId": str(uuid.uuid4()), "created": datetime.datetime.now(datetime.timezone.utc).isoformat(), "user": getpass.getuser(), "butler": repo.root,
              "outputRun": output_run, "output": output, "inputs": list(inputs), "dataQuery": where or "", "pipeline": pipeline.get("file")}
    graph_tasks = [{k: t[k] for k in ("label", "class", "config", "dims")} for t in tasks]
    return {"format": FORMAT, "version": 1, "header": header, "tasks": graph_tasks, "datasetTypes": types, "quanta": quanta}


def check_constraint(constraint, overall, tasks):
    """--dataset-query-constraint: all (default), off, or dataset types that are inputs of the pipeline."""
    names = [n.strip() for n in (constraint or "").split(",") if n.strip()]
    if not names or [n.lower() for n in names] in (["all"], ["off"]):
        return
    if not set(names) & set(overall):
        raise StackError(f"{PIPE}.quantum_graph_builder.QuantumGraphBuilderError", "An explicit dataset query constraint was provided, but it does not include any "
                         f"inputs to the pipeline subset with tasks {[t['label'] for t in tasks]}.")


def make_quantum(repo, find, t, qid, pool, runs, output_run, skip_runs, clobber):
    """One quantum of task t at qid; None if an input is missing (no work for it)."""
    qtext = dims.text(qid, t["dims"])
    ins = []
    for conn in t["inputs"]:
        match = [ds for ds in pool.get(conn["type"], []) if dims.agree(ds["dataId"], qid)]
        if not match:
            return None
        if not conn["multiple"] and len(match) > 1:
            raise StackError(f"{PIPE}.connections.ScalarError", f"Found multiple datasets {', '.join(dims.text(d['dataId'], conn['dims']) for d in match)} for non-multiple input connection {t['label']}.{conn['name']} ({conn['type']}) for quantum data ID {qtext}.")
        ins += [ref_of(ds, conn) for ds in match]
    pres = []
    for conn in t["prerequisites"]:
        match = [ds for ds in find(conn["type"], runs) if dims.agree(ds["dataId"], qid)]
        if not match:
            raise StackError("FileNotFoundError", f"Not enough datasets (0) found for non-optional connection {t['label']}.{conn['name']} ({conn['type']}) with minimum=1 for quantum data ID {qtext}.")
        pres += [ref_of(ds, conn) for ds in (match if conn["multiple"] else match[:1])]
    outs, existing = [], []
    for conn in t["outputs"]:
        did = dims.project(qid, conn["dims"])
        found = [ds for ds in find(conn["type"], skip_runs) if dims.key(ds["dataId"], conn["dims"]) == dims.key(did, conn["dims"])]
        existing += [ref_of(ds, conn) for ds in found[:1]]
        if not clobber and not found and repo.get_type(conn["type"]) and repo.exists(conn["type"], output_run, did):
            raise StackError(f"{PIPE}.quantum_graph_builder.OutputExistsError", f"Potential output dataset {conn['type']}@{dims.text(did, conn['dims'])} already exists in the output run {output_run}, but clobbering outputs was not expected to be necessary.")
        outs.append({"id": str(uuid.uuid4()), "type": conn["type"], "run": output_run, "dataId": did, "connection": conn["name"], "produced": True,
                     "path": repo.file_path(output_run, conn["type"], did, conn["dims"])})
    if skip_runs and len(existing) == len(t["outputs"]):
        return {"skipped": True, "outputs": existing}
    return {"id": str(uuid.uuid4()), "task": t["label"], "dataId": qid, "inputs": ins, "prerequisites": pres, "outputs": outs}


def ref_of(ds, conn):
    return {"id": ds["id"], "type": ds["type"], "run": ds["run"], "dataId": ds["dataId"], "path": ds.get("path"), "connection": conn["name"], "produced": bool(ds.get("produced"))}


def summary(graph, log):
    """What pipetask logs of a graph (lsst.ctrl.mpexec.cli.utils); the number of quanta."""
    from .cli import table

    counts = {}
    for q in graph["quanta"]:
        counts[q["task"]] = counts.get(q["task"], 0) + 1
    n = sum(counts.values())
    if not n:
        log.info("lsst.ctrl.mpexec.cli.utils", "QuantumGraph contains no quanta.")
    else:
        rows = table(["Quanta", "Tasks"], [[v, k] for k, v in counts.items()])
        log.info("lsst.ctrl.mpexec.cli.utils", f"QuantumGraph contains {n} {'quantum' if n == 1 else 'quanta'} for {len(counts)} task{'' if len(counts) == 1 else 's'}\n" + "\n".join(rows))
    return n


def check_extension(path):
    ext = os.path.splitext(path)[1]
    if ext not in (".qg", ".qgraph"):
        raise StackError("ValueError", f"Unrecognized extension for quantum graph: {ext!r}")


def save(graph, path):
    check_extension(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(graph, f)
    os.replace(tmp, path)


def load(path):
    check_extension(path)
    try:
        with open(path) as f:
            graph = json.load(f)
    except OSError as e:
        raise StackError("FileNotFoundError", f"[Errno 2] No such file or directory: {path!r}") if isinstance(e, FileNotFoundError) else StackError("OSError", str(e))
    except ValueError:
        graph = None
    if not isinstance(graph, dict) or graph.get("format") != FORMAT:
        raise StackError("ValueError", f"{path} is not a quantum graph of the stand-in pipetask (a JSON file it saved with --save-qgraph)")
    return graph


def upstream(graph):
    """For each quantum id, the ids of the quanta whose outputs it reads."""
    producer = {o["id"]: q["id"] for q in graph["quanta"] for o in q["outputs"]}
    return {q["id"]: sorted({producer[r["id"]] for r in q["inputs"] if r["id"] in producer}) for q in graph["quanta"]}


def update_run(graph, run):
    """pipetask update-graph-run: the graph's outputs moved to another run, with new dataset ids."""
    root = graph["header"]["butler"]
    old = graph["header"]["outputRun"]
    new_ids = {}
    for q in graph["quanta"]:
        for o in q["outputs"]:
            new_ids[o["id"]] = str(uuid.uuid4())
            o["id"], o["run"] = new_ids[o["id"]], run
            o["path"] = os.path.join(root, run, o["type"], os.path.basename(o["path"]))
    for q in graph["quanta"]:
        for r in q["inputs"]:
            if r["id"] in new_ids:
                r["id"], r["run"] = new_ids[r["id"]], run
                r["path"] = os.path.join(root, run, r["type"], os.path.basename(r["path"]))
    graph["header"].update(outputRun=run, previousOutputRun=old)
    return graph
