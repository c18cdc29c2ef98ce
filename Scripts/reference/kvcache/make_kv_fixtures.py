#!/usr/bin/env python3
"""Writes Tests/LFMKernelsTests/Fixtures/kvcache/kv_rows.json: KV cache rows and their GGUF bytes.

Requirements (pinned): gguf==0.19.0 numpy 2.x (the venv at /root/venv-ref has gguf 0.19.0, numpy 2.4.6).
    /root/venv-ref/bin/python Scripts/reference/kvcache/make_kv_fixtures.py

Each input row is one position's keys (or values): width 64 = 2 heads x 32. Rows are seeded normal
values at several scales plus special rows (zeros, constants, ties of equal magnitude and opposite
sign, values that round to the f16 / bf16 halfway points, tiny values whose Q8_0 / Q4_0 scale is an
f16 subnormal, large values). Output JSON:
  width, gguf_version, numpy_version,
  rows:  [[float32 bit patterns as unsigned ints]]  (exact inputs)
  types: {"F16" | "BF16" | "Q8_0" | "Q4_0": [hex of gguf.quants.quantize(row, type) per row]}
  dequantized: {type: [[float32 bit patterns of gguf.quants.dequantize(bytes)]]}
"""
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

WIDTH = 64
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "Tests", "LFMKernelsTests", "Fixtures", "kvcache")


def rows():
    rng = np.random.default_rng(20261205)
    out = [rng.standard_normal(WIDTH).astype(np.float32) * np.float32(s) for s in (1.0, 0.05, 7.0, 300.0)]
    out.append(np.zeros(WIDTH, dtype=np.float32))
    out.append(np.full(WIDTH, 0.3, dtype=np.float32))
    tie = np.linspace(-1, 1, WIDTH).astype(np.float32)
    tie[5], tie[40] = np.float32(-2.5), np.float32(2.5)  # equal magnitudes: the first wins in Q4_0
    tie[37] = np.float32(-2.5)
    out.append(tie)
    # Exact halfway points: f16 (1 + 2^-11) and bf16 (1 + 2^-8), and their odd neighbours.
    half = np.full(WIDTH, 1.0, dtype=np.float32)
    half[0::4] = np.float32(1 + 2.0 ** -11)
    half[1::4] = np.float32(1 + 3 * 2.0 ** -11)
    half[2::4] = np.float32(1 + 2.0 ** -8)
    half[3::4] = np.float32(1 + 3 * 2.0 ** -8)
    out.append(half)
    out.append((rng.standard_normal(WIDTH) * 1e-6).astype(np.float32))  # f16-subnormal scales
    out.append((rng.uniform(-1, 1, WIDTH) * 6e4).astype(np.float32))
    return out


def main():
    from importlib.metadata import version
    assert version("gguf") == "0.19.0", f"gguf {version('gguf')} installed, the fixture is pinned to 0.19.0"
    os.makedirs(OUT, exist_ok=True)
    inputs = rows()
    types = {"F16": T.F16, "BF16": T.BF16, "Q8_0": T.Q8_0, "Q4_0": T.Q4_0}
    result = {
        "width": WIDTH,
        "gguf_version": "0.19.0",
        "numpy_version": np.__version__,
        "rows": [[int(v) for v in r.view(np.uint32)] for r in inputs],
        "types": {},
        "dequantized": {},
    }
    for name, qtype in types.items():
        encoded, widened = [], []
        for r in inputs:
            data = quants.quantize(r.reshape(1, WIDTH), qtype)
            encoded.append(data.tobytes().hex())
            back = quants.dequantize(data, qtype).astype(np.float32).reshape(-1)
            widened.append([int(v) for v in back.view(np.uint32)])
        result["types"][name] = encoded
        result["dequantized"][name] = widened
    with open(os.path.join(OUT, "kv_rows.json"), "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.join(OUT, "kv_rows.json"), "gguf", getattr(gguf, "__version__", "0.19.0"))


if __name__ == "__main__":
    main()
