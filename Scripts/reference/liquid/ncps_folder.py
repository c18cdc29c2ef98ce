"""Load and save liquid model folders in the swift-lfm interop form (issue 16) with ncps.

A folder holds `model.safetensors` (the ncps `state_dict`, masks included) and `config.json`:
  {"library": "ncps", "class": "CfC" | "LTC", "input_size": N, "units": U | WIRING, "kwargs": {...}, "lfm": {...}?}
WIRING = {"wiring": "AutoNCP" | "NCP" | "FullyConnected" | "Random", ...constructor arguments...}.

    from ncps_folder import load_folder, save_folder
    model, config = load_folder("my-model")       # an ncps.torch.CfC / LTC with the folder's weights
    save_folder(model_config_dict, model, "out")  # writes the same form
"""
import json
import os

import ncps
import ncps.torch
import torch
from safetensors.torch import load_file, save_file


def build_wiring(spec):
    spec = dict(spec)
    name = spec.pop("wiring")
    return getattr(ncps.wirings, name)(**spec)


def build_model(config):
    """An ncps.torch model for an interop config dict (weights freshly initialised)."""
    units = config["units"]
    if isinstance(units, dict):
        units = build_wiring(units)
    kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k not in ("return_sequences", "batch_first")}
    cls = getattr(ncps.torch, config["class"])
    return cls(config["input_size"], units, return_sequences=True, batch_first=True, **kwargs)


def load_folder(directory):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    model = build_model(config)
    state = load_file(os.path.join(directory, "model.safetensors"))
    model.load_state_dict(state, strict=True)
    return model, config


def save_folder(config, model, directory):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=1, sort_keys=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(directory, "model.safetensors"))
