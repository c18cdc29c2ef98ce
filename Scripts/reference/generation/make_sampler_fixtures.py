#!/usr/bin/env python3
"""Reference values for swift-lfm's logits processors, computed by transformers' own processors.

Pinned: torch 2.13.0 (CPU), transformers==5.24.0. Run in a venv:
    python3 -m venv venv && venv/bin/pip install torch==2.13.0 transformers==5.24.0
    venv/bin/python Scripts/reference/generation/make_sampler_fixtures.py
Writes Tests/LFMGenerationTests/Fixtures/processors.json.
"""
import json
import pathlib

import torch
import transformers
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

OUT = pathlib.Path(__file__).resolve().parents[3] / "Tests/LFMGenerationTests/Fixtures/processors.json"


def as_list(t):
    return [float(x) if torch.isfinite(x) else ("-inf" if x < 0 else "inf") for x in t.flatten()]


def main():
    g = torch.Generator().manual_seed(1234)
    cases = []
    for n, (vocab, scale) in enumerate([(50, 1.0), (50, 3.0), (200, 0.5), (64, 6.0)]):
        logits = (torch.randn(1, vocab, generator=g) * scale).float()
        history = torch.randint(0, vocab, (1, 12), generator=g)
        specs = [
            ("temperature", {"value": 0.7}, TemperatureLogitsWarper(0.7)),
            ("top_k", {"value": 5}, TopKLogitsWarper(5)),
            ("top_k", {"value": 1}, TopKLogitsWarper(1)),
            ("top_p", {"value": 0.9}, TopPLogitsWarper(0.9)),
            ("top_p", {"value": 0.3}, TopPLogitsWarper(0.3)),
            ("min_p", {"value": 0.15}, MinPLogitsWarper(0.15)),
            ("min_p", {"value": 0.5}, MinPLogitsWarper(0.5)),
            ("typical_p", {"value": 0.8}, TypicalLogitsWarper(0.8)),
            ("typical_p", {"value": 0.3}, TypicalLogitsWarper(0.3)),
            ("repetition_penalty", {"value": 1.3}, RepetitionPenaltyLogitsProcessor(1.3)),
            ("repetition_penalty", {"value": 0.8}, RepetitionPenaltyLogitsProcessor(0.8)),
        ]
        for name, params, processor in specs:
            out = processor(history, logits.clone())
            cases.append({
                "case": f"{name}-{params['value']}-{n}",
                "processor": name,
                "value": params["value"],
                "logits": as_list(logits),
                "history": history.flatten().tolist(),
                "expected": as_list(out),
            })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"versions": {"torch": torch.__version__, "transformers": transformers.__version__},
                               "cases": cases}))
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
