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
# fuzz: target=... executions=... slow=... broken=... crashed=... sanitize=...
# The test binary is run directly (not through `swift test`, which holds the build folder's lock while
# tests run), so several targets can fuzz at once.
#
# SANITIZE=address runs the same under AddressSanitizer: every target of the package (the Swift
# modules, the C kernels CLFMKernels and the dependencies) is built with SwiftPM's
# `--sanitize=address` into its own scratch path, .build-asan (ignored by git; the normal .build is
# left alone; the first build is a full debug build), and tests are run from there. ASan stops at
# the first error and aborts (halt_on_error=1, abort_on_error=1), so a report counts as a crash and
# its input is saved as crash-<sha>; leak detection is off (detect_leaks=0: the Swift runtime and
# the test runner keep allocations alive to exit by design). ASan slows a run about 2-3x, so
# "slow" (> 1 s) inputs are likelier. The script fails if the test binary does not carry the ASan
# runtime, rather than fuzzing without it. Any other SANITIZE value is refused.
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

sanitize="${SANITIZE:-}"
flags=()
case "$sanitize" in
    "") ;;
    address)
        flags=(--sanitize=address --scratch-path .build-asan)
        # Settings appended to any ASAN_OPTIONS already set would be overridden by them, so ours come last.
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}halt_on_error=1:abort_on_error=1:detect_leaks=0:symbolize=1"
        # The toolchain's own symbolizer, so that reports name Swift and C functions and lines.
        symbolizer="$(dirname "$(readlink -f "$(command -v swift)")")/llvm-symbolizer"
        if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x "$symbolizer" ]; then export ASAN_SYMBOLIZER_PATH="$symbolizer"; fi
        ;;
    *) echo "unknown SANITIZE='$sanitize' (address, or unset for none)" >&2; exit 2;;
esac

nice -n 10 swift build --build-tests "${flags[@]}" >&2
bin="$(swift build --show-bin-path "${flags[@]}")"
tests="$(find "$bin" -maxdepth 1 -name '*PackageTests.xctest' -type f | head -1)"
[ -n "$tests" ] || { echo "fuzz: no test binary in $bin" >&2; exit 3; }
if [ -n "$sanitize" ]; then
    # Refuse to fuzz without the sanitizer: the test binary must carry the ASan runtime's entry points.
    # (grep reads all of nm's output: with -q, nm's SIGPIPE would fail the pipeline under pipefail.)
    if [ -z "$tests" ] || [ "$(nm "$tests" 2>/dev/null | grep -c ' __asan_init$' || true)" = 0 ]; then
        echo "fuzz: SANITIZE=address, but the test binary '${tests:-none in $bin}' is not instrumented with ASan" >&2
        exit 3
    fi
fi
status=0
LFM_FUZZ_TARGET="$target" LFM_FUZZ_SECONDS="$seconds" LFM_FUZZ_SEED="$seed" LFM_FUZZ_CURRENT="$current" \
    nice -n 10 "$tests" --testing-library swift-testing --filter 'FuzzTests/fuzzForAWhile' >"$log" 2>&1 || status=$?
grep '^fuzz:' "$log" >&2 || true
crashed=0
if [ "$status" -ne 0 ] && [ -s "$current" ]; then
    name="crash-$(sha256sum "$current" | cut -c1-16)"
    cp "$current" "$corpus/$name"
    crashed=1
    echo "fuzz: the process died (status $status) on an input saved as $corpus/$name" >&2
    if grep -q 'ERROR: AddressSanitizer' "$log"; then
        sed -n '/ERROR: AddressSanitizer/,/^SUMMARY: AddressSanitizer/p' "$log" | head -60 >&2
    else
        tail -20 "$log" >&2
    fi
elif [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz: the test run failed (status $status)" >&2
    exit "$status"
fi
summary="$(grep '^fuzz: target=' "$log" | tail -1 || true)"
echo "${summary:-fuzz: target=$target executions=? (run ended early)} crashed=$crashed seed=$seed sanitize=${sanitize:-none}"
