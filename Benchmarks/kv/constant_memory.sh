#!/usr/bin/env bash
# Constant memory under bounded KV cache policies (issue #15, item 3).
#
# A long generation (--ignore-eos) on a tiny model with each bounded policy, printing the resident
# memory and the sequence state's bytes every REPORT tokens (`lfm generate --memory-report`): both
# stay flat. Then the full cache, which the model's context stops: its state grows by a fixed number
# of bytes per token, and the script extrapolates that rate to the lengths the bounded runs reached.
#
# Usage: Benchmarks/kv/constant_memory.sh [TOKENS=200000] [REPORT=10000] [MODEL=bundled model]
#   LFM=path/to/lfm (default: .build-release/release/lfm; build it with
#   swift build -c release --scratch-path .build-release --product lfm)
# Smoke run: Benchmarks/kv/constant_memory.sh 3000 500
set -euo pipefail
TOKENS=${1:-200000}
REPORT=${2:-10000}
MODEL=${3:-}
LFM=${LFM:-.build-release/release/lfm}
model_args=()
if [ -n "$MODEL" ]; then model_args=(--model "$MODEL"); fi

run() { # EVERY policy-flags...: prints the --memory-report lines; a failed generation stops the script
  local every=$1 log status=0; shift
  log=$(mktemp)
  "$LFM" generate "${model_args[@]}" --prompt "Once upon a time" --temperature 0.8 --seed 1 --ignore-eos \
    --memory-report "$every" "$@" 2>"$log" >/dev/null || status=$?
  grep '^memory:' "$log" || true
  if [ "$status" -ne 0 ]; then
    echo "lfm generate $* failed (status $status):" >&2
    grep -v '^memory:' "$log" | tail -n 5 >&2
  fi
  rm -f "$log"
  return "$status"
}

for policy in "streaming --kv-sinks 4 --kv-window 1020" "prune --kv-budget 1024"; do
  echo "== --kv-policy $policy, $TOKENS tokens"
  # shellcheck disable=SC2086
  run "$REPORT" --max-tokens "$TOKENS" --kv-policy $policy
done

# The full cache stops at the model's context (generate refuses more): report every 100 tokens up to it.
context=$(grep -o '"max_position_embeddings": *[0-9]*' "${MODEL:-Sources/lfm/DefaultModel}/config.json" 2>/dev/null | grep -o '[0-9]*$' || echo 1024)
echo "== --kv-policy full, up to the context ($context positions)"
full=$(run 100 --max-tokens $((context - 8)) --kv-policy full | tail -n 1)
echo "$full"
# Growth rate of the full cache: state bytes / position at the last report (storage grows
# geometrically, so this overestimates a little), extrapolated to the bounded runs' lengths.
echo "$full" | awk -v tokens="$TOKENS" -v report="$REPORT" '
  { for (i = 1; i <= NF; i++) { if ($i == "position") p = $(i + 1); if ($i == "state") b = $(i + 1) } }
  END {
    gsub(",", "", p); if (p == 0) exit
    rate = b / p
    printf "full cache: ~%.0f state bytes per token; predicted state size:\n", rate
    for (n = report; n <= tokens; n += report) printf "  %d tokens: %.1f MiB\n", n, n * rate / 1048576
  }'
