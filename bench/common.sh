#!/usr/bin/env bash
# Shared setup for the benchmark scripts: tools, the gantry binary, a scratch directory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GANTRY="${GANTRY:-$ROOT/target/release/gantry}"
OUT="$ROOT/bench/out"
mkdir -p "$OUT"

need=()
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x "$GANTRY" ] || (cd "$ROOT" && cargo build --release -q)

# A git project in a scratch directory holding one pipeline ($1 = its YAML).
make_project() {
  local dir; dir=$(mktemp -d)
  mkdir -p "$dir/.gantry/pipelines"
  cat > "$dir/.gantry/pipelines/bench.yml"
  (cd "$dir" && git init -q -b main && git add -A && git -c user.email=b@b -c user.name=b commit -qm bench)
  echo "$dir"
}

machine() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
}

# Peak RSS in MiB of a command (GNU time's maximum resident set size).
peak_rss_mib() {
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{ printf "%.1f", $1 / 1024 }'
}
