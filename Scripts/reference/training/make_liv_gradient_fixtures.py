#!/usr/bin/env python3
"""Tiny LFM3 and LFM2-MoE checkpoints with their loss and every parameter gradient, from PyTorch,
for the LIV trainer's tests (an LIV genome describing the same model must give the same numbers).

Pinned: torch 2.13.0 (CPU wheel), transformers==5.24.0, safetensors. Run in a venv:
    venv/bin/python Scripts/reference/training/make_liv_gradient_fixtures.py
Writes, per case, Tests/LFMTrainingTests/Fixtures/liv/<case>/:
  config.json + model.safetensors  the random model (F32, `save_pretrained`'s checkpoint names)
  loss.json                        tokens (labels = input ids) and the mean next-token loss
  gradients.safetensors            d loss / d parameter under the checkpoint's names: LFM3's
                                   `g_proj` as `gate_proj`; LFM2-MoE's fused experts split into
                                   `experts.<e>.w1/w3` (rows of gate_up_proj) and `experts.<e>.w2`.
Weights are N(0, 1/in_features) (the default 0.02 barely moves the residual stream), norm weights
1 + N(0, 0.1²), expert selection biases nonzero so they change the routing. No pad_token_id: with
one, PyTorch's embedding drops the gradient of that row's lookups (padding_idx), which a language
model trained on every token does not want (and the token sequence may contain it).
Cases:
  lfm3  conv (7 taps), sliding (window 5) and full gated attention with sandwich norms and
        proportional RoPE on the full layers (partial factor 0.5), GQA 4:2, untied head.
  moe   LFM2-MoE: conv (3 taps) + attention, the first two layers dense, then 6 experts top-2,
        normalized, routed scaling 1.5, a nonzero expert_bias; tied head.
"""
import pathlib
import sys

import torch
import transformers

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_gradient_fixtures import write_loss_and_gradients  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = ROOT / "Tests/LFMTrainingTests/Fixtures/liv"

CONFIGS = {
    "lfm3": transformers.Lfm3Config(
        vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, conv_L_cache=7, conv_bias=False, sliding_window=5,
        layer_types=["conv", "sliding_attention", "full_attention", "sliding_attention"],
        use_attention_gate=True, use_sandwich_norm=True, tie_word_embeddings=False, norm_eps=1e-5,
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "proportional", "rope_theta": 1000.0,
                                            "partial_rotary_factor": 0.5}},
        bos_token_id=1, eos_token_id=2, pad_token_id=None, max_position_embeddings=4096),
    "moe": transformers.Lfm2MoeConfig(
        vocab_size=80, hidden_size=32, intermediate_size=40, moe_intermediate_size=12, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, conv_L_cache=3, conv_bias=False,
        layer_types=["conv", "full_attention", "conv", "full_attention"], num_dense_layers=2,
        num_experts=6, num_experts_per_tok=2, norm_topk_prob=True, routed_scaling_factor=1.5,
        use_expert_bias=True, tie_word_embeddings=True, norm_eps=1e-5, rope_theta=1000000.0,
        bos_token_id=1, eos_token_id=2, pad_token_id=None, max_position_embeddings=4096),
}


def randomize(model, generator):
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() == 1:  # norm weights
                parameter.copy_(1 + 0.1 * torch.randn(parameter.shape, generator=generator))
            elif name.endswith("conv.conv.weight"):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) / parameter.shape[-1] ** 0.5)
            else:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) / parameter.shape[-1] ** 0.5)
        for name, buffer in model.named_buffers():
            if name.endswith("expert_bias"):
                buffer.copy_(0.3 * torch.randn(buffer.shape, generator=generator))


def checkpoint_gradients(model, config):
    grads = {}
    for name, parameter in model.named_parameters():
        g = parameter.grad.detach().float().contiguous()
        if name.endswith("experts.gate_up_proj"):
            prefix, i = name[: -len("gate_up_proj")], config.moe_intermediate_size
            for e in range(g.shape[0]):
                grads[f"{prefix}{e}.w1.weight"] = g[e, :i].contiguous()
                grads[f"{prefix}{e}.w3.weight"] = g[e, i:].contiguous()
        elif name.endswith("experts.down_proj"):
            prefix = name[: -len("down_proj")]
            for e in range(g.shape[0]):
                grads[f"{prefix}{e}.w2.weight"] = g[e].contiguous()
        else:
            grads[name.replace("self_attn.g_proj.", "self_attn.gate_proj.")] = g
    return grads


def main():
    for case, config in CONFIGS.items():
        out = OUT / case
        out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        randomize(model, torch.Generator().manual_seed(11))
        model.train(False)
        model.save_pretrained(out)
        write_loss_and_gradients(model, case, out, lambda m: checkpoint_gradients(m, config))


if __name__ == "__main__":
    main()
