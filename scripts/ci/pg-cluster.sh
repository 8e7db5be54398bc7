#!/usr/bin/env bash
# Start/stop a throwaway PostgreSQL 15 cluster for tests.
#
# Why not the packaged cluster (pg_ctlcluster 15 main on 5432)? Tests must not
# depend on, or damage, whatever a machine already runs; a private cluster in
# its own directory, on loopback only, at a non-standard port, with trust auth,
# can be created and thrown away in a couple of seconds.
#
# Usage (as root):
#   scripts/ci/pg-cluster.sh start   -> prints DATABASE_URL on stdout (logs go to stderr)
#   scripts/ci/pg-cluster.sh stop
#   scripts/ci/pg-cluster.sh status  -> prints DATABASE_URL if running, exit 1 otherwise
#   scripts/ci/pg-cluster.sh url     -> prints DATABASE_URL of the cluster in PG_CLUSTER_DIR
#
# Env:
#   PG_CLUSTER_DIR  directory holding data/, sock/, the log and the port (default /tmp/switchyard-pg).
#                   .ci/run passes a fresh mktemp dir; developers share the default one.
#   PG_PORT         preferred port (default 55432); the next free one is used if it is taken.
#   PG_DATABASES    databases to create, each with the vector extension
#                   (default "switchyard_test"; the first one is the one in DATABASE_URL).
#   PG_MAJOR        PostgreSQL major version (default 15).
#
# Idempotent: `start` on a running cluster only makes sure the databases exist;
# `start` on a stopped one restarts it with its data (and its port when still free).
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PG_BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
DIR="${PG_CLUSTER_DIR:-/tmp/switchyard-pg}"
DATA="$DIR/data"
SOCK="$DIR/sock"
LOGFILE="$DIR/postgres.log"
PORT_FILE="$DIR/port"
read -r -a DBS <<<"${PG_DATABASES:-switchyard_test}"

log() { printf '[pg-cluster] %s\n' "$*" >&2; }
# Everything touching the cluster runs as `postgres`: the server refuses to run
# as root, and files owned by postgres can be reused by a later start.
as_pg() { runuser -u postgres -- "$@"; }

port_in_use() {
  # A successful connect means something listens there (on loopback or on
  # all addresses); bash's /dev/tcp needs no extra tools.
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

pick_port() {
  local p="${1}"
  for ((i = 0; i < 100; i++, p++)); do
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  log "no free port found in ${1}..$((p - 1))"
  return 1
}

is_running() { [[ -d "$DATA" ]] && as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

url() { echo "postgres://postgres@127.0.0.1:$(cat "$PORT_FILE")/${DBS[0]}"; }

psql_pg() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$(cat "$PORT_FILE")" "$@"; }

ensure_databases() {
  local db
  for db in "${DBS[@]}"; do
    if [[ -z "$(psql_pg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
      log "creating database $db"
      as_pg "$PG_BIN/createdb" -h "$SOCK" -p "$(cat "$PORT_FILE")" "$db"
    fi
    # Migrations also run CREATE EXTENSION IF NOT EXISTS; doing it here proves
    # pgvector is loadable before any test runs, and fails with a clear message if not.
    if ! psql_pg -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS vector" -c "SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector" >/dev/null; then
      log "CREATE EXTENSION vector failed in $db (is pgvector installed? see scripts/ci/install-pgvector.sh)"
      return 1
    fi
  done
}

start() {
  [[ $EUID -eq 0 ]] || { log "must run as root (it switches to user postgres)"; exit 1; }
  mkdir -p "$DIR"
  chown postgres: "$DIR"
  chmod 700 "$DIR"

  if is_running; then
    log "already running in $DIR"
    ensure_databases
    url
    return 0
  fi

  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    log "initdb in $DATA"
    rm -rf "$DATA"
    # --no-sync: a throwaway cluster does not need initdb's fsyncs (saves seconds on CI).
    as_pg "$PG_BIN/initdb" -D "$DATA" --auth=trust --username=postgres \
      --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 1; }
    # Durability is worthless for test data; skipping fsyncs makes DDL-heavy
    # test setup (migrations per test file) markedly faster. Loopback only.
    cat >>"$DATA/postgresql.conf" <<EOF

# --- added by scripts/ci/pg-cluster.sh (throwaway test cluster) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  as_pg mkdir -p "$SOCK"

  # Keep the previous port when it is still free, so a restarted shared
  # cluster keeps the URL that developers already have.
  local preferred="${PG_PORT:-55432}"
  [[ -z "${PG_PORT:-}" && -f "$PORT_FILE" ]] && preferred="$(cat "$PORT_FILE")"
  local port attempt
  for attempt in 1 2 3; do
    port="$(pick_port "$preferred")"
    echo "$port" >"$PORT_FILE"
    log "starting PostgreSQL ${PG_MAJOR} on 127.0.0.1:$port (data $DATA, log $LOGFILE)"
    # pg_ctl daemonizes the server (it outlives this script); -w waits until it accepts connections.
    if as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 -o "-p $port" start >/dev/null; then
      ensure_databases
      url
      return 0
    fi
    # Lost a race for the port (or another failure): show why, try the next port.
    tail -n 5 "$LOGFILE" >&2 || true
    preferred=$((port + 1))
  done
  log "could not start PostgreSQL; see $LOGFILE"
  exit 1
}

stop() {
  if is_running; then
    log "stopping cluster in $DIR"
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
  else
    log "no running cluster in $DIR"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) is_running && url ;;
  url) url ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
