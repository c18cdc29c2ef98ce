#!/usr/bin/env python3
"""A random-weight LFM2-8B-A1B slice (the real per-layer shapes, the first N layers) for speed benchmarks.

Pinned environment: as Benchmarks/make_random_lfm2.py (/root/venv-ref: torch 2.13.0+cpu, transformers 5.24.0,
safetensors 0.8.0, gguf-py and convert_hf_to_gguf.py from the llama-cpp-python 0.3.36 sdist, a built llama-quantize).

Usage:
    /root/venv-ref/bin/python Benchmarks/make_random_moe.py --out /root/models [--layers 8]

Writes under --out:
    lfm2-8b-a1b-L{N}-bf16/       config.json (Tests/LFMModelsTests/Fixtures/configs/lfm2-8b-a1b with the first N
                                 layers), model.safetensors (BF16; per-expert tensors as transformers saves them,
                                 expert_bias F32), the real LFM2 tokenizer (LFM Open License v1.0, README-tokenizer.md)
    lfm2-8b-a1b-L{N}-gguf/       ...-bf16.gguf (llama.cpp's converter), ...-q8_0.gguf and ...-q4_0.gguf (llama-quantize)
Weights N(0, 0.02^2) (router and expert bias included), norms 1; deterministic for --seed.
model.safetensors is written one tensor at a time, so memory stays at one tensor whatever --layers is. With
--drop-sources the BF16 safetensors is deleted once converted and the BF16 GGUF once quantized: the whole
24-layer model (16.7 GB BF16) then needs ~34 GB of disk at the peak and keeps 13.6 GB (Q8_0 + Q4_0).
Tokenizer files, config writing, conversion and quantisation come from make_random_transformer.py.
"""

import argparse
import json
import os

import torch

from make_random_transformer import convert_and_quantize, write_config  # same tokenizer, converter, quantiser

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
CONFIG = os.path.join(REPO, "Tests", "LFMModelsTests", "Fixtures", "configs", "lfm2-8b-a1b", "config.json")


def shapes(cfg):
    """Every tensor name and shape of the on-disk checkpoint (per-expert, as save_pretrained writes)."""
    h, v, kv = cfg["hidden_size"], cfg["vocab_size"], cfg["num_key_value_heads"]
    heads, f, fe, e = cfg["num_attention_heads"], cfg["intermediate_size"], cfg["moe_intermediate_size"], cfg["num_experts"]
    d = h // heads
    out = {"model.embed_tokens.weight": [v, h], "model.embedding_norm.weight": [h]}
    for i, kind in enumerate(cfg["layer_types"]):
        p = "model.layers.%d." % i
        out[p + "operator_norm.weight"] = [h]
        out[p + "ffn_norm.weight"] = [h]
        if kind == "conv":
            out[p + "conv.in_proj.weight"] = [3 * h, h]
            out[p + "conv.conv.weight"] = [h, 1, cfg.get("conv_L_cache", 3)]
            out[p + "conv.out_proj.weight"] = [h, h]
        else:
            out[p + "self_attn.q_proj.weight"] = [heads * d, h]
            out[p + "self_attn.k_proj.weight"] = [kv * d, h]
            out[p + "self_attn.v_proj.weight"] = [kv * d, h]
            out[p + "self_attn.out_proj.weight"] = [h, heads * d]
            out[p + "self_attn.q_layernorm.weight"] = [d]
            out[p + "self_attn.k_layernorm.weight"] = [d]
        if i < cfg["num_dense_layers"]:
            out[p + "feed_forward.w1.weight"] = [f, h]
            out[p + "feed_forward.w3.weight"] = [f, h]
            out[p + "feed_forward.w2.weight"] = [h, f]
        else:
            out[p + "feed_forward.gate.weight"] = [e, h]
            out[p + "feed_forward.expert_bias"] = [e]
            for x in range(e):
                out[p + "feed_forward.experts.%d.w1.weight" % x] = [fe, h]
                out[p + "feed_forward.experts.%d.w3.weight" % x] = [fe, h]
                out[p + "feed_forward.experts.%d.w2.weight" % x] = [h, fe]
    return out


def main():
    ap = argparse.ArgumentParser(description="random-weight LFM2-8B-A1B slice (HF BF16 + GGUF) for benchmarks")
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--llama-src", default="/root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp")
    ap.add_argument("--llama-build", default="/root/llamacpp-build")
    ap.add_argument("--drop-sources", action="store_true",
                    help="delete the BF16 safetensors once converted and the BF16 GGUF once quantized (disk)")
    args = ap.parse_args()
    with open(CONFIG) as fh:
        cfg = json.load(fh)
    cfg["num_hidden_layers"] = args.layers
    cfg["layer_types"] = cfg["layer_types"][:args.layers]
    cfg["torch_dtype"] = "bfloat16"
    name = "lfm2-8b-a1b-L%d" % args.layers
    hf = os.path.join(args.out, name + "-bf16")
    gg = os.path.join(args.out, name + "-gguf")
    os.makedirs(hf, exist_ok=True)
    os.makedirs(gg, exist_ok=True)
    weights = os.path.join(hf, "model.safetensors")
    source = os.path.join(gg, "%s-bf16.gguf" % name)
    if not os.path.exists(weights) and not os.path.exists(source):
        write_random_safetensors(weights, shapes(cfg), args.seed)
        write_config(hf, cfg)
    convert_and_quantize(args, name, hf, gg, "bf16", drop_sources=args.drop_sources)


def write_random_safetensors(path, tensor_shapes, seed):
    """model.safetensors with every tensor of `tensor_shapes` (in that order, one in memory at a time):
    norms 1 (BF16), the expert bias N(0, 0.02^2) in F32, everything else N(0, 0.02^2) rounded to BF16."""
    def kind(key):
        if key.endswith("norm.weight") or key.endswith("layernorm.weight"):
            return "ones"
        return "bias" if key.endswith("expert_bias") else "random"
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for key, shape in tensor_shapes.items():
        count = 1
        for dim in shape:
            count *= dim
        size = count * (4 if kind(key) == "bias" else 2)
        header[key] = {"dtype": "F32" if kind(key) == "bias" else "BF16", "shape": shape,
                       "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    g = torch.Generator().manual_seed(seed)
    with open(path + ".partial", "wb") as fh:
        fh.write(len(text).to_bytes(8, "little"))
        fh.write(text)
        for key, shape in tensor_shapes.items():
            if kind(key) == "ones":
                t = torch.ones(shape, dtype=torch.bfloat16)
            elif kind(key) == "bias":
                t = torch.randn(shape, generator=g, dtype=torch.float32) * 0.02
            else:
                t = (torch.randn(shape, generator=g, dtype=torch.float32) * 0.02).to(torch.bfloat16)
            raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
            fh.write(raw.contiguous().numpy().tobytes())
    os.replace(path + ".partial", path)

if __name__ == "__main__":
    main()
