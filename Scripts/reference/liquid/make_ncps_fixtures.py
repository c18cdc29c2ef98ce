"""Writes the ncps parity fixtures of LFMLiquid to Tests/LFMLiquidTests/Fixtures/.

Pinned: ncps==1.0.1, torch==2.13.0+cpu, numpy==2.4.6, safetensors. Run from the repository root:
    python Scripts/reference/liquid/make_ncps_fixtures.py

Per model case (Fixtures/<case>/):
  config.json        interop config ({"library": "ncps", "class", "input_size", "units", "kwargs"})
  model.safetensors  the ncps state_dict before training (masks included)
  io.safetensors     input [B,T,F], optional timespans [B,T], h0/c0, loss weights r [B,T,O], s [B,S]
                     (and s2 for the LSTM cell state), output, final_h, final_c, loss,
                     grad.input and grad.<state_dict key> of
                       L = sum(output * r) + sum(final_h * s) [+ sum(final_c * s2)]
  adam.safetensors   parameters after `adam_steps` optimizer steps on L (LTC with explicit
                     constraints calls apply_weight_constraints() after each step, as ncps asks)
  case.json          batch, steps, flags, optimizer settings
Wirings: Fixtures/wirings.json, the adjacency matrices ncps builds for several specs and seeds.
"""
import json
import os
import sys

import numpy as np
import torch
import ncps
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ncps_folder import build_model, build_wiring  # noqa: E402

assert torch.__version__.startswith("2.13.0"), torch.__version__
assert np.__version__ == "2.4.6", np.__version__
from importlib.metadata import version  # noqa: E402

assert version("ncps") == "1.0.1", version("ncps")

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Tests", "LFMLiquidTests", "Fixtures")
OUT = os.path.normpath(OUT)

CASES = [
    # name, config, batch, steps, timespans, initial_state, optimizer
    ("cfc_default", {"class": "CfC", "input_size": 5, "units": 8,
                     "kwargs": {"backbone_units": 16, "backbone_layers": 1}}, 3, 4, False, True, "adam"),
    ("cfc_nogate_silu_proj", {"class": "CfC", "input_size": 4, "units": 6,
                              "kwargs": {"mode": "no_gate", "activation": "silu", "backbone_units": 10,
                                         "backbone_layers": 2, "proj_size": 3}}, 2, 5, False, False, "adamw"),
    ("cfc_pure_nobackbone_ts", {"class": "CfC", "input_size": 3, "units": 5,
                                "kwargs": {"mode": "pure", "backbone_layers": 0}}, 1, 6, True, True, "adam"),
    ("cfc_mixed_gelu_ts", {"class": "CfC", "input_size": 4, "units": 6,
                           "kwargs": {"mixed_memory": True, "activation": "gelu", "backbone_units": 8,
                                      "backbone_layers": 1}}, 1, 5, True, True, "adam"),
    ("cfc_relu_tanh", {"class": "CfC", "input_size": 3, "units": 4,
                       "kwargs": {"activation": "relu", "backbone_units": 12, "backbone_layers": 3}}, 2, 3, False, False, "adam"),
    ("cfc_wired_autoncp", {"class": "CfC", "input_size": 6,
                           "units": {"wiring": "AutoNCP", "units": 12, "output_size": 3, "sparsity_level": 0.5, "seed": 7},
                           "kwargs": {}}, 2, 5, False, True, "adam"),
    ("cfc_wired_ncp_nogate_mixed_proj", {"class": "CfC", "input_size": 4,
                                         "units": {"wiring": "NCP", "inter_neurons": 5, "command_neurons": 4,
                                                   "motor_neurons": 2, "sensory_fanout": 3, "inter_fanout": 2,
                                                   "recurrent_command_synapses": 3, "motor_fanin": 2, "seed": 11},
                                         "kwargs": {"mode": "no_gate", "mixed_memory": True, "proj_size": 2}},
     2, 4, False, True, "adam"),
    ("cfc_wired_pure_ts", {"class": "CfC", "input_size": 3,
                           "units": {"wiring": "AutoNCP", "units": 9, "output_size": 2, "seed": 3},
                           "kwargs": {"mode": "pure"}}, 1, 4, True, False, "adam"),
    ("ltc_fc", {"class": "LTC", "input_size": 5, "units": 6, "kwargs": {}}, 2, 4, False, True, "adam"),
    ("ltc_autoncp_explicit_ts", {"class": "LTC", "input_size": 4,
                                 "units": {"wiring": "AutoNCP", "units": 10, "output_size": 2, "seed": 3},
                                 "kwargs": {"implicit_param_constraints": False, "ode_unfolds": 3}},
     1, 5, True, True, "adam"),
    ("ltc_random_mixed_linear", {"class": "LTC", "input_size": 3,
                                 "units": {"wiring": "Random", "units": 7, "output_dim": 2, "sparsity_level": 0.4,
                                           "random_seed": 5},
                                 "kwargs": {"mixed_memory": True, "input_mapping": "linear",
                                            "output_mapping": "passthrough", "ode_unfolds": 1}}, 2, 3, False, True, "adamw"),
]

WIRINGS = [
    ({"wiring": "AutoNCP", "units": 28, "output_size": 4}, 20),
    ({"wiring": "AutoNCP", "units": 16, "output_size": 3, "sparsity_level": 0.5, "seed": 1}, 6),
    ({"wiring": "AutoNCP", "units": 16, "output_size": 3, "sparsity_level": 0.5, "seed": 2}, 6),
    ({"wiring": "AutoNCP", "units": 64, "output_size": 12, "sparsity_level": 0.8, "seed": 9}, 12),
    ({"wiring": "AutoNCP", "units": 19, "output_size": 4, "sparsity_level": 0.3, "seed": 4242}, 9),
    ({"wiring": "NCP", "inter_neurons": 10, "command_neurons": 8, "motor_neurons": 3, "sensory_fanout": 4,
      "inter_fanout": 4, "recurrent_command_synapses": 5, "motor_fanin": 3, "seed": 123}, 7),
    ({"wiring": "NCP", "inter_neurons": 3, "command_neurons": 6, "motor_neurons": 5, "sensory_fanout": 1,
      "inter_fanout": 1, "recurrent_command_synapses": 0, "motor_fanin": 1, "seed": 0}, 2),
    ({"wiring": "FullyConnected", "units": 7, "output_dim": 3}, 4),
    ({"wiring": "FullyConnected", "units": 5, "erev_init_seed": 42, "self_connections": False}, 3),
    ({"wiring": "Random", "units": 9, "output_dim": 2, "sparsity_level": 0.5}, 4),
    ({"wiring": "Random", "units": 120, "output_dim": 10, "sparsity_level": 0.3, "random_seed": 2}, 5),
]


def tensors_for_case(name, cfg, batch, steps, with_ts, with_state, optimizer):
    torch.manual_seed(sum(map(ord, name)))  # a fixed seed per case
    model = build_model(cfg)
    model.eval()
    feats = cfg["input_size"]
    state_size = model.state_size
    use_mixed = cfg["kwargs"].get("mixed_memory", False)
    g = torch.Generator().manual_seed(1234 + len(name))
    x = torch.randn(batch, steps, feats, generator=g)
    ts = (torch.rand(batch, steps, generator=g) * 1.5 + 0.25) if with_ts else None
    h0 = (torch.randn(batch, state_size, generator=g) * 0.5) if with_state else None
    c0 = (torch.randn(batch, state_size, generator=g) * 0.5) if (with_state and use_mixed) else None
    hx = (h0, c0) if use_mixed and h0 is not None else h0
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def run(xin):
        out, hT = model(xin, hx=hx, timespans=ts)
        return out, hT

    with torch.no_grad():
        out0, _ = run(x)
    r = torch.randn(*out0.shape, generator=g)
    s = torch.randn(batch, state_size, generator=g)
    s2 = torch.randn(batch, state_size, generator=g) if use_mixed else None

    def loss_of(out, hT):
        if use_mixed:
            h, c = hT
            return (out * r).sum() + (h * s).sum() + (c * s2).sum()
        return (out * r).sum() + (hT * s).sum()

    xg = x.clone().requires_grad_(True)
    out, hT = run(xg)
    loss = loss_of(out, hT)
    model.zero_grad()
    loss.backward()
    io = {"input": x, "output": out.detach(), "r": r, "s": s, "loss": loss.detach().reshape(1),
          "grad.input": xg.grad.detach()}
    if use_mixed:
        io["final_h"], io["final_c"] = hT[0].detach(), hT[1].detach()
        io["s2"] = s2
    else:
        io["final_h"] = hT.detach()
    if ts is not None:
        io["timespans"] = ts
    if h0 is not None:
        io["h0"] = h0
    if c0 is not None:
        io["c0"] = c0
    for k, p in model.named_parameters():
        if p.requires_grad:
            io["grad." + k] = (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))

    params = [p for p in model.parameters() if p.requires_grad]
    lr, wd, adam_steps = 0.01, 0.01, 3
    if optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    else:
        opt = torch.optim.Adam(params, lr=lr)
        wd = 0.0
    explicit_ltc = cfg["class"] == "LTC" and not cfg["kwargs"].get("implicit_param_constraints", True)
    for _ in range(adam_steps):
        opt.zero_grad()
        out, hT = run(x)
        loss_of(out, hT).backward()
        opt.step()
        if explicit_ltc:
            model.rnn_cell.apply_weight_constraints()
    adam = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    case = {"batch": batch, "steps": steps, "timespans": with_ts, "initial_state": with_state,
            "mixed_memory": use_mixed, "optimizer": optimizer, "lr": lr, "weight_decay": wd,
            "betas": [0.9, 0.999], "eps": 1e-8, "adam_steps": adam_steps,
            "apply_weight_constraints": explicit_ltc}
    return initial, io, adam, case


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, cfg, batch, steps, with_ts, with_state, optimizer in CASES:
        cfg = dict(cfg, library="ncps")
        initial, io, adam, case = tensors_for_case(name, cfg, batch, steps, with_ts, with_state, optimizer)
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1, sort_keys=True)
        save_file({k: v.contiguous() for k, v in initial.items()}, os.path.join(d, "model.safetensors"))
        save_file({k: v.contiguous().float() for k, v in io.items()}, os.path.join(d, "io.safetensors"))
        save_file(adam, os.path.join(d, "adam.safetensors"))
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(case, f, indent=1, sort_keys=True)
        print("wrote", name)
    wirings = []
    for spec, input_dim in WIRINGS:
        w = build_wiring(spec)
        w.build(input_dim)
        wirings.append({"spec": spec, "input_dim": input_dim, "units": int(w.units), "output_dim": int(w.output_dim),
                        "adjacency": w.adjacency_matrix.astype(int).tolist(),
                        "sensory_adjacency": w.sensory_adjacency_matrix.astype(int).tolist()})
    with open(os.path.join(OUT, "wirings.json"), "w") as f:
        json.dump(wirings, f, separators=(",", ":"))
    print("wrote wirings.json")


if __name__ == "__main__":
    main()
