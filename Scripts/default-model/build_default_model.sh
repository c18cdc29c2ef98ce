#!/usr/bin/env bash
# Rebuilds the bundled default model (Sources/lfm/DefaultModel) from scratch on this machine.
# Needs: a venv with tokenizers==0.23.3 (and torch 2.13.0 + transformers 5.24.0 for the check),
# and a release build of lfm. About 10 minutes of training on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python3}
WORK=${WORK:-/tmp/lfm-default-model}
mkdir -p "$WORK"
"$PY" Scripts/default-model/make_corpus_and_tokenizer.py "$WORK"
cp Scripts/default-model/train.json "$WORK/train.json"
swift build -c release --product lfm
.build/release/lfm train --config "$WORK/train.json" --json -t 2 | tee "$WORK/train-log.jsonl"
# Store BF16 weights (a few MB) plus tokenizer, LFM2 chat template and generation defaults.
Scripts/default-model/package_default_model.sh "$WORK/lfm2-docstrings" "$WORK/train-log.jsonl"
"$PY" Scripts/default-model/check_with_transformers.py
