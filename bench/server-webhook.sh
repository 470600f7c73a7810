#!/usr/bin/env bash
# Webhook received → first step started on `gantry serve`: a `repo:` project whose bare
# repository is reached as a `file://` URL (Gantry's own cost, no transport) and, as a
# second project, through a real `git daemon` on 127.0.0.1 (`git://`); each delivery is a
# new pushed commit plus GitHub's signed push payload, one at a time; the pipeline's
# first step appends `date +%s%N` to a file.
# For context, the same pipeline's time to first step with `gantry run` (no server).
here="$(cd "$(dirname "$0")" && pwd)"
GANTRY="${GANTRY:-${CARGO_TARGET_DIR:-$here/../target}/release/gantry}"
source "$here/common.sh"
BENCH_BIN="${BENCH_BIN:-$(dirname "$GANTRY")}"
[ -x "$BENCH_BIN/webhook-latency" ] || (cd "$ROOT" && cargo build --release -q -p gantry-bench)
N=${N:-50}

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on port $1" >&2; return 1; }

# The repository: a bare one served by git daemon, and a clone the driver pushes from.
stamps="$tmp/started"
mkdir -p "$tmp/git" "$tmp/work/.gantry/pipelines"
cat > "$tmp/work/.gantry/pipelines/ci.yml" <<YML
name: ci
on: push
jobs:
  stamp:
    steps:
      - run: date +%s%N >> $stamps
YML
git init -q --bare -b main "$tmp/git/web.git"
(cd "$tmp/work" && git init -q -b main && git add -A \
  && git -c user.email=b@b -c user.name=b commit -qm init \
  && git remote add origin "$tmp/git/web.git" && git push -q origin main \
  && git config user.email b@b && git config user.name b)
git_port=$(free_port)
# `git daemon` would fork `git-daemon` and leave it behind when killed: start it directly.
"$(git --exec-path)/git-daemon" --export-all --reuseaddr --base-path="$tmp/git" \
  --port="$git_port" --listen=127.0.0.1 >/dev/null 2>&1 &
pids+=($!)
wait_port "$git_port"

export BENCH_WEBHOOK_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkdir -p "$tmp/ws"
cat > "$tmp/ws/gantry.yml" <<YML
projects:
  web-file:
    repo: file://$tmp/git/web.git
    poll: off
    webhook_secret: { env: BENCH_WEBHOOK_SECRET }
  web-git:
    repo: git://127.0.0.1:$git_port/web.git
    poll: off
    webhook_secret: { env: BENCH_WEBHOOK_SECRET }
YML
port=$(free_port)
"$GANTRY" serve --workspace "$tmp/ws" --data "$tmp/data" --listen "127.0.0.1:$port" \
  > "$tmp/serve.log" 2>&1 &
pids+=($!)
wait_port "$port"

machine
for project in web-file web-git; do
  echo "== $project ($(sed -n "/^  $project:/{n;p}" "$tmp/ws/gantry.yml" | xargs)); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$BENCH_BIN/webhook-latency" --server "http://127.0.0.1:$port" --project "$project" \
    --work "$tmp/work" --stamps "$stamps" --n "$N" --json "$OUT/server-webhook-$project.json"
done

# Context: the same pipeline with `gantry run` on the laptop (no server, no git fetch,
# no queue): process start → first step started.
local_ms=()
cd "$tmp/work"
for i in $(seq 1 20); do
  seen=$(wc -l < "$stamps")
  t0=$(date +%s%N)
  GANTRY_DATA="$tmp/local" "$GANTRY" run >/dev/null
  t1=$(sed -n "$((seen + 1))p" "$stamps")
  local_ms+=("$(( (t1 - t0) / 1000 ))")
done
printf '%s\n' "${local_ms[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "gantry run start → first step started (20 runs, incl. starting date(1)): median %.2f ms\n", a[int((NR + 1) / 2)] / 1000 }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
