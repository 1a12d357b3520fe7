#!/usr/bin/env bash
# Run a command with CHARGEPLAN_TEST_POSTGRES_URL pointing at a real PostgreSQL server.
# Uses the server named by that variable when it is set; otherwise starts a throwaway
# cluster from Debian's postgresql package (installing it when missing and running as
# root), on a private port and socket directory, and stops it afterwards.
set -euo pipefail

if [ -n "${CHARGEPLAN_TEST_POSTGRES_URL:-}" ]; then
  exec "$@"
fi

find_bin() {  # nothing installed: empty, not a failure of the pipeline
  { ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true; } | sort -V | tail -n 1
}
PGBIN=$(find_bin)
if [ -z "$PGBIN" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing PostgreSQL from Debian's packages..." >&2
    bash "$(dirname "$0")/apt_install.sh" postgresql
    PGBIN=$(find_bin)
  else
    echo "PostgreSQL is not installed: apt-get install postgresql, or set CHARGEPLAN_TEST_POSTGRES_URL" >&2
    exit 1
  fi
fi

# Below the ephemeral range (32768+), so no client socket of the tests can hold the port.
PORT=${CHARGEPLAN_TEST_PG_PORT:-25432}
DIR=$(mktemp -d /tmp/chargeplan-pg.XXXXXX)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  # The server refuses to run as root.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DIR"
  RUN_AS=(runuser -u postgres --)
fi
cleanup() {
  "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"${RUN_AS[@]}" "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres >/dev/null
started=no
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      start >/dev/null; then
    started=yes
    break
  fi
  PORT=$((PORT + 1))  # taken by something else: try the next one
done
if [ "$started" != yes ]; then
  echo "could not start a PostgreSQL test server; its log:" >&2
  cat "$DIR/log" >&2
  exit 1
fi
export CHARGEPLAN_TEST_POSTGRES_URL="postgresql+asyncpg://postgres@127.0.0.1:$PORT/postgres"
"$@"
