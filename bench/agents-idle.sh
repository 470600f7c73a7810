#!/usr/bin/env bash
# Idle memory of `gantry agent` (release build): start `gantry serve` (SQLite), start one
# agent (capacity 4), wait until it has registered, leave it idle IDLE seconds (default
# 10; its long poll outstanding, nothing queued), read VmRSS and VmHWM from
# /proc/PID/status, stop it. STARTS times (default 3), a new agent process (and data
# directory) each time; prints each reading and the median.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/agents-common.sh"
IDLE=${IDLE:-10}; STARTS=${STARTS:-3}

cat > "$tmp/work/.gantry/pipelines/noop.yml" <<'YML'
name: noop
on: push
jobs:
  noop:
    steps: ['true']
YML
make_repo

machine
start_server sqlite
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status_mib() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss=()
for i in $(seq 1 "$STARTS"); do
  start_agent "idle-$i" 4
  wait_registered "idle-$i"
  sleep "$IDLE"
  pid=${agents[-1]}
  r=$(status_mib "$pid" VmRSS)
  echo "start $i: VmRSS $r MiB after $IDLE s idle (VmHWM $(status_mib "$pid" VmHWM) MiB, $(ls "/proc/$pid/task" | wc -l) threads)"
  rss+=("$r")
  stop_agents
done
printf '%s\n' "${rss[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "median VmRSS of %d starts: %.1f MiB\n", NR, a[int((NR + 1) / 2)] }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
