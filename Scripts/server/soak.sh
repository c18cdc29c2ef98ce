#!/usr/bin/env bash
# Soak test (not in CI): `lfm serve` on a small model for --minutes (default 30) under a steady mix of
# clients (Scripts/server/soak.py: streaming, structured output, tool calls, mid-stream cancellations,
# bad requests, slow readers); reports requests, errors by kind, p50/p99 latency per kind, RSS and open
# file descriptors every minute, and whether RSS and fds came back to their baseline. Stops the server
# with SIGTERM at the end and checks it exits 0.
#
# usage: Scripts/server/soak.sh [--minutes 30] [--concurrency 6] [--model DIR] [--out RESULT.json] [soak.py args]
#   env: LFM (default .build/release/lfm, else .build/debug/lfm), PORT (18530), THREADS (2), WORK (temp dir)
# Last stdout line: soak.py's JSON object plus "server_exit".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
MINUTES=30 CONCURRENCY=6 MODEL="" OUT=""
declare -a EXTRA
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
LFM="${LFM:-}"
if [ -z "$LFM" ]; then
  if [ -x "$root/.build/release/lfm" ]; then LFM="$root/.build/release/lfm"; else LFM="$root/.build/debug/lfm"; fi
fi
[ -x "$LFM" ] || { echo "no lfm binary at $LFM (swift build --product lfm, or set LFM)" >&2; exit 2; }
PORT="${PORT:-18530}"
WORK="${WORK:-$(mktemp -d /tmp/lfm-soak.XXXXXX)}"
mkdir -p "$WORK"
if [ -z "$MODEL" ]; then
  MODEL="$WORK/tiny-lfm2"
  [ -f "$MODEL/model.safetensors" ] || python3 "$here/make_tiny_model.py" "$MODEL" >&2
fi
nice -n 5 "$LFM" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --threads "${THREADS:-2}" \
  --max-batch 8 --max-queue 64 --replica-id soak > "$WORK/server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 1500); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
echo "soak: $MINUTES min, concurrency $CONCURRENCY, $(basename "$MODEL") on :$PORT (pid $pid), log $WORK/server.log" >&2
python3 "$here/soak.py" --port "$PORT" --model "$(basename "$MODEL")" --pid "$pid" --minutes "$MINUTES" \
  --concurrency "$CONCURRENCY" "${EXTRA[@]}" > "$WORK/soak.json"
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
trap - EXIT
result=$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); r["server_exit"]=int(sys.argv[2]); r["pass"]=r["pass"] and r["server_exit"]==0; print(json.dumps(r))' "$WORK/soak.json" "$rc")
[ -n "$OUT" ] && echo "$result" > "$OUT"
echo "server exit after SIGTERM: $rc" >&2
echo "$result"
