#!/usr/bin/env bash
# Packages a trained model folder as the bundled default model (Sources/lfm/DefaultModel):
# BF16 safetensors + config, the tokenizer, LFM2's chat template (LFM Open License v1.0, attribution
# kept), generation defaults, a GGUF export made by `lfm convert`, and the loss curve.
# Usage: package_default_model.sh TRAINED_DIR TRAIN_LOG.jsonl   (PY: a python with torch + safetensors)
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$1; LOG=$2; PY=${PY:-python3}
DST=Sources/lfm/DefaultModel
rm -rf "$DST"; mkdir -p "$DST"
"$PY" - "$SRC" "$DST" <<'PY'
import json, sys, pathlib
import torch
from safetensors.torch import load_file, save_file
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in load_file(str(src / "model.safetensors")).items()}
save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
config = json.loads((src / "config.json").read_text())
config["torch_dtype"] = "bfloat16"
(dst / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
PY
cp "$SRC/tokenizer.json" "$SRC/tokenizer_config.json" "$DST/"
cp Tests/LFMChatTests/Fixtures/lfm2/chat_template.jinja "$DST/chat_template.jinja"
cp Tests/LFMChatTests/Fixtures/lfm2/README.md "$DST/CHAT_TEMPLATE_LICENSE.md"
cat > "$DST/generation_config.json" <<'JSON'
{"do_sample": true, "temperature": 0.7, "top_k": 40, "repetition_penalty": 1.1, "bos_token_id": 1, "eos_token_id": 7}
JSON
cp "$LOG" "$DST/train-log.jsonl"
.build/release/lfm convert "$DST" "$DST/lfm2-docstrings-bf16.gguf" --type bf16
ls -la "$DST"
