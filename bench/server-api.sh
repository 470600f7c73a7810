#!/usr/bin/env bash
# API latency of `gantry serve`: `GET /api/v1/runs?project=…` at a constant 200 requests/s
# for 30 s with 100,000 finished runs in the store, on SQLite and on PostgreSQL. Runs are
# seeded through the Store trait (`seed-runs`); the load generator (`loadgen`) measures
# each request from its scheduled send time (no coordinated omission).
# BACKENDS="sqlite postgres" (default), RUNS=100000, RATE=200, DURATION=30.
here="$(cd "$(dirname "$0")" && pwd)"
GANTRY="${GANTRY:-${CARGO_TARGET_DIR:-$here/../target}/release/gantry}"
source "$here/common.sh"
BENCH_BIN="${BENCH_BIN:-$(dirname "$GANTRY")}"
[ -x "$BENCH_BIN/loadgen" ] || (cd "$ROOT" && cargo build --release -q -p gantry-bench)
RUNS=${RUNS:-100000}; RATE=${RATE:-200}; DURATION=${DURATION:-30}
BACKENDS=${BACKENDS:-sqlite postgres}

tmp=$(mktemp -d)
server=""
pg_db=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The projects the runs belong to, as `path:` projects (polling off), so the server
# knows them as it would in real use.
mkdir -p "$tmp/ws"
echo "projects:" > "$tmp/ws/gantry.yml"
for p in 1 2 3 4; do
  mkdir -p "$tmp/ws/bench-$p/.gantry/pipelines"
  printf 'name: ci\non: push\njobs:\n  build:\n    steps:\n      - run: cargo build\n' \
    > "$tmp/ws/bench-$p/.gantry/pipelines/ci.yml"
  printf '  bench-%s: { path: bench-%s, poll: off }\n' "$p" "$p" >> "$tmp/ws/gantry.yml"
done

# $1 = label, $2 = data dir, $3 = --database-url or empty.
measure() {
  local label=$1 data=$2 url=$3 port
  port=$(free_port)
  "$GANTRY" serve --workspace "$tmp/ws" --data "$data" --listen "127.0.0.1:$port" \
    ${url:+--database-url "$url"} > "$tmp/serve-$label.log" 2>&1 &
  server=$!
  for _ in $(seq 1 200); do grep -q '^gantry serve: http' "$tmp/serve-$label.log" && break; sleep 0.1; done
  grep -q '^gantry serve: http' "$tmp/serve-$label.log" || { cat "$tmp/serve-$label.log"; exit 1; }
  local token; token=$(sed -n 's/^ *GANTRY_TOKEN=//p' "$tmp/serve-$label.log")
  sleep 2
  echo "== $label: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$BENCH_BIN/loadgen" --url "http://127.0.0.1:$port/api/v1/runs?project=bench-1" \
    --token "$token" --rate "$RATE" --duration "$DURATION" --json "$OUT/server-api-$label.json"
  echo "server RSS after the load: $(awk '/VmRSS/ { printf "%.1f MiB", $2 / 1024 }' /proc/$server/status)"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
}

machine
for backend in $BACKENDS; do
  case $backend in
    sqlite)
      mkdir -p "$tmp/sqlite"
      "$BENCH_BIN/seed-runs" --database "$tmp/sqlite/gantry.db" --runs "$RUNS" --workers 4
      measure sqlite "$tmp/sqlite" ""
      ;;
    postgres)
      eval "$(bash "$ROOT/scripts/start-postgres.sh")"
      pg_admin="${GANTRY_TEST_DATABASE_URL%/*}/postgres"
      pg_db="gantry_bench_api_$$"
      psql "$pg_admin" -qc "CREATE DATABASE $pg_db" >/dev/null
      url="${GANTRY_TEST_DATABASE_URL%/*}/$pg_db"
      "$BENCH_BIN/seed-runs" --database "$url" --runs "$RUNS" --workers 8
      psql "$url" -qc "VACUUM ANALYZE" >/dev/null
      mkdir -p "$tmp/pg-data"
      measure postgres "$tmp/pg-data" "$url"
      psql "$pg_admin" -qc "DROP DATABASE $pg_db" >/dev/null; pg_db=""
      ;;
    *) echo "unknown backend '$backend' (sqlite, postgres)" >&2; exit 2 ;;
  esac
done
