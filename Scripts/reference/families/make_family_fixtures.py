#!/usr/bin/env python3
"""Build the model-family conformance fixtures (LFM3, LFM2-MoE, Qwen3, Llama) from Hugging Face transformers.

Pinned reference environment (exact versions; the script refuses to run with others):
    python 3.11
    torch==2.13.0+cpu   (pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl)
    transformers==5.24.0
    tokenizers==0.23.3  (the version transformers 5.24.0 pulls in; not used for these fixtures)
    safetensors==0.8.0
    numpy==2.4.6
    gguf==0.19.0        (not used here; see Scripts/reference/gguf-interop)

Run (deterministic: a second run reproduces every file byte for byte):
    /root/venv-ref/bin/python Scripts/reference/families/make_family_fixtures.py \
        [--out Tests/LFMModelsTests/Fixtures] [--only CASE ...]

What it writes (relative to --out):
    families/<case>/config.json        hand-written config.json in the style real checkpoints of the family use
    families/<case>/model.safetensors  the weights as transformers' save_pretrained writes them (see "On disk")
    families/<case>/expected.json      reference outputs of transformers (see below)
    configs/<name>/config.json         config-only folders of real model shapes, and next to each
    configs/<name>/counts.json         {"parameters": N[, "active_parameters": A]} computed by transformers on a
                                       meta-device model (the issue's numbers; checked here)
    families/bad/<defect>.json         complete tiny config.json files with one defect each (bad_configs()), and
    families/bad/moe-missing-expert/   a tiny LFM2-MoE folder whose safetensors lacks one expert tensor;
    families/bad/README.md             the defects and what transformers 5.24.0 does with each file

Each case is a tiny random model of one family. Weights are re-initialised with a larger spread than the HF
default (matrices N(0, 1/fan_in) with fan_in the last axis, also for the 3-D fused expert tensors; embeddings
N(0, 1/H); norm weights 1 + 0.1*N(0,1); conv taps N(0, 0.5^2); biases 0.2*N(0,1); MoE router weights
N(0, 4/H) so that sigmoid scores spread; expert_bias N(0, EXPERT_BIAS_STD^2)) so every layer visibly moves the
residual stream. Weights are rounded to the case's storage dtype (F32/BF16/F16) and saved in it, except the
LFM2-MoE `expert_bias` buffer, which stays float32 on disk as in the real LFM2-8B-A1B checkpoint. The
reference outputs are computed in float32 from the SAME rounded weights by loading the written folder back
with from_pretrained(dtype=float32, attn_implementation="eager") (and experts_implementation="eager" for MoE:
the per-expert loop, accumulating in ascending expert index).

On disk (checked by the script):
    LFM3     `model.layers.N.self_attn.gate_proj.weight` [heads, H] is the attention output gate (the module is
             `g_proj`; transformers renames it on load and back on save). Attention: q_proj/k_proj/v_proj/o_proj,
             q_norm/k_norm; norms operator_norm, post_operator_norm, ffn_norm, post_ffn_norm (the post norms only
             with use_sandwich_norm); MLP feed_forward.w1/w2/w3; conv conv.in_proj/conv.conv/conv.out_proj;
             final norm model.embedding_norm; tied head (no lm_head.weight).
    LFM2-MoE per-expert tensors, as save_pretrained writes them (transformers fuses them into
             experts.gate_up_proj/down_proj in memory and splits them back on save):
                 model.layers.N.feed_forward.experts.E.w1.weight  [moe_intermediate_size, H]   (gate)
                 model.layers.N.feed_forward.experts.E.w3.weight  [moe_intermediate_size, H]   (up)
                 model.layers.N.feed_forward.experts.E.w2.weight  [H, moe_intermediate_size]   (down)
                 model.layers.N.feed_forward.gate.weight          [num_experts, H]             (router)
                 model.layers.N.feed_forward.expert_bias          [num_experts], F32 (only when use_expert_bias)
             dense layers (N < num_dense_layers): feed_forward.w1/w2/w3 with intermediate_size. Attention uses
             LFM2 names (out_proj, q_layernorm, k_layernorm); tied head.
    Qwen3    model.layers.N.self_attn.{q,k,v,o}_proj, q_norm, k_norm, mlp.{gate,up,down}_proj,
             input_layernorm, post_attention_layernorm, model.norm; lm_head.weight only when untied.
    Llama    as Qwen3 without q_norm/k_norm; `.bias` tensors on q/k/v/o_proj with attention_bias and on
             gate/up/down_proj with mlp_bias; lm_head.weight (untied in every case here).

expected.json (the fields of Scripts/reference/lfm2/make_lfm2_fixtures.py, plus model_type and, for MoE cases,
router_choices / router_weights):
    case, model_type, dtype (storage dtype), versions, config_dialect (what the config.json exercises),
    effective (the model as transformers derived it from config.json: layer_types, heads, head_dim,
               intermediate sizes, rope_parameters per layer type, the rotary inv_freq tables it built, flags, ...)
    files                             the weight files in the folder
    prompt_ids                        the prompt (BOS 1 first)
    prompt_logits[t][v]               full forward over the prompt, float32
    greedy_tokens[16]                 model.generate(do_sample=False, use_cache=True), no EOS stop
    greedy_source                     "generate"
    decode_logits[s][v]               raw logits that produced greedy_tokens[s]: s=0 is the last prompt position
                                      of the cached prefill, then one cached single-token step each
    hidden_states_last[l][h]          output of decoder layer l (before the final norm) at the last prompt
                                      position, from forward hooks on model.model.layers[l]
    router_choices {"<layer>": [[e..] per prompt position]}   MoE only: for every sparse layer index, the
                                      experts transformers' Lfm2MoeTopKRouter chose for each prompt position in
                                      the full prompt forward, sorted ascending
    router_weights {"<layer>": [[w..] per prompt position]}   MoE only: the mixing weight of each chosen expert
                                      (same order as router_choices; after norm_topk_prob and routed_scaling_factor)
    margins                           robustness of the discrete outputs: min over decode steps of (best - second
                                      best logit) and, for MoE, min over every routed token (prompt and decode) of
                                      (k-th - (k+1)-th selection score)
Floats are float32 values written in their shortest round-trip float32 decimal form (parse them as Float).
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
import tokenizers
import torch
import transformers
from transformers import (GenerationConfig, LlamaConfig, LlamaForCausalLM, Lfm2MoeConfig, Lfm2MoeForCausalLM,
                          Lfm3Config, Lfm3ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

PINNED = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "safetensors": "0.8.0", "numpy": "2.4.6",
          "tokenizers": "0.23.3"}

STORAGE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

C = "conv"
A = "full_attention"
S = "sliding_attention"

N_GENERATE = 16
EXPERT_BIAS_STD = 0.25
FOLDER_LIMIT = 300_000
TOTAL_LIMIT = 6_000_000

FAMILIES = {
    "lfm3": (Lfm3Config, Lfm3ForCausalLM, "Lfm3ForCausalLM"),
    "lfm2_moe": (Lfm2MoeConfig, Lfm2MoeForCausalLM, "Lfm2MoeForCausalLM"),
    "qwen3": (Qwen3Config, Qwen3ForCausalLM, "Qwen3ForCausalLM"),
    "llama": (LlamaConfig, LlamaForCausalLM, "LlamaForCausalLM"),
}


def lfm3_rope(sliding_theta, full_theta, partial):
    return {"sliding_attention": {"rope_type": "default", "rope_theta": sliding_theta},
            "full_attention": {"rope_type": "proportional", "rope_theta": full_theta,
                               "partial_rotary_factor": partial}}


def llama3_rope(theta, factor, original):
    return {"rope_type": "llama3", "rope_theta": theta, "factor": factor, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": original}


# Each case: family, storage dtype, seed, prompt length, and the config fields of that family.
CASES = [
    # ---- LFM3: conv + sliding + full attention; prompts 4x the window; per-type RoPE -------------------
    dict(name="lfm3-gqa2-f32", family="lfm3", dtype="float32", seed=1101, prompt_len=20, dialect="norm_eps",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=32, num_attention_heads=2,
                  num_key_value_heads=1, head_dim=16, layer_types=[C, S, A, S, A], sliding_window=5,
                  conv_L_cache=7, use_attention_gate=True, use_sandwich_norm=True,
                  rope_parameters=lfm3_rope(10000.0, 1000.0, 0.5))),
    dict(name="lfm3-gqa3-nogate-bf16", family="lfm3", dtype="bfloat16", seed=1202, prompt_len=20,
         dialect="rms_norm_eps",
         cfg=dict(vocab_size=256, hidden_size=48, intermediate_size=48, num_attention_heads=3,
                  num_key_value_heads=1, head_dim=16, layer_types=[S, C, A, S, C], sliding_window=4,
                  conv_L_cache=4, use_attention_gate=False, use_sandwich_norm=True,
                  rope_parameters=lfm3_rope(10000.0, 5000.0, 0.5))),
    dict(name="lfm3-gqa1-nosandwich-f16", family="lfm3", dtype="float16", seed=1303, prompt_len=24,
         dialect="norm_eps",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                  num_key_value_heads=4, head_dim=8, layer_types=[C, A, S, C, S], sliding_window=6,
                  conv_L_cache=7, use_attention_gate=True, use_sandwich_norm=False,
                  rope_parameters=lfm3_rope(10000.0, 1000000.0, 0.5))),
    dict(name="lfm3-hd24-plain-bf16", family="lfm3", dtype="bfloat16", seed=1405, prompt_len=20,
         dialect="norm_eps",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=24, layer_types=[A, S, C, S], sliding_window=5,
                  conv_L_cache=4, use_attention_gate=False, use_sandwich_norm=False,
                  rope_parameters=lfm3_rope(20000.0, 1000.0, 0.25))),
    # ---- LFM2-MoE: router variants --------------------------------------------------------------------
    dict(name="moe-k1-f32", family="lfm2_moe", dtype="float32", seed=2101, prompt_len=16, dialect="rope_theta",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=32, moe_intermediate_size=16,
                  num_attention_heads=4, num_key_value_heads=2, layer_types=[C, A, C, A], num_dense_layers=1,
                  num_experts=4, num_experts_per_tok=1, norm_topk_prob=True, routed_scaling_factor=1.0,
                  use_expert_bias=True, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    dict(name="moe-k2-scaled-bf16", family="lfm2_moe", dtype="bfloat16", seed=2202, prompt_len=18,
         dialect="rope_parameters",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=64, moe_intermediate_size=16,
                  num_attention_heads=4, num_key_value_heads=2, layer_types=[C, C, A, C, A, C],
                  num_dense_layers=2, num_experts=6, num_experts_per_tok=2, norm_topk_prob=False,
                  routed_scaling_factor=2.5, use_expert_bias=True,
                  rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    dict(name="moe-k3-nobias-f32", family="lfm2_moe", dtype="float32", seed=2306, prompt_len=14,
         dialect="rope_theta+tie_embedding",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=16, moe_intermediate_size=8,
                  num_attention_heads=4, num_key_value_heads=4, layer_types=[A, C, C, A], num_dense_layers=1,
                  num_experts=8, num_experts_per_tok=3, norm_topk_prob=True, routed_scaling_factor=2.5,
                  use_expert_bias=False, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    dict(name="moe-k4-bf16", family="lfm2_moe", dtype="bfloat16", seed=2404, prompt_len=16, dialect="rope_theta",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=32, moe_intermediate_size=12,
                  num_attention_heads=4, num_key_value_heads=2, layer_types=[C, C, A, C, C, A],
                  num_dense_layers=2, num_experts=8, num_experts_per_tok=4, norm_topk_prob=True,
                  routed_scaling_factor=1.0, use_expert_bias=True,
                  rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    dict(name="moe-k2-norm-scaled-f32", family="lfm2_moe", dtype="float32", seed=2505, prompt_len=16,
         dialect="rope_theta",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=32, moe_intermediate_size=8,
                  num_attention_heads=4, num_key_value_heads=1, layer_types=[C, A, C, C, A], num_dense_layers=2,
                  num_experts=5, num_experts_per_tok=2, norm_topk_prob=True, routed_scaling_factor=2.5,
                  use_expert_bias=True, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    # ---- Qwen3: head_dim != hidden/heads, q/k norm, tied/untied -----------------------------------------
    dict(name="qwen3-tied-f32", family="qwen3", dtype="float32", seed=3104, prompt_len=16, dialect="legacy",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6,
                  tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    dict(name="qwen3-untied-bf16", family="qwen3", dtype="bfloat16", seed=3202, prompt_len=18,
         dialect="rope_parameters",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=24, rms_norm_eps=1e-6,
                  tie_word_embeddings=False, rope_parameters={"rope_type": "default", "rope_theta": 500000.0})),
    # ---- Llama: llama3 RoPE scaling, untied, GQA 4, biases ----------------------------------------------
    dict(name="llama3-gqa4-f32", family="llama", dtype="float32", seed=4101, prompt_len=20, dialect="legacy",
         cfg=dict(vocab_size=256, hidden_size=32, intermediate_size=32, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=1, head_dim=16, rms_norm_eps=1e-5,
                  tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
                  rope_parameters=llama3_rope(10000.0, 8.0, 32))),
    dict(name="llama3-bias-f16", family="llama", dtype="float16", seed=4202, prompt_len=20,
         dialect="rope_parameters",
         cfg=dict(vocab_size=256, hidden_size=48, intermediate_size=64, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=1, head_dim=12, rms_norm_eps=1e-5,
                  tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
                  rope_parameters=llama3_rope(500000.0, 32.0, 16))),
]


# ---- environment --------------------------------------------------------------------------------------

def check_versions():
    found = {"torch": torch.__version__, "transformers": transformers.__version__,
             "safetensors": safetensors.__version__, "numpy": numpy.__version__,
             "tokenizers": tokenizers.__version__}
    bad = {k: (found[k], v) for k, v in PINNED.items() if found[k] != v}
    if bad:
        sys.exit("version mismatch (found, expected): %r" % bad)
    found["python"] = platform.python_version()
    return found


# ---- JSON with float32 values in shortest form -----------------------------------------------------------

class F32:
    """A float32 vector to be written with the shortest decimal that round-trips through float32."""

    def __init__(self, tensor):
        self.values = tensor.detach().to(torch.float32).reshape(-1).numpy()


def to_json(obj):
    if isinstance(obj, F32):
        return "[" + ",".join(numpy.format_float_positional(v, unique=True, trim="-")
                              if abs(float(v)) >= 1e-4 or v == 0 else
                              numpy.format_float_scientific(v, unique=True, trim="-")
                              for v in obj.values) + "]"
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + to_json(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in obj) + "]"
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError("non-finite float in expected.json")
    return json.dumps(obj)


# ---- configs ------------------------------------------------------------------------------------------

def full_config_kwargs(case):
    cfg = dict(case["cfg"])
    cfg.setdefault("num_hidden_layers", len(cfg.get("layer_types", [])) or cfg.get("num_hidden_layers"))
    cfg.update(bos_token_id=1, eos_token_id=2, max_position_embeddings=4096)
    if case["family"] in ("lfm3", "lfm2_moe"):
        cfg.update(pad_token_id=0, norm_eps=1e-5, conv_bias=False)
        if case["family"] == "lfm2_moe":
            cfg.update(conv_L_cache=3, tie_word_embeddings=True)
        else:
            cfg.update(tie_word_embeddings=True, attention_bias=False)
    return cfg


def build_config(case):
    config_class = FAMILIES[case["family"]][0]
    return config_class(**full_config_kwargs(case))


def dialect_config_json(case):
    """config.json written by hand in the key style real checkpoints of the family use."""
    family = case["family"]
    c = full_config_kwargs(case)
    arch = FAMILIES[family][2]
    base = {"architectures": [arch], "model_type": family}
    d = case["dialect"]
    if family == "lfm3":
        cfg = dict(base, vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
                   intermediate_size=c["intermediate_size"], num_hidden_layers=c["num_hidden_layers"],
                   num_attention_heads=c["num_attention_heads"], num_key_value_heads=c["num_key_value_heads"],
                   head_dim=c["head_dim"], layer_types=c["layer_types"], sliding_window=c["sliding_window"],
                   conv_L_cache=c["conv_L_cache"], conv_bias=False, use_attention_gate=c["use_attention_gate"],
                   use_sandwich_norm=c["use_sandwich_norm"], attention_bias=False,
                   rope_parameters=c["rope_parameters"], max_position_embeddings=c["max_position_embeddings"],
                   pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True,
                   initializer_range=0.02, use_cache=True, dtype=case["dtype"])
        cfg["rms_norm_eps" if d == "rms_norm_eps" else "norm_eps"] = c["norm_eps"]
    elif family == "lfm2_moe":
        cfg = dict(base, vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
                   intermediate_size=c["intermediate_size"], moe_intermediate_size=c["moe_intermediate_size"],
                   num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
                   num_key_value_heads=c["num_key_value_heads"], layer_types=c["layer_types"],
                   num_dense_layers=c["num_dense_layers"], num_experts=c["num_experts"],
                   num_experts_per_tok=c["num_experts_per_tok"], norm_topk_prob=c["norm_topk_prob"],
                   routed_scaling_factor=c["routed_scaling_factor"], use_expert_bias=c["use_expert_bias"],
                   conv_L_cache=3, conv_bias=False, norm_eps=c["norm_eps"],
                   max_position_embeddings=c["max_position_embeddings"], pad_token_id=0, bos_token_id=1,
                   eos_token_id=2, initializer_range=0.02, use_cache=True, torch_dtype=case["dtype"])
        if d.startswith("rope_theta"):
            cfg["rope_theta"] = c["rope_parameters"]["rope_theta"]
        else:
            cfg["rope_parameters"] = c["rope_parameters"]
        cfg["tie_embedding" if d.endswith("tie_embedding") else "tie_word_embeddings"] = True
    else:
        cfg = dict(base, vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
                   intermediate_size=c["intermediate_size"], num_hidden_layers=c["num_hidden_layers"],
                   num_attention_heads=c["num_attention_heads"], num_key_value_heads=c["num_key_value_heads"],
                   head_dim=c["head_dim"], hidden_act="silu", rms_norm_eps=c["rms_norm_eps"],
                   max_position_embeddings=c["max_position_embeddings"], bos_token_id=1, eos_token_id=2,
                   tie_word_embeddings=c["tie_word_embeddings"], attention_bias=c.get("attention_bias", False),
                   attention_dropout=0.0, initializer_range=0.02, use_cache=True, torch_dtype=case["dtype"])
        rope = dict(c["rope_parameters"])
        if family == "qwen3":
            cfg.update(use_sliding_window=False, sliding_window=None, max_window_layers=c["num_hidden_layers"])
        else:
            cfg.update(mlp_bias=c["mlp_bias"], pretraining_tp=1)
        if d == "legacy":  # rope_theta at top level and rope_scaling (null for Qwen3), as in the real checkpoints
            cfg["rope_theta"] = rope.pop("rope_theta")
            cfg["rope_scaling"] = None if rope["rope_type"] == "default" else rope
        else:
            cfg["rope_parameters"] = rope
    return dict(sorted(cfg.items()))


# ---- weights ------------------------------------------------------------------------------------------

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
            elif name.endswith("feed_forward.gate.weight"):
                p.copy_(2.0 * torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
            elif name.endswith(".bias") and p.dim() == 1:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() in (2, 3):
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
            else:
                raise RuntimeError("unexpected parameter %s %s" % (name, tuple(p.shape)))
        for name, b in sorted(model.named_buffers(), key=lambda kv: kv[0]):
            if name.endswith("expert_bias"):
                b.copy_(EXPERT_BIAS_STD * torch.randn(b.shape, generator=g))


def round_to_(model, dtype):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


def sparse_blocks(model):
    """{layer index: Lfm2MoeSparseMoeBlock} for an LFM2-MoE model, else {}."""
    out = {}
    for i, layer in enumerate(model.model.layers):
        ff = getattr(layer, "feed_forward", None)
        if hasattr(ff, "gate") and hasattr(ff, "experts"):
            out[i] = ff
    return out


def save_folder(model, case, folder):
    storage = STORAGE_DTYPES[case["dtype"]]
    with tempfile.TemporaryDirectory() as tmp:
        # Convert a copy: .to(dtype) would also round the rotary inv_freq buffers of `model`.
        saved = copy.deepcopy(model).to(storage)
        for block in sparse_blocks(saved).values():
            if block.use_expert_bias:  # stays float32 on disk, as in the real checkpoints
                block.expert_bias = block.expert_bias.to(torch.float32)
        for i, block in sparse_blocks(model).items():
            if block.use_expert_bias:
                sparse_blocks(saved)[i].expert_bias.copy_(block.expert_bias)
        saved.save_pretrained(tmp)
        written = sorted(f for f in os.listdir(tmp) if f.endswith(".safetensors") or f.endswith(".index.json"))
        if written != ["model.safetensors"]:
            raise RuntimeError("%s: save_pretrained wrote %r" % (case["name"], written))
        shutil.copyfile(os.path.join(tmp, "model.safetensors"), os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump(dialect_config_json(case), fh, indent=2)
        fh.write("\n")
    return written


def check_disk_names(case, folder, model):
    """The tensor names and dtypes of the written file are the ones the docstring promises."""
    storage = STORAGE_DTYPES[case["dtype"]]
    with safetensors.safe_open(os.path.join(folder, "model.safetensors"), "pt") as st:
        names = {k: st.get_tensor(k).dtype for k in st.keys()}
    for k, dt in names.items():
        want = torch.float32 if k.endswith("expert_bias") else storage
        if dt != want:
            raise RuntimeError("%s: %s stored as %s (want %s)" % (case["name"], k, dt, want))
    c = case["cfg"]
    family = case["family"]
    tied = family in ("lfm3", "lfm2_moe") or c.get("tie_word_embeddings", False)
    if ("lm_head.weight" in names) == tied:
        raise RuntimeError("%s: lm_head.weight presence wrong (tied=%r)" % (case["name"], tied))
    want = []
    if family == "lfm3":
        for i, t in enumerate(c["layer_types"]):
            p = "model.layers.%d." % i
            if t == C:
                want += [p + "conv.in_proj.weight", p + "conv.conv.weight", p + "conv.out_proj.weight"]
            else:
                want += [p + "self_attn.%s.weight" % n for n in ("q_proj", "k_proj", "v_proj", "o_proj", "q_norm",
                                                                 "k_norm")]
                gate = p + "self_attn.gate_proj.weight"
                if c["use_attention_gate"]:
                    want.append(gate)
                elif gate in names:
                    raise RuntimeError("%s: gate stored although use_attention_gate is false" % case["name"])
            if c["use_sandwich_norm"]:
                want += [p + "post_operator_norm.weight", p + "post_ffn_norm.weight"]
            elif p + "post_ffn_norm.weight" in names:
                raise RuntimeError("%s: sandwich norm stored although use_sandwich_norm is false" % case["name"])
        if any("g_proj" in k for k in names):
            raise RuntimeError("%s: g_proj on disk (expected self_attn.gate_proj)" % case["name"])
    elif family == "lfm2_moe":
        for i in range(len(c["layer_types"])):
            p = "model.layers.%d.feed_forward." % i
            if i < c["num_dense_layers"]:
                want += [p + "w1.weight", p + "w2.weight", p + "w3.weight"]
            else:
                want.append(p + "gate.weight")
                if c["use_expert_bias"]:
                    want.append(p + "expert_bias")
                elif p + "expert_bias" in names:
                    raise RuntimeError("%s: expert_bias stored although use_expert_bias is false" % case["name"])
                for e in range(c["num_experts"]):
                    want += [p + "experts.%d.w%d.weight" % (e, w) for w in (1, 2, 3)]
        if any("gate_up_proj" in k or "down_proj" in k for k in names):
            raise RuntimeError("%s: fused expert tensors on disk" % case["name"])
    else:
        for i in range(c["num_hidden_layers"]):
            p = "model.layers.%d." % i
            want += [p + "self_attn.%s.weight" % n for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
            want += [p + "mlp.%s.weight" % n for n in ("gate_proj", "up_proj", "down_proj")]
            if family == "qwen3":
                want += [p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"]
            if c.get("attention_bias"):
                want += [p + "self_attn.%s.bias" % n for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
            if c.get("mlp_bias"):
                want += [p + "mlp.%s.bias" % n for n in ("gate_proj", "up_proj", "down_proj")]
    missing = [k for k in want if k not in names]
    if missing:
        raise RuntimeError("%s: missing on disk: %r" % (case["name"], missing[:5]))
    return sorted(names)


# ---- reference outputs --------------------------------------------------------------------------------

class RouterTap:
    """Forward hooks on every Lfm2MoeTopKRouter: choices per call, and the selection-score margin."""

    def __init__(self, model):
        self.calls = {}
        self.min_margin = math.inf
        self.hooks = []
        for i, block in sparse_blocks(model).items():
            self.hooks.append(block.gate.register_forward_hook(self.make_hook(i, block)))

    def make_hook(self, index, block):
        def hook(module, inputs, output):
            logits, weights, selected = output
            scores = torch.sigmoid(logits.to(torch.float32))
            if block.use_expert_bias:
                scores = scores + block.expert_bias.to(torch.float32)
            ranked = torch.sort(scores, dim=-1, descending=True).values
            k = module.top_k
            if k < ranked.shape[-1]:
                self.min_margin = min(self.min_margin, float((ranked[:, k - 1] - ranked[:, k]).min()))
            chosen = torch.topk(scores, k=k, dim=-1).indices
            if not torch.equal(torch.sort(chosen, -1).values, torch.sort(selected, -1).values):
                raise RuntimeError("router tap disagrees with the router on layer %d" % index)
            self.calls.setdefault(index, []).append((selected.detach().clone(), weights.detach().clone()))
        return hook

    def remove(self):
        for h in self.hooks:
            h.remove()


def prompt_forward(model, prompt_ids):
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    hooks, captured = [], {}
    for i, layer in enumerate(model.model.layers):
        def hook(_mod, _inp, out, i=i):
            captured[i] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        hooks.append(layer.register_forward_hook(hook))
    tap = RouterTap(model)
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=False)
    for hk in hooks:
        hk.remove()
    tap.remove()
    prompt_logits = out.logits[0].to(torch.float32)
    hidden_last = [captured[i][0, -1] for i in range(len(model.model.layers))]
    router_choices, router_weights = {}, {}
    for layer, calls in sorted(tap.calls.items()):
        if len(calls) != 1:
            raise RuntimeError("router of layer %d ran %d times in one forward" % (layer, len(calls)))
        selected, weights = calls[0]
        order = torch.argsort(selected, dim=-1)
        router_choices[str(layer)] = torch.gather(selected, 1, order).tolist()
        router_weights[str(layer)] = [F32(r) for r in torch.gather(weights.to(torch.float32), 1, order)]
    return prompt_logits, hidden_last, router_choices, router_weights, tap.min_margin


def greedy_decode(model, prompt_ids):
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    gen_cfg = GenerationConfig(do_sample=False, max_new_tokens=N_GENERATE, min_new_tokens=0,
                               eos_token_id=None, pad_token_id=0, bos_token_id=1, use_cache=True,
                               num_beams=1, temperature=None, top_p=None, top_k=None,
                               repetition_penalty=None, output_logits=True, return_dict_in_generate=True)
    tap = RouterTap(model)
    with torch.no_grad():
        gen = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gen_cfg)
    tap.remove()
    greedy = gen.sequences[0, len(prompt_ids):].tolist()
    decode_logits = [step[0].to(torch.float32) for step in gen.logits]
    if len(greedy) != N_GENERATE or len(decode_logits) != N_GENERATE:
        raise RuntimeError("generate produced %d tokens / %d logits" % (len(greedy), len(decode_logits)))
    for s, (tok, lg) in enumerate(zip(greedy, decode_logits)):
        if int(torch.argmax(lg)) != tok:
            raise RuntimeError("greedy token %d at step %d is not the argmax of its logits" % (tok, s))
    return greedy, decode_logits, tap.min_margin


def top2_gap(logits):
    top = torch.topk(logits, 2).values
    return float(top[0] - top[1])


# ---- per-case checks that the fixture exercises what it claims ------------------------------------------

def rope_regimes(inv_freq_default, rope):
    """llama3 scaling: how many frequencies are kept, interpolated and divided by the factor."""
    low = rope["original_max_position_embeddings"] / rope["low_freq_factor"]
    high = rope["original_max_position_embeddings"] / rope["high_freq_factor"]
    wavelen = 2 * math.pi / inv_freq_default
    kept = int((wavelen < high).sum())
    divided = int((wavelen > low).sum())
    return {"kept": kept, "interpolated": len(wavelen) - kept - divided, "divided": divided}


def variant_logits(folder, prompt_ids, mutate):
    config = transformers.AutoConfig.from_pretrained(folder)
    mutate(config)
    model = FAMILY_OF[config.model_type].from_pretrained(folder, config=config, dtype=torch.float32,
                                                         attn_implementation="eager", **extra_kwargs(config))
    with torch.no_grad():
        return model(input_ids=torch.tensor([prompt_ids]), use_cache=False).logits[0].to(torch.float32)


FAMILY_OF = {k: v[1] for k, v in FAMILIES.items()}


def extra_kwargs(config):
    return {"experts_implementation": "eager"} if config.model_type == "lfm2_moe" else {}


def branch_checks(case, folder, prompt_ids, prompt_logits):
    """Switch off the feature a case is about and require the logits to change (the fixture can fail)."""
    c = case["cfg"]
    checks = {}
    if case["family"] == "lfm3":
        def wide(cfg):
            cfg.sliding_window = 4096
        checks["sliding_window"] = wide

        def no_proportional(cfg):
            cfg.rope_parameters["full_attention"] = {"rope_type": "default",
                                                     "rope_theta": cfg.rope_parameters["full_attention"]["rope_theta"]}
        checks["proportional_rope"] = no_proportional
    elif case["family"] == "lfm2_moe" and c["use_expert_bias"]:
        def no_bias(cfg):
            cfg.use_expert_bias = False
        checks["expert_bias"] = no_bias
    elif case["family"] == "llama":
        def plain_rope(cfg):
            cfg.rope_parameters = {"rope_type": "default", "rope_theta": cfg.rope_parameters["rope_theta"]}
        checks["llama3_scaling"] = plain_rope
    out = {}
    for what, mutate in checks.items():
        other = variant_logits(folder, prompt_ids, mutate)
        delta = float((other - prompt_logits).abs().max())
        if delta < 2e-3:
            raise RuntimeError("%s: switching off %s changes the logits by only %g" % (case["name"], what, delta))
        out[what] = delta
    return out


def effective_of(model):
    lc = model.config
    keys = ["vocab_size", "hidden_size", "num_hidden_layers", "layer_types", "num_attention_heads",
            "num_key_value_heads", "head_dim", "intermediate_size", "moe_intermediate_size", "rope_parameters",
            "norm_eps", "rms_norm_eps", "conv_L_cache", "sliding_window", "use_attention_gate",
            "use_sandwich_norm", "num_dense_layers", "num_experts", "num_experts_per_tok", "norm_topk_prob",
            "routed_scaling_factor", "use_expert_bias", "tie_word_embeddings", "attention_bias", "mlp_bias"]
    eff = {}
    for k in keys:
        if hasattr(lc, k):
            v = getattr(lc, k)
            eff[k] = v
    if "layer_types" not in eff or eff["layer_types"] is None:
        eff["layer_types"] = [A] * lc.num_hidden_layers
    if "head_dim" not in eff or eff["head_dim"] is None:
        eff["head_dim"] = lc.hidden_size // lc.num_attention_heads
    eff["inv_freq"] = {name: F32(b) for name, b in sorted(model.named_buffers())
                       if name.endswith("inv_freq") and "original" not in name}
    return eff


def make_case(case, out_root, versions):
    folder = os.path.join(out_root, "families", case["name"])
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    storage = STORAGE_DTYPES[case["dtype"]]
    _, model_class, _ = FAMILIES[case["family"]]

    torch.manual_seed(case["seed"])
    config = build_config(case)
    if case["family"] == "lfm2_moe":
        config._experts_implementation = "eager"
    model = model_class(config).to(torch.float32).eval()
    reinit_(model, config.hidden_size, case["seed"])
    round_to_(model, storage)
    reference_state = {k: v.clone() for k, v in model.state_dict().items()}

    written = save_folder(model, case, folder)
    check_disk_names(case, folder, model)

    # Load the folder back through the hand-written config.json: same derived config, same weights.
    loaded = model_class.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager",
                                         **extra_kwargs(config)).eval()
    lc = loaded.config
    for key, want in full_config_kwargs(case).items():
        got = getattr(lc, key)
        if got != want:
            raise RuntimeError("%s: reloaded %s = %r, expected %r" % (case["name"], key, got, want))
    tied = getattr(lc, "tie_word_embeddings", False)
    if tied != (loaded.lm_head.weight.data_ptr() == loaded.model.embed_tokens.weight.data_ptr()):
        raise RuntimeError("%s: lm_head tying is not %r after reload" % (case["name"], tied))
    loaded_state = loaded.state_dict()
    for k, v in reference_state.items():
        if not torch.equal(loaded_state[k], v):
            raise RuntimeError("%s: tensor %s changed through save/load" % (case["name"], k))

    g = torch.Generator().manual_seed(case["seed"] + 1)
    vocab = case["cfg"]["vocab_size"]
    prompt_ids = [1] + torch.randint(3, vocab, (case["prompt_len"] - 1,), generator=g).tolist()

    model.set_attn_implementation("eager")
    with torch.no_grad():
        orig_logits = model(input_ids=torch.tensor([prompt_ids]), use_cache=False).logits[0]
    prompt_logits, hidden_last, router_choices, router_weights, prompt_margin = prompt_forward(loaded, prompt_ids)
    same = (orig_logits - prompt_logits).abs().max().item()
    if same > 1e-6:
        raise RuntimeError("%s: dialect config reload changes logits by %g" % (case["name"], same))

    greedy, decode_logits, decode_margin = greedy_decode(loaded, prompt_ids)
    d0 = (decode_logits[0] - prompt_logits[-1]).abs().max().item()
    if d0 > 1e-5:
        raise RuntimeError("%s: decode_logits[0] differs from prompt_logits[-1] by %g" % (case["name"], d0))
    # Cross-check the cached decode (sliding-window cache, conv state) against an uncached full forward.
    full = torch.tensor([prompt_ids + greedy[:-1]], dtype=torch.long)
    with torch.no_grad():
        full_logits = loaded(input_ids=full, use_cache=False).logits[0, len(prompt_ids) - 1:]
    worst = max((full_logits[s] - decode_logits[s]).abs().max().item() for s in range(N_GENERATE))
    scale = max(lg.abs().max().item() for lg in decode_logits)
    if worst > 1e-4 * max(1.0, scale):
        raise RuntimeError("%s: cached decode differs from uncached forward by %g" % (case["name"], worst))

    # Robustness: discrete outputs must not hinge on float rounding.
    greedy_gap = min(top2_gap(lg) for lg in decode_logits)
    if greedy_gap < 2e-3:
        raise RuntimeError("%s: greedy near-tie (gap %g); pick another seed" % (case["name"], greedy_gap))
    router_margin = min(prompt_margin, decode_margin)
    if router_choices and router_margin < 1e-4:
        raise RuntimeError("%s: router near-tie (margin %g); pick another seed" % (case["name"], router_margin))
    if len(set(greedy)) < 3:
        raise RuntimeError("%s: degenerate greedy continuation %r" % (case["name"], greedy))
    for layer, rows in router_choices.items():
        if len({tuple(r) for r in rows}) < 2:
            raise RuntimeError("%s: router of layer %s picks the same experts for every token" % (case["name"],
                                                                                                  layer))

    # Every layer must actually move the residual stream (guards against a degenerate init).
    prev = loaded.model.embed_tokens.weight[prompt_ids[-1]]
    for i, h in enumerate(hidden_last):
        rel = ((h - prev).norm() / prev.norm()).item()
        if rel < 0.1:
            raise RuntimeError("%s: layer %d barely changes the residual (rel %g)" % (case["name"], i, rel))
        prev = h

    switched_off = branch_checks(case, folder, prompt_ids, prompt_logits)

    effective = effective_of(loaded)
    if case["family"] == "llama":
        base = lc.rope_parameters["rope_theta"]
        hd = effective["head_dim"]
        inv_default = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float) / hd))
        regimes = rope_regimes(inv_default, lc.rope_parameters)
        if regimes["interpolated"] < 1 or regimes["divided"] < 1:
            raise RuntimeError("%s: llama3 regimes %r" % (case["name"], regimes))
        effective["llama3_regimes"] = regimes

    expected = {
        "case": case["name"],
        "model_type": case["family"],
        "dtype": case["dtype"],
        "versions": versions,
        "config_dialect": case["dialect"],
        "effective": effective,
        "files": written,
        "prompt_ids": prompt_ids,
        "prompt_logits": [F32(r) for r in prompt_logits],
        "greedy_tokens": greedy,
        "greedy_source": "generate",
        "decode_logits": [F32(r) for r in decode_logits],
        "hidden_states_last": [F32(h) for h in hidden_last],
        "margins": {"greedy_top2_min": greedy_gap, "router_min": None if not router_choices else router_margin},
        "switched_off_delta": switched_off,
    }
    if router_choices:
        expected["router_choices"] = router_choices
        expected["router_weights"] = router_weights
    with open(os.path.join(folder, "expected.json"), "w") as fh:
        fh.write(to_json(expected))
        fh.write("\n")
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    if size > FOLDER_LIMIT:
        raise RuntimeError("%s: folder is %d bytes (limit %d)" % (case["name"], size, FOLDER_LIMIT))
    print("%-26s %-8s size=%7d B |dec0-prompt|=%.1e |cached-uncached|=%.1e gap=%.3g router=%.3g off=%s greedy=%s"
          % (case["name"], case["dtype"], size, d0, worst, greedy_gap,
             router_margin if router_choices else float("nan"),
             {k: round(v, 3) for k, v in switched_off.items()}, greedy))
    return size


# ---- config-only fixtures: real model shapes and their parameter counts ----------------------------------

def lfm2_8b_a1b_config():
    attn = [2, 6, 10, 14, 18, 21]
    return {
        "architectures": ["Lfm2MoeForCausalLM"], "model_type": "lfm2_moe", "vocab_size": 65536,
        "hidden_size": 2048, "intermediate_size": 7168, "moe_intermediate_size": 1792, "num_hidden_layers": 24,
        "num_attention_heads": 32, "num_key_value_heads": 8,
        "layer_types": [A if i in attn else C for i in range(24)], "num_dense_layers": 2, "num_experts": 32,
        "num_experts_per_tok": 4, "norm_topk_prob": True, "routed_scaling_factor": 1.0, "use_expert_bias": True,
        "conv_L_cache": 3, "conv_bias": False, "norm_eps": 1e-05, "max_position_embeddings": 128000,
        "rope_theta": 1000000.0, "bos_token_id": 1, "eos_token_id": 7, "pad_token_id": 0,
        "tie_word_embeddings": True, "initializer_range": 0.02, "use_cache": True, "torch_dtype": "bfloat16",
    }


def lfm3_default_config():
    """`Lfm3Config()` as save_pretrained serializes it, plus the architecture a saved model adds."""
    with tempfile.TemporaryDirectory() as tmp:
        Lfm3Config().save_pretrained(tmp)
        with open(os.path.join(tmp, "config.json")) as fh:
            cfg = json.load(fh)
    cfg["architectures"] = ["Lfm3ForCausalLM"]
    return cfg


def qwen3_06b_config():
    return {
        "architectures": ["Qwen3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
        "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
        "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
        "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
        "rope_scaling": None, "rope_theta": 1000000, "sliding_window": None, "tie_word_embeddings": True,
        "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": True,
        "use_sliding_window": False, "vocab_size": 151936,
    }


def llama_32_1b_config():
    return {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu",
        "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
        "max_position_embeddings": 131072, "mlp_bias": False, "model_type": "llama", "num_attention_heads": 32,
        "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "rope_theta": 500000.0, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
        "transformers_version": "4.45.0.dev0", "use_cache": True, "vocab_size": 128256,
    }


# name, config.json, expected parameters, expected active parameters (None for dense models)
REAL_CONFIGS = [
    ("lfm2-8b-a1b", lfm2_8b_a1b_config, 8_339_929_856, 1_557_740_288),
    ("lfm3-default", lfm3_default_config, 1_728_801_536, None),
    ("qwen3-0.6b", qwen3_06b_config, 596_049_920, None),
    ("llama-3.2-1b", llama_32_1b_config, 1_235_814_400, None),
]


def parameter_counts(folder):
    """Total parameters of the meta-device model (tied weights once; buffers such as expert_bias excluded)
    and, for MoE, the active ones: total minus the (E - k) unchosen experts of every sparse layer."""
    config = transformers.AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        model = FAMILY_OF[config.model_type](config)
    total = sum(p.numel() for p in model.parameters())
    counts = {"parameters": total}
    blocks = sparse_blocks(model)
    if blocks:
        unchosen = 0
        for block in blocks.values():
            e = block.experts.num_experts
            per_expert = (block.experts.gate_up_proj.numel() + block.experts.down_proj.numel()) // e
            unchosen += (e - config.num_experts_per_tok) * per_expert
        counts["active_parameters"] = total - unchosen
    return counts


def make_real_configs(out_root):
    for name, make, want_total, want_active in REAL_CONFIGS:
        folder = os.path.join(out_root, "configs", name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as fh:
            json.dump(dict(sorted(make().items())), fh, indent=2)
            fh.write("\n")
        counts = parameter_counts(folder)
        want = {"parameters": want_total}
        if want_active is not None:
            want["active_parameters"] = want_active
        if counts != want:
            raise RuntimeError("%s: transformers counts %r, the issue says %r" % (name, counts, want))
        with open(os.path.join(folder, "counts.json"), "w") as fh:
            json.dump(counts, fh, indent=2)
            fh.write("\n")
        print("%-14s %s" % (name, counts))


# ---- bad input: one defect per file --------------------------------------------------------------------

def tiny_valid(family):
    """A complete, valid config.json of a tiny model of the family (the base each bad file breaks once)."""
    if family == "lfm3":
        return dialect_config_json(dict(CASES[0], dtype="float32"))
    if family == "lfm2_moe":
        return dialect_config_json(dict(CASES[4], dtype="float32"))
    raise ValueError(family)


def bad_configs():
    out = {}
    cfg = tiny_valid("lfm3")
    cfg.update(model_type="lfm9", architectures=["Lfm9ForCausalLM"])
    out["unknown-model-type"] = (cfg, "model_type", "\"lfm9\" is not a model_type any library knows")
    cfg = tiny_valid("lfm3")
    cfg["num_hidden_layers"] = 6  # layer_types lists 5
    out["lfm3-layer-types-length"] = (cfg, "layer_types", "5 layer_types for num_hidden_layers 6")
    cfg = tiny_valid("lfm2_moe")
    cfg["layer_types"] = cfg["layer_types"][:3]  # num_hidden_layers 4
    out["moe-layer-types-length"] = (cfg, "layer_types", "3 layer_types for num_hidden_layers 4")
    cfg = tiny_valid("lfm2_moe")
    cfg["num_experts_per_tok"] = 5  # num_experts 4
    out["moe-experts-per-tok-gt-experts"] = (cfg, "num_experts_per_tok", "5 > num_experts 4")
    cfg = tiny_valid("lfm3")
    cfg["sliding_window"] = 0
    out["lfm3-sliding-window-zero"] = (cfg, "sliding_window", "0 (a window must hold at least the query)")
    return out


def one_line(e):
    text = " ".join(str(e).split())
    return text if len(text) <= 200 else text[:197] + "..."


def transformers_verdict(cfg):
    """What transformers 5.24.0 does with the config: its exception at config or model construction, or a
    forward over 3 tokens of randomly initialised weights (so the README states the reference behaviour)."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "config.json"), "w") as fh:
            json.dump(cfg, fh)
        try:
            config = transformers.AutoConfig.from_pretrained(tmp)
        except Exception as e:  # noqa: BLE001  (recorded, not handled)
            return "AutoConfig raises %s: %s" % (type(e).__name__, one_line(e))
        try:
            model = transformers.AutoModelForCausalLM.from_config(config).eval()
            with torch.no_grad():
                out = model(input_ids=torch.tensor([[1, 5, 9]]), use_cache=False).logits
        except Exception as e:  # noqa: BLE001
            return "model construction/forward raises %s: %s" % (type(e).__name__, one_line(e))
        finite = bool(torch.isfinite(out).all())
        return "accepted by transformers (forward runs, logits %s)" % ("finite" if finite else "NOT finite")


def missing_expert_folder(out_root):
    """A tiny LFM2-MoE folder whose safetensors lacks one expert tensor (layer 2, expert 3, w2)."""
    folder = os.path.join(out_root, "families", "bad", "moe-missing-expert")
    os.makedirs(folder, exist_ok=True)
    case = dict(name="moe-missing-expert", family="lfm2_moe", dtype="float32", seed=9901, dialect="rope_theta",
                cfg=dict(vocab_size=32, hidden_size=8, intermediate_size=8, moe_intermediate_size=4,
                         num_attention_heads=2, num_key_value_heads=1, layer_types=[C, A, C], num_dense_layers=1,
                         num_experts=4, num_experts_per_tok=2, norm_topk_prob=True, routed_scaling_factor=1.0,
                         use_expert_bias=True, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}))
    torch.manual_seed(case["seed"])
    model = Lfm2MoeForCausalLM(build_config(case)).to(torch.float32).eval()
    reinit_(model, 8, case["seed"])
    save_folder(model, case, folder)
    path = os.path.join(folder, "model.safetensors")
    with safetensors.safe_open(path, "pt") as st:
        tensors = {k: st.get_tensor(k) for k in st.keys()}
    dropped = "model.layers.2.feed_forward.experts.3.w2.weight"
    del tensors[dropped]
    safetensors.torch.save_file(dict(sorted(tensors.items())), path, metadata={"format": "pt"})
    os.chmod(path, 0o644)
    try:
        Lfm2MoeForCausalLM.from_pretrained(folder, dtype=torch.float32, experts_implementation="eager")
        verdict = "loads it without an error"
    except Exception as e:  # noqa: BLE001  (recorded, not handled)
        verdict = "refuses it: %s: %s" % (type(e).__name__, one_line(e))
    return dropped, verdict


def make_bad(out_root):
    folder = os.path.join(out_root, "families", "bad")
    os.makedirs(folder, exist_ok=True)
    lines = ["# Bad-input fixtures (written by Scripts/reference/families/make_family_fixtures.py)", "",
             "Each `<name>.json` is a complete config.json of a tiny model with exactly one defect. The engine must",
             "answer each with a typed error naming the file and the key (no crash). The last column is what",
             "transformers 5.24.0 itself does with the file (reference behaviour, recorded by the script).", "",
             "| file | key | defect | transformers 5.24.0 |", "|---|---|---|---|"]
    for name, (cfg, key, defect) in bad_configs().items():
        with open(os.path.join(folder, name + ".json"), "w") as fh:
            json.dump(dict(sorted(cfg.items())), fh, indent=2)
            fh.write("\n")
        verdict = transformers_verdict(cfg).replace("|", "/")
        lines.append("| `%s.json` | `%s` | %s | %s |" % (name, key, defect, verdict))
        print("bad/%s.json: %s" % (name, verdict))
    dropped, verdict = missing_expert_folder(out_root)
    print("bad/moe-missing-expert: %s" % verdict)
    lines += ["", "`moe-missing-expert/` is a folder (config.json + model.safetensors) of a valid tiny LFM2-MoE model",
              "(vocab 32, hidden 8, layers C A C, 4 experts, top-2) whose safetensors lacks",
              "`%s`. transformers 5.24.0 %s." % (dropped, verdict),
              "The engine must refuse it with an error naming the missing tensor."]
    with open(os.path.join(folder, "README.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


# ---- main ---------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "..", "..", "Tests", "LFMModelsTests", "Fixtures"))
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--only", nargs="*", help="case names to (re)build; default: all, plus configs and bad")
    args = parser.parse_args()
    versions = check_versions()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    total = 0
    for case in CASES:
        if args.only and case["name"] not in args.only:
            continue
        total += make_case(case, args.out, versions)
    if not args.only:
        make_real_configs(args.out)
        make_bad(args.out)
        if total > TOTAL_LIMIT:
            raise RuntimeError("fixtures total %d bytes (limit %d)" % (total, TOTAL_LIMIT))
        print("total %d bytes" % total)


if __name__ == "__main__":
    main()
