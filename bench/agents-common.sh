#!/usr/bin/env bash
# Shared setup of the agent benchmarks (sourced by agents-pickup.sh, agents-throughput.sh,
# agents-idle.sh): a scratch directory, a `repo:` project on a local bare repository
# (`file://`, polling off) whose pipelines come from $tmp/work/.gantry/pipelines, a
# workspace that sends every job without `runs_on` to agents (the server's own pool runs
# nothing), `gantry serve`, an agent token, agents; everything started is stopped on exit.
# AGENT_TMPFS=1 puts the agents' --data directories on tmpfs (/dev/shm) instead of the
# scratch directory's file system.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GANTRY="${GANTRY:-${CARGO_TARGET_DIR:-$here/../target}/release/gantry}"
source "$here/common.sh"
BENCH_BIN="${BENCH_BIN:-$(dirname "$GANTRY")}"
[ -x "$BENCH_BIN/agent-bench" ] || (cd "$ROOT" && cargo build --release -q -p gantry-bench)

tmp=$(mktemp -d)
agent_root="$tmp/agents"
[ "${AGENT_TMPFS:-0}" = 1 ] && agent_root=$(mktemp -d /dev/shm/gantry-bench-agents.XXXXXX)
mkdir -p "$agent_root"
server=""
agents=()
pg_db=""
cleanup() {
  # Agents first (SIGTERM drains them; they hold no jobs by now), then the server.
  for p in "${agents[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${agents[@]}"; do
    timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  agents=()
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi
  if [ -n "$pg_db" ]; then psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp" "$agent_root"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The project: pipelines are written to $tmp/work/.gantry/pipelines before `make_repo`.
mkdir -p "$tmp/work/.gantry/pipelines" "$tmp/git"
make_repo() {
  git init -q --bare -b main "$tmp/git/bench.git"
  (cd "$tmp/work" && git init -q -b main && git add -A \
    && git -c user.email=b@b -c user.name=b commit -qm bench \
    && git remote add origin "$tmp/git/bench.git" && git push -q origin main)
  mkdir -p "$tmp/ws"
  cat > "$tmp/ws/gantry.yml" <<YML
server:
  unlabeled_jobs: agents
  agent_lease: 30s
projects:
  bench:
    repo: file://$tmp/git/bench.git
    poll: off
YML
}

# start_server LABEL [DATABASE_URL]: starts `gantry serve` on a fresh data directory;
# sets $server, $port, $url, $admin_token and $agent_token.
start_server() {
  local label=$1 db=${2:-}
  port=$(free_port)
  url="http://127.0.0.1:$port"
  "$GANTRY" serve --workspace "$tmp/ws" --data "$tmp/data-$label" --listen "127.0.0.1:$port" \
    ${db:+--database-url "$db"} > "$tmp/serve-$label.log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do grep -q '^gantry serve: http' "$tmp/serve-$label.log" && break; sleep 0.1; done
  grep -q '^gantry serve: http' "$tmp/serve-$label.log" || { cat "$tmp/serve-$label.log"; exit 1; }
  admin_token=$(sed -n 's/^ *GANTRY_TOKEN=//p' "$tmp/serve-$label.log")
  [ -n "$admin_token" ] || { echo "no GANTRY_TOKEN= line in the server's output" >&2; exit 1; }
  agent_token=$(curl -fsS -H "Authorization: Bearer $admin_token" -H 'content-type: application/json' \
    -d '{"name": "bench", "role": "agent"}' "$url/api/v1/tokens" | jq -r .token)
  [ -n "$agent_token" ] && [ "$agent_token" != null ] || { echo "no agent token" >&2; exit 1; }
}

stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi
}

# start_agent NAME CAPACITY: appends its pid to $agents.
start_agent() {
  "$GANTRY" agent --server "$url" --token "$agent_token" --name "$1" --capacity "$2" \
    --data "$agent_root/$1" > "$tmp/agent-$1.log" 2>&1 &
  agents+=($!)
}

# stop_agents: SIGTERM (drain) and wait, at most 10 s each.
stop_agents() {
  for p in "${agents[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${agents[@]}"; do
    timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  agents=()
}

# wait_registered NAME: until the agent logged that it registered (at most 10 s).
wait_registered() {
  for _ in $(seq 1 200); do grep -q 'registered; waiting for jobs' "$tmp/agent-$1.log" && return 0; sleep 0.05; done
  cat "$tmp/agent-$1.log" >&2
  echo "agent $1 did not register" >&2
  return 1
}

# CPU seconds (user + system) a process used itself, and its reaped children.
cpu_self() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
cpu_children() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / t }' "/proc/$1/stat"; }
