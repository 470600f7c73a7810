#!/usr/bin/env bash
# Property-based test of the server's API against its own OpenAPI document with
# schemathesis (from PyPI): starts `gantry serve` on the example workspace with a fresh
# data directory, queues one run so there is data, and fails on any 5xx, any response
# that violates the document, or any schema-violating request that is accepted.
#
# Excluded, with reasons:
#   DELETE operations  revoking tokens would revoke the token the test itself uses.
#   positive_data_acceptance (ST202)  a heuristic that every schema-valid request
#     succeeds; the API rightly refuses some (an input the pipeline does not declare, a
#     log offset that is not a record boundary) with 400/422.
# Expected warning: the agent protocol endpoints (/agent/...) take agent tokens only, so
# with the admin token they answer 403 to everything ("Authentication failed"); their
# documented 401/403 answers are still checked.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v schemathesis >/dev/null 2>&1 || pip install --quiet schemathesis || pip install --quiet --break-system-packages schemathesis
bin="${GANTRY:-target/debug/gantry}"
[ -x "$bin" ] || cargo build --quiet -p gantry
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" serve --workspace examples --data "$data" --listen "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q "gantry serve: http" "$data/serve.log" 2>/dev/null && break
  sleep 0.1
done
token="$(sed -n 's/^ *GANTRY_TOKEN=//p' "$data/serve.log")"
[ -n "$token" ] || { cat "$data/serve.log" >&2; echo "the server printed no token" >&2; exit 1; }
base="http://127.0.0.1:$port/api/v1"
curl -sf -X POST -H "Authorization: Bearer $token" "$base/projects/outputs/pipelines/outputs/trigger" >/dev/null
# One registered agent, so the agent registry's answers are checked against the document
# too (the agent endpoints themselves only ever see the admin token here: 403).
agent_token="$(curl -sf -X POST -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"fuzz-agent","role":"agent"}' "$base/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
curl -sf -X POST -H "Authorization: Bearer $agent_token" -H 'gantry-agent: fuzz-agent' -H 'content-type: application/json' \
  -d '{"name":"fuzz-agent","version":"fuzz","protocol":1,"labels":["fuzz"],"executors":["host"],"capacity":1}' \
  "$base/agent/register" >/dev/null
schemathesis run "$base/openapi.json" --url "$base" \
  -H "Authorization: Bearer $token" \
  --checks all --exclude-checks positive_data_acceptance \
  --exclude-method DELETE \
  --max-examples "${EXAMPLES:-50}" --seed 20261122 \
  --no-color
