#!/usr/bin/env python3
"""Writes a tiny random-weight LFM2 model folder (config.json + model.safetensors + the real LFM2
tokenizer.json and chat_template.jinja from Tests/ fixtures) for server smoke and load tests.

Standard library only (Python >= 3.9). Usage: make_tiny_model.py OUT_DIR [--hidden 64]
The tokenizer and chat template are Liquid AI's (LFM Open License v1.0); see
/work/shared/fixtures/lfm2/README.md (copied next to them as ATTRIBUTION.md when present).
"""
import argparse, array, json, os, random, shutil, struct, sys

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    h, vocab, heads, kv, ff = args.hidden, 65536, 4, 2, 2 * args.hidden
    hd = h // heads
    kinds = ["conv", "full_attention", "conv", "full_attention"]
    config = {
        "architectures": ["Lfm2ForCausalLM"], "model_type": "lfm2", "hidden_size": h, "num_hidden_layers": len(kinds),
        "num_attention_heads": heads, "num_key_value_heads": kv, "layer_types": kinds, "block_ff_dim": ff,
        "block_auto_adjust_ff_dim": False, "conv_L_cache": 3, "conv_bias": False, "vocab_size": vocab,
        "max_position_embeddings": 128000, "norm_eps": 1e-5, "rope_theta": 1000000.0, "tie_embedding": True,
        "bos_token_id": 1, "eos_token_id": 7, "pad_token_id": 0, "torch_dtype": "float32",
    }
    rng = random.Random(args.seed)
    tensors = []  # (name, shape, vector?)
    tensors.append(("model.embed_tokens.weight", [vocab, h], False))
    tensors.append(("model.embedding_norm.weight", [h], True))
    for l, kind in enumerate(kinds):
        p = f"model.layers.{l}."
        tensors += [(p + "operator_norm.weight", [h], True), (p + "ffn_norm.weight", [h], True),
                    (p + "feed_forward.w1.weight", [ff, h], False), (p + "feed_forward.w3.weight", [ff, h], False),
                    (p + "feed_forward.w2.weight", [h, ff], False)]
        if kind == "conv":
            tensors += [(p + "conv.in_proj.weight", [3 * h, h], False), (p + "conv.conv.weight", [h, 1, 3], True),
                        (p + "conv.out_proj.weight", [h, h], False)]
        else:
            tensors += [(p + "self_attn.q_proj.weight", [heads * hd, h], False), (p + "self_attn.k_proj.weight", [kv * hd, h], False),
                        (p + "self_attn.v_proj.weight", [kv * hd, h], False), (p + "self_attn.out_proj.weight", [h, heads * hd], False),
                        (p + "self_attn.q_layernorm.weight", [hd], True), (p + "self_attn.k_layernorm.weight", [hd], True)]
    header, blobs, offset = {}, [], 0
    for name, shape, vector in tensors:
        n = 1
        for d in shape: n *= d
        scale = 1.7 / (shape[-1] ** 0.5)
        data = array.array("f", ((1 + 0.1 * rng.uniform(-1, 1)) if vector else rng.uniform(-1, 1) * scale for _ in range(n)))
        if sys.byteorder != "little": data.byteswap()
        raw = data.tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs: f.write(raw)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shutil.copyfile(os.path.join(root, "Tests/LFMTokenizerTests/Fixtures/lfm2/tokenizer.json"), os.path.join(args.out, "tokenizer.json"))
    shutil.copyfile(os.path.join(root, "Tests/LFMChatTests/Fixtures/lfm2/chat_template.jinja"), os.path.join(args.out, "chat_template.jinja"))
    attribution = "/work/shared/fixtures/lfm2/README.md"
    if os.path.exists(attribution):
        shutil.copyfile(attribution, os.path.join(args.out, "ATTRIBUTION.md"))
    print(args.out)

if __name__ == "__main__":
    main()
