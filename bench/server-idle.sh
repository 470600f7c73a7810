#!/usr/bin/env bash
# Idle memory of `gantry serve` with the example workspace (`examples/gantry.yml`, six
# `path:` projects, polling off) on SQLite: RSS right after startup and after IDLE
# seconds (default 30) with no requests, plus the peak (VmHWM).
here="$(cd "$(dirname "$0")" && pwd)"
GANTRY="${GANTRY:-${CARGO_TARGET_DIR:-$here/../target}/release/gantry}"
source "$here/common.sh"
IDLE=${IDLE:-30}

tmp=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rss() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$server/status"; }

machine
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$GANTRY" serve --workspace "$ROOT/examples" --data "$tmp/data" --listen "127.0.0.1:$port" \
  > "$tmp/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 200); do grep -q '^gantry serve: http' "$tmp/serve.log" && break; sleep 0.05; done
grep -q '^gantry serve: http' "$tmp/serve.log" || { cat "$tmp/serve.log"; exit 1; }
curl -fsS "http://127.0.0.1:$port/api/v1/health" >/dev/null
sleep 1
echo "RSS after startup (+1 s): $(rss VmRSS) MiB"
sleep "$IDLE"
echo "RSS after $IDLE s idle: $(rss VmRSS) MiB (peak $(rss VmHWM) MiB, $(ls /proc/$server/task | wc -l) threads)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
