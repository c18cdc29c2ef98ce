#!/usr/bin/env bash
# Drives `lfm serve` with the official openai Python SDK: chat, streaming, tools, completions, errors.
# Creates a venv (default /tmp/lfm-openai-venv), installs openai==3.51.0 from PyPI, builds a tiny random
# LFM2 (or uses MODEL=/path/to/model), starts the server on a loopback port with an API key, runs
# openai_client_test.py, stops the server with SIGTERM and checks it exits 0.
#   usage: Scripts/server/openai_client_test.sh    (env: MODEL, PORT, VENV, LFM=path to the lfm binary)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
VENV="${VENV:-/tmp/lfm-openai-venv}"
PORT="${PORT:-18431}"
KEY="sk-local-test"
OPENAI_VERSION="3.51.0"

if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install --quiet "openai==$OPENAI_VERSION"

if [ -z "${MODEL:-}" ]; then
  MODEL="$(mktemp -d)/tiny-lfm2"
  python3 "$here/make_tiny_model.py" "$MODEL" >/dev/null
fi
LFM="${LFM:-}"
if [ -z "$LFM" ]; then
  (cd "$root" && swift build -c release --product lfm >/dev/null)
  LFM="$root/.build/release/lfm"
fi
log="$(mktemp)"
"$LFM" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --api-key "$KEY" --max-batch 4 --threads 2 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; then break; fi
  if ! kill -0 $pid 2>/dev/null; then cat "$log"; echo "server died"; exit 1; fi
  sleep 0.2
done
status=0
"$VENV/bin/python" "$here/openai_client_test.py" "http://127.0.0.1:$PORT/v1" "$(basename "$MODEL")" "$KEY" || status=$?
echo "--- curl checks"
curl -s "http://127.0.0.1:$PORT/v1/chat/completions" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"model": "'"$(basename "$MODEL")"'", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": true}' | head -c 600; echo
curl -s -o /dev/null -w "malformed JSON -> %{http_code}\n" "http://127.0.0.1:$PORT/v1/chat/completions" -H "Authorization: Bearer $KEY" -d '{oops'
kill -TERM $pid
wait $pid && echo "server exited 0 after SIGTERM" || { echo "server exit status $?"; status=1; }
trap - EXIT
exit $status
