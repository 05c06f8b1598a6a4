"""The bps subcommands (ctrl_bps's drivers): submit, report, status, cancel, restart, ping, with
what each prints as the real one prints it."""
import getpass
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time

from . import bps_wms as wms
from . import qgraph
from .bps_config import BpsConfig
from .cli import ClickError, table

DRIVERS = "lsst.ctrl.bps.drivers"
BIN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Exit(Exception):
    """Leave with this exit code (BpsSubprocessError's: the failed command's)."""

    def __init__(self, code):
        self.code = code


def execute(command, out, log):
    """ctrl_bps's pre_transform.execute: the command and its output in `out`, and logged."""
    with open(out, "w") as fh:
        print(command, file=fh)
        print("\n", file=fh)
        r = subprocess.run(shlex.split(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        fh.write(r.stdout)
    if r.stdout.strip():
        log.info("lsst.ctrl.bps.pre_transform", r.stdout.rstrip())
    return r.returncode


def job_name(label, data_id, taken):
    """{label}_{templateDataId}: tract, patch, band, visit, exposure, detector values present."""
    parts = [str(data_id[k]) for k in ("tract", "patch", "band", "visit", "exposure", "detector") if k in data_id]
    name = "_".join([label] + [p.replace(" ", "-") for p in parts])
    n, unique = 1, name
    while unique in taken:
        n += 1
        unique = f"{name}_{n}"
    taken.add(unique)
    return unique


def submit(a, log):
    os.environ["CTRL_MPEXEC_DIR"] = os.environ["DAF_BUTLER_DIR"] = os.path.dirname(BIN)
    cmdline = {"butlerConfig": a.butler_config, "inCollection": ",".join(a.input), "output": a.output, "outputRun": a.output_run, "dataQuery": a.data_query,
               "pipelineYaml": a.pipeline, "qgraphFile": a.qgraph, "wmsServiceClass": a.wms_service_class, "computeSite": a.compute_site,
               "extraQgraphOptions": a.extra_qgraph_options, "extraUpdateQgraphOptions": a.extra_update_qgraph_options,
               "extraInitOptions": a.extra_init_options, "extraRunQuantumOptions": a.extra_run_quantum_options}
    log.info(DRIVERS, "DISCLAIMER: All values regarding memory consumption reported below are approximate and may not accurately reflect actual memory usage by the bps process.")
    cfg = BpsConfig(a.config_file, cmdline)
    if "outCollection" in cfg:
        raise KeyError("'outCollection' is deprecated. Replace all references to it with 'outputRun'.")
    log.info(DRIVERS, "Initializing BPS configuration and creating submit directory")
    cfg.defined("timestamp", qgraph.timestamp())
    if "operator" not in cfg:
        cfg.defined("operator", getpass.getuser())
    if "uniqProcName" not in cfg:
        cfg.defined("uniqProcName", str(cfg.search("outputRun")).replace("/", "_"))
    name = cfg.search("uniqProcName")
    submit_dir = os.path.abspath(str(cfg.search("submitPath")))
    os.makedirs(submit_dir, exist_ok=True)
    cfg.defined("submitPath", submit_dir)
    shutil.copy2(a.config_file, submit_dir)
    with open(os.path.join(submit_dir, f"{name}_config.yaml"), "w") as f:
        f.write(cfg.dump())
    print(f"Submit dir: {submit_dir}", flush=True)
    qg = acquire_graph(cfg, submit_dir, log)
    graph = qgraph.load(qg)
    jobs = workflow(cfg, graph, qg)
    summary = ";".join(f"{label}:{sum(j['label'] == label for j in jobs)}" for label in dict.fromkeys(j["label"] for j in jobs))
    c = wms.db()
    run_id = c.execute("INSERT INTO runs (name, state, submit_dir, operator, project, campaign, payload, pid, created, run_summary) VALUES (?, 'RUNNING', ?, ?, ?, ?, ?, 0, ?, ?)",
                       (name, submit_dir, str(cfg.search("operator")), str(cfg.search("project")), str(cfg.search("campaign")), str(cfg.search("payloadName")), time.time(), summary)).lastrowid
    insert_jobs(c, run_id, jobs)
    wms.start_runner(run_id, submit_dir, name)
    # The WMS's own delay before it answers (condor_submit's); tests use it to stop nx in between.
    time.sleep(float(os.environ.get("BPS_STANDIN_SUBMIT_PAUSE", "0")))
    log.info(DRIVERS, f"Run '{name}' submitted for execution with id '{run_id}'")
    print(f"Run Id: {run_id}")
    print(f"Run Name: {name}")


def acquire_graph(cfg, submit_dir, log):
    """The workflow's quantum graph: qgraphFile copied into the submit dir and moved to the
    output run (pipetask update-graph-run), else made by createQuantumGraph (pipetask qgraph)."""
    given = cfg.search("qgraphFile")
    if given:
        log.info("lsst.ctrl.bps.pre_transform", f"Copying quantum graph from '{given}'")
        qg = os.path.join(submit_dir, os.path.basename(given))
        shutil.copy2(given, qg)
        cmd = cfg.search("updateQuantumGraph", {"inputQgraphFile": qg, "qgraphFile": qg})
        out, what = os.path.join(submit_dir, "quantumGraphUpdate.out"), "Updating"
    else:
        log.info("lsst.ctrl.bps.pre_transform", "Creating quantum graph")
        qg = os.path.join(submit_dir, str(cfg.search("qgraphFileTemplate")))
        cmd = cfg.search("createQuantumGraph", {"qgraphFile": qg})
        out, what = os.path.join(submit_dir, "quantumGraphGeneration.out"), "Generating"
    log.info("lsst.ctrl.bps.pre_transform", cmd)
    status = execute(cmd, out, log)
    if status != 0:
        print(f"{what} quantum graph failed with non-zero exit code ({status})\nCheck {out} for more details.")
        raise Exit(status)
    return qg


def settings(cfg, label, searchobj=None):
    cur = {"curr_pipetask": label, "curr_cluster": label}
    get = lambda k: cfg.search(k, cur, searchobj=searchobj)
    retry = get("retryUnlessExit")
    memory = int(get("requestMemory") or 2048)
    return {"cpus": int(get("requestCpus") or 1), "memory": memory, "memory_start": memory, "memory_multiplier": float(get("memoryMultiplier") or 1),
            "memory_limit": int(get("memoryLimit") or memory), "retries": int(get("numberOfRetries") or 0),
            "retry_unless": json.dumps([int(x) for x in (retry if isinstance(retry, list) else str(retry).replace(",", " ").split())])}


def workflow(cfg, graph, qg):
    """The jobs: pipetaskInit, one per quantum, finalJob; their commands and requests."""
    jobs, taken = [], set()
    init = []
    if cfg.search("runInit") not in (False, "false", "False"):
        jobs.append({"name": "pipetaskInit", "label": "pipetaskInit", "parents": [],
                     "command": cfg.search("runQuantumCommand", {"curr_pipetask": "pipetaskInit", "qgraphFile": qg}), **settings(cfg, "pipetaskInit")})
        init = ["pipetaskInit"]
    by_quantum = {}
    deps = qgraph.upstream(graph)
    for q in graph["quanta"]:
        name = job_name(q["task"], q["dataId"], taken)
        by_quantum[q["id"]] = name
        jobs.append({"name": name, "label": q["task"], "parents": init + [by_quantum[d] for d in deps[q["id"]]], "quantum": q["id"],
                     "command": cfg.search("runQuantumCommand", {"curr_pipetask": q["task"], "curr_cluster": q["task"], "qgraphFile": qg, "qgraphNodeId": q["id"]}),
                     **settings(cfg, q["task"])})
    final = cfg.search("finalJob")
    if isinstance(final, dict) and str(final.get("whenRun", "ALWAYS")).upper() != "NEVER":
        jobs.append({"name": "finalJob", "label": "finalJob", "parents": [j["name"] for j in jobs],
                     "command": cfg.search("command1", {"qgraphFile": qg}, searchobj=final), **settings(cfg, "finalJob", final)})
    return jobs


def insert_jobs(c, run_id, jobs):
    c.execute("BEGIN IMMEDIATE")
    c.executemany("INSERT INTO jobs (run_id, name, label, position, command, parents, state, cpus, memory, memory_start, memory_multiplier, memory_limit, retries, retry_unless) "
                  "VALUES (?, ?, ?, ?, ?, ?, 'UNREADY', ?, ?, ?, ?, ?, ?, ?)",
                  [(run_id, j["name"], j["label"], i, j["command"], json.dumps(j["parents"]), j["cpus"], j["memory"], j["memory_start"], j["memory_multiplier"],
                    j["memory_limit"], j["retries"], j["retry_unless"]) for i, j in enumerate(jobs)])
    c.execute("COMMIT")


def settle(c, run):
    """The run's state, recorded as FAILED when its runner vanished without a last word."""
    state = wms.run_state(run)
    if state != run["state"] and state == "FAILED":
        c.execute("UPDATE runs SET state = 'FAILED', finished = ? WHERE id = ? AND state = ?", (time.time(), run["id"], run["state"]))
    return state


def brief_row(c, run):
    state = settle(c, run)
    n = wms.counts(c, run["id"])
    total = {s: sum(v[s] for v in n.values()) for s in wms.STATES}
    jobs = sum(total.values())
    flag = " "
    if state == "RUNNING":
        flag = "H" if total["HELD"] else ("D" if total["DELETED"] else ("F" if total["FAILED"] else " "))
    return [flag, state, str(int(total["SUCCEEDED"] / jobs * 100)) if jobs else "UNK", str(run["id"]), run["operator"], run["project"], run["campaign"], run["payload"], run["name"]]


BRIEF = ["X", "STATE", "%S", "ID", "OPERATOR", "PROJECT", "CAMPAIGN", "PAYLOAD", "RUN"]


def report(a, log):
    c = wms.db()
    if a.run_id:
        hist = max(a.hist, 2)
        run = find_run(c, a.run_id)
        if run is None or (run["finished"] and run["finished"] < time.time() - hist * 86400):
            print(f"No records found for job id '{a.run_id}'. Hints: Double check id, retry with a larger --hist value (currently: {hist:g}), and/or use --global to search all job queues.")
            return
        print("\n".join(table(BRIEF, [brief_row(c, run)])))
        print("\n")
        print(f"Path: {run['submit_dir']}")
        print(f"Global job id: {socket.gethostname()}#{run['id']}")
        print("\n")
        n = wms.counts(c, run["id"])
        expected = {p.split(":")[0]: int(p.split(":")[1]) for p in (run["run_summary"] or "").split(";") if ":" in p}
        rows = [["TOTAL"] + [sum(v[s] for v in n.values()) for s in wms.STATES] + [sum(expected.values())]]
        rows += [[label] + [n.get(label, dict.fromkeys(wms.STATES, -1))[s] for s in wms.STATES] + [count] for label, count in expected.items()]
        lines = table([" "] + wms.STATES + ["EXPECTED"], rows, align=["<"] + [">"] * (len(wms.STATES) + 1))
        lines.insert(3, lines[1])
        print("\n".join(lines))
        if a.return_exit_codes:
            codes = wms.exit_codes(c, run["id"])
            rows = []
            for label in expected:
                got = codes.get(label, [])
                pay, infra = [x for x in got if x in (1, 2)], [x for x in got if x not in (1, 2)]
                rows.append([label, len(pay), ", ".join(sorted(str(x) for x in set(pay))) or "None", len(infra), ", ".join(sorted(str(x) for x in set(infra))) or "None"])
            print("\n")
            print("\n".join(table([" ", "PAYLOAD ERROR COUNT", "PAYLOAD ERROR CODES", "INFRASTRUCTURE ERROR COUNT", "INFRASTRUCTURE ERROR CODES"], rows, align=["<", ">", ">", ">", ">"])))
        return
    since = time.time() - a.hist * 86400
    rows = []
    for run in c.execute("SELECT * FROM runs ORDER BY id").fetchall():
        active = settle(c, run) not in wms.FINAL
        recent = a.hist > 0 and (run["finished"] or time.time()) >= since
        if (active or recent) and (not a.user or run["operator"] == a.user):
            rows.append(brief_row(c, run))
    if rows:
        rows.sort(key=lambda r: r[3])  # astropy sorts the ID column as text
        print("\n".join(table(BRIEF, rows)))


def find_run(c, run_id):
    """A run by its id, or by its submit dir (as HTCondor's plugin also takes)."""
    if str(run_id).isdigit():
        return c.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
    return c.execute("SELECT * FROM runs WHERE submit_dir = ? ORDER BY id DESC", (os.path.abspath(run_id),)).fetchone()


def status(a, log):
    c = wms.db()
    run = find_run(c, a.run_id)
    state = settle(c, run) if run else "UNKNOWN"
    log.info(DRIVERS, f"status: {state}")
    if run is None:
        log.warning(DRIVERS, f"Could not find a run with id '{a.run_id}'.")
    raise Exit(wms.CODES[state])


def cancel(a, log):
    c = wms.db()
    if not a.run_id and not a.user:
        raise ClickError("Missing option: one of --id or --user is required.")
    runs = [find_run(c, a.run_id)] if a.run_id else c.execute("SELECT * FROM runs WHERE operator = ?", (a.user,)).fetchall()
    runs = [r for r in runs if r is not None and r["state"] not in wms.FINAL and wms.alive(r["pid"])]
    if not runs:
        print("No job matches the search criteria. Hints: Double check id, and/or use --global to search all job queues.")
        return
    for run in sorted(runs, key=lambda r: str(r["id"])):
        try:
            os.killpg(run["pid"], signal.SIGTERM)
        except OSError:
            pass
        for _ in range(100):
            if c.execute("SELECT state FROM runs WHERE id = ?", (run["id"],)).fetchone()["state"] == "DELETED" or not wms.alive(run["pid"]):
                break
            time.sleep(0.05)
        if wms.alive(run["pid"]):
            try:
                os.killpg(run["pid"], signal.SIGKILL)
            except OSError:
                pass
        c.execute("UPDATE jobs SET state = 'DELETED' WHERE run_id = ? AND state IN ('UNREADY', 'READY', 'RUNNING', 'HELD', 'PENDING')", (run["id"],))
        c.execute("UPDATE runs SET state = 'DELETED', finished = COALESCE(finished, ?) WHERE id = ?", (time.time(), run["id"]))
        print(f"Successfully canceled job with id '{run['id']}'")


def restart(a, log):
    """A FAILED or DELETED run again as a new run: its succeeded jobs kept, the others from the
    start with their first requestMemory (escalated memory is lost, as with HTCondor)."""
    c = wms.db()
    run = find_run(c, a.run_id) if a.run_id else None
    state = settle(c, run) if run else None
    if run is None:
        print(f"Restart failed: no run with id '{a.run_id}'")
        return
    if state not in ("FAILED", "DELETED"):
        print(f"Restart failed: run '{run['id']}' is {state}; only a FAILED or DELETED run can be restarted")
        return
    new = c.execute("INSERT INTO runs (name, state, submit_dir, operator, project, campaign, payload, pid, created, run_summary, restarted_from) "
                    "VALUES (?, 'RUNNING', ?, ?, ?, ?, ?, 0, ?, ?, ?)", (run["name"], run["submit_dir"], run["operator"], run["project"], run["campaign"], run["payload"],
                                                                     time.time(), run["run_summary"], run["id"])).lastrowid
    c.execute("INSERT INTO jobs SELECT ?, name, label, position, command, parents, CASE state WHEN 'SUCCEEDED' THEN 'SUCCEEDED' ELSE 'UNREADY' END, "
              "CASE state WHEN 'SUCCEEDED' THEN attempts ELSE 0 END, CASE state WHEN 'SUCCEEDED' THEN exit_codes ELSE '[]' END, cpus, memory_start, memory_start, "
              "memory_multiplier, memory_limit, retries, retry_unless FROM jobs WHERE run_id = ?", (new, run["id"]))
    wms.start_runner(new, run["submit_dir"], run["name"])
    print(f"Run Id: {new}")
    print(f"Run Name: {run['name']}")


def ping(a, log):
    log.info(DRIVERS, "Ping successful.")
