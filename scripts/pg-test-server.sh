#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the test suite (run as root): a fresh cluster in a temp dir, owned by the
# `postgres` user, listening on 127.0.0.1:${PG_TEST_PORT:-54329} only, trust auth, with a `pictograph_test`
# database. Prints the connection URL on stdout (everything else goes to stderr). Installs PostgreSQL from
# Debian with apt-get when it is missing. Stop it with: scripts/pg-test-server.sh stop
# PG_TEST_OPTIONS adds server settings, e.g. "-c shared_buffers=2GB -c work_mem=64MB" (the scale benchmark).
set -euo pipefail
PORT="${PG_TEST_PORT:-54329}"
STATE="${PG_TEST_STATE:-/tmp/pictograph-pg-test-${PORT}}"
DB=pictograph_test

log() { echo "pg-test-server: $*" >&2; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

if [ "${1:-}" = "stop" ]; then
  BIN=$(pg_bin) || { log "PostgreSQL is not installed"; exit 0; }
  if [ -f "$STATE/dir" ]; then
    DATA=$(cat "$STATE/dir")
    su postgres -s /bin/sh -c "'$BIN/pg_ctl' -D '$DATA' -m fast -w stop" >&2 || true
    rm -rf "$(dirname "$DATA")" "$STATE"
  fi
  exit 0
fi

[ "$(id -u)" = 0 ] || { log "run as root (it creates a cluster owned by the postgres user)"; exit 1; }

BIN=$(pg_bin || true)
if [ -z "$BIN" ]; then
  log "installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN=$(pg_bin)
fi
id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres

URL="postgres://postgres@127.0.0.1:${PORT}/${DB}"

# Already running from an earlier call: reuse it.
if [ -f "$STATE/dir" ] && su postgres -s /bin/sh -c "'$BIN/pg_isready' -q -h 127.0.0.1 -p $PORT" 2>/dev/null; then
  echo "$URL"
  exit 0
fi

mkdir -p "$STATE"
DATA=$(mktemp -d /tmp/pictograph-pg-data.XXXXXX)
chown postgres: "$DATA"
chmod 700 "$DATA"
echo "$DATA" > "$STATE/dir"
SOCK="$DATA/sock"
su postgres -s /bin/sh -c "mkdir -p '$SOCK' && '$BIN/initdb' -D '$DATA/db' -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null" >&2
su postgres -s /bin/sh -c "'$BIN/pg_ctl' -D '$DATA/db' -l '$DATA/log' -w -o \"-c listen_addresses=127.0.0.1 -p $PORT -k $SOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${PG_TEST_OPTIONS:-}\" start" >&2
# pg_ctl stop needs the data dir itself
echo "$DATA/db" > "$STATE/dir"
su postgres -s /bin/sh -c "'$BIN/createdb' -h 127.0.0.1 -p $PORT -U postgres $DB" >&2
echo "$URL"
