#!/usr/bin/env bash
# Debian's package for tests that need it, when missing. Idempotent; root with apt-get.
#   tools/apt-install.sh chromium   the dashboard's browser tests (playwright-core drives it)
#   tools/apt-install.sh faketime   libfaketime for the resilience test's wall-clock jump (LD_PRELOAD)
set -euo pipefail
pkg=${1:?tools/apt-install.sh chromium|faketime}
case "$pkg" in
  chromium) present() { command -v chromium >/dev/null; } ;;
  faketime) present() { compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null; } ;;
  *) echo "tools/apt-install.sh: $pkg is not one of chromium, faketime" >&2; exit 2 ;;
esac
present && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "tools/apt-install.sh: needs root and apt-get (apt-get install $pkg)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "$pkg" >/dev/null
present
