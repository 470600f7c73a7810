#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for Gantry's tests and prints the line to use it:
#   export GANTRY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/gantry
# Idempotent: when the cluster is already running it only prints the line. Installs
# Debian's `postgresql` package when initdb/pg_ctl are missing. The cluster lives in
# $GANTRY_PG_DIR (default /tmp/gantry-pg), listens on 127.0.0.1 only, trusts local
# connections, and runs with fsync off: it is for tests, never for data you want to keep.
#
# Usage: eval "$(scripts/start-postgres.sh)"      stop: scripts/start-postgres.sh --stop
set -euo pipefail

dir="${GANTRY_PG_DIR:-/tmp/gantry-pg}"
first_port="${GANTRY_PG_PORT:-55432}"
db_name=gantry

log() { printf 'start-postgres: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The bin directory of the newest installed PostgreSQL (Debian keeps it off PATH).
find_bin() {
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then
    echo "$newest"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
  fi
}

bin="$(find_bin)"
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
  log "installing postgresql (initdb/pg_ctl not found)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bin="$(find_bin)"
fi
[ -n "$bin" ] && [ -x "$bin/pg_ctl" ] || die "initdb/pg_ctl still missing after installing postgresql"

# initdb refuses to run as root: run the cluster as the `postgres` user when we are root.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  as_pg() { runuser -u postgres -- "$@"; }
  owner=postgres
else
  as_pg() { "$@"; }
  owner="$(id -un)"
fi

mkdir -p "$dir"
chown "$owner" "$dir"
chmod 700 "$dir"

# One invocation at a time (parallel test binaries may all call this).
exec 9>"$dir.lock"
flock 9

if [ "${1:-}" = "--stop" ]; then
  if [ -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
  fi
  exit 0
fi

if [ ! -f "$dir/data/PG_VERSION" ]; then
  log "initialising a cluster in $dir/data"
  rm -rf "$dir/data"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >&2
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  # Line 4 of postmaster.pid is the port the running server listens on.
  port="$(sed -n 4p "$dir/data/postmaster.pid")"
else
  port="$first_port"
  while port_in_use "$port"; do
    port=$((port + 1))
    [ "$port" -lt $((first_port + 100)) ] || die "no free port in $first_port..$((first_port + 99))"
  done
  log "starting PostgreSQL on 127.0.0.1:$port"
  # 9>&-: the server must not inherit the lock, or it would hold it for its lifetime.
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c max_connections=300" >&2 9>&- \
    || die "PostgreSQL did not start; see $dir/server.log"
fi

psql_pg() { as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db_name'")" != "1" ]; then
  psql_pg -d postgres -c "CREATE DATABASE $db_name" >&2
fi

echo "export GANTRY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/$db_name"
