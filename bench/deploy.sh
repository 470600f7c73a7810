#!/usr/bin/env bash
# Deploy benchmark: HOSTS container hosts (gantry-testhost's Debian image with systemd,
# sshd and nginx), gantry-deploy's test service, and a new release deployed to all of
# them by Gantry with `rolling` (batch 2) and `blue_green`, and by an Ansible playbook
# with the same steps and `serial: 2` (ansible-core from PyPI in $VENV; the hosts get
# python3 from Debian's mirror for it). RUNS timed deploys each, the median reported,
# with the requests that failed under a bounded load (one thread per host, a new
# connection every PACE_MS); then the time an unhealthy release is visible on
# `rolling` (health interval 1 s, 3 retries) until the previous one answers again.
# Needs root and the Docker Engine. Driver: crates/gantry-bench/src/bin/deploy-bench.rs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$here/.." && pwd)"
HOSTS=${HOSTS:-10}
RUNS=${RUNS:-3}
PACE_MS=${PACE_MS:-20}
VENV=${VENV:-$HOME/.cache/gantry-bench/venv}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if [ ! -x "$VENV/bin/ansible-playbook" ]; then
  python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install -q ansible-core
fi
(cd "$ROOT" && cargo build --release -q -p gantry-bench --bin deploy-bench -p gantry-deploy --bin gantry-deploy-testservice)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r)"
echo "$("$VENV/bin/ansible-playbook" --version | head -1), commit $(git -C "$ROOT" rev-parse --short HEAD)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET/release/deploy-bench" --hosts "$HOSTS" --runs "$RUNS" --pace-ms "$PACE_MS" \
  --app "$TARGET/release/gantry-deploy-testservice" \
  --ansible-playbook "$VENV/bin/ansible-playbook"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
