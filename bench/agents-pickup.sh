#!/usr/bin/env bash
# Pickup latency of `gantry agent` on loopback: one agent (capacity 1), idle with its
# long poll outstanding, and one-job runs triggered one at a time through the API
# (`POST /api/v1/projects/bench/pipelines/pickup/trigger`); the job's first step
# appends `date +%s%N` to a file. For each run: (a) dispatch = the job's `queued_at` →
# `started_at` (the agent's claim) from `GET /api/v1/runs/{id}` (millisecond timestamps),
# and (b) job ready → first step running = `queued_at` → the step's `date`. Sequential:
# the next run is triggered PAUSE_MS after the previous one finished.
# N=200 measured runs after WARMUP=10; the whole script is bounded by TIMEOUT seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/agents-common.sh"
N=${N:-200}; WARMUP=${WARMUP:-10}; PAUSE_MS=${PAUSE_MS:-100}; TIMEOUT=${TIMEOUT:-600}

stamps="$tmp/started"
cat > "$tmp/work/.gantry/pipelines/pickup.yml" <<YML
name: pickup
on: push
jobs:
  stamp:
    steps:
      - run: date +%s%N >> $stamps
YML
make_repo

machine
start_server sqlite
start_agent a1 1
wait_registered a1
sleep 1
echo "== pickup: 1 idle agent (capacity 1), SQLite, N=$N after $WARMUP warm-up runs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout "$TIMEOUT" "$BENCH_BIN/agent-bench" --server "$url" --token "$admin_token" pickup \
  --project bench --pipeline pickup --stamps "$stamps" --n "$N" --warmup "$WARMUP" \
  --pause-ms "$PAUSE_MS" --json "$OUT/agents-pickup.json"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
