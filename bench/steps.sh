#!/usr/bin/env bash
# 500 sequential trivial steps: `gantry run` (host executor) vs the same 500 commands
# (bash running a script file that holds `true`) from a plain sh script.
source "$(dirname "$0")/common.sh"
N=${N:-500}
project=$({ echo "jobs:"; echo "  steps500:"; echo "    steps:"; for _ in $(seq 1 "$N"); do echo "      - run: 'true'"; done; } | make_project)
scripts=$(mktemp -d)
for i in $(seq 1 "$N"); do echo true > "$scripts/step-$i.sh"; done
{ echo '#!/bin/sh'; for i in $(seq 1 "$N"); do echo "bash --noprofile --norc -eo pipefail $scripts/step-$i.sh"; done; } > "$scripts/all.sh"
data=$(mktemp -d)
machine
cd "$project"
hyperfine --warmup 2 --runs ${RUNS:-10} --export-json "$OUT/steps.json" \
  -n "gantry run ($N steps)" "GANTRY_DATA=$data $GANTRY run >/dev/null" \
  -n "sh script ($N commands)" "sh $scripts/all.sh"
python3 - "$OUT/steps.json" "$N" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
g = next(v for k, v in r.items() if k.startswith("gantry"))["median"]
s = next(v for k, v in r.items() if k.startswith("sh"))["median"]
print(f"median wall: gantry {g*1000:.0f} ms, sh {s*1000:.0f} ms, ratio {g/s:.2f}")
print(f"overhead per step: {(g-s)/n*1000:.2f} ms")
PY
echo "peak RSS of gantry run ($N steps): $(GANTRY_DATA=$data peak_rss_mib "$GANTRY" run) MiB"
