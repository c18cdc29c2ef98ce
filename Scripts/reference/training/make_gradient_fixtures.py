#!/usr/bin/env python3
"""Loss and every parameter gradient of the tiny LFM2 reference checkpoints, from PyTorch.

Pinned: torch 2.13.0 (CPU wheel), transformers==5.24.0, safetensors. Run in a venv:
    venv/bin/python Scripts/reference/training/make_gradient_fixtures.py
Reads Tests/LFMModelsTests/Fixtures/lfm2/<case>/ and writes, per case,
Tests/LFMTrainingTests/Fixtures/gradients/<case>/{loss.json, gradients.safetensors}:
the mean next-token cross-entropy of a fixed token sequence (labels = input ids, as
`Lfm2ForCausalLM(input_ids, labels=input_ids)` computes it) and d loss / d parameter for every
tensor, under the checkpoint's names (the tied head's gradient is part of embed_tokens').
The model runs in float32 (16-bit checkpoints are widened first).
"""
import json
import pathlib

import torch
import transformers
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[3]
CASES = ["attn-first-f32", "sharded-f32", "mixed-gqa2-bf16", "conv-only-bf16"]


def named_gradients(model):
    """d loss / d parameter under the checkpoint's names (F32)."""
    return {name: p.grad.detach().float().contiguous() for name, p in model.named_parameters() if p.grad is not None}


def write_loss_and_gradients(model, case, out, gradients=named_gradients):
    """Runs a fixed sequence of 24 tokens (labels = input ids) through `model`, back-propagates the
    mean next-token loss and writes out/gradients.safetensors (`gradients(model)`) and out/loss.json."""
    tokens = torch.randint(0, model.config.vocab_size, (1, 24), generator=torch.Generator().manual_seed(7))
    result = model(input_ids=tokens, labels=tokens, use_cache=False)
    result.loss.backward()
    grads = gradients(model)
    save_file(grads, str(out / "gradients.safetensors"))
    (out / "loss.json").write_text(json.dumps({
        "case": case, "tokens": tokens[0].tolist(), "loss": float(result.loss),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }))
    print(case, float(result.loss), len(grads), "tensors")


def main():
    for case in CASES:
        source = ROOT / "Tests/LFMModelsTests/Fixtures/lfm2" / case
        out = ROOT / "Tests/LFMTrainingTests/Fixtures/gradients" / case
        out.mkdir(parents=True, exist_ok=True)
        model = transformers.Lfm2ForCausalLM.from_pretrained(source, torch_dtype=torch.float32)
        model.train(False)  # no dropout exists; keep deterministic
        write_loss_and_gradients(model, case, out)


if __name__ == "__main__":
    main()
