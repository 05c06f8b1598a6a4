#!/usr/bin/env bash
# Debian's libfaketime for the resilience test's wall-clock jump (LD_PRELOAD). Idempotent; root.
set -euo pipefail
if compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "tools/faketime/install.sh: needs root and apt-get (apt-get install faketime)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq faketime >/dev/null
