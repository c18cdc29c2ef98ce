#!/usr/bin/env python3
"""Random-weight LFM2 checkpoints with the real shapes, for speed benchmarks (not for quality).

Pinned environment (as /root/venv-ref):
    python 3.11, torch==2.13.0+cpu (/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl),
    transformers==5.24.0, safetensors==0.8.0, numpy==2.4.6, gguf==0.19.0
    llama.cpp: the copy vendored in the llama-cpp-python==0.3.36 sdist (ggml 0.25.3, commit 0c1e570),
    for convert_hf_to_gguf.py and a built llama-quantize (see Benchmarks/README.md).

Usage:
    /root/venv-ref/bin/python Benchmarks/make_random_lfm2.py --out /root/models \
        --llama-src /root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp \
        --llama-build /root/llamacpp-build [--size 350m] [--size 1.2b] [--formats ...]

For each size S (350m, 1.2b) it writes, under --out:
    lfm2-S-f32/    config.json (the real config, torch_dtype float32), model.safetensors (F32),
                   tokenizer.json, tokenizer_config.json, chat_template.jinja, README-tokenizer.md
    lfm2-S-bf16/   the same weights rounded to BF16 (torch_dtype bfloat16)
    lfm2-S-gguf/   lfm2-S-{f32,f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1,q2_k,q3_k_m,q4_k_m,q5_k_m,q6_k,iq4_nl,iq4_xs}.gguf
                   f32/f16 converted from the F32 folder, bf16 from the BF16 folder (bit-identical weights
                   to ours), quantised types made by llama-quantize from the F32 GGUF.
Weights: every matrix N(0, 0.02^2) (embedding included; it is also the tied output head), conv taps
N(0, 0.02^2), norm weights 1. Deterministic for a given --seed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
CONFIGS = {
    "350m": os.path.join(REPO, "Tests", "LFMModelsTests", "Fixtures", "configs", "lfm2-350m", "config.json"),
    "1.2b": os.path.join(REPO, "Tests", "LFMModelsTests", "Fixtures", "configs", "lfm2-1.2b", "config.json"),
}
PARAMS = {"350m": 354_483_968, "1.2b": 1_170_340_608}
TOKENIZER_DIR = "/work/shared/fixtures/lfm2"
ALL_FORMATS = ["hf-f32", "hf-bf16", "gguf-f32", "gguf-f16", "gguf-bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k",
               "q3_k_m", "q4_k_m", "q5_k_m", "q6_k", "iq4_nl", "iq4_xs"]
QUANTIZED = ("q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k", "iq4_nl", "iq4_xs")


def run(cmd, log):
    print("+ " + " ".join(cmd), flush=True)
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if rc != 0:
        sys.exit("command failed (rc %d), see %s: %s" % (rc, log, " ".join(cmd)))


def real_config(size):
    with open(CONFIGS[size]) as fh:
        cfg = json.load(fh)
    if "layer_types" not in cfg:  # convert_hf_to_gguf's LFM2 class reads hparams["layer_types"]
        attn = set(cfg["full_attn_idxs"])
        cfg["layer_types"] = ["full_attention" if i in attn else "conv" for i in range(cfg["num_hidden_layers"])]
    return cfg


def random_state(cfg, seed):
    """Names and shapes from transformers' own module tree (meta device), values from a seeded generator."""
    from transformers import Lfm2Config, Lfm2ForCausalLM
    config = Lfm2Config.from_dict(cfg)
    with torch.device("meta"):
        model = Lfm2ForCausalLM(config)
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, p in sorted(model.state_dict().items()):
        if name == "lm_head.weight":
            continue  # tied to model.embed_tokens.weight, absent from the real checkpoints
        if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            state[name] = torch.ones(p.shape, dtype=torch.float32)
        else:
            state[name] = torch.randn(p.shape, generator=g, dtype=torch.float32) * 0.02
    return state


def write_hf(folder, cfg, state, dtype_name):
    from safetensors.torch import save_file
    os.makedirs(folder, exist_ok=True)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    save_file({k: v.to(dtype).contiguous() for k, v in state.items()}, os.path.join(folder, "model.safetensors"),
              metadata={"format": "pt"})
    out_cfg = dict(cfg)
    out_cfg["torch_dtype"] = dtype_name
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump(out_cfg, fh, indent=2)
        fh.write("\n")
    shutil.copyfile(os.path.join(TOKENIZER_DIR, "tokenizer.json"), os.path.join(folder, "tokenizer.json"))
    shutil.copyfile(os.path.join(TOKENIZER_DIR, "chat_template.jinja"), os.path.join(folder, "chat_template.jinja"))
    shutil.copyfile(os.path.join(TOKENIZER_DIR, "README.md"), os.path.join(folder, "README-tokenizer.md"))
    tok_cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|startoftext|>",
               "eos_token": "<|im_end|>", "pad_token": "<|pad|>", "add_bos_token": True, "add_eos_token": False,
               "model_max_length": 128000}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as fh:
        json.dump(tok_cfg, fh, indent=2)
        fh.write("\n")
    gen_cfg = {"bos_token_id": 1, "eos_token_id": 7, "pad_token_id": 0}
    with open(os.path.join(folder, "generation_config.json"), "w") as fh:
        json.dump(gen_cfg, fh, indent=2)
        fh.write("\n")


def check_hf(folder, size):
    """transformers loads the folder, has the real parameter count and produces finite logits."""
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    n = sum(p.numel() for p in model.parameters())
    if n != PARAMS[size]:
        sys.exit("%s: %d parameters, expected %d" % (folder, n, PARAMS[size]))
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([[1, 6, 1001, 2002, 3003, 4004, 7, 6]])).logits
    if not torch.isfinite(logits).all():
        sys.exit("%s: non-finite logits" % folder)
    print("%s: transformers loads it, %d parameters, logits finite" % (folder, n), flush=True)


def main():
    ap = argparse.ArgumentParser(description="random-weight LFM2 checkpoints (HF + GGUF) for benchmarks")
    ap.add_argument("--out", required=True, help="output root, outside the repository (e.g. /root/models)")
    ap.add_argument("--size", action="append", choices=sorted(CONFIGS), help="350m (default) and/or 1.2b")
    ap.add_argument("--llama-src", default="/root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp")
    ap.add_argument("--llama-build", default="/root/llamacpp-build")
    ap.add_argument("--formats", default=",".join(ALL_FORMATS), help="comma list of " + ",".join(ALL_FORMATS))
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--no-check", action="store_true", help="skip loading the HF folders back with transformers")
    args = ap.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    unknown = [f for f in formats if f not in ALL_FORMATS]
    if unknown:
        sys.exit("unknown formats %r" % unknown)
    convert = os.path.join(args.llama_src, "convert_hf_to_gguf.py")
    quantize = os.path.join(args.llama_build, "bin", "llama-quantize")

    for size in args.size or ["350m"]:
        cfg = real_config(size)
        base = os.path.join(args.out, "lfm2-%s" % size)
        f32_dir, bf16_dir, gguf_dir = base + "-f32", base + "-bf16", base + "-gguf"
        need_f32 = any(f in formats for f in ("hf-f32", "gguf-f32", "gguf-f16") + QUANTIZED)
        need_bf16 = any(f in formats for f in ("hf-bf16", "gguf-bf16"))
        state = random_state(cfg, args.seed) if (need_f32 or need_bf16) else None
        if need_f32 and not os.path.exists(os.path.join(f32_dir, "model.safetensors")):
            write_hf(f32_dir, cfg, state, "float32")
            if not args.no_check:
                check_hf(f32_dir, size)
        if need_bf16 and not os.path.exists(os.path.join(bf16_dir, "model.safetensors")):
            write_hf(bf16_dir, cfg, state, "bfloat16")
            if not args.no_check:
                check_hf(bf16_dir, size)
        del state
        os.makedirs(gguf_dir, exist_ok=True)

        def gguf(kind):
            return os.path.join(gguf_dir, "lfm2-%s-%s.gguf" % (size, kind))

        for kind, src in (("f32", f32_dir), ("f16", f32_dir), ("bf16", bf16_dir)):
            if "gguf-" + kind in formats or (kind == "f32" and any(q in formats for q in QUANTIZED)):
                if not os.path.exists(gguf(kind)):
                    run([sys.executable, convert, src, "--outtype", kind, "--outfile", gguf(kind)],
                        gguf(kind) + ".log")
        for q in QUANTIZED:
            if q in formats and not os.path.exists(gguf(q)):
                run([quantize, gguf("f32"), gguf(q), q.upper()], gguf(q) + ".log")
        for f in sorted(os.listdir(gguf_dir)):
            if f.endswith(".gguf"):
                print("%-28s %8.1f MB" % (f, os.path.getsize(os.path.join(gguf_dir, f)) / 1e6))


if __name__ == "__main__":
    main()
