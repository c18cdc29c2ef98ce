"""Writes the dense LFM2 GGUF seed of the gguf fuzz target (< 64 KiB, the fuzzer's input cap).

A hidden-16, two-layer (conv, full attention) LFM2 with random weights (seed 0) and the tiny
generated tokenizer of Tests/LFMModelsTests/Fixtures/gguf/tiny-f32-hf is saved as a Hugging Face
folder by transformers, then converted by the project's own writer (`lfm convert --type f16`).

    /root/venv-ref/bin/python Scripts/fuzz/make_lfm2_gguf_seed.py .build/debug/lfm \
        Tests/LFMServerTests/FuzzCorpus/gguf/seed-lfm2-f16

Pinned: torch 2.13.0+cpu, transformers 5.24.0.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from transformers import Lfm2Config, Lfm2ForCausalLM

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT / "Tests/LFMModelsTests/Fixtures/gguf/tiny-f32-hf"


def main() -> None:
    lfm, output = sys.argv[1], Path(sys.argv[2])
    torch.manual_seed(0)
    config = Lfm2Config(vocab_size=264, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        num_key_value_heads=1, intermediate_size=32, block_auto_adjust_ff_dim=False,
                        max_position_embeddings=256, conv_L_cache=3, layer_types=["conv", "full_attention"],
                        bos_token_id=1, eos_token_id=7, pad_token_id=0, tie_word_embeddings=True)
    model = Lfm2ForCausalLM(config).eval()
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, safe_serialization=True)
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            shutil.copy(TOKENIZER / name, Path(folder) / name)
        subprocess.run([lfm, "convert", folder, str(output), "--type", "f16"], check=True)
    size = output.stat().st_size
    assert size < 65536, f"{output} is {size} bytes, over the fuzzer's 64 KiB input cap"
    print(f"{output}: {size} bytes")


if __name__ == "__main__":
    main()
