#!/usr/bin/env python3
"""Checks the bundled default model in Hugging Face transformers and records a reference.

Pinned: torch 2.13.0 (CPU wheel), transformers==5.24.0, tokenizers==0.23.3.
    venv/bin/python Scripts/default-model/check_with_transformers.py
Loads Sources/lfm/DefaultModel with `Lfm2ForCausalLM` (float32, from the stored BF16 weights), tokenizes
a fixed prompt with its tokenizer.json, and writes Tests/lfmTests/DefaultModelReference.json: the prompt
ids, the logits at every prompt position and the greedy continuation (argmax of full forwards), which
the tests compare with `lfm` (logits within 1e-4, identical tokens and text).
"""
import json
import pathlib

import tokenizers
import torch
import transformers

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "Sources/lfm/DefaultModel"
OUT = ROOT / "Tests/lfmTests/DefaultModelReference.json"
PROMPT = "Return a list of the"


def main():
    tok = tokenizers.Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    ids = tok.encode(PROMPT, add_special_tokens=True).ids
    model = transformers.Lfm2ForCausalLM.from_pretrained(MODEL, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
        # Greedy by full (uncached) forwards: the model's math without any cache implementation.
        greedy = []
        for _ in range(24):
            step = model(torch.tensor([ids + greedy])).logits[0, -1]
            greedy.append(int(torch.argmax(step)))
        cached = model.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=False,
                                eos_token_id=None, pad_token_id=0)[0, len(ids):].tolist()
    # transformers' cached generate can drift from its own full forward on short prompts (its conv
    # cache keeps conv_L_cache columns from the first call); recorded, not used as the reference.
    print("cached generate agrees with full forwards:", cached == greedy)
    OUT.write_text(json.dumps({
        "prompt": PROMPT, "prompt_ids": ids,
        "prompt_logits": [[float(x) for x in row] for row in logits],
        "greedy_tokens": greedy, "greedy_text": tok.decode(greedy, skip_special_tokens=False),
        "greedy_source": "argmax of full uncached forwards", "cached_generate_agrees": cached == greedy,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
    }))
    print("prompt ids", ids)
    print("greedy", repr(PROMPT + tok.decode(greedy)))


if __name__ == "__main__":
    main()
