#!/usr/bin/env bash
# Starts `lfm serve` on a loopback port and runs load_test.py against it (1/4/16/64 streaming clients,
# bounded by request count and time), then stops it with SIGTERM.
#   usage: Scripts/server/load_test.sh MODEL_DIR [extra load_test.py args]   (env: PORT, LFM, MAX_BATCH, THREADS)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
MODEL="$1"; shift
PORT="${PORT:-18432}"
LFM="${LFM:-$root/.build/release/lfm}"
"$LFM" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --max-batch "${MAX_BATCH:-16}" --max-queue 256 \
  --threads "${THREADS:-2}" >/tmp/lfm-load-server.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  kill -0 $pid 2>/dev/null || { cat /tmp/lfm-load-server.log; exit 1; }
  sleep 0.2
done
python3 "$here/load_test.py" --port "$PORT" --model "$(basename "$MODEL")" --pid $pid "$@"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E "^lfm_(decode|prefill)_(tokens|seconds)_total|^lfm_time_to_first_token_seconds_(sum|count)"
kill -TERM $pid
wait $pid && echo "server exited 0 after SIGTERM"
trap - EXIT
