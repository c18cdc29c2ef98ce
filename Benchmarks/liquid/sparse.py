"""Where sparse masked products beat dense ones: training seconds and streaming latency of wired
CfCs with `--masked-products dense` vs `sparse`, over mask densities.

The masked products are the ff1/ff2 weights of ncps' WiredCfCCell (W ⊙ M, M = [units, inputs +
units]: the wiring's input adjacency stacked with an all-ones recurrent block). Random wirings
over many input features span densities from units / (inputs + units) to 1. Set
`MaskedSparseRows.densityThreshold` (Sources/LFMLiquid/MaskedSparse.swift) to the density where
`sparse` stops being faster, measured on a quiet machine.

Usage (from the repository root, after `swift build -c release --product lfm`):
    python Benchmarks/liquid/sparse.py [--units 32,128] [--features 256]
        [--sparsities 0.95,0.9,0.8,0.7,0.6,0.5,0.3,0.0] [--epochs 3] [--stream-steps 5000] [--tiny]
Needs only NumPy (no torch). --tiny is a smoke test (its numbers mean nothing).
"""
import argparse
import json
import os
import struct
import subprocess
import tempfile

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
LFM = os.environ.get("LFM_BIN", os.path.join(ROOT, ".build", "release", "lfm"))


def write_ts(path, features, cases, steps, seed):
    """Two classes that differ in the mean of a random subset of features."""
    rng = np.random.default_rng(seed)
    signal = rng.choice(features, size=max(1, features // 8), replace=False)
    with open(path, "w") as f:
        f.write(f"@problemName Synthetic\n@univariate false\n@dimensions {features}\n@equalLength true\n"
                f"@classLabel true a b\n@data\n")
        for i in range(cases):
            x = rng.normal(size=(features, steps))
            if i % 2:
                x[signal] += 0.5
            f.write(":".join(",".join(f"{v:.4f}" for v in row) for row in x) + (":b\n" if i % 2 else ":a\n"))


def mask_density(model_dir):
    """Non-zero fraction of every `sparsity_mask` in model.safetensors (F32)."""
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    nonzero = total = 0
    for name, info in header.items():
        if name.endswith("sparsity_mask"):
            a, b = info["data_offsets"]
            m = np.frombuffer(data[a:b], dtype=np.float32)
            nonzero += int((m != 0).sum())
            total += m.size
    return nonzero / total


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", default="32,128")
    ap.add_argument("--features", type=int, default=256)
    ap.add_argument("--sparsities", default="0.95,0.9,0.8,0.7,0.6,0.5,0.3,0.0")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--stream-steps", type=int, default=5000)
    ap.add_argument("--tiny", action="store_true")
    args = ap.parse_args()
    units = [int(u) for u in args.units.split(",")]
    sparsities = [float(s) for s in args.sparsities.split(",")]
    features, cases, steps = args.features, 64, 40
    if args.tiny:
        units, sparsities, features, cases, steps = units[:1], sparsities[:2], 32, 16, 8
        args.epochs, args.stream_steps = 1, 100
    rows = []
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "train.ts")
        write_ts(data, features, cases, steps, seed=1)
        for u in units:
            for s in sparsities:
                row = {"units": u, "features": features, "sparsity": s}
                for mode in ("dense", "sparse"):
                    out = os.path.join(d, f"m-{u}-{s}-{mode}")
                    summary = run([LFM, "liquid", "train", "--data", data, "--cell", "cfc", "--units", str(u),
                                   "--wiring", f"random:{s}", "--epochs", str(args.epochs), "--batch-size", "16",
                                   "--val-fraction", "0", "--seed", "1", "--masked-products", mode, "--out", out, "--json"])
                    row[f"{mode}_train_s"] = summary["seconds"]
                    bench = run([LFM, "liquid", "stream", "--model", out, "--bench", str(args.stream_steps), "--masked-products", mode])
                    row[f"{mode}_p50_us"] = bench["p50_us"]
                    row["density"] = mask_density(out)
                print(json.dumps(row), flush=True)
                rows.append(row)
    print("| units | inputs | mask density | train s dense | train s sparse | dense/sparse | p50 µs dense | p50 µs sparse | dense/sparse |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["units"], r["density"])):
        print(f"| {r['units']} | {r['features']} | {r['density']:.3f} | {r['dense_train_s']:.2f} | {r['sparse_train_s']:.2f} | "
              f"{r['dense_train_s'] / r['sparse_train_s']:.2f}x | {r['dense_p50_us']:.2f} | {r['sparse_p50_us']:.2f} | "
              f"{r['dense_p50_us'] / r['sparse_p50_us']:.2f}x |")
    for u in units:
        faster = [r["density"] for r in rows if r["units"] == u
                  and r["sparse_train_s"] < r["dense_train_s"] and r["sparse_p50_us"] < r["dense_p50_us"]]
        print(f"units {u}: sparse faster in training and streaming up to density "
              f"{max(faster):.3f}" if faster else f"units {u}: sparse never faster in both")


if __name__ == "__main__":
    main()
