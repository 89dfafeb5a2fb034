#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 cluster.
#
#   scripts/with-pg.sh COMMAND [ARGS...]
#
# The cluster lives in a fresh temporary directory, listens on a unix socket
# there and on a free loopback port, trusts local connections, and is stopped
# and deleted when the command ends: on success, failure, Ctrl-C or TERM.
# The command sees DATABASE_URL (and TIDE_TEST_URL, PGHOST, PGPORT, PGUSER,
# PGDATABASE, TIDE_PG_DATA, TIDE_PG_BIN, and TIDE_PG_RUN_AS: the prefix that
# runs a command as the server's user) pointing at it.
#
# Only when asked (the other tests do not pay for them):
#   TIDE_PG_REPLICA=1    also a physical streaming replica of it, made with
#                        pg_basebackup -R, on a port and socket of its own;
#                        waits until it streams, exports TIDE_TEST_REPLICA_URL
#                        (and TIDE_PG_REPLICA_DATA, TIDE_PG_REPLICA_PORT)
#   TIDE_PG_PGBOUNCER=1  also PgBouncer in transaction mode in front of the
#                        primary (3 server connections, used round robin); exports
#                        TIDE_TEST_PGBOUNCER_URL (and TIDE_PG_PGBOUNCER_PORT).
#                        PgBouncer passes no startup options, so the role
#                        gets the settings tide would have asked for
#                        (IntervalStyle=iso_8601; DateStyle is ISO already).
# Both are stopped and deleted with the primary.
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
    if [ -f "$dir/pgbouncer.pid" ]; then
      kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    fi
    if [ -f "$dir/replica/postmaster.pid" ]; then
      as_server "$pg_bin/pg_ctl" -D "$dir/replica" -m immediate -w stop >/dev/null 2>&1 || true
    fi
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
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $(( 20000 + RANDOM % 20000 ))
}
port=$(free_port)

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

export TIDE_PG_DATA="$dir/data" TIDE_PG_BIN="$pg_bin" TIDE_PG_DIR="$dir"
# How to run the server's own commands (pg_ctl) from a test: as this user.
if [ "$(id -u)" -eq 0 ]; then export TIDE_PG_RUN_AS="runuser -u $run_user --"; else export TIDE_PG_RUN_AS=""; fi
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=tide PGDATABASE=postgres
export DATABASE_URL="postgresql://tide@127.0.0.1:$port/postgres"
export TIDE_TEST_URL="$DATABASE_URL"

if [ "${TIDE_PG_REPLICA:-0}" = 1 ]; then
  # Commits are asynchronous (synchronous_commit = off): flush them often, so
  # the replica is a few ms behind rather than the default 200.
  echo "wal_writer_delay = 10ms" >>"$dir/data/postgresql.conf"
  as_server "$pg_bin/pg_ctl" -D "$dir/data" reload >/dev/null
  # A physical copy that follows the primary's WAL (initdb's trust rules
  # already allow replication connections from the socket and loopback).
  rport=$(free_port)
  while [ "$rport" = "$port" ]; do rport=$(free_port); done
  mkdir -p "$dir/rsock"
  [ "$(id -u)" -eq 0 ] && chown "$run_user" "$dir/rsock"
  as_server "$pg_bin/pg_basebackup" -h "$dir" -p "$port" -U tide -D "$dir/replica" -R -X stream -c fast \
    >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
  cat >>"$dir/replica/postgresql.conf" <<CONF
port = $rport
unix_socket_directories = '$dir/rsock'
hot_standby = on
CONF
  as_server "$pg_bin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w -t 60 start >/dev/null || {
    cat "$dir/replica.log" >&2; exit 1; }
  streaming=""
  for _ in $(seq 1 300); do
    streaming=$("$pg_bin/psql" -qAt -h 127.0.0.1 -p "$port" -U tide -d postgres \
      -c "select 1 from pg_stat_replication where state = 'streaming'" 2>/dev/null || true)
    [ "$streaming" = 1 ] && break
    sleep 0.1
  done
  if [ "$streaming" != 1 ]; then
    echo "with-pg: the replica did not start streaming" >&2
    cat "$dir/replica.log" >&2
    exit 1
  fi
  export TIDE_PG_REPLICA_DATA="$dir/replica" TIDE_PG_REPLICA_PORT=$rport
  export TIDE_TEST_REPLICA_URL="postgresql://tide@127.0.0.1:$rport/postgres"
fi

if [ "${TIDE_PG_PGBOUNCER:-0}" = 1 ]; then
  pgbouncer_bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  if [ ! -x "$pgbouncer_bin" ]; then
    echo "with-pg: pgbouncer is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
  "$pg_bin/psql" -qAt -h 127.0.0.1 -p "$port" -U tide -d postgres \
    -c "alter role tide set IntervalStyle = 'iso_8601'" >/dev/null
  bport=$(free_port)
  while [ "$bport" = "$port" ]; do bport=$(free_port); done
  printf '"tide" ""\n' >"$dir/pgbouncer.users"
  # pool_size 3 and round robin: client connections share few server
  # connections and each round trip may land on another one, so a statement
  # that depended on the previous round trip's server would fail.
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$dir port=$port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/pgbouncer.users
pool_mode = transaction
default_pool_size = 3
server_round_robin = 1
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  [ "$(id -u)" -eq 0 ] && chown "$run_user" "$dir/pgbouncer.ini" "$dir/pgbouncer.users"
  as_server "$pgbouncer_bin" -d "$dir/pgbouncer.ini" >/dev/null 2>&1 || {
    cat "$dir/pgbouncer.log" >&2 2>/dev/null; exit 1; }
  up=""
  for _ in $(seq 1 100); do
    up=$("$pg_bin/psql" -qAt -h 127.0.0.1 -p "$bport" -U tide -d postgres -c "select 1" 2>/dev/null || true)
    [ "$up" = 1 ] && break
    sleep 0.1
  done
  if [ "$up" != 1 ]; then
    echo "with-pg: pgbouncer did not come up" >&2
    cat "$dir/pgbouncer.log" >&2 2>/dev/null
    exit 1
  fi
  export TIDE_PG_PGBOUNCER_PORT=$bport
  export TIDE_TEST_PGBOUNCER_URL="postgresql://tide@127.0.0.1:$bport/postgres"
fi

# Not exec: the trap must run after the command.
set +e
"$@"
rc=$?
set -e
exit $rc
