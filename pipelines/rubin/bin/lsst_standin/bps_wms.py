"""The stand-in bps's workflow management system, in place of HTCondor: runs numbered by a
counter in ${BPS_STANDIN_HOME:-~/.lsst-standin}/bps/runs.sqlite3 (table runs: id, name, state,
submit dir, ...; table jobs: the jobs of each run and their states), one detached runner
process per run (its own session, so that `bps cancel` ends it and its jobs as one process group)
that runs the jobs: pipetaskInit, one job per quantum (the runQuantumCommand, `pipetask run-qbb`),
then the finalJob (`butler aggregate-graph`, which registers the outputs and updates the output
chain), each as soon as its parents succeeded, as many at once as ${BPS_STANDIN_CORES:-the
machine's cores} allow for their requestCpus. A failed job is retried up to numberOfRetries
times unless its exit code is in retryUnlessExit; its descendants are PRUNED when it fails for
good. A job whose memory (RSS) exceeds requestMemory is killed and retried with requestMemory x
memoryMultiplier (up to memoryLimit), or HELD when that cannot grow. Each job's output goes to
<submit dir>/jobs/<label>/<job name>.log, each attempt appended."""
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time

STATES = ["UNKNOWN", "MISFIT", "UNREADY", "READY", "PENDING", "RUNNING", "DELETED", "HELD", "SUCCEEDED", "FAILED", "PRUNED"]
CODES = {"UNKNOWN": 10, "MISFIT": 11, "UNREADY": 12, "READY": 13, "PENDING": 14, "RUNNING": 15, "DELETED": 16, "HELD": 17, "SUCCEEDED": 0, "FAILED": 19, "PRUNED": 20}
FINAL = ("SUCCEEDED", "FAILED", "DELETED")
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, state TEXT NOT NULL, submit_dir TEXT NOT NULL, operator TEXT, project TEXT,
  campaign TEXT, payload TEXT, pid INTEGER, created REAL, finished REAL, run_summary TEXT, restarted_from INTEGER);
CREATE TABLE IF NOT EXISTS jobs (run_id INTEGER NOT NULL, name TEXT NOT NULL, label TEXT NOT NULL, position INTEGER, command TEXT NOT NULL, parents TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, exit_codes TEXT NOT NULL DEFAULT '[]', cpus INTEGER, memory INTEGER, memory_start INTEGER,
  memory_multiplier REAL, memory_limit INTEGER, retries INTEGER, retry_unless TEXT, PRIMARY KEY (run_id, name));
"""


def home():
    return os.path.join(os.environ.get("BPS_STANDIN_HOME") or os.path.join(os.path.expanduser("~"), ".lsst-standin"), "bps")


def db():
    os.makedirs(home(), exist_ok=True)
    c = sqlite3.connect(os.path.join(home(), "runs.sqlite3"), timeout=60, isolation_level=None)
    c.row_factory = sqlite3.Row
    c.execute("PRAGMA busy_timeout = 60000")
    c.execute("PRAGMA journal_mode = WAL")
    c.executescript(SCHEMA)
    return c


def alive(pid):
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


def run_state(run):
    """A run's state: the runner's last word, RUNNING while it lives, FAILED if it vanished."""
    if run["state"] in FINAL:
        return run["state"]
    return "RUNNING" if alive(run["pid"]) else "FAILED"


def rss_mb(pid):
    """Resident memory of a job and its children, MB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            pass
    return total / 1024


class Runner:
    def __init__(self, run_id):
        self.c, self.run_id = db(), run_id
        self.run = self.c.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        self.cores = max(1, int(os.environ.get("BPS_STANDIN_CORES") or os.cpu_count() or 1))
        self.procs, self.stop = {}, False

    def jobs(self):
        return {j["name"]: dict(j) for j in self.c.execute("SELECT * FROM jobs WHERE run_id = ? ORDER BY position", (self.run_id,))}

    def set(self, name, **fields):
        self.c.execute(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in fields)} WHERE run_id = ? AND name = ?", (*fields.values(), self.run_id, name))

    def start(self, job):
        attempt = job["attempts"] + 1
        log_path = os.path.join(self.run["submit_dir"], "jobs", job["label"], f"{job['name']}.log")
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        log = open(log_path, "a")
        log.write(f"### {time.strftime('%Y-%m-%dT%H:%M:%S%z')} attempt {attempt}, requestCpus {job['cpus']}, requestMemory {job['memory']} MB\n### {job['command']}\n")
        log.flush()
        self.set(job["name"], attempts=attempt)
        job = {**job, "attempts": attempt}
        try:
            proc = subprocess.Popen(shlex.split(job["command"]), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.run["submit_dir"])
        except OSError as e:
            log.write(f"cannot start the job: {e}\n")
            log.close()
            self.finished(job, 127, False)
            return
        self.procs[job["name"]] = (proc, log, False)
        self.set(job["name"], state="RUNNING")

    def finished(self, job, code, over_memory):
        codes = json.loads(job["exit_codes"]) + [code]
        retries_left = job["attempts"] < job["retries"] + 1
        if code == 0:
            self.set(job["name"], state="SUCCEEDED", exit_codes=json.dumps(codes))
        elif over_memory:
            grown = min(int(job["memory"] * (job["memory_multiplier"] or 1)), job["memory_limit"] or job["memory"])
            if grown > job["memory"] and retries_left:
                self.set(job["name"], state="READY", exit_codes=json.dumps(codes), memory=grown)
            else:
                self.set(job["name"], state="HELD", exit_codes=json.dumps(codes))
        elif retries_left and code not in json.loads(job["retry_unless"]):
            self.set(job["name"], state="READY", exit_codes=json.dumps(codes))
        else:
            self.set(job["name"], state="FAILED", exit_codes=json.dumps(codes))

    def poll(self):
        jobs = self.jobs()
        for name, (proc, log, over) in list(self.procs.items()):
            if proc.poll() is None and rss_mb(proc.pid) > jobs[name]["memory"]:
                log.write(f"### job killed: its memory exceeded requestMemory {jobs[name]['memory']} MB\n")
                log.flush()
                proc.kill()
                self.procs[name] = (proc, log, True)
                over = True
            if proc.poll() is not None:
                log.close()
                del self.procs[name]
                self.finished(jobs[name], proc.returncode, over)
        return self.jobs()

    def loop(self):
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop", True))
        while not self.stop:
            jobs = self.poll()
            state = {n: j["state"] for n, j in jobs.items()}
            for n, j in jobs.items():
                if j["state"] != "UNREADY":
                    continue
                parents = json.loads(j["parents"])
                if j["label"] == "finalJob":
                    if all(state[p] in ("SUCCEEDED", "FAILED", "PRUNED") for p in parents):
                        self.set(n, state="READY")
                elif any(state[p] in ("FAILED", "PRUNED") for p in parents):
                    self.set(n, state="PRUNED")
                    state[n] = "PRUNED"
                elif all(state[p] == "SUCCEEDED" for p in parents):
                    self.set(n, state="READY")
            jobs = self.jobs()
            used = sum(min(jobs[n]["cpus"], self.cores) for n in self.procs)
            for n, j in jobs.items():
                need = min(j["cpus"] or 1, self.cores)
                if j["state"] == "READY" and (used + need <= self.cores or not self.procs):
                    self.start(j)
                    used += need
            states = {j["state"] for j in self.jobs().values()}
            if not states & {"UNREADY", "READY", "RUNNING", "HELD"}:
                final = "SUCCEEDED" if states == {"SUCCEEDED"} else "FAILED"
                self.c.execute("UPDATE runs SET state = ?, finished = ? WHERE id = ?", (final, time.time(), self.run_id))
                return
            time.sleep(0.05)
        for proc, log, _ in self.procs.values():
            proc.kill()
        self.c.execute("UPDATE jobs SET state = 'DELETED' WHERE run_id = ? AND state IN ('UNREADY', 'READY', 'RUNNING', 'HELD', 'PENDING')", (self.run_id,))
        self.c.execute("UPDATE runs SET state = 'DELETED', finished = ? WHERE id = ?", (time.time(), self.run_id))


def start_runner(run_id, submit_dir, name):
    """The detached runner of a run (its own session), its output in the submit dir."""
    log = open(os.path.join(submit_dir, f"{name}.runner.log"), "a")
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bps")
    proc = subprocess.Popen([sys.executable, script, "_run-workflow", str(run_id)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, cwd=submit_dir)
    db().execute("UPDATE runs SET pid = ? WHERE id = ?", (proc.pid, run_id))
    return proc.pid


def counts(c, run_id):
    """{label: {state: n}} of a run's jobs, labels in workflow order."""
    out = {}
    for j in c.execute("SELECT label, state FROM jobs WHERE run_id = ? ORDER BY position", (run_id,)):
        out.setdefault(j["label"], dict.fromkeys(STATES, 0))[j["state"]] += 1
    return out


def exit_codes(c, run_id):
    out = {}
    for j in c.execute("SELECT label, state, exit_codes FROM jobs WHERE run_id = ? ORDER BY position", (run_id,)):
        codes = out.setdefault(j["label"], [])
        if j["state"] == "FAILED":
            codes.append(json.loads(j["exit_codes"])[-1])
    return out
