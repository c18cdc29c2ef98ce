"""Per-step latency of the streaming runtime (`lfm liquid stream --bench N`) against ncps'
single-step forward in PyTorch, for an NCP of 19 neurons (LTC, AutoNCP(19, 4)) and CfCs of 64
and 256 units. Same model weights on both sides (exported through the interop folder).

Pinned: ncps==1.0.1, torch==2.13.0+cpu. Usage (after `swift build -c release --product lfm`):
    python Benchmarks/liquid/stream_latency.py [--steps 20000] [--threads 1] [--features 8]
Prints p50/p99/mean microseconds per step as JSON lines and a Markdown table. Run on a quiet
machine; both sides use one thread by default.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Scripts", "reference", "liquid"))
from ncps_folder import build_model, save_folder  # noqa: E402

LFM = os.environ.get("LFM_BIN", os.path.join(ROOT, ".build", "release", "lfm"))


def ncps_step_latency(model, features, steps):
    """ncps' own per-step path: the cell's forward on one sample (batch 1), state carried over."""
    cell = model.rnn_cell
    x = torch.randn(64, 1, features)
    h = torch.zeros(1, model.state_size)
    lstm_state = None
    times = []
    with torch.no_grad():
        for i in range(steps + steps // 10):
            xi = x[i % 64]
            t0 = time.perf_counter_ns()
            _, h = cell(xi, h, 1.0)
            t1 = time.perf_counter_ns()
            if i >= steps // 10:
                times.append((t1 - t0) / 1000)
    times = np.sort(np.array(times))
    return {"p50_us": float(times[len(times) // 2]), "p99_us": float(times[int(len(times) * 0.99)]),
            "mean_us": float(times.mean())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--features", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    f = args.features
    cases = [
        ("NCP-19 (LTC, AutoNCP(19,4))", {"class": "LTC", "input_size": f,
                                         "units": {"wiring": "AutoNCP", "units": 19, "output_size": 4}, "kwargs": {}}),
        ("NCP-19 (CfC, AutoNCP(19,4))", {"class": "CfC", "input_size": f,
                                         "units": {"wiring": "AutoNCP", "units": 19, "output_size": 4}, "kwargs": {}}),
        ("CfC-64", {"class": "CfC", "input_size": f, "units": 64, "kwargs": {}}),
        ("CfC-256", {"class": "CfC", "input_size": f, "units": 256, "kwargs": {}}),
    ]
    rows = []
    for name, cfg in cases:
        cfg = dict(cfg, library="ncps")
        model = build_model(cfg).eval()
        with tempfile.TemporaryDirectory() as d:
            save_folder(cfg, model, d)
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
            out = subprocess.run([LFM, "liquid", "stream", "--model", d, "--bench", str(args.steps)],
                                 check=True, capture_output=True, text=True, env=env).stdout.strip().splitlines()[-1]
        ours = json.loads(out)
        theirs = ncps_step_latency(model, f, args.steps)
        row = {"model": name, "lfm": ours, "ncps_torch": theirs}
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("| model | lfm p50 µs | lfm p99 µs | ncps p50 µs | ncps p99 µs |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['lfm']['p50_us']:.2f} | {r['lfm']['p99_us']:.2f} | "
              f"{r['ncps_torch']['p50_us']:.2f} | {r['ncps_torch']['p99_us']:.2f} |")


if __name__ == "__main__":
    main()
