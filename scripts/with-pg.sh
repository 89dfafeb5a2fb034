#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 cluster.
#
#   scripts/with-pg.sh COMMAND [ARGS...]
#
# The cluster lives in a fresh temporary directory, listens on a unix socket
# there and on a free loopback port, trusts local connections, and is stopped
# and deleted when the command ends: on success, failure, Ctrl-C or TERM.
# The command sees DATABASE_URL (and TIDE_TEST_URL, PGHOST, PGPORT, PGUSER,
# PGDATABASE, TIDE_PG_DATA, TIDE_PG_BIN) pointing at it.
#
# PostgreSQL refuses to run as root, so as root the server runs as the
# unprivileged user TIDE_PG_USER (default: postgres, else nobody).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

pg_bin=${TIDE_PG_BIN:-}
if [ -z "$pg_bin" ]; then
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then pg_bin=$d; break; fi
  done
fi
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "with-pg: no PostgreSQL server binaries found (install the 'postgresql' package)" >&2
  exit 1
fi

as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$run_user" -- "$@"
  else
    "$@"
  fi
}

run_user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  run_user=${TIDE_PG_USER:-}
  if [ -z "$run_user" ]; then
    if id postgres >/dev/null 2>&1; then run_user=postgres; else run_user=nobody; fi
  fi
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/tide-pg.XXXXXX")
chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown "$run_user" "$dir"

stopped=0
cleanup() {
  local rc=$?
  if [ "$stopped" -eq 0 ]; then
    stopped=1
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_server "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
  fi
  return $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port: ask the kernel for one.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $(( 20000 + RANDOM % 20000 )))

as_server "$pg_bin/initdb" -D "$dir/data" -U tide -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2; exit 1; }

cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
CONF

as_server "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
  cat "$dir/server.log" >&2; exit 1; }

export TIDE_PG_DATA="$dir/data" TIDE_PG_BIN="$pg_bin" TIDE_PG_DIR="$dir" TIDE_PG_RUN_USER="$run_user"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=tide PGDATABASE=postgres
export DATABASE_URL="postgresql://tide@127.0.0.1:$port/postgres"
export TIDE_TEST_URL="$DATABASE_URL"

# Not exec: the trap must run after the command.
set +e
"$@"
rc=$?
set -e
exit $rc
