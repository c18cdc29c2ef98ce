"""GGUF interop fixtures for the model families: tiny Qwen3, Llama and LFM2-MoE checkpoints converted and
quantized by llama.cpp, with llama.cpp's logits.

Pinned tools (Python 3.11): torch 2.13.0+cpu, transformers 5.24.0, tokenizers 0.23.3, gguf 0.19.0,
numpy 2.4.6, safetensors 0.8.0, sentencepiece 0.2.3 (the Qwen/Llama converters import it before falling back
to the BPE vocabulary); llama.cpp from the llama-cpp-python 0.3.36 sdist (its vendor/llama.cpp:
convert_hf_to_gguf.py with the vendored gguf-py, and llama-quantize plus libllama built from the same tree
with plain CMake, Release).

    /root/venv-ref/bin/python Scripts/reference/gguf-interop/make_family_interop_fixtures.py \
        --llama-cpp /root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp \
        --llama-bin /root/llamacpp-build/bin

Writes Tests/LFMModelsTests/Fixtures/gguf/families/:
- `<name>.gguf` and `<name>.json` per file, in the format of the LFM2 interop fixtures
  (make_interop_fixtures.py): llama.cpp's logits for `prompt_ids` at every position (`prompt_logits`),
  its greedy tokens and the logits behind each (`decode_logits`, one single-token llama_decode per step),
  `n_vocab`, `case`, `source`, `type`, `arch` (GGUF general.architecture), `bytes`, `dequant_fnv` (for every
  tensor the FNV-1a 64 hash of gguf-py's float32 dequantization, with its GGML type name), and
  `tensor_types` (tensor name -> GGML type name, so a test sees which tensors a mix quantized how).
  For the F32 files also `transformers_max_abs_diff` / `transformers_max_logit`: how far llama.cpp's prompt
  logits are from transformers' float32 logits on the same checkpoint (a check that the converter and this
  engine's references agree; the script requires <= 1e-4 relative).
- `<model>-hf/` for the h64 models: config.json + model.safetensors (F32) + tokenizer files of the
  converted checkpoint, so a test can compare its safetensors path or `lfm convert` with llama.cpp's files.

Checkpoints (random weights, tiny byte-level BPE tokenizers named to the converter as the family's
pre-tokenizer: "qwen2" for Qwen3 (single-digit split), "llama-bpe" for Llama, "lfm2" for LFM2-MoE):
- qwen3-h64:  Qwen3, H 64, heads 2 / kv 1, head_dim 48 (!= 64/2, so qwen3.attention.key_length matters), I 64,
              2 layers, tied, theta 1e6.                                     -> F32, Q8_0, Q4_0
- llama-h64:  Llama, H 64, heads 4 / kv 1, head_dim 16, I 64, 2 layers, untied, llama3 RoPE (factor 8, low 1,
              high 4, original 32, theta 1e4; GGUF stores it as rope_freqs.weight), Q/K rows permuted by the
              converter (llama.cpp runs Llama with the adjacent-pair rope).     -> F32, Q8_0, Q4_0
- moe-h64:    LFM2-MoE, H 64, layers conv (dense FFN, I 64) + attention (MoE: 4 experts, top-2,
              moe_intermediate 32), expert_bias on, norm_topk_prob on, routed_scaling_factor 1 (llama.cpp
              ignores both flags).                                           -> F32, Q8_0, Q4_0 (experts too)
- qwen3-h256: Qwen3, H 256, heads 4 / kv 2, head_dim 64, I 256, 1 layer, tied: every row a multiple of 256
              so k-quants apply.                                             -> Q4_K_M, Q6_K
- moe-h256:   LFM2-MoE, H 256, layers conv (dense, I 32) + attention (kv 1; MoE: 2 experts, top-1,
              moe_intermediate 256): the stacked expert tensors take k-quants (gate/up Q4_K, down Q6_K).
                                                                             -> Q4_K_M
              This file is larger than the 400 KB the other files keep to: with H = I = 256 (needed for
              k-quants) two experts alone are 393K weights, the conv in_proj 197K, attention q/o 131K.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, processors, Regex, AddedToken
from transformers import (LlamaConfig, LlamaForCausalLM, Lfm2MoeConfig, Lfm2MoeForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
OUT = ROOT / "Tests/LFMModelsTests/Fixtures/gguf/families"
sys.path.insert(0, str(HERE))
from make_interop_fixtures import bytes_to_unicode, dequant_hashes  # noqa: E402  (same directory)

SPECIALS = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|fim_pre|>", "<|fim_mid|>", "<|fim_suf|>",
            "<|im_start|>", "<|im_end|>"]
LLAMA3_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
QWEN2_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
               "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
SPLITS = {"qwen2": QWEN2_SPLIT, "llama-bpe": LLAMA3_SPLIT, "lfm2": LLAMA3_SPLIT}  # LFM2 uses Llama 3's regex
PROMPT = [1, 17, 93, 200, 45, 8, 121, 66, 250, 12, 99, 31, 140, 77, 203, 5, 64, 180, 23, 111]
STEPS = 8
LIMIT = 400_000


def tiny_tokenizer(vocab_size, split):
    """A byte-level BPE with the given Split regex and exactly `vocab_size` ids: 8 specials, byte tokens
    (low control bytes left out when not all 256 fit), then merges of frequent letter pairs."""
    byte_chars = bytes_to_unicode()
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    order = list(range(32, 127)) + [b for b in range(256) if not 32 <= b < 127]
    room = vocab_size - len(vocab) - 4  # llama.cpp needs merges: keep room for at least 4
    if room < 256:
        order = [b for b in order if b >= 8][:room]
    for b in order:
        vocab[byte_chars[b]] = len(vocab)
    merges = []
    letters = "etaoinshrdlu"
    for a, b in [("Ġ", c) for c in letters] + [(a, b) for a in letters for b in letters]:
        if len(vocab) >= vocab_size:
            break
        vocab[a + b] = len(vocab)
        merges.append((a, b))
    assert len(vocab) == vocab_size, (len(vocab), vocab_size)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="<|startoftext|> $A",
                                                       special_tokens=[("<|startoftext|>", 1)])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    return tok


def write_tokenizer(folder, vocab_size, pre):
    tiny_tokenizer(vocab_size, SPLITS[pre]).save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|startoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|pad|>",
        "add_bos_token": True, "add_eos_token": False, "tokenizer_class": "PreTrainedTokenizerFast"}))


def reinit_(model, seed):
    """Large-spread init as in the family fixtures: every layer moves the residual stream."""
    g = torch.Generator().manual_seed(seed)
    hidden = model.config.hidden_size
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("conv.conv.weight"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_tokens.weight"):
                p.copy_(torch.randn(p.shape, generator=g) / hidden ** 0.5)
            elif name.endswith("feed_forward.gate.weight"):
                p.copy_(2.0 * torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)
        for name, b in sorted(model.named_buffers(), key=lambda kv: kv[0]):
            if name.endswith("expert_bias"):
                b.copy_(0.25 * torch.randn(b.shape, generator=g))


def qwen3(hidden, heads, kv, head_dim, inter, layers):
    return Qwen3ForCausalLM, Qwen3Config(
        vocab_size=256, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv, head_dim=head_dim, rms_norm_eps=1e-6,
        max_position_embeddings=4096, tie_word_embeddings=True, bos_token_id=1, eos_token_id=7,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})


def llama():
    return LlamaForCausalLM, LlamaConfig(
        vocab_size=256, hidden_size=64, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, head_dim=16, rms_norm_eps=1e-5, max_position_embeddings=4096,
        tie_word_embeddings=False, bos_token_id=1, eos_token_id=7,
        rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 32})


def moe(hidden, inter, moe_inter, experts, top_k, kv=2):
    return Lfm2MoeForCausalLM, Lfm2MoeConfig(
        vocab_size=256, hidden_size=hidden, intermediate_size=inter, moe_intermediate_size=moe_inter,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=kv, layer_types=["conv", "full_attention"],
        num_dense_layers=1, num_experts=experts, num_experts_per_tok=top_k, norm_topk_prob=True,
        routed_scaling_factor=1.0, use_expert_bias=True, conv_L_cache=3, norm_eps=1e-5,
        max_position_embeddings=4096, pad_token_id=0, bos_token_id=1, eos_token_id=7, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})


# name, builder, seed, pre-tokenizer, GGUF arch, files: list of (outtype from converter | quant mix)
MODELS = [
    ("qwen3-h64", lambda: qwen3(64, 2, 1, 48, 64, 2), 5101, "qwen2", "qwen3", ["F32", "Q8_0", "Q4_0"]),
    ("llama-h64", llama, 5202, "llama-bpe", "llama", ["F32", "Q8_0", "Q4_0"]),
    ("moe-h64", lambda: moe(64, 64, 32, 4, 2), 5303, "lfm2", "lfm2moe", ["F32", "Q8_0", "Q4_0"]),
    ("qwen3-h256", lambda: qwen3(256, 4, 2, 64, 256, 1), 5404, "qwen2", "qwen3", ["Q4_K_M", "Q6_K"]),
    ("moe-h256", lambda: moe(256, 32, 256, 2, 1, kv=1), 5505, "lfm2", "lfm2moe", ["Q4_K_M"]),
]


def build_logits_tool(args, work):
    exe = work / "llama_logits"
    inc = [f"-I{args.llama_cpp}/include", f"-I{args.llama_cpp}/ggml/include"]
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "llama_logits.c"), *inc, f"-L{args.llama_bin}",
                    "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{args.llama_bin}"], check=True)
    return exe


def llama_logits(exe, path, ids, steps):
    res = subprocess.run([str(exe), str(path), ",".join(map(str, ids)), str(steps)], check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout)


def convert(args, folder, out, outtype, pre):
    cmd = [sys.executable, str(HERE / "convert_with_llamacpp.py"), args.llama_cpp, str(folder), str(out), outtype,
           f"--tiny-tokenizer={pre}"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("converter failed on %s:\n%s" % (folder, res.stderr[-3000:]))


def quantize(args, src, out, qtype):
    env = dict(os.environ, LD_LIBRARY_PATH=args.llama_bin)
    res = subprocess.run([f"{args.llama_bin}/llama-quantize", str(src), str(out), qtype], capture_output=True,
                         text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError("llama-quantize %s failed:\n%s" % (qtype, res.stderr[-3000:]))


def tensor_types(path):
    from gguf import GGUFReader
    return {t.name: t.tensor_type.name for t in GGUFReader(str(path)).tensors}


def transformers_logits(folder):
    from transformers import AutoModelForCausalLM
    kwargs = {"experts_implementation": "eager"} if "moe" in folder.name else {}
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager",
                                                 **kwargs).eval()
    with torch.no_grad():
        return model(input_ids=torch.tensor([PROMPT]), use_cache=False).logits[0].numpy()


def make_model(args, exe, work, spec):
    name, build, seed, pre, arch, outputs = spec
    folder = work / f"{name}-hf"
    model_class, config = build()
    torch.manual_seed(seed)
    model = model_class(config).to(torch.float32).eval()
    reinit_(model, seed)
    model.save_pretrained(folder)
    (folder / "generation_config.json").unlink(missing_ok=True)
    write_tokenizer(folder, config.vocab_size, pre)
    f32 = work / f"{name}-f32.gguf"
    convert(args, folder, f32, "f32", pre)
    for kind in outputs:
        out = OUT / f"{name}-{kind.lower()}.gguf"
        if kind == "F32":
            shutil.copyfile(f32, out)
        else:
            quantize(args, f32, out, kind)
        data = llama_logits(exe, out, PROMPT, STEPS)
        data.update({"case": out.stem, "source": f"gguf/families/{name}-hf (random weights, {arch})", "type": kind,
                     "arch": arch, "prompt_ids": PROMPT})
        if kind == "F32":
            ref = transformers_logits(folder)
            got = np.array(data["prompt_logits"], dtype=np.float32)
            diff = float(np.abs(ref - got).max())
            scale = float(np.abs(ref).max())
            if diff > 1e-4 * max(1.0, scale):
                raise RuntimeError("%s: llama.cpp F32 differs from transformers by %g (scale %g)" % (name, diff, scale))
            data["transformers_max_abs_diff"] = diff
            data["transformers_max_logit"] = scale
        data["tensor_types"] = tensor_types(out)
        data["dequant_fnv"] = dequant_hashes(out)
        data["bytes"] = out.stat().st_size
        (OUT / f"{out.stem}.json").write_text(json.dumps(data))
        types = sorted(set(data["tensor_types"].values()))
        print(f"{out.name}: {data['bytes']} bytes, types {types}, greedy {data['greedy_tokens']}"
              + (f", |llama.cpp - transformers| {data['transformers_max_abs_diff']:.2e}" if kind == "F32" else ""))
    if "F32" in outputs:  # the safetensors source of llama.cpp's files (the h256 ones would be > 1 MB)
        keep = OUT / f"{name}-hf"
        if keep.exists():
            shutil.rmtree(keep)
        shutil.copytree(folder, keep)


# llama-quantize references for `lfm quantize` (no logits): (source file, mix, needs --allow-requantize).
# The H 64 ones exercise the Q4_K_M rules (attn_v / ffn_down bumps, MoE layer indices) with every
# k-quant falling back (rows of 64); the H 256 ones quantize to real Q4_K / Q5_K / Q6_K blocks.
QUANTIZE_REFS = [
    ("qwen3-h64-f32.gguf", "Q4_K_M", False),
    ("llama-h64-f32.gguf", "Q4_K_M", False),
    ("moe-h64-f32.gguf", "Q4_K_M", False),
    ("qwen3-h256-q6_k.gguf", "Q4_K_M", True),
    ("moe-h256-q4_k_m.gguf", "Q5_K_M", True),
]


def make_quantize_refs(args):
    env = dict(os.environ, LD_LIBRARY_PATH=args.llama_bin)
    for src, qtype, requantize in QUANTIZE_REFS:
        out = OUT / (src.replace(".gguf", "") + "-to-" + qtype.lower() + ".gguf.ref")
        cmd = [f"{args.llama_bin}/llama-quantize"] + (["--allow-requantize"] if requantize else []) + [str(OUT / src), str(out), qtype]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise RuntimeError("llama-quantize %s failed:\n%s" % (qtype, res.stderr[-3000:]))
        print("wrote", out.name, out.stat().st_size)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--llama-bin", required=True)
    ap.add_argument("--only", nargs="*", help="model names to (re)build")
    ap.add_argument("--quantize-refs-only", action="store_true",
                    help="only (re)write the *-to-<mix>.gguf.ref llama-quantize references from the committed files")
    args = ap.parse_args()
    if args.quantize_refs_only:
        make_quantize_refs(args)
        return
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    import transformers
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = build_logits_tool(args, work)
        for spec in MODELS:
            if args.only and spec[0] not in args.only:
                continue
            make_model(args, exe, work, spec)
    make_quantize_refs(args)
    big = [(p.name, p.stat().st_size) for p in OUT.glob("*.gguf") if p.stat().st_size > LIMIT]
    if big:
        print("over %d bytes: %r" % (LIMIT, big))


if __name__ == "__main__":
    main()
