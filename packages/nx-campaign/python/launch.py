"""Starts the local backend's stage processes for one nx-campaign process.

Node forks its whole address space for every child; from the batch executor (Nx loaded) that is
about 3 ms of blocked event loop per stage. Python's subprocess uses vfork: about 0.4 ms.

Requests, one JSON object per line on stdin:
  {"op": "start", "id": ..., "argv": [...], "cwd": ..., "env": {...}, "log": path, "header": text}
  {"op": "stop", "id": ...}     SIGTERM to its process group, SIGKILL 5 s later
Reports, one JSON object per line on fd 3:
  {"id": ..., "lines": [...]}                                  output, as it comes
  {"id": ..., "code": n|null, "signal": name|null, "error": code|null, "message": text|null,
   "started": epoch ms, "ended": epoch ms, "seconds": s}        once, when its output closed and it exited
"seconds" is measured on the monotonic clock (a jump of the wall clock does not change it);
"error" is "ELOG" (and "message" why) when its log could not be written (a full disk): the stage
ran on, its lines still reported, and counts as failed.
Each stage runs in its own session (its own process group), stdin from /dev/null, stdout and
stderr to one pipe, copied line by line to its log. When stdin closes (the nx process ended),
every stage still running is stopped.
"""
import json
import os
import selectors
import signal
import subprocess
import sys
import time

KILL_AFTER = 5.0
reports = os.fdopen(3, "w", buffering=1)
sel = selectors.DefaultSelector()
running = {}  # id -> Stage
kills = []  # (when, pgid)


def report(obj):
    try:
        reports.write(json.dumps(obj) + "\n")
    except BrokenPipeError:
        pass  # the nx process is gone; stdin closes next and the stages are stopped


class Stage:
    def __init__(self, req):
        self.id = req["id"]
        self.log = open(req["log"], "w", encoding="utf-8", buffering=1)
        try:
            self.log.write(req["header"])
        except OSError:
            self.close_log()
            raise
        self.log_error = None
        self.partial = b""
        self.eof = False
        self.started = time.time()
        self.t0 = time.monotonic()
        env = dict(os.environ)
        env.update(req["env"])
        self.proc = subprocess.Popen(req["argv"], cwd=req["cwd"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        os.set_blocking(self.proc.stdout.fileno(), False)
        sel.register(self.proc.stdout, selectors.EVENT_READ, self)

    def read(self):
        try:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        if chunk:
            *lines, self.partial = (self.partial + chunk).split(b"\n")
        else:
            lines, self.partial, self.eof = ([self.partial] if self.partial else []), b"", True
            sel.unregister(self.proc.stdout)
            self.proc.stdout.close()
        if lines:
            text = [line.decode("utf-8", "replace") for line in lines]
            self.write_log("".join(t + "\n" for t in text))
            report({"id": self.id, "lines": text})

    def write_log(self, text):
        if self.log is None:
            return
        try:
            self.log.write(text)
        except OSError as e:
            self.log_error = f"could not write its log {self.log.name}: {e.strerror}"
            self.close_log()

    def close_log(self):
        try:
            self.log.close()
        except OSError as e:
            self.log_error = getattr(self, "log_error", None) or f"could not write its log {self.log.name}: {e.strerror}"
        self.log = None

    def done(self):
        if not self.eof or self.proc.poll() is None:
            return False
        rc = self.proc.returncode
        ended = time.time()
        seconds = time.monotonic() - self.t0
        how = f"exit code {rc}" if rc >= 0 else f"killed by {signal.Signals(-rc).name}"
        self.write_log(f"# ended: {time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ended))}Z ({seconds:.1f} s): {how}\n")
        if self.log is not None:
            self.close_log()
        report({"id": self.id, "code": rc if rc >= 0 else None, "signal": None if rc >= 0 else signal.Signals(-rc).name, "error": "ELOG" if self.log_error else None, "message": self.log_error, "started": self.started * 1000, "ended": ended * 1000, "seconds": seconds})
        return True

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        kills.append((time.monotonic() + KILL_AFTER, self.proc.pid))


def start(req):
    try:
        running[req["id"]] = Stage(req)
    except OSError as e:
        code = {2: "ENOENT", 13: "EACCES", 20: "ENOTDIR", 28: "ENOSPC", 122: "EDQUOT"}.get(e.errno, "E%d" % (e.errno or 0))
        now = time.time() * 1000
        report({"id": req["id"], "code": None, "signal": None, "error": code, "message": e.strerror or str(e), "started": now, "ended": now, "seconds": 0})


buffer = b""
os.set_blocking(0, False)
sel.register(sys.stdin.buffer, selectors.EVENT_READ, None)
stdin_open = True
while stdin_open or running:
    # A stage whose output closed but has not exited yet is looked at again soon.
    waiting = any(s.eof for s in running.values())
    timeout = 0.02 if waiting else (min(k[0] for k in kills) - time.monotonic() if kills else None)
    for key, _ in sel.select(None if timeout is None else max(0, timeout)):
        if key.data is None:
            try:
                chunk = os.read(0, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                stdin_open = False
                sel.unregister(sys.stdin.buffer)
                for s in running.values():
                    s.stop()
                continue
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                req = json.loads(line)
                if req["op"] == "start":
                    start(req)
                elif req["op"] == "stop" and req["id"] in running:
                    running[req["id"]].stop()
        else:
            key.data.read()
    for sid in [sid for sid, s in running.items() if s.done()]:
        del running[sid]
    now = time.monotonic()
    for when, pgid in [k for k in kills if k[0] <= now]:
        kills.remove((when, pgid))
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
