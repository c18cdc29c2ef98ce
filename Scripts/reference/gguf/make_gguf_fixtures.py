#!/usr/bin/env python3
"""Writes the GGUF / ggml block-format fixtures into Tests/LFMFormatsTests/Fixtures/gguf/.

Requirements (pinned): gguf==0.19.0 numpy==2.3.5 (any numpy 2.x gives the same bytes).
    python3 -m venv venv && venv/bin/pip install gguf==0.19.0 numpy
    venv/bin/python Scripts/reference/gguf/make_gguf_fixtures.py [--oracle PATH/TO/ggml_oracle]

Outputs (all little-endian):
  ggml_types.json            every GGMLQuantizationType id with (block_size, type_size) from gguf.constants
  quant/<T>.input.f32        1024 float32 inputs (2 rows x 512), seeded; some blocks are special (zeros, constant, ties)
  quant/<T>.gguf.bin         gguf.quants.quantize(input) for the types gguf implements (F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0)
  quant/<T>.ggml.bin         ggml's quantize_row_<T>_ref(input) from the oracle (--oracle; K-quants and Q8_K, plus
                             the simple types to cross-check gguf against ggml); kept from a previous run if no oracle
  quant/stress.input.f32     4096 float32 inputs (16 blocks of 256, varied distributions, see stress_inputs)
  quant/<T>.stress.ggml.bin  ggml's quantize_row_<T>_ref(stress input) (--oracle)
  quant/<T>.random.bin       random block bytes (f16 scale fields forced to sane finite values)
  quant/<T>.random.deq.f32   gguf.quants.dequantize(random bytes)
  quant/<T>.deq.f32          gguf.quants.dequantize(<T>.gguf.bin) where gguf quantizes
  metadata.gguf + .json      a GGUF v3 file with every metadata value type and one tensor per ggml type; the JSON
                             lists what was written (checked here against gguf.GGUFReader)
  aligned64.gguf + .json     the same kind of file with general.alignment = 64 and no nested arrays
                             (ggml's own gguf.cpp reader rejects nested arrays; --oracle checks it reads this one)
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V

assert gguf.__version__ if hasattr(gguf, "__version__") else True

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "Tests", "LFMFormatsTests", "Fixtures", "gguf")
QUANT = os.path.join(OUT, "quant")

SUPPORTED = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"]
GGUF_QUANTIZES = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"}
GGUF_DEQUANTIZES = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}
# Byte offsets of the f16 scale fields inside one block (kept finite in the random blocks).
HALF_FIELDS = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
               "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}


def inputs(rng: np.random.Generator) -> np.ndarray:
    x = (rng.standard_normal(1024) * 0.05).astype(np.float32)
    x[100:110] *= 40  # outliers
    x[256:288] = 0  # an all-zero 32-block
    x[288:320] = 0.125  # a constant block
    x[320:352] = np.linspace(-1, 1, 32, dtype=np.float32)  # ties on the grid
    x[768:1024] = np.abs(x[768:1024])  # an all-positive 256-block (min clamps to 0)
    return x.reshape(2, 512)


def stress_inputs(rng: np.random.Generator) -> np.ndarray:
    """16 blocks of 256 with varied distributions: scales from 1e-7 to 1e4, heavy tails, sparse, one-sided."""
    parts = [
        rng.standard_normal(256) * 1e-7,  # f16 scales become subnormal
        rng.standard_normal(256) * 1e4,
        rng.standard_cauchy(256).clip(-1e3, 1e3),
        rng.uniform(-1, 1, 256),
        rng.uniform(0, 1, 256),
        -rng.uniform(0, 1, 256),
        np.where(rng.uniform(size=256) < 0.05, rng.standard_normal(256), 0.0),
        np.round(rng.standard_normal(256) * 4) / 4,  # many exact ties
        rng.laplace(size=256),
        rng.standard_normal(256) * np.repeat(rng.uniform(1e-3, 1, 16), 16),
        np.full(256, -3.0),
        np.concatenate([np.zeros(255), [1.0]]),
        rng.standard_normal(256) * 0.02,
        rng.exponential(size=256) - 1,
        np.linspace(-2, 2, 256),
        rng.standard_normal(256) * 65000,
    ]
    return np.concatenate(parts).astype(np.float32)


def random_blocks(rng: np.random.Generator, name: str) -> np.ndarray:
    qtype = T[name]
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = 1024 // block
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    for off in HALF_FIELDS.get(name, []):
        scales = rng.uniform(-0.1, 0.1, size=n_blocks).astype(np.float16)
        raw[:, off:off + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1)


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def encode_value(vtype: V, value, sub=None):
    """JSON form of a metadata value: scalars as strings (floats as their bit patterns), arrays as dicts."""
    if vtype == V.ARRAY:
        return {"array": sub[0].name, "items": [encode_value(sub[0], v, sub[1:] or None) for v in value]}
    if vtype == V.FLOAT32:
        return str(int(np.array(value, dtype=np.float32).view(np.uint32)))
    if vtype == V.FLOAT64:
        return str(int(np.array(value, dtype=np.float64).view(np.uint64)))
    if vtype == V.BOOL:
        return "true" if value else "false"
    return str(value)


def metadata_entries():
    """(key, type, value, array element types) in file order, after general.architecture."""
    return [
        ("test.uint8", V.UINT8, 200, None),
        ("test.int8", V.INT8, -100, None),
        ("test.uint16", V.UINT16, 65000, None),
        ("test.int16", V.INT16, -32000, None),
        ("test.uint32", V.UINT32, 4000000000, None),
        ("test.int32", V.INT32, -2000000000, None),
        ("test.float32", V.FLOAT32, 3.14159, None),
        ("test.bool_true", V.BOOL, True, None),
        ("test.bool_false", V.BOOL, False, None),
        ("test.string", V.STRING, "héllo wörld ✓ 🦙", None),
        ("test.empty_string", V.STRING, "", None),
        ("test.uint64", V.UINT64, 18446744073709551615, None),
        ("test.int64", V.INT64, -9223372036854775808, None),
        ("test.float64", V.FLOAT64, -2.718281828459045, None),
        ("test.arr.uint8", V.ARRAY, [0, 1, 255], [V.UINT8]),
        ("test.arr.int8", V.ARRAY, [-128, 0, 127], [V.INT8]),
        ("test.arr.uint16", V.ARRAY, [0, 65535], [V.UINT16]),
        ("test.arr.int16", V.ARRAY, [-32768, 32767], [V.INT16]),
        ("test.arr.uint32", V.ARRAY, [0, 4294967295, 7], [V.UINT32]),
        ("test.arr.int32", V.ARRAY, [-1, 2, -3, 4], [V.INT32]),
        ("test.arr.float32", V.ARRAY, [0.5, -1.25, 1e-30], [V.FLOAT32]),
        ("test.arr.bool", V.ARRAY, [True, False, True], [V.BOOL]),
        ("test.arr.string", V.ARRAY, ["a", "", "<|im_start|>", "Ġthe"], [V.STRING]),
        ("test.arr.uint64", V.ARRAY, [0, 18446744073709551615], [V.UINT64]),
        ("test.arr.int64", V.ARRAY, [-9223372036854775808, 9223372036854775807], [V.INT64]),
        ("test.arr.float64", V.ARRAY, [1.0e300, -0.0], [V.FLOAT64]),
        ("test.arr.nested_strings", V.ARRAY, [["x", "yy"], ["zzz"]], [V.ARRAY, V.STRING]),
        ("test.arr.nested_int32", V.ARRAY, [[1, 2, 3], [4]], [V.ARRAY, V.INT32]),
        ("lfm2.block_count", V.UINT32, 16, None),
    ]


def tensor_entries(rng: np.random.Generator):
    """(name, type name, ne fastest-first, raw bytes)."""
    out = []
    for name in SUPPORTED:
        qtype = T[name]
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        cols = 256 if block == 256 else 64
        rows = 2
        if name in GGUF_QUANTIZES:
            x = (rng.standard_normal((rows, cols)) * 0.1).astype(np.float32)
            data = gguf.quants.quantize(x, qtype)
        else:
            data = random_blocks(np.random.default_rng(7), name)[: rows * cols // block * size]
        out.append((f"blk.0.{name.lower()}.weight", name, [cols, rows], np.asarray(data).tobytes()))
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(4, 3, 2) * 0.5
    out.append(("three_d.weight", "F32", [2, 3, 4], x.tobytes()))
    out.append(("scalar_like.bias", "F32", [1], np.array([42.0], dtype=np.float32).tobytes()))
    return out


def write_gguf(path: str, alignment: int | None, rng: np.random.Generator, nested: bool) -> None:
    writer = gguf.GGUFWriter(path, arch="lfm2")
    entries = [("general.architecture", V.STRING, "lfm2", None)]
    if alignment is not None:
        writer.add_custom_alignment(alignment)
        entries.append(("general.alignment", V.UINT32, alignment, None))
    for key, vtype, value, sub in metadata_entries():
        if not nested and sub is not None and sub[0] == V.ARRAY:
            continue  # ggml's C reader (gguf.cpp) rejects nested arrays; keep one file it can read
        if vtype == V.ARRAY:
            writer.add_key_value(key, value, vtype, sub_type=sub[0])
        else:
            writer.add_key_value(key, value, vtype)
        entries.append((key, vtype, value, sub))
    tensors = tensor_entries(rng)
    for name, tname, ne, data in tensors:
        qtype = T[tname]
        rows = int(np.prod(ne[1:])) if len(ne) > 1 else 1
        arr = np.frombuffer(data, dtype=np.uint8).reshape(rows, -1)
        byte_shape = [*reversed(ne[1:]), arr.shape[1]]  # gguf takes the byte shape of quantized data
        writer.add_tensor(name, arr, raw_shape=byte_shape, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    reader = gguf.GGUFReader(path)
    align = alignment or 32
    expected = {
        "version": 3,
        "alignment": align,
        "data_offset": int(reader.data_offset),
        "metadata": [{"key": k, "type": t.name, "value": encode_value(t, v, s)} for k, t, v, s in entries],
        "tensors": [],
    }
    offset = 0
    for name, tname, ne, data in tensors:
        expected["tensors"].append({"name": name, "type": tname, "type_id": int(T[tname]), "ne": ne,
                                    "offset": offset, "n_bytes": len(data)})
        offset += (len(data) + align - 1) // align * align
    # Cross-check against gguf's own reader.
    assert [f.name for f in reader.fields.values()][3:] == [e["key"] for e in expected["metadata"]], "key order"
    for e, (k, t, v, s) in zip(expected["metadata"], entries):
        field = reader.fields[k]
        if t == V.ARRAY and s[0] == V.ARRAY:
            continue  # gguf's reader does not decode nested arrays (FIXME in gguf_reader.py)
        got = field.contents()
        if t in (V.FLOAT32,):
            assert np.float32(got) == np.float32(v), k
        elif t == V.ARRAY and s[0] == V.FLOAT32:
            assert np.array_equal(np.array(got, np.float32), np.array(v, np.float32)), k
        else:
            assert got == v, (k, got, v)
    for rt, e in zip(reader.tensors, expected["tensors"]):
        assert rt.name == e["name"] and rt.tensor_type.name == e["type"], rt.name
        assert list(map(int, rt.shape)) == e["ne"], (rt.name, rt.shape)
        assert int(rt.data_offset) == expected["data_offset"] + e["offset"], rt.name
        assert int(rt.n_bytes) == e["n_bytes"], rt.name
    with open(path[:-5] + ".json", "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--oracle", help="path to ggml_oracle (Scripts/reference/gguf/build_ggml_oracle.sh)")
    args = parser.parse_args()
    os.makedirs(QUANT, exist_ok=True)

    table = [{"name": t.name, "id": int(t), "block_size": gguf.GGML_QUANT_SIZES[t][0],
              "type_size": gguf.GGML_QUANT_SIZES[t][1]} for t in T]
    with open(os.path.join(OUT, "ggml_types.json"), "w") as f:
        json.dump(table, f, indent=1)
        f.write("\n")

    rng = np.random.default_rng(20261129)
    for name in SUPPORTED:
        qtype = T[name]
        x = inputs(rng)
        input_path = os.path.join(QUANT, f"{name}.input.f32")
        write(input_path, x.tobytes())
        if name in GGUF_QUANTIZES:
            q = np.asarray(gguf.quants.quantize(x, qtype))
            write(os.path.join(QUANT, f"{name}.gguf.bin"), q.tobytes())
            write(os.path.join(QUANT, f"{name}.deq.f32"), gguf.quants.dequantize(q, qtype).astype(np.float32).tobytes())
        if name in GGUF_DEQUANTIZES and name not in ("F32", "F16", "BF16"):
            raw = random_blocks(rng, name)
            write(os.path.join(QUANT, f"{name}.random.bin"), raw.tobytes())
            deq = gguf.quants.dequantize(raw.reshape(2, -1), qtype).astype(np.float32)
            write(os.path.join(QUANT, f"{name}.random.deq.f32"), deq.tobytes())
        if args.oracle and name not in ("F32", "F16", "BF16"):
            out = os.path.join(QUANT, f"{name}.ggml.bin")
            subprocess.run([args.oracle, "quantize", name, input_path, out], check=True)
            if name in GGUF_QUANTIZES:
                same = open(out, "rb").read() == open(os.path.join(QUANT, f"{name}.gguf.bin"), "rb").read()
                print(f"{name}: gguf.quants.quantize == ggml quantize_row_{name.lower()}_ref: {same}")

    stress_path = os.path.join(QUANT, "stress.input.f32")
    stress = stress_inputs(np.random.default_rng(99))
    write(stress_path, stress.tobytes())
    if args.oracle:
        for name in SUPPORTED[3:]:
            out = os.path.join(QUANT, f"{name}.stress.ggml.bin")
            subprocess.run([args.oracle, "quantize", name, stress_path, out], check=True)

    write_gguf(os.path.join(OUT, "metadata.gguf"), None, np.random.default_rng(1), nested=True)
    write_gguf(os.path.join(OUT, "aligned64.gguf"), 64, np.random.default_rng(2), nested=False)
    if args.oracle:
        for f in ("metadata.gguf", "aligned64.gguf"):
            r = subprocess.run([args.oracle, "check", os.path.join(OUT, f)], capture_output=True, text=True)
            note = " (expected: gguf.cpp rejects nested arrays)" if f == "metadata.gguf" else ""
            print((r.stdout.strip().splitlines()[-1] if r.stdout else r.stderr.strip()) + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
