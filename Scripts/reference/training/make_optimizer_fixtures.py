#!/usr/bin/env python3
"""Ten AdamW steps with gradient clipping and a warm-up + cosine schedule, by torch.optim.AdamW.

Pinned: torch 2.13.0 (CPU wheel). Writes Tests/LFMTrainingTests/Fixtures/adamw.json with the
initial parameters, the gradients fed at each step, and the parameters after every step.
The schedule is swift-lfm's CosineSchedule(peak, warmup, total, minimumRatio) written out here.
"""
import json
import math
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parents[3] / "Tests/LFMTrainingTests/Fixtures/adamw.json"
PEAK, WARMUP, TOTAL, MIN_RATIO, MAX_NORM = 3e-2, 3, 10, 0.1, 1.0


def rate(step):
    if step < WARMUP:
        return PEAK * (step + 1) / WARMUP
    progress = min((step - WARMUP) / max(TOTAL - WARMUP, 1), 1.0)
    return PEAK * (MIN_RATIO + (1 - MIN_RATIO) * 0.5 * (1 + math.cos(math.pi * progress)))


def main():
    g = torch.Generator().manual_seed(3)
    params = [torch.randn(5, 4, generator=g, dtype=torch.float32).requires_grad_(),
              torch.randn(7, generator=g, dtype=torch.float32).requires_grad_()]
    initial = [p.detach().clone().flatten().tolist() for p in params]
    opt = torch.optim.AdamW(params, lr=PEAK, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
    steps = []
    for step in range(10):
        grads = [torch.randn(p.shape, generator=g) * (3.0 if step % 3 == 0 else 0.3) for p in params]
        for p, gr in zip(params, grads):
            p.grad = gr.clone()
        norm = torch.nn.utils.clip_grad_norm_(params, MAX_NORM)
        for group in opt.param_groups:
            group["lr"] = rate(step)
        opt.step()
        steps.append({"grads": [gr.flatten().tolist() for gr in grads], "norm": float(norm), "lr": rate(step),
                      "params": [p.detach().flatten().tolist() for p in params]})
    OUT.write_text(json.dumps({"torch": torch.__version__, "shapes": [list(p.shape) for p in params],
                               "initial": initial, "weight_decay": 0.05, "max_norm": MAX_NORM,
                               "schedule": {"peak": PEAK, "warmup": WARMUP, "total": TOTAL, "min_ratio": MIN_RATIO},
                               "steps": steps}))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
