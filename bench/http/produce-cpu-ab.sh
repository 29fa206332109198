#!/bin/bash
# Broker CPU per one-record HTTP/2 produce, before/after, against the Hono echo route, in one run:
#
#   bash bench/http/produce-cpu-ab.sh <before-rev> [rounds] [requests]
#
# Starts three servers — the broker at <before-rev> (git archive into a temp dir), the broker of
# this work tree, and bench/http/echo-server.ts — and, interleaved per round, sends each
# `requests` one-record produce requests (or echo requests) with h2load (1 connection × 100
# streams, 1 KiB STRING record, acks=1), reading the server process's CPU time (utime+stime) from
# /proc before and after. CPU per request moves much less with the machine's load than requests/s
# does (this machine is shared), so it is what is compared: echo CPU / produce CPU approximates
# the produce/echo requests/s ratio of a quiet machine.
set -euo pipefail
REV=${1:?usage: produce-cpu-ab.sh <before-rev> [rounds] [requests]}
ROUNDS=${2:-4}
N=${3:-60000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/runnel-cpu-ab-XXXX)
trap 'for p in "$WORK"/*.pid; do kill -TERM "$(cat "$p")" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/before"
git -C "$ROOT" archive "$REV" | tar -x -C "$WORK/before"
ln -s "$ROOT/node_modules" "$WORK/before/node_modules"
mkdir -p "$WORK/before/native/build" && cp "$ROOT/native/build/librunnel.so" "$WORK/before/native/build/"
python3 -c "import json;print(json.dumps({'partition_id':0,'value':{'type':'STRING','data':'x'*1024}}))" > "$WORK/body.json"

start_broker() { # <tree> <name> → prints the produce URL
  local data; data=$(mktemp -d "$WORK/data-XXXX")
  (cd "$1" && RUNNEL_LOG_LEVEL=warn exec bun src/main.ts --data-dir "$data" --kafka-port 0 --http-port 0 --host 127.0.0.1 > "$WORK/$2.log" 2>&1) &
  echo $! > "$WORK/$2.pid"
  for _ in $(seq 1 200); do grep -q "http listening" "$WORK/$2.log" && break; sleep 0.1; done
  local base; base=$(sed -n 's/^http listening on \(.*\)$/http:\/\/\1/p' "$WORK/$2.log" | head -1)
  local cluster; cluster=$(curl -s "$base/v3/clusters" | python3 -c "import sys,json;print(json.load(sys.stdin)['data'][0]['cluster_id'])")
  curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"topic_name":"bench-http","partitions_count":1}' "$base/v3/clusters/$cluster/topics"
  echo "$base/v3/clusters/$cluster/topics/bench-http/records?acks=1"
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
ms_per_1000() { # <url> <pid>
  local before after; before=$(cpu_ticks "$2")
  h2load -n "$N" -t 1 -c 1 -m 100 -d "$WORK/body.json" -H 'content-type: application/json' "$1" > "$WORK/h2load.out"
  after=$(cpu_ticks "$2")
  grep -q "$N succeeded" "$WORK/h2load.out" || { echo "not every request succeeded: $1" >&2; grep -E "succeeded|status codes" "$WORK/h2load.out" >&2; exit 1; }
  python3 -c "print(($after - $before) * 1000 / $(getconf CLK_TCK) / ($N / 1000))"
}

BEFORE_URL=$(start_broker "$WORK/before" before)
AFTER_URL=$(start_broker "$ROOT" after)
(cd "$ROOT" && exec bun bench/http/echo-server.ts > "$WORK/echo.log" 2>&1) & echo $! > "$WORK/echo.pid"
for _ in $(seq 1 100); do grep -q "echo listening" "$WORK/echo.log" && break; sleep 0.1; done
ECHO_URL="http://$(sed -n 's/^echo listening on \(.*\)$/\1/p' "$WORK/echo.log" | head -1)/echo"
echo "before: $REV ($(git -C "$ROOT" rev-parse --short "$REV")), after: work tree at $(git -C "$ROOT" rev-parse --short HEAD); $N requests per path per round"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  echo_ms=$(ms_per_1000 "$ECHO_URL" "$(cat "$WORK/echo.pid")")
  before_ms=$(ms_per_1000 "$BEFORE_URL" "$(cat "$WORK/before.pid")")
  after_ms=$(ms_per_1000 "$AFTER_URL" "$(cat "$WORK/after.pid")")
  python3 -c "e,b,a=$echo_ms,$before_ms,$after_ms;print(f'round $round: server CPU ms per 1000 requests — echo {e:.1f}, produce before {b:.1f} (echo/produce {e/b:.2f}×), after {a:.1f} ({e/a:.2f}×); load {open(\"/proc/loadavg\").read().split()[0]}')"
done
