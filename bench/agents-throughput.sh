#!/usr/bin/env bash
# Dispatch throughput: AGENTS agents (default 20) on loopback draining RUNS runs × JOBS
# trivial jobs (default 100 × 100 = 10,000; each job one `true` step, no `runs_on`, and
# the workspace says `unlabeled_jobs: agents`, so the server's own pool runs nothing).
# The runs are queued through the API while no agent is connected; then the agents start
# and the clock runs from just before the first agent starts until the last job finished
# (the jobs' `finished_at`). For each store in BACKENDS ("sqlite postgres") and each agent
# capacity in CAPACITIES ("4"), on a fresh store. Also prints the CPU time the server,
# the agents and the agents' step processes used, and how busy the machine was.
# PERF=1 records the server and the first agent with `perf record -g` for PERF_S seconds
# (default 10) during the drain and prints their top symbols. Each drain is bounded by TIMEOUT seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/agents-common.sh"
AGENTS=${AGENTS:-20}; RUNS=${RUNS:-100}; JOBS=${JOBS:-100}
BACKENDS=${BACKENDS:-sqlite postgres}; CAPACITIES=${CAPACITIES:-4}
TIMEOUT=${TIMEOUT:-900}; PERF=${PERF:-0}; PERF_S=${PERF_S:-10}

{
  echo "name: wide"
  echo "on: push"
  echo "jobs:"
  for j in $(seq 1 "$JOBS"); do echo "  j$j: { steps: ['true'] }"; done
} > "$tmp/work/.gantry/pipelines/wide.yml"
make_repo

# Busy and total jiffies of the whole machine (/proc/stat's first line).
cpu_jiffies() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat; }

# measure LABEL CAPACITY [DATABASE_URL]
measure() {
  local label=$1 cap=$2 db=${3:-}
  start_server "$label-c$cap" "$db"
  echo "== $label, $AGENTS agents × capacity $cap, $RUNS runs × $JOBS jobs; agents' data on $(findmnt -n -o FSTYPE -T "$agent_root" | head -1)"
  "$BENCH_BIN/agent-bench" --server "$url" --token "$admin_token" queue \
    --project bench --pipeline wide --runs "$RUNS"
  local queued; queued=$(curl -fsS -H "Authorization: Bearer $admin_token" "$url/api/v1/runs?project=bench&status=queued&limit=200" | jq '.runs | length')
  [ "$queued" = "$RUNS" ] || { echo "expected $RUNS queued runs, found $queued" >&2; exit 1; }
  sleep 2
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  local server_cpu0 server_kids0 j0
  server_cpu0=$(cpu_self "$server"); server_kids0=$(cpu_children "$server"); j0=$(cpu_jiffies)
  local t0; t0=$(date +%s%N)
  for i in $(seq 1 "$AGENTS"); do start_agent "a$i" "$cap"; done
  local perf_pid=""
  if [ "$PERF" = 1 ]; then
    (sleep 3
     perf record -q -g -p "$server" -o "$tmp/perf-server.data" -- sleep "$PERF_S" >/dev/null 2>&1 &
     perf record -q -g -p "${agents[0]}" -o "$tmp/perf-agent.data" -- sleep "$PERF_S" >/dev/null 2>&1
     wait) &
    perf_pid=$!
  fi
  timeout "$TIMEOUT" "$BENCH_BIN/agent-bench" --server "$url" --token "$admin_token" drain \
    --project bench --runs "$RUNS" --t0-ns "$t0" --timeout "$TIMEOUT" --json "$OUT/agents-throughput-$label-c$cap.json"
  local j1; j1=$(cpu_jiffies)
  local agent_cpu=0 agent_kids=0
  for p in "${agents[@]}"; do
    agent_cpu=$(echo "$agent_cpu + $(cpu_self "$p")" | bc)
    agent_kids=$(echo "$agent_kids + $(cpu_children "$p")" | bc)
  done
  echo "CPU seconds during the drain: server $(echo "$(cpu_self "$server") - $server_cpu0" | bc) (its git children $(echo "$(cpu_children "$server") - $server_kids0" | bc)), agents $agent_cpu (incl. registering), the agents' step processes $agent_kids"
  read -r b0 t0j <<< "$j0"; read -r b1 t1j <<< "$j1"
  echo "machine CPU busy during the drain: $(( 100 * (b1 - b0) / (t1j - t0j) )) % of $(nproc) cores"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ -n "$perf_pid" ]; then
    wait "$perf_pid" || true
    for who in server agent; do
      echo "-- perf: $who (self time by symbol, top 25)"
      perf report -q -i "$tmp/perf-$who.data" --no-children --sort dso,symbol --percent-limit 0.8 --stdio 2>/dev/null \
        | grep -E '^ +[0-9]' | head -25 || true
    done
  fi
  stop_agents
  stop_server
}

machine
command -v bc >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
for backend in $BACKENDS; do
  for cap in $CAPACITIES; do
    case $backend in
      sqlite) measure sqlite "$cap" ;;
      postgres)
        eval "$(bash "$ROOT/scripts/start-postgres.sh")"
        pg_admin="${GANTRY_TEST_DATABASE_URL%/*}/postgres"
        pg_db="gantry_bench_agents_$$"
        psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null
        psql "$pg_admin" -qc "CREATE DATABASE $pg_db" >/dev/null
        measure postgres "$cap" "${GANTRY_TEST_DATABASE_URL%/*}/$pg_db"
        psql "$pg_admin" -qc "DROP DATABASE $pg_db" >/dev/null; pg_db=""
        ;;
      *) echo "unknown backend '$backend' (sqlite, postgres)" >&2; exit 2 ;;
    esac
  done
done
