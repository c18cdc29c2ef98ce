"""GGUF interop fixtures: tiny LFM2 checkpoints converted and quantized by llama.cpp, with llama.cpp's logits.

Pinned tools (Python 3.11): torch 2.13.0+cpu, transformers 5.24.0, tokenizers 0.23.3, gguf 0.19.0,
numpy 2.4.6, safetensors 0.8.0; llama.cpp from the llama-cpp-python 0.3.36 sdist (its
vendor/llama.cpp: convert_hf_to_gguf.py with the vendored gguf-py, and llama-quantize plus libllama
built from the same tree).

    /root/venv-ref/bin/python Scripts/reference/gguf-interop/make_interop_fixtures.py \
        --llama-cpp /root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp \
        --llama-bin /root/llamacpp-build/bin

Writes Tests/LFMModelsTests/Fixtures/gguf/:
- `<name>.gguf` and `<name>.json` per case: the GGUF as llama.cpp wrote it, and llama.cpp's logits for
  `prompt_ids` at every position (`prompt_logits`), its greedy tokens and the logits behind each
  (`decode_logits`, one single-token llama_decode per step), plus `dequant_fnv`: for every tensor the
  FNV-1a 64 hash of gguf-py's float32 dequantization (`gguf.quants.dequantize`).
- `h256-q8_0-to-q4_k_m.gguf.ref` (and `-to-iq4_nl`, `-to-iq4_xs`): `llama-quantize --allow-requantize
  h256-q8_0.gguf … Q4_K_M` (IQ4_NL, IQ4_XS), the references for `lfm quantize` of a GGUF input.
- `tiny-f32-hf/`: the tokenizer files of the tiny-f32 folder (with Fixtures/lfm2/attn-first-f32 it is the
  folder llama.cpp converted), so tests can compare `lfm convert` with `tiny-f32.gguf`.
- `lfm2-tokenizer.gguf`: the metadata (no tensors) of a GGUF that convert_hf_to_gguf.py wrote for a tiny
  model folder holding the real LFM2 tokenizer.json and chat template (tokenizer.ggml.*, chat_template).
- `perplexity.txt` / `perplexity.json`: a text and transformers' mean NLL over it (BOS prepended,
  non-overlapping windows of `ctx` tokens, every token after a window's first scored) with the
  float32 weights of the tiny-f32 case, tokenized with that case's tokenizer.json.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, processors, Regex
from transformers import Lfm2Config, Lfm2ForCausalLM

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
LFM2_FIXTURES = ROOT / "Tests/LFMModelsTests/Fixtures/lfm2"
OUT = ROOT / "Tests/LFMModelsTests/Fixtures/gguf"
SHARED = Path("/work/shared/fixtures/lfm2")
SPECIALS = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|fim_pre|>", "<|fim_mid|>", "<|fim_suf|>",
            "<|im_start|>", "<|im_end|>"]
LFM2_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
              "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
PROMPT = [1, 17, 93, 200, 45, 8, 121, 66, 250, 12, 99, 31]
STEPS = 6


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tiny_tokenizer(vocab_size):
    """A byte-level BPE with LFM2's pre-tokenizer and exactly `vocab_size` ids: 8 specials, then byte
    tokens (low control bytes left out when not all 256 fit), then merges of frequent letter pairs."""
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
    candidates = [("Ġ", c) for c in letters] + [(a, b) for a in letters for b in letters]
    for a, b in candidates:
        if len(vocab) >= vocab_size:
            break
        vocab[a + b] = len(vocab)
        merges.append((a, b))
    assert len(vocab) == vocab_size, (len(vocab), vocab_size)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LFM2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="<|startoftext|> $A", special_tokens=[("<|startoftext|>", 1)])
    from tokenizers import AddedToken
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    return tok


def write_tokenizer(folder, tok):
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|startoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|pad|>",
        "add_bos_token": True, "add_eos_token": False, "tokenizer_class": "PreTrainedTokenizerFast"}))
    shutil.copyfile(SHARED / "chat_template.jinja", folder / "chat_template.jinja")


def h256_checkpoint(folder):
    """hidden 256 (every row a multiple of 256, so k-quants apply everywhere), conv + attention layer."""
    cfg = Lfm2Config(vocab_size=320, hidden_size=256, intermediate_size=256, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, norm_eps=1e-5,
                     pad_token_id=0, bos_token_id=1, eos_token_id=7, tie_word_embeddings=True,
                     rope_parameters={"rope_theta": 1e6, "rope_type": "default"}, conv_bias=False, conv_L_cache=3,
                     block_multiple_of=256, block_ffn_dim_multiplier=1.0, block_auto_adjust_ff_dim=False,
                     layer_types=["conv", "full_attention"])
    torch.manual_seed(0)
    model = Lfm2ForCausalLM(cfg)
    g = torch.Generator().manual_seed(256)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("conv.conv.weight"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_tokens.weight"):
                p.copy_(torch.randn(p.shape, generator=g) / 16.0)
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
    model.save_pretrained(folder)


def fnv1a64(data: bytes) -> str:
    h = 0xcbf29ce484222325
    arr = np.frombuffer(data, dtype=np.uint8)
    for b in arr.tolist():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def dequant_hashes(path):
    from gguf import GGUFReader
    from gguf.quants import dequantize
    out = {}
    for t in GGUFReader(str(path)).tensors:
        values = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        out[t.name] = {"type": t.tensor_type.name, "fnv1a64": fnv1a64(values.tobytes())}
    return out


def llama_logits(binary, path, ids, steps):
    res = subprocess.run([str(binary), str(path), ",".join(map(str, ids)), str(steps)], check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout)


def build_logits_tool(args, work):
    exe = work / "llama_logits"
    inc = [f"-I{args.llama_cpp}/include", f"-I{args.llama_cpp}/ggml/include"]
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "llama_logits.c"), *inc, f"-L{args.llama_bin}",
                    "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{args.llama_bin}"], check=True)
    return exe


def convert(args, folder, out, outtype, tiny=True):
    cmd = [sys.executable, str(HERE / "convert_with_llamacpp.py"), args.llama_cpp, str(folder), str(out), outtype]
    if tiny:
        cmd.append("--tiny-tokenizer")
    subprocess.run(cmd, check=True, capture_output=True)


def quantize(args, src, out, qtype):
    env = dict(os.environ, LD_LIBRARY_PATH=args.llama_bin)
    subprocess.run([f"{args.llama_bin}/llama-quantize", str(src), str(out), qtype], check=True, capture_output=True, env=env)


def record(exe, gguf_path, meta):
    data = llama_logits(exe, gguf_path, PROMPT, STEPS)
    data.update(meta)
    data["prompt_ids"] = PROMPT
    data["dequant_fnv"] = dequant_hashes(gguf_path)
    data["bytes"] = gguf_path.stat().st_size
    (OUT / (gguf_path.stem + ".json")).write_text(json.dumps(data))
    print(f"{gguf_path.name}: {gguf_path.stat().st_size} bytes, greedy {data['greedy_tokens']}")


def tokenizer_gguf(args, work):
    """Metadata of llama.cpp's conversion of a tiny model with the real LFM2 tokenizer."""
    folder = work / "real-tokenizer"
    folder.mkdir()
    cfg = Lfm2Config(vocab_size=65536, hidden_size=32, intermediate_size=32, num_hidden_layers=1,
                     num_attention_heads=1, num_key_value_heads=1, max_position_embeddings=128000,
                     pad_token_id=0, bos_token_id=1, eos_token_id=7, tie_word_embeddings=True,
                     block_auto_adjust_ff_dim=False, layer_types=["conv"])
    torch.manual_seed(0)
    Lfm2ForCausalLM(cfg).to(torch.float16).save_pretrained(folder)
    shutil.copy(SHARED / "tokenizer.json", folder / "tokenizer.json")
    shutil.copyfile(SHARED / "chat_template.jinja", folder / "chat_template.jinja")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|startoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|pad|>",
        "add_bos_token": True, "add_eos_token": False, "tokenizer_class": "PreTrainedTokenizerFast"}))
    full = work / "real-tokenizer.gguf"
    convert(args, folder, full, "f16", tiny=False)  # the real tokenizer's hash must be recognized
    import gguf
    reader = gguf.GGUFReader(str(full))
    writer = gguf.GGUFWriter(str(OUT / "lfm2-tokenizer.gguf"), arch="lfm2")
    writer.kv_data[0].clear()  # the arch key is copied below with everything else, in file order
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.alignment":
            continue
        vtype = field.types[0]
        value = field.contents()
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, vtype, sub_type=sub)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    pre = reader.fields["tokenizer.ggml.pre"].contents()
    print(f"lfm2-tokenizer.gguf: pre={pre}, {(OUT / 'lfm2-tokenizer.gguf').stat().st_size} bytes")


def perplexity_fixture(tiny_f32_folder, ctx=16):
    text = ("the rain in spain stays mainly in the plain. she sells sea shells on the sea shore; "
            "a quick brown fox jumps over the lazy dog 1234 times!\nthird line: hello there.")
    tok = Tokenizer.from_file(str(tiny_f32_folder / "tokenizer.json"))
    ids = [1] + tok.encode(text, add_special_tokens=False).ids
    model = Lfm2ForCausalLM.from_pretrained(tiny_f32_folder, dtype=torch.float32, attn_implementation="eager").eval()
    nll, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids), ctx):
            window = ids[start:start + ctx]
            if len(window) < 2:
                continue
            logits = model(torch.tensor([window])).logits[0].double()
            logp = torch.log_softmax(logits, dim=-1)
            for i in range(1, len(window)):
                nll -= float(logp[i - 1, window[i]])
                count += 1
    (OUT / "perplexity.txt").write_text(text)
    (OUT / "perplexity.json").write_text(json.dumps({"model": "tiny-f32.gguf", "ctx": ctx, "ids": ids,
                                                     "tokens": count, "nll": nll / count,
                                                     "ppl": float(np.exp(nll / count))}))
    print(f"perplexity: {count} tokens, nll {nll / count:.6f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--llama-bin", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = build_logits_tool(args, work)
        float_cases = [("tiny-f32", "attn-first-f32", "f32"), ("tiny-f16", "mixed-gqa3-f16", "f16"),
                       ("tiny-bf16", "mixed-gqa2-bf16", "bf16")]
        folders = {}
        for name, source, outtype in float_cases:
            folder = work / name
            shutil.copytree(LFM2_FIXTURES / source, folder)
            (folder / "expected.json").unlink()
            write_tokenizer(folder, tiny_tokenizer(json.loads((folder / "config.json").read_text())["vocab_size"]))
            folders[name] = folder
            out = OUT / f"{name}.gguf"
            convert(args, folder, out, outtype)
            record(exe, out, {"case": name, "source": f"Fixtures/lfm2/{source}", "type": outtype.upper()})
            if name == "tiny-f32":  # the tokenizer files, so tests can run `lfm convert` on the same folder
                keep = OUT / "tiny-f32-hf"
                keep.mkdir(exist_ok=True)
                for f in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]:
                    shutil.copyfile(folder / f, keep / f)
        # hidden-256 model: k-quants everywhere.
        folder = work / "h256"
        h256_checkpoint(folder)
        write_tokenizer(folder, tiny_tokenizer(320))
        f32 = work / "h256-f32.gguf"
        convert(args, folder, f32, "f32")
        for qtype in ["Q8_0", "Q4_0", "Q4_K_M"]:
            out = OUT / f"h256-{qtype.lower()}.gguf"
            quantize(args, f32, out, qtype)
            record(exe, out, {"case": out.stem, "source": "hidden-256 random checkpoint (F32 GGUF)", "type": qtype})
        # Requantization reference for `lfm quantize` on a GGUF input (no logits record: not a test case).
        env = dict(os.environ, LD_LIBRARY_PATH=args.llama_bin)
        for qtype in ["Q4_K_M", "IQ4_NL", "IQ4_XS"]:
            subprocess.run([f"{args.llama_bin}/llama-quantize", "--allow-requantize", str(OUT / "h256-q8_0.gguf"),
                            str(OUT / f"h256-q8_0-to-{qtype.lower()}.gguf.ref"), qtype], check=True, capture_output=True,
                           env=env)
        shutil.copytree(folder, work / "h256-keep")
        perplexity_fixture(folders["tiny-f32"])
        tokenizer_gguf(args, work)
        if os.environ.get("KEEP_WORK"):
            shutil.copytree(work, os.environ["KEEP_WORK"], dirs_exist_ok=True)


if __name__ == "__main__":
    main()
