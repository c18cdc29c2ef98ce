#!/usr/bin/env bash
# A small model trained here with a 2,048-token context, for the KV-cache quality table (issue 15):
# the bundled default model (LFM2 shape, 1.77 M parameters, trained on 128-token windows) trained
# further on whole source files of Python's standard library in 2,048-token windows, its
# max_position_embeddings raised to 4,096. Source code rewards looking far back (names defined
# hundreds of lines earlier), so what a bounded or compressed KV cache loses shows up in the scores.
#
#   Benchmarks/kv/train_long_model.sh --lfm BIN [--out DIR] [--steps 300] [--batch 4] [--threads 2]
#
# Writes DIR/corpus-train.txt and DIR/corpus-eval.txt (files of the standard library in sorted order;
# every tenth file is held out for evaluation, the rest trains), DIR/model (the trained folder) and
# DIR/train-log.jsonl. Deterministic for one Python version (the corpus is the running python3's
# standard library; the bundled model's was CPython 3.11).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
lfm=""; out="/tmp/lfm-long-model"; steps=300; batch=4; threads=2
while [[ $# -gt 0 ]]; do
    case "$1" in
        --lfm) lfm="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --steps) steps="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ -n "$lfm" ]] || { echo "usage: $0 --lfm BIN [--out DIR] [--steps N] [--batch N] [--threads N]" >&2; exit 2; }
mkdir -p "$out"
python3 - "$out" <<'PY'
import pathlib, sys, sysconfig
out = pathlib.Path(sys.argv[1])
root = pathlib.Path(sysconfig.get_paths()["stdlib"])
skip = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "ensurepip", "turtledemo", "tkinter", "pydoc_data"}
files = [p for p in sorted(root.rglob("*.py")) if not skip.intersection(p.relative_to(root).parts)]
train, held = [], []
for i, path in enumerate(files):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        continue
    if len(text) < 2000:
        continue
    (held if i % 10 == 0 else train).append(f"# file: {path.relative_to(root)}\n{text}\n")
(out / "corpus-train.txt").write_text("".join(train), encoding="utf-8")
(out / "corpus-eval.txt").write_text("".join(held), encoding="utf-8")
print(f"python {sys.version.split()[0]}: {len(train)} training files, {len(held)} held out", file=sys.stderr)
PY
rm -rf "$out/model-start"; cp -r "$root/Sources/lfm/DefaultModel" "$out/model-start"
rm -f "$out/model-start/"*.gguf "$out/model-start/train-log.jsonl"
python3 - "$out/model-start/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["max_position_embeddings"] = 4096
json.dump(config, open(path, "w"), indent=2, sort_keys=True)
PY
"$lfm" train --model "$out/model-start" --data "$out/corpus-train.txt" --out "$out/model" --ctx 2048 --batch-size "$batch" \
    --steps "$steps" --lr 1e-3 --warmup 20 --eval-every 50 --checkpoint-every 50 -t "$threads" --json --resume \
    | tee "$out/train-log.jsonl"
echo "trained model: $out/model" >&2
