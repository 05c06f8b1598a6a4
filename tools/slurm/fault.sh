#!/usr/bin/env bash
# Faults on the test SLURM of start.sh, for test/faults.e2e.spec.ts and tools/soak-slurm.mjs.
#   fault.sh controller-stop [--kill]  slurmctld stopped: SIGTERM (it saves its state first) or,
#                                      with --kill, SIGKILL (state as of its last periodic save)
#   fault.sh controller-start          slurmctld started again, restoring its jobs from
#                                      StateSaveLocation; returns once it answers
#   fault.sh node drain|down|resume [reason]
#                                      the node's state, as an admin sets it; resume returns once
#                                      the node takes jobs again
# Idempotent: stopping a stopped controller or resuming an idle node does nothing.
set -euo pipefail

NODE=$(hostname -s)
running() { pgrep -x -r R,S,D slurmctld >/dev/null; }  # zombies don't count
wait_for() {  # seconds command...: until the command succeeds, or fail
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "fault: timed out waiting for: $*" >&2; exit 1; }
    sleep 0.2
  done
}
node_up() { sinfo -h -n "$NODE" -o %T | grep -Eqx 'idle|mixed|allocated|completing'; }

case "${1:-}" in
  controller-stop)
    sig=TERM; [ "${2:-}" = --kill ] && sig=KILL
    if running; then pkill "-$sig" -x slurmctld; wait_for 20 bash -c '! pgrep -x -r R,S,D slurmctld'; fi
    echo "fault: slurmctld stopped (SIG$sig)" ;;
  controller-start)
    if ! running; then
      slurmctld
      wait_for 30 scontrol ping
      # A restarted controller marks the node not responding (*) until its slurmd registers again.
      wait_for 60 bash -c "sinfo -h -n $NODE -o %T | grep -qv '[*]\$'"
    fi
    echo "fault: slurmctld answers" ;;
  node)
    state=${2:?node drain, down or resume}
    reason=${3:-fault.sh $state}
    case "$state" in
      drain|down) scontrol update nodename="$NODE" state="$state" reason="$reason" ;;
      resume)
        st=$(sinfo -h -n "$NODE" -o %T)
        # Resume is refused for a node in no admin state (e.g. idle* while a restarted controller waits to hear from it).
        case "$st" in down*|drain*|drng*|drained*|draining*|fail*) scontrol update nodename="$NODE" state=resume ;; esac
        wait_for 30 node_up ;;
      *) echo "fault: node state must be drain, down or resume" >&2; exit 2 ;;
    esac
    echo "fault: node $NODE $(sinfo -h -n "$NODE" -o %T)" ;;
  *)
    sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
