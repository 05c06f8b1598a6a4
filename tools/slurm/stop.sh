#!/usr/bin/env bash
# Stop slurmd and slurmctld started by start.sh (munge is left running). Idempotent.
set -euo pipefail

for d in slurmd slurmctld; do
  pid=$(cat "/run/$d.pid" 2>/dev/null || pgrep -x "$d" || true)
  # Only signal a live process that really is $d (pid files may be stale).
  for p in $pid; do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$d" ] && kill "$p" || true
  done
  # Wait up to 10 s for it to exit.
  for _ in $(seq 20); do pgrep -x "$d" >/dev/null || break; sleep 0.5; done
  if pgrep -x "$d" >/dev/null; then echo "slurm: $d did not stop" >&2; exit 1; fi
done
echo "slurm: stopped"
