#!/usr/bin/env bash
# The same streaming load against `lfm serve` and llama.cpp's `llama-server` on the SAME GGUF file, one server
# at a time, interleaved (ours, theirs, ours, theirs, ...), loopback only, bounded in requests and time.
# Both get 2 threads, 16 parallel sequences and the same context per sequence; clients are greedy
# (temperature 0) with the same prompts and max_tokens; tokens are counted from each server's `usage`.
#
#   usage: Scripts/server/compare_llama_server.sh FILE.gguf [--rounds N] [load_test.py args]
#          (default load: --levels 16 --requests 64 --max-tokens 64 --seconds 120)
#   env:   LFM (default .build/release/lfm), LLAMA_SERVER (default /root/llamacpp-build/bin/llama-server),
#          PORT (18470), THREADS (2), PARALLEL (16), CTX_PER_SLOT (1024), OUT (JSON lines, default /tmp/compare_llama_server.jsonl)
# Standard library Python only (load_test.py). Prints one JSON line per run and a summary with ratios ours/theirs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
GGUF="$1"; shift
ROUNDS=2
if [[ "${1:-}" == "--rounds" ]]; then ROUNDS="$2"; shift 2; fi
LOAD_ARGS=("$@")
[[ ${#LOAD_ARGS[@]} -eq 0 ]] && LOAD_ARGS=(--levels 16 --requests 64 --max-tokens 64 --seconds 120)
PORT="${PORT:-18470}"
THREADS="${THREADS:-2}"
PARALLEL="${PARALLEL:-16}"
CTX="${CTX_PER_SLOT:-1024}"
LFM="${LFM:-$root/.build/release/lfm}"
LLAMA_SERVER="${LLAMA_SERVER:-/root/llamacpp-build/bin/llama-server}"
OUT="${OUT:-/tmp/compare_llama_server.jsonl}"
export LD_LIBRARY_PATH="$(dirname "$LLAMA_SERVER")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
MODEL_ID="$(basename "$GGUF")"
: > "$OUT"

wait_healthy() {  # pid log
  for _ in $(seq 1 900); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
    kill -0 "$1" 2>/dev/null || { cat "$2"; return 1; }
    sleep 0.2
  done
  echo "server did not become healthy" >&2; return 1
}

run_one() {  # label
  local label="$1" pid log
  log="/tmp/compare-$label.log"
  if [[ "$label" == lfm ]]; then
    "$LFM" serve --model "$GGUF" --host 127.0.0.1 --port "$PORT" --max-batch "$PARALLEL" --max-queue 256 \
      --threads "$THREADS" --ctx "$CTX" >"$log" 2>&1 &
  else
    "$LLAMA_SERVER" -m "$GGUF" --host 127.0.0.1 --port "$PORT" -t "$THREADS" -tb "$THREADS" -np "$PARALLEL" \
      -c $((PARALLEL * CTX)) >"$log" 2>&1 &
  fi
  pid=$!
  trap "kill $pid 2>/dev/null || true" EXIT
  wait_healthy "$pid" "$log"
  echo "# $label: $(uptime)" >&2
  python3 "$here/load_test.py" --port "$PORT" --model "$MODEL_ID" --pid "$pid" --label "$label" "${LOAD_ARGS[@]}" \
    | tee -a "$OUT"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  trap - EXIT
}

for round in $(seq 1 "$ROUNDS"); do
  run_one lfm
  run_one llama-server
done

python3 - "$OUT" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and '"label"' in l and '"concurrency"' in l]
for c in sorted({r["concurrency"] for r in rows}):
    def med(label, key):
        v = [r[key] for r in rows if r["label"] == label and r["concurrency"] == c]
        return statistics.median(v) if v else float("nan")
    ours, theirs = med("lfm", "tokens_per_s"), med("llama-server", "tokens_per_s")
    print(json.dumps({"concurrency": c, "tokens_per_s_lfm": ours, "tokens_per_s_llama_server": theirs,
                      "ratio": round(ours / theirs, 3) if theirs else None,
                      **{f"{k}_{l}": med(l, k) for k in ("ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms", "errors")
                         for l in ("lfm", "llama-server")}}))
PY
