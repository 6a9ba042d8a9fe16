#!/usr/bin/env bash
# Start a private PostgreSQL server on 127.0.0.1 for the test suite and print its URL.
# Uses Debian's postgresql package (installed by scripts/system-deps.sh); data lives under /tmp, so the
# machine's own clusters are left alone. Idempotent: a running server is reused.
set -euo pipefail
PORT="${LOYALTY_PG_PORT:-54329}"
DATA="${LOYALTY_PG_DATA:-/tmp/loyalty-monitor-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$BIN" ]; then
  echo "PostgreSQL binaries not found; run scripts/system-deps.sh" >&2
  exit 1
fi
RUN_AS=()
if [ "$(id -u)" = "0" ]; then
  RUN_AS=(runuser -u postgres --)
  mkdir -p "$DATA" && chown postgres:postgres "$DATA"
fi
if [ ! -f "$DATA/PG_VERSION" ]; then
  "${RUN_AS[@]}" "$BIN/initdb" -D "$DATA" -U loyalty --auth=trust >/dev/null
fi
if ! "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
fi
for db in loyalty_test loyalty_bench; do
  "${RUN_AS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U loyalty -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
    || "${RUN_AS[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U loyalty "$db"
done
echo "postgresql+psycopg://loyalty@127.0.0.1:$PORT/loyalty_test"
