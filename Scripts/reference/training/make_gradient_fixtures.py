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


def main():
    for case in CASES:
        source = ROOT / "Tests/LFMModelsTests/Fixtures/lfm2" / case
        out = ROOT / "Tests/LFMTrainingTests/Fixtures/gradients" / case
        out.mkdir(parents=True, exist_ok=True)
        model = transformers.Lfm2ForCausalLM.from_pretrained(source, torch_dtype=torch.float32)
        model.train(False)  # no dropout exists; keep deterministic
        vocab = model.config.vocab_size
        g = torch.Generator().manual_seed(7)
        tokens = torch.randint(0, vocab, (1, 24), generator=g)
        result = model(input_ids=tokens, labels=tokens, use_cache=False)
        result.loss.backward()
        grads = {}
        for name, parameter in model.named_parameters():
            if parameter.grad is not None:
                grads[name] = parameter.grad.detach().float().contiguous()
        save_file(grads, str(out / "gradients.safetensors"))
        (out / "loss.json").write_text(json.dumps({
            "case": case, "tokens": tokens[0].tolist(), "loss": float(result.loss),
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        }))
        print(case, float(result.loss), len(grads), "tensors")


if __name__ == "__main__":
    main()
