"""Running quanta as pipe_base's SingleQuantumExecutor and MPGraphExecutor do: in dependency
order, one process (-j 1) or several (-j N, forked), a quantum downstream of a failure not run,
logs with the stack's wording ("Execution of task 'isr' on quantum {...} took 0.002 seconds",
"Executed 3 quanta successfully, 1 failed and 0 remain out of total 4 quanta.").

What a stand-in task does: it reads its inputs (small JSON files) and writes one small JSON file
per output, carrying the mean `seeing` of its inputs (a raw's own, 1.0 if it has none). Config
knobs every task honours: standinSeconds (sleep per quantum), standinFail (a data query: quanta
it matches fail with a traceback), standinMemoryMB (memory to hold while running). LoVoCCS's
CheckVisitTask writes visit_quality only for visits whose seeing <= maxFwhm (default 1.68).
Without a registry (pipetask run-qbb, a bps job) outputs are files only, registered later
(butler aggregate-graph); pipetask run registers each quantum's outputs as it ends."""
import multiprocessing
import os
import time
import traceback

from . import dimensions as dims
from . import query
from .cli import StackError
from .registry import Repo, read_json, write_json

SQE = "lsst.pipe.base.single_quantum_executor"
MPE = "lsst.pipe.base.mp_graph_executor"


def task_of(graph, label):
    return next(t for t in graph["tasks"] if t["label"] == label)


def describe(graph, q):
    return dims.text(q["dataId"], task_of(graph, q["task"])["dims"])


class NoWorkFound(Exception):
    pass


def execute_quantum(graph, q, log, repo=None, clobber=False):
    """Run one quantum: 'ok', 'nowork' or the traceback text of its failure."""
    task = task_of(graph, q["task"])
    label, qtext = q["task"], describe(graph, q)
    log.label = f"{label}:{qtext}"
    log.info(SQE, f"Constructing task and executing quantum for label={label} dataId={qtext}.")
    start = time.time()
    try:
        inputs = available_inputs(q)
    except NoWorkFound as e:
        log.info(SQE, f"Nothing to do for task '{label}' on quantum {qtext}; saving metadata and skipping: {e}")
        return "nowork"
    try:
        written = run_task(task, q, inputs, log)
        if repo is not None and written:
            with repo.transaction():
                for o in written:
                    repo.insert(o["type"], o["run"], o["dataId"], o["path"], o["id"], replace=clobber)
    except Exception as e:  # noqa: BLE001 - any failure of a task is reported as the stack does
        log.error(SQE, f"Execution of task '{label}' on quantum {qtext} failed. Exception {type(e).__name__}: {e}")
        return traceback.format_exc().rstrip()
    log.info(SQE, f"Execution of task '{label}' on quantum {qtext} took {time.time() - start:.3f} seconds")
    log.label = ""
    return "ok"


def available_inputs(q):
    """The quantum's inputs, without those upstream quanta did not write; NoWorkFound if a
    connection is left with none."""
    kept = [r for r in q["inputs"] if not r.get("produced") or os.path.isfile(r["path"])]
    for conn in dict.fromkeys(r["connection"] for r in q["inputs"]):
        if not any(r["connection"] == conn for r in kept):
            raise NoWorkFound(f"not enough datasets for connection {conn}.")
    return kept


def run_task(task, q, inputs, log):
    config = task["config"]
    hold = None
    if float(config.get("standinMemoryMB") or 0) > 0:
        hold = bytearray(int(float(config["standinMemoryMB"]) * 1024 * 1024))
        hold[::4096] = b"\x01" * len(range(0, len(hold), 4096))
    if float(config.get("standinSeconds") or 0) > 0:
        time.sleep(float(config["standinSeconds"]))
    if config.get("standinFail") and query.evaluate(query.parse(str(config["standinFail"])), q["dataId"]) is True:
        raise RuntimeError(f"standinFail: the config of task {q['task']!r} makes the quanta matching {config['standinFail']!r} fail")
    for r in inputs + q.get("prerequisites", []):
        if not r.get("path") or not os.path.isfile(r["path"]):
            raise FileNotFoundError(f"Dataset {r['type']}@{r['dataId']} ({r['id']}) has no file in the datastore: {r.get('path')}")
    seeing = [float(read_json(r["path"]).get("seeing", 1.0)) for r in inputs]
    mean = round(sum(seeing) / len(seeing), 3) if seeing else 1.0
    if task["class"] == "lovoccs_pipe.check_visit.CheckVisitTask":
        limit = float(config.get("maxFwhm", 1.68))
        verdict = "kept" if mean <= limit else "rejected"
        log.info(f"lsst.{q['task']}", f"visit {q['dataId'].get('visit')} {verdict}: seeing {mean:.2f} {'<=' if mean <= limit else '>'} {limit}")
        if mean > limit:
            return []
    for o in q["outputs"]:
        write_json(o["path"], {"datasetType": o["type"], "dataId": o["dataId"], "run": o["run"], "id": o["id"], "task": q["task"], "inputs": [r["id"] for r in inputs], "seeing": mean})
    del hold
    return q["outputs"]


def run_graph(graph, processes, log, repo_root=None, clobber=False):
    """Every quantum of the graph; raises MPGraphExecutorError if any failed."""
    deps = {}
    producer = {o["id"]: q["id"] for q in graph["quanta"] for o in q["outputs"]}
    for q in graph["quanta"]:
        deps[q["id"]] = {producer[r["id"]] for r in q["inputs"] if r["id"] in producer}
    total, state = len(graph["quanta"]), {}
    progress = lambda: log.info(MPE, f"Executed {sum(v == 'ok' for v in state.values())} quanta successfully, {sum(v == 'failed' for v in state.values())} failed and {total - len(state)} remain out of total {total} quanta.")
    blocked = lambda q: any(state.get(d) == "failed" for d in deps[q["id"]])
    if processes <= 1:
        repo = Repo(repo_root) if repo_root else None
        for q in graph["quanta"]:
            if blocked(q):
                log.error(MPE, f"Upstream job failed for task {q['id']} ({q['task']}@{describe(graph, q)}), skipping this quantum.")
                state[q["id"]] = "failed"
            else:
                r = execute_quantum(graph, q, log, repo, clobber)
                state[q["id"]] = "ok" if r in ("ok", "nowork") else "failed"
                if state[q["id"]] == "failed":
                    log.error(MPE, f"{q['id']} ({q['task']}@{describe(graph, q)}) failed; processing will continue for remaining tasks.\n{r}")
            progress()
        if "failed" in state.values():
            raise StackError(f"{MPE}.MPGraphExecutorError", "One or more tasks failed during execution.")
        return
    ctx = multiprocessing.get_context("fork")
    pending, running = list(graph["quanta"]), {}
    while pending or running:
        changed = False
        for qid, (proc, q) in list(running.items()):
            if not proc.is_alive():
                proc.join()
                state[qid] = "ok" if proc.exitcode == 0 else "failed"
                if proc.exitcode != 0:
                    log.error(MPE, f"Task <{q['task']} dataId={describe(graph, q)}> failed, exit code={proc.exitcode}; processing will continue for remaining tasks.")
                del running[qid]
                changed = True
        for q in list(pending):
            if blocked(q):
                pending.remove(q)
                state[q["id"]] = "failed"
                log.error(MPE, f"Upstream job failed for task <{q['task']} dataId={describe(graph, q)}>, skipping this task.")
                changed = True
            elif len(running) < processes and all(state.get(d) == "ok" for d in deps[q["id"]]):
                pending.remove(q)
                proc = ctx.Process(target=_child, args=(graph, q, log, repo_root, clobber))
                proc.start()
                running[q["id"]] = (proc, q)
        if changed:
            progress()
        if running:
            time.sleep(0.02)
    if "failed" in state.values():
        log.error(MPE, "Failed jobs:\n" + "\n".join(f"  - FAILED: <{q['task']} dataId={describe(graph, q)}>" for q in graph["quanta"] if state[q["id"]] == "failed"))
        raise StackError(f"{MPE}.MPGraphExecutorError", "One or more tasks failed or timed out during execution.")


def _child(graph, q, log, repo_root, clobber):
    r = execute_quantum(graph, q, log, Repo(repo_root) if repo_root else None, clobber)
    if r not in ("ok", "nowork"):
        log.error(MPE, f"{q['id']} ({q['task']}@{describe(graph, q)}) failed.\n{r}")
        os._exit(1)
    os._exit(0)
