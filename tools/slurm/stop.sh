#!/usr/bin/env bash
# Stop slurmd and slurmctld started by start.sh (munge is left running). Idempotent.
set -euo pipefail

running() { pgrep -x -r R,S,D "$1" >/dev/null; }  # zombies don't count
for d in slurmd slurmctld; do
  pid=$(cat "/run/$d.pid" 2>/dev/null || true)
  # A stale pid file may name another process: then find the daemon by exact name.
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$d" ] || pid=$(pgrep -x -r R,S,D "$d" || true)
  [ -z "$pid" ] || kill $pid
  # Wait up to 10 s for it to exit.
  for _ in $(seq 50); do running "$d" || break; sleep 0.2; done
  if running "$d"; then echo "slurm: $d did not stop" >&2; exit 1; fi
done
echo "slurm: stopped"
