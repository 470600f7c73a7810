#!/usr/bin/env bash
# A 200-job fan-out/fan-in DAG (1 start job, 198 parallel jobs, 1 end job) at -j 8 vs
# xargs -P 8 running the same 200 commands (with the same start/end ordering).
source "$(dirname "$0")/common.sh"
WORK=${WORK:-"sleep 0.1"}
project=$({
  echo "jobs:"
  echo "  start:"; echo "    steps: ['$WORK']"
  for i in $(seq 1 198); do echo "  j$i:"; echo "    needs: [start]"; echo "    steps: ['$WORK']"; done
  echo "  end:"; echo "    needs: [$(seq -s, -f 'j%g' 1 198)]"; echo "    steps: ['$WORK']"
} | make_project)
cmds=$(mktemp)
for _ in $(seq 1 198); do echo "$WORK"; done > "$cmds"
data=$(mktemp -d)
machine
cd "$project"
hyperfine --warmup 1 --runs ${RUNS:-5} --export-json "$OUT/dag.json" \
  -n "gantry run -j 8 (200 jobs)" "GANTRY_DATA=$data $GANTRY run -j 8 >/dev/null" \
  -n "xargs -P 8 (200 commands)" "sh -c '$WORK' && xargs -P 8 -I{} sh -c {} < $cmds && sh -c '$WORK'"
python3 - "$OUT/dag.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
g = next(x for x in r if x["command"].startswith("gantry"))["median"]
x = next(x for x in r if x["command"].startswith("xargs"))["median"]
print(f"median wall: gantry {g*1000:.0f} ms, xargs {x*1000:.0f} ms, ratio {g/x:.2f}")
PY
echo "peak RSS of gantry run -j 8 (200 jobs): $(GANTRY_DATA=$data peak_rss_mib "$GANTRY" run -j 8) MiB"
