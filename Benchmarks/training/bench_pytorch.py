#!/usr/bin/env python3
"""PyTorch side of the training-speed comparison: tokens/s of full training steps of an LFM2
shape with transformers' Lfm2ForCausalLM on the CPU.

Pinned: torch==2.13.0 (CPU wheel), transformers==5.24.0. Usage:
    python bench_pytorch.py --shape shape-tiny.json --batch 8 --ctx 128 --steps 8 --warmup 2 --threads 2

One step = forward over `batch` windows of `ctx + 1` random tokens (predict tokens 1... from each
prefix), mean cross-entropy, backward, global-norm clipping at 1.0, AdamW (lr 1e-3, weight decay
0.1) — the same work `lfm train` does per step. Prints one JSON object: the median tokens/s
(batch * ctx / step seconds) over the steps after `warmup`, and every step's time.
"""
import argparse
import json
import statistics
import time

import torch
import transformers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", required=True, help="JSON object of config.json fields")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--ctx", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--attn", default="sdpa", help="attn_implementation (sdpa or eager)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.shape) as f:
        fields = json.load(f)
    config = transformers.Lfm2Config(**fields)
    config._attn_implementation = args.attn
    model = transformers.Lfm2ForCausalLM(config).float()
    model.train()
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    generator = torch.Generator().manual_seed(0)
    times = []
    for step in range(args.warmup + args.steps):
        windows = torch.randint(0, config.vocab_size, (args.batch, args.ctx + 1), generator=generator)
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        logits = model(input_ids=windows[:, :-1], use_cache=False).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, config.vocab_size), windows[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        elapsed = time.perf_counter() - started
        if step >= args.warmup:
            times.append(elapsed)
    median = statistics.median(times)
    print(json.dumps({
        "impl": "pytorch", "parameters": parameters, "batch": args.batch, "ctx": args.ctx, "threads": args.threads,
        "tokens_per_s": args.batch * args.ctx / median, "step_seconds": times, "loss": float(loss),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }))


if __name__ == "__main__":
    main()
