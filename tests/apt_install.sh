#!/usr/bin/env bash
# Install Debian packages for the test suite (as root): tests/with_postgres.sh and
# tests/with_chromium.sh call it when what they need is missing. apt's output goes to a
# log that is printed when a step fails, so a failed install always says why; each step
# is tried three times (a mirror that times out, a lock held by another apt run).
set -euo pipefail

LOG=$(mktemp /tmp/chargeplan-apt.XXXXXX)
trap 'rm -f "$LOG"' EXIT
export DEBIAN_FRONTEND=noninteractive

run() {
  local attempt
  for attempt in 1 2 3; do
    if "$@" >"$LOG" 2>&1; then
      return 0
    fi
    echo "'$*' failed (attempt $attempt of 3):" >&2
    tail -n 20 "$LOG" >&2
  done
  return 1
}

run apt-get -o DPkg::Lock::Timeout=600 update -q
run apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@"
