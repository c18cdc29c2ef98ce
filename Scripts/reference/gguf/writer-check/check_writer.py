"""Reads the file WriteSample.swift wrote with gguf.GGUFReader (gguf==0.19.0) and checks every key and tensor."""
import sys
import numpy as np
import gguf

r = gguf.GGUFReader(sys.argv[1])
f = r.fields
expect = {
    "general.architecture": "lfm2", "general.alignment": 64, "lfm2.block_count": 16, "s.u8": 200, "s.i8": -100,
    "s.u16": 65000, "s.i16": -32000, "s.u32": 4000000000, "s.i32": -2000000000, "s.f32": 0.15625, "s.bool": True,
    "s.string": "héllo 🦙", "s.u64": 2**64 - 1, "s.i64": -2**63, "s.f64": -2.5, "a.i32": [-1, 2, -3],
    "a.f32": [0.5, -1.25], "a.str": ["<|im_start|>", "", "Ġthe"], "a.empty": [], "a.bool": [True, False],
}
keys = [k for k in f if not k.startswith("GGUF.")]
assert keys == list(expect), keys
for k, v in expect.items():
    got = f[k].contents()
    assert got == v, (k, got, v)
assert r.alignment == 64
tensors = {t.name: t for t in r.tensors}
specs = [("token_embd.weight", "F32", [8, 3]), ("blk.0.ffn_up.weight", "F16", [16, 2]),
         ("blk.0.attn_q.weight", "Q4_0", [64, 2]), ("blk.0.ffn_down.weight", "Q4_K", [256, 2]),
         ("blk.0.ffn_gate.weight", "Q6_K", [256, 1]), ("output_norm.weight", "F32", [5])]
assert [t.name for t in r.tensors] == [s[0] for s in specs]
for name, tname, ne in specs:
    t = tensors[name]
    assert t.tensor_type.name == tname and list(map(int, t.shape)) == ne, name
    raw = np.asarray(t.data).view(np.uint8).reshape(-1)
    want = (np.arange(raw.size, dtype=np.int64) * 31 + len(name.encode())) % 256
    assert np.array_equal(raw, want.astype(np.uint8)), name
    assert t.data_offset % 64 == 0, name
print(f"gguf {gguf.__name__} GGUFReader: all {len(expect)} keys and {len(specs)} tensors match")
