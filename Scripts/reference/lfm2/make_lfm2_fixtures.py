#!/usr/bin/env python3
"""Build the LFM2 conformance fixtures from Hugging Face transformers.

Pinned reference environment (exact versions; the script refuses to run with others):
    python 3.11
    torch==2.13.0+cpu   (pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl)
    transformers==5.24.0
    safetensors==0.8.0
    numpy==2.4.6

Run:
    /root/venv-ref/bin/python Scripts/reference/lfm2/make_lfm2_fixtures.py \
        [--out Tests/LFMModelsTests/Fixtures]

What it writes (relative to --out):
    lfm2/<case>/config.json           hand-written config in one of the config dialects seen in the wild
    lfm2/<case>/model.safetensors     (or model.safetensors.index.json + shards for the sharded case)
    lfm2/<case>/expected.json         reference outputs of transformers' Lfm2ForCausalLM (see below)
    configs/lfm2-350m/config.json     the real LFM2-350M config.json (config-only fixture)
    configs/lfm2-1.2b/config.json     the real LFM2-1.2B config.json (config-only fixture)

Each case is a tiny random Lfm2ForCausalLM. Weights are re-initialised with a larger spread than the
HF default (linear layers N(0, 1/in_features), embeddings N(0, 1/H), norm weights 1 + 0.1*N(0,1), conv
taps N(0, 0.5^2)) so every layer visibly moves the residual stream. Weights are rounded to the case's
storage dtype (F32/BF16/F16) and saved in it; the reference outputs are computed in float32 from the
SAME rounded weights by loading the written folder back with from_pretrained(dtype=float32), with the
eager attention implementation.

expected.json:
    case, dtype (storage dtype), versions, config_dialect (what the config.json exercises),
    effective (the model dimensions transformers derived: layer_types, intermediate_size F, heads, ...),
    prompt_ids                        12..20 token ids (>= 8 tokens, avoiding HF's 1-token conv-cache quirk)
    prompt_logits[t][v]               full forward over the prompt, float32
    greedy_tokens[16]                 model.generate(do_sample=False, use_cache=True), no EOS stop
    decode_logits[s][v]               raw logits that produced greedy_tokens[s]: s=0 is the last prompt
                                      position of the cached prefill, then one cached single-token step each
    hidden_states_last[l][h]          output of decoder layer l (before the final norm) at the last prompt
                                      position, from forward hooks on model.model.layers[l]
Floats are float32 values written as repr(float(x)), which round-trips exactly.
"""

import argparse
import copy
import json
import math
import os
import platform
import shutil
import sys
import tempfile

import numpy
import safetensors
import safetensors.torch
import torch
import transformers
from transformers import GenerationConfig, Lfm2Config, Lfm2ForCausalLM

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "safetensors": "0.8.0", "numpy": "2.4.6"}

STORAGE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

A = "full_attention"
C = "conv"

# Each case: model shape + storage dtype + the config.json dialect it is written in.
#   ffn: ("intermediate_size", n, auto_adjust, multiple_of) or ("block_ff_dim", n, auto_adjust, multiple_of)
#   layers_key: "layer_types" | "full_attn_idxs" | "both"
#   rope_key: "rope_theta" (top level) | "rope_parameters"
#   tie_key: "tie_word_embeddings" | "tie_embedding"
#   eos: int or list
CASES = [
    dict(name="attn-first-f32", dtype="float32", seed=101, vocab=256, hidden=40, heads=5, kv_heads=5,
         layers=[A, C, C, A], ffn=("intermediate_size", 120, False, 256), layers_key="layer_types",
         rope_key="rope_theta", rope_theta=10000.0, tie_key="tie_word_embeddings", eos=7, prompt_len=14,
         shard=None),
    dict(name="conv-only-bf16", dtype="bfloat16", seed=202, vocab=288, hidden=72, heads=9, kv_heads=3,
         layers=[C, C, C], ffn=("block_ff_dim", 250, True, 32), layers_key="full_attn_idxs",
         rope_key="rope_parameters", rope_theta=1000000.0, tie_key="tie_embedding", eos=[7, 2], prompt_len=12,
         shard=None),
    dict(name="attn-only-f16", dtype="float16", seed=313, vocab=256, hidden=64, heads=4, kv_heads=1,
         layers=[A, A, A], ffn=("intermediate_size", 160, False, 256), layers_key="layer_types",
         rope_key="rope_parameters", rope_theta=1000000.0, tie_key="tie_word_embeddings", eos=7, prompt_len=16,
         shard=None),
    dict(name="mixed-gqa2-bf16", dtype="bfloat16", seed=404, vocab=320, hidden=48, heads=6, kv_heads=3,
         layers=[C, C, A, C, A, C], ffn=("block_ff_dim", 192, True, 64), layers_key="full_attn_idxs",
         rope_key="rope_theta", rope_theta=1000000.0, tie_key="tie_embedding", eos=7, prompt_len=18,
         shard=None),
    dict(name="mixed-gqa4-bf16", dtype="bfloat16", seed=505, vocab=256, hidden=64, heads=8, kv_heads=2,
         layers=[C, A, C, C, A], ffn=("block_ff_dim", 200, True, 16), layers_key="both",
         rope_key="rope_parameters", rope_theta=1000000.0, tie_key="tie_word_embeddings", eos=[7], prompt_len=20,
         shard=None),
    dict(name="mixed-gqa3-f16", dtype="float16", seed=606, vocab=300, hidden=72, heads=9, kv_heads=3,
         layers=[A, C, A, C, C], ffn=("intermediate_size", 200, True, 8), layers_key="layer_types",
         rope_key="rope_theta", rope_theta=500000.0, tie_key="tie_embedding", eos=7, prompt_len=13,
         shard=None),
    dict(name="mixed-f32", dtype="float32", seed=808, vocab=256, hidden=48, heads=6, kv_heads=2,
         layers=[C, C, A, C, A, C], ffn=("intermediate_size", 96, True, 32), layers_key="layer_types",
         rope_key="rope_parameters", rope_theta=1000000.0, tie_key="tie_word_embeddings", eos=7, prompt_len=16,
         shard=None),
    dict(name="sharded-f32", dtype="float32", seed=707, vocab=320, hidden=56, heads=7, kv_heads=7,
         layers=[C, A, C, A], ffn=("block_ff_dim", 144, True, 32), layers_key="layer_types",
         rope_key="rope_theta", rope_theta=1000000.0, tie_key="tie_word_embeddings", eos=7, prompt_len=15,
         shard="200KB"),
]

N_GENERATE = 16


def check_versions():
    found = {"torch": torch.__version__, "transformers": transformers.__version__,
             "safetensors": safetensors.__version__, "numpy": numpy.__version__}
    bad = {k: (found[k], v) for k, v in PINNED.items() if found[k] != v}
    if bad:
        sys.exit("version mismatch (found, expected): %r" % bad)
    found["python"] = platform.python_version()
    return found


def effective_ff(ff, auto_adjust, multiple_of, multiplier=1.0):
    """The effective FFN width transformers 5.24 derives (Lfm2MLP.__init__)."""
    if not auto_adjust:
        return ff
    f = int(2 * ff / 3)
    if multiplier is not None:
        f = int(multiplier * f)
        f = multiple_of * ((f + multiple_of - 1) // multiple_of)
    return f


def build_config(case):
    key, ff, auto_adjust, multiple_of = case["ffn"]
    return Lfm2Config(
        vocab_size=case["vocab"], hidden_size=case["hidden"], intermediate_size=ff,
        num_hidden_layers=len(case["layers"]), num_attention_heads=case["heads"],
        num_key_value_heads=case["kv_heads"], max_position_embeddings=4096, norm_eps=1e-5,
        pad_token_id=0, bos_token_id=1, eos_token_id=case["eos"], tie_word_embeddings=True,
        rope_parameters={"rope_theta": case["rope_theta"], "rope_type": "default"},
        conv_bias=False, conv_L_cache=3, block_multiple_of=multiple_of, block_ffn_dim_multiplier=1.0,
        block_auto_adjust_ff_dim=auto_adjust, layer_types=list(case["layers"]),
    )


def dialect_config_json(case):
    """config.json written by hand in the dialect the case exercises (field style of the real checkpoints)."""
    key, ff, auto_adjust, multiple_of = case["ffn"]
    h = case["hidden"]
    layers = case["layers"]
    cfg = {
        "architectures": ["Lfm2ForCausalLM"],
        "model_type": "lfm2",
        "vocab_size": case["vocab"],
        "hidden_size": h,
        "num_hidden_layers": len(layers),
        "num_attention_heads": case["heads"],
        "num_key_value_heads": case["kv_heads"],
        "max_position_embeddings": 4096,
        "norm_eps": 1e-05,
        "conv_L_cache": 3,
        "conv_bias": False,
        "bos_token_id": 1,
        "eos_token_id": case["eos"],
        "pad_token_id": 0,
        "initializer_range": 0.02,
        "use_cache": True,
        "torch_dtype": case["dtype"],
    }
    if key == "block_ff_dim":
        cfg.update({"block_dim": h, "block_ff_dim": ff, "block_auto_adjust_ff_dim": auto_adjust,
                    "block_multiple_of": multiple_of, "block_ffn_dim_multiplier": 1.0})
    else:
        cfg.update({"intermediate_size": ff, "block_auto_adjust_ff_dim": auto_adjust,
                    "block_multiple_of": multiple_of, "block_ffn_dim_multiplier": 1.0})
    attn_idxs = [i for i, t in enumerate(layers) if t == A]
    if case["layers_key"] in ("layer_types", "both"):
        cfg["layer_types"] = list(layers)
    if case["layers_key"] in ("full_attn_idxs", "both"):
        cfg["full_attn_idxs"] = attn_idxs
    if case["rope_key"] == "rope_theta":
        cfg["rope_theta"] = case["rope_theta"]
    else:
        cfg["rope_parameters"] = {"rope_theta": case["rope_theta"], "rope_type": "default"}
    cfg[case["tie_key"]] = True
    return cfg


def reinit_(model, hidden, seed):
    """Deterministic large-spread init so that every layer changes the residual stream."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("conv.conv.weight"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_tokens.weight"):
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(hidden))
            elif p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
            else:
                raise RuntimeError("unexpected parameter %s %s" % (name, tuple(p.shape)))


def round_to_(model, dtype):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


def floats(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def cached_greedy_loop(model, prompt_ids):
    """Greedy decode through HF's own cache: a cached prefill, then one cached single-token forward per step.

    The per-layer-type mask dict (an explicit additive causal mask) and explicit position ids bypass Lfm2Model's mask construction, which
    in transformers 5.24 needs an attention layer in the cache; the layer computations are unchanged.
    """
    cache = transformers.DynamicCache(config=model.config)
    n = len(prompt_ids)
    causal = torch.full((n, n), torch.finfo(torch.float32).min).triu(1)[None, None]
    masks = {A: causal, C: None}  # additive causal mask for the prefill (eager attention)
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    pos = torch.arange(len(prompt_ids)).unsqueeze(0)
    tokens, logits = [], []
    with torch.no_grad():
        for step in range(N_GENERATE):
            out = model(input_ids=ids, position_ids=pos, attention_mask=masks, cache=cache, use_cache=True)
            last = out.logits[0, -1].to(torch.float32)
            tok = int(torch.argmax(last))
            tokens.append(tok)
            logits.append(last)
            ids = torch.tensor([[tok]], dtype=torch.long)
            masks = {A: None, C: None}  # one query token attends to every cached position
            pos = torch.tensor([[len(prompt_ids) + step]])
    return tokens, logits


def reference_outputs(model, prompt_ids, n_layers):
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    hooks, captured = [], {}
    for i, layer in enumerate(model.model.layers):
        def hook(_mod, _inp, out, i=i):
            captured[i] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        hooks.append(layer.register_forward_hook(hook))
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=False)
    for hk in hooks:
        hk.remove()
    prompt_logits = out.logits[0].to(torch.float32)
    hidden_last = [captured[i][0, -1] for i in range(n_layers)]

    manual_greedy, manual_logits = cached_greedy_loop(model, prompt_ids)
    if any(t == A for t in model.config.layer_types):
        gen_cfg = GenerationConfig(do_sample=False, max_new_tokens=N_GENERATE, min_new_tokens=0,
                                   eos_token_id=None, pad_token_id=0, bos_token_id=1, use_cache=True,
                                   num_beams=1, temperature=None, top_p=None, top_k=None,
                                   repetition_penalty=None, output_logits=True, return_dict_in_generate=True)
        with torch.no_grad():
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gen_cfg)
        greedy = gen.sequences[0, len(prompt_ids):].tolist()
        decode_logits = [step[0].to(torch.float32) for step in gen.logits]
        if greedy != manual_greedy:
            raise RuntimeError("generate() %r and the manual cached loop %r disagree" % (greedy, manual_greedy))
        gap = max((a - b).abs().max().item() for a, b in zip(decode_logits, manual_logits))
        if gap > 1e-5:
            raise RuntimeError("generate() and the manual cached loop logits differ by %g" % gap)
        source = "generate"
    else:
        # transformers 5.24 generate() cannot run a model without attention layers with a cache
        # (DynamicCache.get_seq_length raises for LinearAttention-only caches), so the conv-only case
        # uses the same cached single-token steps driven by hand (see cached_greedy_loop).
        greedy, decode_logits = manual_greedy, manual_logits
        source = "manual cached loop"
    if len(greedy) != N_GENERATE or len(decode_logits) != N_GENERATE:
        raise RuntimeError("generate produced %d tokens / %d logits" % (len(greedy), len(decode_logits)))
    for s, (tok, lg) in enumerate(zip(greedy, decode_logits)):
        if int(torch.argmax(lg)) != tok:
            raise RuntimeError("greedy token %d at step %d is not the argmax of its logits" % (tok, s))
    d0 = (decode_logits[0] - prompt_logits[-1]).abs().max().item()
    if d0 > 1e-5:
        raise RuntimeError("decode_logits[0] differs from prompt_logits[-1] by %g" % d0)

    # Cross-check the cached decode against an uncached full forward over prompt + generated tokens.
    full = torch.tensor([prompt_ids + greedy[:-1]], dtype=torch.long)
    with torch.no_grad():
        full_logits = model(input_ids=full, use_cache=False).logits[0, len(prompt_ids) - 1:]
    worst = max((full_logits[s] - decode_logits[s]).abs().max().item() for s in range(N_GENERATE))
    scale = max(lg.abs().max().item() for lg in decode_logits)
    if worst > 1e-4 * max(1.0, scale):
        raise RuntimeError("cached decode differs from uncached forward by %g (scale %g)" % (worst, scale))
    return prompt_logits, greedy, decode_logits, hidden_last, d0, worst, source


def make_case(case, out_root, versions):
    folder = os.path.join(out_root, "lfm2", case["name"])
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    storage = STORAGE_DTYPES[case["dtype"]]

    torch.manual_seed(case["seed"])
    config = build_config(case)
    model = Lfm2ForCausalLM(config).to(torch.float32).eval()
    reinit_(model, case["hidden"], case["seed"])
    round_to_(model, storage)
    reference_state = {k: v.clone() for k, v in model.state_dict().items()}

    with tempfile.TemporaryDirectory() as tmp:
        # Convert a copy: .to(dtype) would also round the rotary inv_freq buffer of `model`.
        copy.deepcopy(model).to(storage).save_pretrained(tmp, max_shard_size=case["shard"] or "50GB")
        written = sorted(f for f in os.listdir(tmp) if f.endswith(".safetensors") or f.endswith(".index.json"))
        for f in written:
            shutil.copyfile(os.path.join(tmp, f), os.path.join(folder, f))
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump(dialect_config_json(case), fh, indent=2)
        fh.write("\n")

    tensor_names = set()
    for f in written:
        if f.endswith(".safetensors"):
            with safetensors.safe_open(os.path.join(folder, f), "pt") as st:
                for k in st.keys():
                    if st.get_tensor(k).dtype != storage:
                        raise RuntimeError("%s: %s stored as %s" % (f, k, st.get_tensor(k).dtype))
                    tensor_names.add(k)
    if "lm_head.weight" in tensor_names:
        raise RuntimeError("tied checkpoint unexpectedly contains lm_head.weight")
    if case["shard"] and (len([f for f in written if f.endswith(".safetensors")]) < 2
                          or "model.safetensors.index.json" not in written):
        raise RuntimeError("sharded case produced %r" % written)

    # Load the folder back through the dialect config.json: same derived config, same weights.
    loaded = Lfm2ForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    lc = loaded.config
    key, ff, auto_adjust, multiple_of = case["ffn"]
    want_f = effective_ff(ff, auto_adjust, multiple_of)
    checks = {
        "layer_types": (list(lc.layer_types), list(case["layers"])),
        "rope_theta": (lc.rope_parameters["rope_theta"], case["rope_theta"]),
        "tie_word_embeddings": (lc.tie_word_embeddings, True),
        "intermediate_size": (lc.intermediate_size, ff),
        "ffn_width": (loaded.model.layers[0].feed_forward.w1.weight.shape[0], want_f),
        "eos_token_id": (lc.eos_token_id, case["eos"]),
        "num_key_value_heads": (lc.num_key_value_heads, case["kv_heads"]),
    }
    for what, (got, want) in checks.items():
        if got != want:
            raise RuntimeError("%s: reloaded %s = %r, expected %r" % (case["name"], what, got, want))
    if loaded.lm_head.weight.data_ptr() != loaded.model.embed_tokens.weight.data_ptr():
        raise RuntimeError("%s: lm_head is not tied after reload" % case["name"])
    loaded_state = loaded.state_dict()
    for k, v in reference_state.items():
        if not torch.equal(loaded_state[k], v):
            raise RuntimeError("%s: tensor %s changed through save/load" % (case["name"], k))

    g = torch.Generator().manual_seed(case["seed"] + 1)
    prompt_ids = [1] + torch.randint(2, case["vocab"], (case["prompt_len"] - 1,), generator=g).tolist()

    model.config._attn_implementation = "eager"
    model.set_attn_implementation("eager")
    with torch.no_grad():
        orig_logits = model(input_ids=torch.tensor([prompt_ids]), use_cache=False).logits[0]
    prompt_logits, greedy, decode_logits, hidden_last, d0, worst, source = reference_outputs(
        loaded, prompt_ids, len(case["layers"]))
    same = (orig_logits - prompt_logits).abs().max().item()
    if same > 1e-6:
        raise RuntimeError("%s: dialect config reload changes logits by %g" % (case["name"], same))

    # The layers must actually move the residual stream (guards against a degenerate init).
    emb = loaded.model.embed_tokens.weight[prompt_ids[-1]]
    prev = emb
    for i, h in enumerate(hidden_last):
        rel = ((h - prev).norm() / prev.norm()).item()
        if rel < 0.2:
            raise RuntimeError("%s: layer %d barely changes the residual (rel %g)" % (case["name"], i, rel))
        prev = h

    dialect = {
        "ffn": key + (" + block_auto_adjust_ff_dim" if auto_adjust else " (no auto-adjust)"),
        "layers": case["layers_key"],
        "rope": case["rope_key"],
        "tie": case["tie_key"],
        "eos": "list" if isinstance(case["eos"], list) else "int",
        "sharded": bool(case["shard"]),
    }
    effective = {
        "vocab_size": case["vocab"], "hidden_size": case["hidden"], "num_layers": len(case["layers"]),
        "layer_types": list(case["layers"]), "num_attention_heads": case["heads"],
        "num_key_value_heads": case["kv_heads"], "head_dim": case["hidden"] // case["heads"],
        "intermediate_size": want_f, "rope_theta": case["rope_theta"], "norm_eps": 1e-5, "conv_L_cache": 3,
        "tie_word_embeddings": True,
    }
    expected = {
        "case": case["name"],
        "dtype": case["dtype"],
        "versions": versions,
        "config_dialect": dialect,
        "effective": effective,
        "files": written,
        "prompt_ids": prompt_ids,
        "prompt_logits": [floats(r) for r in prompt_logits],
        "greedy_tokens": greedy,
        "greedy_source": source,
        "decode_logits": [floats(r) for r in decode_logits],
        "hidden_states_last": [floats(h) for h in hidden_last],
    }
    with open(os.path.join(folder, "expected.json"), "w") as fh:
        json.dump(expected, fh, separators=(",", ":"))
        fh.write("\n")
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    if size > 1_000_000:
        raise RuntimeError("%s: folder is %d bytes (limit 1 MB)" % (case["name"], size))
    print("%-16s %-8s F=%-4d files=%d size=%7d B  |dec0-prompt|=%.2e  |cached-uncached|=%.2e  greedy=%s"
          % (case["name"], case["dtype"], want_f, len(written), size, d0, worst, greedy))


# ---- config-only fixtures: the real checkpoints' config.json ---------------------------------------

def real_config(hidden, ff, heads, layers_key):
    attn = [2, 5, 8, 10, 12, 14]
    cfg = {
        "architectures": ["Lfm2ForCausalLM"],
        "block_auto_adjust_ff_dim": True,
        "block_dim": hidden,
        "block_ff_dim": ff,
        "block_ffn_dim_multiplier": 1.0,
        "block_mlp_init_scale": 1.0,
        "block_multiple_of": 256,
        "block_norm_eps": 1e-05,
        "block_out_init_scale": 1.0,
        "block_use_swiglu": True,
        "block_use_xavier_init": True,
        "bos_token_id": 1,
        "conv_L_cache": 3,
        "conv_bias": False,
        "conv_dim": hidden,
        "conv_dim_out": hidden,
        "conv_use_xavier_init": True,
        "eos_token_id": 7,
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "max_position_embeddings": 128000,
        "model_type": "lfm2",
        "norm_eps": 1e-05,
        "num_attention_heads": heads,
        "num_heads": heads,
        "num_hidden_layers": 16,
        "num_key_value_heads": 8,
        "pad_token_id": 0,
        "rope_theta": 1000000.0,
        "tie_embedding": True,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.54.0.dev0",
        "use_cache": True,
        "use_pos_enc": True,
        "vocab_size": 65536,
    }
    if layers_key == "layer_types":
        cfg["layer_types"] = ["full_attention" if i in attn else "conv" for i in range(16)]
    else:
        cfg["full_attn_idxs"] = attn
    return dict(sorted(cfg.items()))


def make_real_configs(out_root):
    specs = [("lfm2-350m", 1024, 6656, 16, "layer_types", 354_483_968, 4608),
             ("lfm2-1.2b", 2048, 12288, 32, "full_attn_idxs", 1_170_340_608, 8192)]
    for name, hidden, ff, heads, layers_key, want_params, want_f in specs:
        folder = os.path.join(out_root, "configs", name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "config.json")
        with open(path, "w") as fh:
            json.dump(real_config(hidden, ff, heads, layers_key), fh, indent=2)
            fh.write("\n")
        config = Lfm2Config.from_pretrained(folder)
        with torch.device("meta"):
            model = Lfm2ForCausalLM(config)
        n = sum(p.numel() for p in model.parameters())
        f = model.model.layers[0].feed_forward.w1.weight.shape[0]
        attn = [i for i, t in enumerate(config.layer_types) if t == A]
        if n != want_params or f != want_f or attn != [2, 5, 8, 10, 12, 14] or not config.tie_word_embeddings:
            raise RuntimeError("%s: params %d (want %d), F %d (want %d), attn %r, tied %r"
                               % (name, n, want_params, f, want_f, attn, config.tie_word_embeddings))
        print("%-10s params=%d F=%d attention layers=%s" % (name, n, f, attn))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "..", "..", "Tests", "LFMModelsTests", "Fixtures"))
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()
    versions = check_versions()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for case in CASES:
        make_case(case, args.out, versions)
    make_real_configs(args.out)


if __name__ == "__main__":
    main()
