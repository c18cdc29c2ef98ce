#!/usr/bin/env bash
# Training speed, swift-lfm (`lfm train`) vs PyTorch (transformers' Lfm2ForCausalLM), side by side.
#
# Usage: Benchmarks/training/compare_pytorch.sh [tiny|30m|all] [rounds]
# Env:   PYTHON (default /root/venv-ref/bin/python: torch==2.13.0+cpu, transformers==5.24.0),
#        LFM (default .build/release/lfm; build it with `swift build -c release --product lfm`),
#        THREADS (default 2), STEPS (measured steps, default 6), WARMUP (default 2),
#        EXTRA (extra `lfm train` flags, e.g. "--precision bf16" or "--checkpoint-activations"),
#        ISA (avx2: both sides on their AVX2 code on a CPU that also has AVX-512, to measure the AVX2
#        class: `lfm train --isa avx2`, and PyTorch with ATEN_CPU_CAPABILITY=avx2,
#        MKL_ENABLE_INSTRUCTIONS=AVX2 and ONEDNN_MAX_CPU_ISA=AVX2; default: each side's best path).
# Same shape, batch, sequence length, optimizer (AdamW, clipping at 1.0) and thread count on both
# sides; runs are interleaved (ours, theirs, ours, theirs ...). Each run reports the median
# tokens/s of its steps after the warm-up; the ratio is ours / theirs per round, and overall
# (median of ours / median of theirs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-/root/venv-ref/bin/python}"
LFM="${LFM:-$ROOT/.build/release/lfm}"
THREADS="${THREADS:-2}"
STEPS="${STEPS:-6}"
WARMUP="${WARMUP:-2}"
EXTRA="${EXTRA:-}"
ISA="${ISA:-}"
# The environment that holds PyTorch (ATen, MKL, oneDNN) to the same ISA class as ours.
THEIRS_ENV=()
case "$ISA" in
    "") ;;
    avx2) EXTRA="${EXTRA:+$EXTRA }--isa avx2"; THEIRS_ENV=(ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2) ;;
    avx512) EXTRA="${EXTRA:+$EXTRA }--isa avx512" ;;
    *) echo "ISA must be avx2 or avx512 (found '$ISA')" >&2; exit 2 ;;
esac
WHICH="${1:-all}"
ROUNDS="${2:-2}"
WORK="$(mktemp -d /tmp/lfm-train-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# Any text works for a speed test: the repository's Swift sources, tokenized with the bundled
# default model's 4,096-entry tokenizer (both shapes use vocab 4096).
find "$ROOT/Sources" -name '*.swift' | sort | xargs cat > "$WORK/corpus.txt"

# fail WHAT LOG: a run failed; show the end of its log (the work folder is removed on exit).
fail() {
    echo "error: $1 failed; last lines of its log:" >&2
    tail -n 20 "$2" >&2
    exit 1
}

run_ours() { # shape batch ctx round
    # Every run trains from scratch into its own output folder: `lfm train` writes OUT/checkpoint
    # and the model there, and a second run into the same folder must not see the first's files.
    local out="$WORK/out-$1-$4" log="$WORK/ours-$1-$4.log"
    "$PYTHON" - "$HERE/shape-$1.json" "$2" "$3" "$ROOT/Sources/lfm/DefaultModel/tokenizer.json" "$WORK" \
        "$((STEPS + WARMUP))" "$out" > "$WORK/config.json" <<'PY'
import json, sys
shape, batch, ctx, tokenizer, work, steps, out = sys.argv[1:]
print(json.dumps({"model": json.load(open(shape)), "tokenizer": tokenizer, "data": work + "/corpus.txt",
                  "out": out, "steps": int(steps), "batch_size": int(batch), "ctx": int(ctx),
                  "lr": 1e-3, "warmup": 1, "weight_decay": 0.1, "seed": 0}))
PY
    # shellcheck disable=SC2086
    "$LFM" train --config "$WORK/config.json" --json --threads "$THREADS" $EXTRA > "$log.json" 2> "$log" \
        || fail "lfm train ($1, round $4)" "$log"
    rm -rf "$out"
    "$PYTHON" -c '
import json, statistics, sys
warmup = int(sys.argv[1])
rates = [json.loads(line)["tokens_per_s"] for line in open(sys.argv[2]) if line.startswith("{")][warmup:]
if not rates:
    raise SystemExit("no step reports after the warm-up in " + sys.argv[2])
print(statistics.median(rates))' "$WARMUP" "$log.json" 2>> "$log" || fail "reading lfm train's output ($1, round $4)" "$log"
}

run_theirs() { # shape batch ctx round
    local log="$WORK/theirs-$1-$4.log"
    env ${THEIRS_ENV[@]+"${THEIRS_ENV[@]}"} "$PYTHON" "$HERE/bench_pytorch.py" --shape "$HERE/shape-$1.json" --batch "$2" --ctx "$3" \
        --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" > "$log.json" 2> "$log" \
        || fail "bench_pytorch.py ($1, round $4)" "$log"
    "$PYTHON" -c 'import json, sys; print(json.loads(open(sys.argv[1]).read())["tokens_per_s"])' "$log.json" 2>> "$log" \
        || fail "reading bench_pytorch.py's output ($1, round $4)" "$log"
    "$PYTHON" -c 'import json, sys; print(json.loads(open(sys.argv[1]).read())["cpu_capability"])' "$log.json" \
        > "$WORK/theirs-capability" 2>> "$log" || fail "reading bench_pytorch.py's output ($1, round $4)" "$log"
}

compare() { # shape batch ctx
    local ours=() theirs=()
    echo "== $1: batch $2 x ctx $3, $THREADS threads, $STEPS steps after $WARMUP warm-up; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    for round in $(seq "$ROUNDS"); do
        local o t
        o="$(run_ours "$1" "$2" "$3" "$round")"
        t="$(run_theirs "$1" "$2" "$3" "$round")"
        ours+=("$o"); theirs+=("$t")
        "$PYTHON" -c "import sys; o, t = map(float, sys.argv[1:]); print(f'round $round: ours {o:9.1f} tok/s  pytorch {t:9.1f} tok/s  ratio {o / t:.2f}x')" "$o" "$t"
    done
    "$PYTHON" -c "
import statistics, sys
n = len(sys.argv) // 2
o = statistics.median(map(float, sys.argv[1:n + 1])); t = statistics.median(map(float, sys.argv[n + 1:]))
print(f'$1 median: ours {o:.1f} tok/s, pytorch {t:.1f} tok/s, ratio {o / t:.2f}x')" "${ours[@]}" "${theirs[@]}"
    echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //'), family $(grep -m1 '^cpu family' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | tr -d ' ') model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | tr -d ' ')"
    echo "paths: ours ${ISA:-best} (lfm train${EXTRA:+ $EXTRA}), pytorch $(cat "$WORK/theirs-capability")"
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

case "$WHICH" in
    tiny) compare tiny 8 128 ;;
    30m) compare 30m 4 256 ;;
    all) compare tiny 8 128; compare 30m 4 256 ;;
    *) echo "usage: $0 [tiny|30m|all] [rounds]" >&2; exit 2 ;;
esac
