#!/usr/bin/env bash
# Seeded mutation fuzzing of the hostile-input parsers for a set time.
#
#   Scripts/fuzz/run.sh TARGET SECONDS [SEED]
#
# TARGET: http (request path, bearer header, chat/completion bodies), schema (JSON-schema
# compiler and first mask), toolcall (LFM2 tool-call parser), gguf (GGUF reader, model registry
# binding, GGUF tokenizer metadata), safetensors (safetensors reader and checkpoint folder), config
# (config.json resolution through the model registry, every family), tokenizer (tokenizer.json
# loader, encode/decode of a probe) or jinja (chat-template parse and render of a fixed
# conversation with tools). Mutates the committed corpus in
# Tests/LFMServerTests/FuzzCorpus/TARGET; inputs slower than 1 s or breaking a property are saved
# there by the test itself, and an input that crashes the process is saved as crash-<sha>. Every
# corpus file is replayed by `swift test` (FuzzTests.corpusReplays). Prints one summary line last:
# fuzz: target=... executions=... slow=... broken=... crashed=...
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${1:?usage: Scripts/fuzz/run.sh TARGET SECONDS [SEED]}"
seconds="${2:?usage: Scripts/fuzz/run.sh TARGET SECONDS [SEED]}"
seed="${3:-$(date +%s)}"
case "$target" in
    http|schema|toolcall|gguf|safetensors|config|tokenizer|jinja) ;;
    *) echo "unknown target '$target' (http, schema, toolcall, gguf, safetensors, config, tokenizer, jinja)" >&2; exit 2;;
esac
corpus="Tests/LFMServerTests/FuzzCorpus/$target"
current="$(mktemp /tmp/lfm-fuzz-current.XXXXXX)"
log="$(mktemp /tmp/lfm-fuzz-log.XXXXXX)"
trap 'rm -f "$current" "$log"' EXIT

nice -n 10 swift build --build-tests >&2
status=0
LFM_FUZZ_TARGET="$target" LFM_FUZZ_SECONDS="$seconds" LFM_FUZZ_SEED="$seed" LFM_FUZZ_CURRENT="$current" \
    nice -n 10 swift test --skip-build --filter 'FuzzTests/fuzzForAWhile' >"$log" 2>&1 || status=$?
grep '^fuzz:' "$log" >&2 || true
crashed=0
if [ "$status" -ne 0 ] && [ -s "$current" ]; then
    name="crash-$(sha256sum "$current" | cut -c1-16)"
    cp "$current" "$corpus/$name"
    crashed=1
    echo "fuzz: the process died (status $status) on an input saved as $corpus/$name" >&2
    tail -20 "$log" >&2
elif [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz: the test run failed (status $status)" >&2
    exit "$status"
fi
summary="$(grep '^fuzz: target=' "$log" | tail -1 || true)"
echo "${summary:-fuzz: target=$target executions=? (run ended early)} crashed=$crashed seed=$seed"
