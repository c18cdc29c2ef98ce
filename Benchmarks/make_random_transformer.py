#!/usr/bin/env python3
"""Random-weight Qwen3-0.6B, Llama-350M and LFM3-1.7B checkpoints with real shapes, for speed benchmarks.

Pinned environment: as Benchmarks/make_random_lfm2.py (/root/venv-ref: torch 2.13.0+cpu, transformers 5.24.0,
safetensors 0.8.0, convert_hf_to_gguf.py and gguf-py from the llama-cpp-python 0.3.36 sdist, a built
llama-quantize), plus `sentencepiece` (the converter imports it for the Qwen3 and Llama vocabularies).

Usage:
    /root/venv-ref/bin/python Benchmarks/make_random_transformer.py --out /root/models [--model qwen3-0.6b] [--model llama-350m]

Shapes:
    qwen3-0.6b   Tests/LFMModelsTests/Fixtures/configs/qwen3-0.6b/config.json (Qwen/Qwen3-0.6B's config; 596,049,920
                 parameters as transformers counts them)
    llama-350m   Benchmarks/configs/llama-350m/config.json: a Llama 3.2-style model of LFM2-350M's size (hidden 1024,
                 16 layers, all attention, 16 heads / 8 KV heads of 64, SwiGLU 4864, llama3 RoPE scaling, the LFM2
                 vocabulary of 65,536, tied head): 356,549,632 parameters vs LFM2-350M's 354,483,968.
    lfm3-1.7b    Tests/LFMModelsTests/Fixtures/configs/lfm3-default/config.json (transformers' default Lfm3Config,
                 1,728,801,536 parameters); HF folders only (the vendored llama.cpp has no LFM3): M-bf16/ and M-f32/,
                 weights made by transformers' own initialisation (Lfm3ForCausalLM.from_config, seeded).
The tokenizer is the real LFM2 one (Liquid AI, LFM Open License v1.0; README-tokenizer.md travels with it): the
converter pads Qwen3's 151,936-entry vocabulary with [PAD] tokens. Tokenizers do not change speed.

Writes under --out, for each model M:
    M-bf16/   config.json (torch_dtype bfloat16), model.safetensors (BF16), tokenizer files
    M-gguf/   M-f16.gguf (converter), M-q8_0.gguf and M-q4_0.gguf (llama-quantize from the F16 file)
Weights N(0, 0.02^2), norms 1; deterministic for --seed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
CONFIGS = {
    "qwen3-0.6b": os.path.join(REPO, "Tests", "LFMModelsTests", "Fixtures", "configs", "qwen3-0.6b", "config.json"),
    "llama-350m": os.path.join(HERE, "configs", "llama-350m", "config.json"),
    "lfm3-1.7b": os.path.join(REPO, "Tests", "LFMModelsTests", "Fixtures", "configs", "lfm3-default", "config.json"),
}
TOKENIZER_DIR = "/work/shared/fixtures/lfm2"


def shapes(cfg):
    """Every tensor name and shape of the checkpoint as save_pretrained writes it (tied head omitted)."""
    h, v = cfg["hidden_size"], cfg["vocab_size"]
    heads, kv, f = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]
    d = cfg.get("head_dim") or h // heads
    out = {"model.embed_tokens.weight": [v, h], "model.norm.weight": [h]}
    if not cfg.get("tie_word_embeddings", False):
        out["lm_head.weight"] = [v, h]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        out[p + "input_layernorm.weight"] = [h]
        out[p + "post_attention_layernorm.weight"] = [h]
        out[p + "self_attn.q_proj.weight"] = [heads * d, h]
        out[p + "self_attn.k_proj.weight"] = [kv * d, h]
        out[p + "self_attn.v_proj.weight"] = [kv * d, h]
        out[p + "self_attn.o_proj.weight"] = [h, heads * d]
        if cfg["model_type"] == "qwen3":
            out[p + "self_attn.q_norm.weight"] = [d]
            out[p + "self_attn.k_norm.weight"] = [d]
        out[p + "mlp.gate_proj.weight"] = [f, h]
        out[p + "mlp.up_proj.weight"] = [f, h]
        out[p + "mlp.down_proj.weight"] = [h, f]
    return out


def run(cmd, log):
    print("+ " + " ".join(cmd), flush=True)
    with open(log, "w") as fh:
        if subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT) != 0:
            sys.exit("command failed, see %s" % log)


def copy_tokenizer(folder):
    for f in ("tokenizer.json", "chat_template.jinja"):
        shutil.copyfile(os.path.join(TOKENIZER_DIR, f), os.path.join(folder, f))
    shutil.copyfile(os.path.join(TOKENIZER_DIR, "README.md"), os.path.join(folder, "README-tokenizer.md"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as fh:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|startoftext|>",
                   "eos_token": "<|im_end|>", "pad_token": "<|pad|>", "add_bos_token": True}, fh, indent=2)


def make_hf_only(name, args):
    """transformers builds the model from its config (its own initialisation), saved in BF16 and F32."""
    import transformers
    out = {dtype: os.path.join(args.out, "%s-%s" % (name, dtype)) for dtype in ("bf16", "f32")}
    if all(os.path.exists(os.path.join(d, "config.json")) for d in out.values()):
        return
    config = transformers.AutoConfig.from_pretrained(os.path.dirname(CONFIGS[name]))
    config.bos_token_id, config.eos_token_id, config.pad_token_id = 1, 7, 0
    torch.manual_seed(args.seed)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    print("%s: %d parameters" % (name, sum(p.numel() for p in model.parameters())))
    for dtype, folder in out.items():
        model.to(torch.bfloat16 if dtype == "bf16" else torch.float32)
        model.save_pretrained(folder)
        copy_tokenizer(folder)


def make(name, args):
    if name == "lfm3-1.7b":
        return make_hf_only(name, args)
    with open(CONFIGS[name]) as fh:
        cfg = json.load(fh)
    cfg["torch_dtype"] = "bfloat16"
    # The LFM2 tokenizer's special tokens.
    cfg["bos_token_id"], cfg["eos_token_id"] = 1, 7
    hf = os.path.join(args.out, name + "-bf16")
    gg = os.path.join(args.out, name + "-gguf")
    os.makedirs(hf, exist_ok=True)
    os.makedirs(gg, exist_ok=True)
    if not os.path.exists(os.path.join(hf, "model.safetensors")):
        g = torch.Generator().manual_seed(args.seed)
        state = {}
        for key, shape in shapes(cfg).items():
            if key.endswith("norm.weight") or key.endswith("layernorm.weight"):
                state[key] = torch.ones(shape, dtype=torch.bfloat16)
            else:
                state[key] = (torch.randn(shape, generator=g, dtype=torch.float32) * 0.02).to(torch.bfloat16)
        save_file(state, os.path.join(hf, "model.safetensors"), metadata={"format": "pt"})
        count = sum(t.numel() for t in state.values())
        del state
        print("%s: %d parameters" % (name, count))
        write_config(hf, cfg)
    convert_and_quantize(args, name, hf, gg, "f16")


def write_config(hf, cfg):
    """config.json and the tokenizer files beside a freshly written model.safetensors."""
    with open(os.path.join(hf, "config.json"), "w") as fh:
        json.dump(cfg, fh, indent=2)
        fh.write("\n")
    copy_tokenizer(hf)


def convert_and_quantize(args, name, hf, gg, base, drop_sources=False):
    """GGUF files of the HF folder: `base` (f16 or bf16) by llama.cpp's converter, Q8_0 and Q4_0 quantised
    from it by llama-quantize (files already there are kept); lists the GGUF folder. `drop_sources`: delete
    the folder's model.safetensors once converted and the `base` GGUF once both quantised files exist."""
    source = os.path.join(gg, "%s-%s.gguf" % (name, base))
    targets = [os.path.join(gg, "%s-%s.gguf" % (name, q)) for q in ("q8_0", "q4_0")]
    if not os.path.exists(source) and not all(os.path.exists(t) for t in targets):
        run([sys.executable, os.path.join(args.llama_src, "convert_hf_to_gguf.py"), hf, "--outtype", base,
             "--outfile", source + ".partial"], source + ".log")
        os.replace(source + ".partial", source)
    if drop_sources and os.path.exists(os.path.join(hf, "model.safetensors")):
        os.remove(os.path.join(hf, "model.safetensors"))
    for path in targets:
        if not os.path.exists(path):
            q = os.path.basename(path)[len(name) + 1:-len(".gguf")]
            run([os.path.join(args.llama_build, "bin", "llama-quantize"), source, path, q.upper()], path + ".log")
    if drop_sources and os.path.exists(source):
        os.remove(source)
    for f in sorted(os.listdir(gg)):
        if f.endswith(".gguf"):
            print("%-36s %8.1f MB" % (f, os.path.getsize(os.path.join(gg, f)) / 1e6))


def main():
    ap = argparse.ArgumentParser(description="random-weight Qwen3-0.6B / Llama-350M (HF BF16 + GGUF) for benchmarks")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", action="append", choices=sorted(CONFIGS))
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--llama-src", default="/root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp")
    ap.add_argument("--llama-build", default="/root/llamacpp-build")
    args = ap.parse_args()
    for name in args.model or sorted(CONFIGS):
        make(name, args)


if __name__ == "__main__":
    main()
