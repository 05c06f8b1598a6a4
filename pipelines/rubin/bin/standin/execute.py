"""Running quanta: each reads its inputs from the repository and writes its outputs into the
graph's output run, as a task would. Stand-in knobs every task honours: `standinSeconds` (sleep),
`standinFail` (a data query: matching quanta fail), `standinMemoryMB` (memory to hold)."""
import json
import time
import traceback

from . import query as q
from .registry import key_of

LOGGER = "lsst.ctrl.mpexec.singleQuantumExecutor"


def log_line(level, logger, message):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    return f"{level} {stamp}Z {logger} ({'MainThread'}) - {message}"


def prepare_output(repo, graph, extend_run=False):
    """The output run, and the output chain with it in front (as pipetask -o makes it)."""
    run = graph["outputRun"]
    existing = repo.collection(run)
    if existing and not extend_run and repo.db.execute("SELECT 1 FROM datasets WHERE run = ? LIMIT 1", (run,)).fetchone():
        raise RuntimeError(f"ValueError: Output run {run!r} already exists, but --extend-run was not given.")
    repo.make_run(run)
    chain = repo.collection(graph["output"])
    children = chain[1] if chain and chain[0] == "CHAINED" else list(graph["inputs"])
    repo.set_chain(graph["output"], [run] + [c for c in children if c != run])


def find_input(repo, graph, ref):
    """The dataset a quantum reads: produced in the output run, else in the inputs."""
    dims = repo.type_dims(ref["type"]) or sorted(ref["dataId"])
    key = key_of(ref["dataId"], dims)
    for run in [graph["outputRun"]] + repo.resolve(graph["inputs"]):
        row = repo.db.execute("SELECT id, path FROM datasets WHERE run = ? AND type = ? AND key = ?", (run, ref["type"], key)).fetchone()
        if row:
            return {"id": row[0], "path": row[1], "type": ref["type"], "dataId": ref["dataId"]}
    return None


def run_quantum(repo, graph, quantum, emit):
    """Run one quantum; True if it succeeded, None if its inputs are not there (upstream failed)."""
    task = next(t for t in graph["tasks"] if t["label"] == quantum["task"])
    config = task["config"]
    inputs = [find_input(repo, graph, ref) for ref in quantum["inputs"]]
    if any(i is None for i in inputs):
        return None
    start = time.time()
    try:
        if config.get("standinMemoryMB"):
            hold = bytearray(int(config["standinMemoryMB"]) * 1_000_000)
            hold[::4096] = b"x" * len(hold[::4096])
        if config.get("standinSeconds"):
            time.sleep(float(config["standinSeconds"]))
        if config.get("standinFail") and q.evaluate(q.parse(config["standinFail"]), quantum["dataId"]) is True:
            raise RuntimeError(f"task {quantum['task']} failed on {quantum['dataId']} (standinFail)")
        seeing = [repo.read(i).get("seeing", 1.0) for i in inputs]
        mean = sum(seeing) / len(seeing) if seeing else 1.0
        for out in quantum["outputs"]:
            if task["class"].endswith("CheckVisitTask") and mean > float(config.get("maxFwhm", 1.68)):
                emit(log_line("INFO", f"lsst.{quantum['task']}", f"visit {quantum['dataId'].get('visit')} rejected: seeing {mean:.2f} > {config.get('maxFwhm', 1.68)}"))
                continue
            repo.register_type(out["type"], "StructuredDataDict", sorted(out["dataId"]))
            repo.put(out["type"], graph["outputRun"], out["dataId"], {"task": quantum["task"], "dataId": out["dataId"], "inputs": [i["id"] for i in inputs], "seeing": mean})
    except Exception as e:  # noqa: BLE001 - a task's failure, reported as the stack does
        emit(log_line("ERROR", LOGGER, f"Execution of task '{quantum['task']}' on quantum {json.dumps(quantum['dataId'], sort_keys=True)} failed. Exception {type(e).__name__}: {e}"))
        for line in traceback.format_exc().rstrip().split("\n"):
            emit(line)
        return False
    emit(log_line("INFO", LOGGER, f"Execution of task '{quantum['task']}' on quantum {json.dumps(quantum['dataId'], sort_keys=True)} took {time.time() - start:.3f} seconds"))
    return True


def run_graph(repo, graph, emit):
    """Every quantum in order; returns (succeeded, failed, remaining)."""
    ok = failed = remain = 0
    for quantum in graph["quanta"]:
        r = run_quantum(repo, graph, quantum, emit)
        if r is None:
            remain += 1
        elif r:
            ok += 1
        else:
            failed += 1
    total = len(graph["quanta"])
    if failed or remain:
        emit(log_line("ERROR", "lsst.ctrl.mpexec.mpGraphExecutor", f"Failed jobs: {failed}"))
    emit(log_line("INFO", "lsst.ctrl.mpexec.cmdLineFwk", f"Executed {ok} quanta successfully, {failed} failed and {remain} remain out of total {total} quanta."))
    return ok, failed, remain
