#!/usr/bin/env bash
# Run a command once the browser the browser tests drive is installed (tests/browser:
# Playwright with Debian's chromium, never a browser download). Uses the executable
# CHARGEPLAN_TEST_CHROMIUM names, by default /usr/bin/chromium; when that default is
# missing, installs Debian's chromium package when running as root, else says how and
# exits non-zero.
set -euo pipefail

CHROMIUM=${CHARGEPLAN_TEST_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ -n "${CHARGEPLAN_TEST_CHROMIUM:-}" ]; then
    echo "CHARGEPLAN_TEST_CHROMIUM=$CHROMIUM is not an executable" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "Chromium is not installed ($CHROMIUM): apt-get install chromium, or set" \
         "CHARGEPLAN_TEST_CHROMIUM to a Chromium executable" >&2
    exit 1
  fi
  echo "installing Chromium from Debian's packages..." >&2
  bash "$(dirname "$0")/apt_install.sh" chromium
  if [ ! -x "$CHROMIUM" ]; then
    echo "the chromium package did not install $CHROMIUM" >&2
    exit 1
  fi
fi
exec "$@"
