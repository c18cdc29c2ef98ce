#!/usr/bin/env python3
"""Writes the IQ4_NL / IQ4_XS block-format fixtures into Tests/LFMFormatsTests/Fixtures/gguf/quant/.

Requirements (pinned): gguf==0.19.0, numpy 2.x, and iq4_oracle (build_iq4_oracle.sh, from the pinned
llama.cpp's ggml-quants.c without FMA contraction).
    /root/venv-ref/bin/python Scripts/reference/gguf/iq4/make_iq4_fixtures.py /tmp/iq4-oracle/iq4_oracle

Outputs, for T in IQ4_NL, IQ4_XS:
  <T>.input.f32          1024 float32 inputs (2 rows x 512, make_gguf_fixtures.inputs with seed 20261206 / 7)
  <T>.ggml.bin           ggml's quantize_iq4_nl / quantize_iq4_xs (no imatrix: what llama-quantize runs) of it
  <T>.stress.ggml.bin    the same of stress.input.f32 (16 blocks of 256, make_gguf_fixtures.stress_inputs)
  <T>.random.bin         random block bytes (the f16 scale kept finite)
  <T>.random.deq.f32     ggml's dequantize_row_<t> of them (checked equal to gguf.quants.dequantize)
"""
import os
import subprocess
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from make_gguf_fixtures import QUANT, inputs, stress_inputs, write  # noqa: E402

SEEDS = {"IQ4_NL": 20261206, "IQ4_XS": 7}


def random_blocks(rng: np.random.Generator, name: str) -> np.ndarray:
    block, size = gguf.GGML_QUANT_SIZES[T[name]]
    n_blocks = 1024 // block
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    scales = rng.uniform(-0.1, 0.1, size=n_blocks).astype(np.float16)
    raw[:, 0:2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    oracle = sys.argv[1]
    stress_path = os.path.join(QUANT, "stress.input.f32")
    stress = stress_inputs(np.random.default_rng(99))
    assert open(stress_path, "rb").read() == stress.tobytes(), "stress.input.f32 differs from make_gguf_fixtures"
    for name, seed in SEEDS.items():
        x = inputs(np.random.default_rng(seed))
        input_path = os.path.join(QUANT, f"{name}.input.f32")
        write(input_path, x.tobytes())
        subprocess.run([oracle, "quantize", name, "512", input_path, os.path.join(QUANT, f"{name}.ggml.bin")], check=True)
        subprocess.run([oracle, "quantize", name, "4096", stress_path, os.path.join(QUANT, f"{name}.stress.ggml.bin")],
                       check=True)
        raw = random_blocks(np.random.default_rng(seed + 1), name)
        raw_path, deq_path = os.path.join(QUANT, f"{name}.random.bin"), os.path.join(QUANT, f"{name}.random.deq.f32")
        write(raw_path, raw.tobytes())
        subprocess.run([oracle, "dequantize", name, raw_path, deq_path], check=True)
        ours = np.fromfile(deq_path, dtype=np.float32)
        theirs = gguf.quants.dequantize(raw.reshape(2, -1), T[name]).astype(np.float32).reshape(-1)
        print(f"{name}: ggml dequantize == gguf.quants.dequantize bit for bit: {ours.tobytes() == theirs.tobytes()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
