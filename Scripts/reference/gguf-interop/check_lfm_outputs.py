"""Checks `lfm convert` and `lfm quantize` against llama.cpp's convert_hf_to_gguf.py and llama-quantize,
and that llama.cpp loads and runs the files `lfm` writes.

Same pinned tools as make_interop_fixtures.py; needs a built `lfm` (swift build -c release --product lfm).

    /root/venv-ref/bin/python Scripts/reference/gguf-interop/check_lfm_outputs.py \
        --llama-cpp /root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp \
        --llama-bin /root/llamacpp-build/bin --lfm .build/release/lfm

For every model folder (tiny fixtures F32/BF16/F16 with tiny tokenizers, a hidden-256 checkpoint, and a
tiny model with the real LFM2 tokenizer.json) and output type:
- the metadata keys, value types and values of `lfm convert` equal llama.cpp's (except general.name,
  which llama.cpp derives from the folder name and model card), tensor names, types, shapes and bytes equal;
- `lfm quantize` of llama.cpp's F32 GGUF (and of the folder) equals llama-quantize's output byte for byte
  for every tensor, with the same per-tensor types, for every mix;
- llama.cpp loads every file lfm wrote and its logits on it equal its logits on its own file.
Exits non-zero on the first difference.

With --families: the same for the Qwen3, Llama and LFM2-MoE folders committed under
Tests/LFMModelsTests/Fixtures/gguf/families (convert to F32/F16/BF16, every mix from llama.cpp's F32 file,
Q4_K_M from the folder, requantizing the hidden-256 files), llama.cpp loading every file lfm wrote.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_interop_fixtures as fx  # noqa: E402

MIXES = ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m",
         "q5_k_s", "q5_k_m", "q6_k", "iq4_nl", "iq4_xs"]


def fields(path):
    import gguf
    r = gguf.GGUFReader(str(path))
    meta = {}
    for f in r.fields.values():
        if f.name.startswith("GGUF."):
            continue
        meta[f.name] = ([int(t) for t in f.types], f.contents())
    tensors = {t.name: (t.tensor_type.name, [int(x) for x in t.shape], bytes(t.data.tobytes())) for t in r.tensors}
    return meta, tensors


def compare(ours, theirs, ignore=("general.name",)):
    mo, to = fields(ours)
    mt, tt = fields(theirs)
    problems = []
    if set(mo) - set(ignore) != set(mt) - set(ignore):
        problems.append(f"keys differ: only ours {sorted(set(mo) - set(mt))}, only theirs {sorted(set(mt) - set(mo))}")
    for k in sorted(set(mo) & set(mt)):
        if k in ignore:
            continue
        if mo[k] != mt[k]:
            a, b = mo[k], mt[k]
            problems.append(f"{k}: ours {str(a)[:120]} theirs {str(b)[:120]}")
    if set(to) != set(tt):
        problems.append(f"tensor names differ: {sorted(set(to) ^ set(tt))}")
    for name in sorted(set(to) & set(tt)):
        if to[name][:2] != tt[name][:2]:
            problems.append(f"{name}: ours {to[name][:2]} theirs {tt[name][:2]}")
        elif to[name][2] != tt[name][2]:
            a = np.frombuffer(to[name][2], np.uint8); b = np.frombuffer(tt[name][2], np.uint8)
            problems.append(f"{name} ({to[name][0]}): {int((a != b).sum())} of {a.size} bytes differ")
    return problems


def run(cmd, **kw):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{res.stderr[-2000:]}")
    return res.stdout


FAMILY_FIXTURES = HERE.parents[2] / "Tests/LFMModelsTests/Fixtures/gguf/families"
# committed folder, pre-tokenizer name given to the converter (as make_family_interop_fixtures.py does)
FAMILY_FOLDERS = [("qwen3-h64", "qwen2"), ("llama-h64", "llama-bpe"), ("moe-h64", "lfm2")]
# committed quantized files requantized with real k-quant blocks (rows of 256)
FAMILY_REQUANTIZE = [("qwen3-h256-q6_k", ["q4_k_m", "q5_k_m", "q8_0"]), ("moe-h256-q4_k_m", ["q5_k_m", "q6_k", "q8_0"])]


def check_mixes(args, work, env, check, name, folder, logits=None):
    """Every mix of MIXES quantized from llama.cpp's F32 file of `name` by llama-quantize and by `lfm quantize`,
    and q4_k_m by `lfm quantize` straight from the folder. `logits`: passed to `check` for the mixes (None:
    its default); the folder's file is compared without running llama.cpp on it when `logits` is given."""
    f32 = work / f"{name}-f32-llamacpp.gguf"
    extra = {} if logits is None else {"logits": logits}
    for mix in MIXES:
        theirs = work / f"{name}-{mix}-llamacpp.gguf"
        run([f"{args.llama_bin}/llama-quantize", f32, theirs, mix.upper()], env=env)
        ours = work / f"{name}-{mix}-lfm.gguf"
        run([args.lfm, "quantize", f32, ours, "--type", mix])
        check(f"quantize {name} {mix} (from llama.cpp's F32 GGUF)", ours, theirs, **extra)
    folder_mix = "q4_k_m" if "q4_k_m" in MIXES else MIXES[0]  # (--mixes may leave q4_k_m out)
    ours = work / f"{name}-{folder_mix}-from-folder.gguf"
    run([args.lfm, "quantize", folder, ours, "--type", folder_mix])
    check(f"quantize {name} {folder_mix} (from the folder)", ours, work / f"{name}-{folder_mix}-llamacpp.gguf",
          **({} if logits is None else {"logits": False}))


def check_families(args, work, env, check):
    """`lfm convert` / `lfm quantize` of Qwen3, Llama and LFM2-MoE next to llama.cpp's converter and llama-quantize."""
    import make_family_interop_fixtures as ffx
    for name, pre in FAMILY_FOLDERS:
        folder = work / f"{name}-hf"  # the folder name gives general.name, as in the committed files
        shutil.copytree(FAMILY_FIXTURES / f"{name}-hf", folder)
        for outtype in ["f32", "f16", "bf16"]:
            theirs = work / f"{name}-{outtype}-llamacpp.gguf"
            ours = work / f"{name}-{outtype}-lfm.gguf"
            ffx.convert(args, folder, theirs, outtype, pre)
            run([args.lfm, "convert", folder, ours, "--type", outtype])
            check(f"convert {name} {outtype}", ours, theirs)
        check_mixes(args, work, env, check, name, folder)
    for name, mixes in FAMILY_REQUANTIZE:
        source = FAMILY_FIXTURES / f"{name}.gguf"
        for mix in mixes:
            theirs = work / f"{name}-to-{mix}-llamacpp.gguf"
            run([f"{args.llama_bin}/llama-quantize", "--allow-requantize", source, theirs, mix.upper()], env=env)
            ours = work / f"{name}-to-{mix}-lfm.gguf"
            run([args.lfm, "quantize", source, ours, "--type", mix])
            check(f"quantize {name} -> {mix} (requantize)", ours, theirs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--llama-bin", required=True)
    ap.add_argument("--lfm", required=True)
    ap.add_argument("--tokenizer-only", action="store_true", help="only check the real-tokenizer conversion")
    ap.add_argument("--families", action="store_true",
                    help="check the Qwen3, Llama and LFM2-MoE folders of make_family_interop_fixtures.py instead of LFM2")
    ap.add_argument("--mixes", help="comma-separated subset of the mixes (default: all)")
    ap.add_argument("--quantize-only", action="store_true",
                    help="LFM2 only: skip the convert and tokenizer checks (llama.cpp's F32 files are still made)")
    args = ap.parse_args()
    if args.mixes:
        unknown = set(args.mixes.split(",")) - set(MIXES)
        if unknown:
            raise SystemExit(f"unknown mixes {sorted(unknown)}; known: {MIXES}")
        MIXES[:] = [m for m in MIXES if m in args.mixes.split(",")]
    env = dict(os.environ, LD_LIBRARY_PATH=args.llama_bin)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = fx.build_logits_tool(args, work)
        folders = {}
        for name, source, outtype in [] if args.families else [("tiny-f32", "attn-first-f32", "f32"), ("tiny-f16", "mixed-gqa3-f16", "f16"),
                                      ("tiny-bf16", "mixed-gqa2-bf16", "bf16")]:
            folder = work / name
            shutil.copytree(fx.LFM2_FIXTURES / source, folder)
            (folder / "expected.json").unlink()
            fx.write_tokenizer(folder, fx.tiny_tokenizer(json.loads((folder / "config.json").read_text())["vocab_size"]))
            folders[name] = (folder, True)
        if not args.families:
            h256 = work / "h256"
            fx.h256_checkpoint(h256)
            fx.write_tokenizer(h256, fx.tiny_tokenizer(320))
            folders["h256"] = (h256, True)

        def check(label, ours, theirs, logits=True):
            nonlocal failures
            problems = compare(ours, theirs)
            if logits and not problems:
                a = fx.llama_logits(exe, ours, fx.PROMPT, 3)
                b = fx.llama_logits(exe, theirs, fx.PROMPT, 3)
                if a != b:
                    problems.append("llama.cpp logits on our file differ from its logits on its own file")
            elif logits:
                fx.llama_logits(exe, ours, fx.PROMPT, 3)  # must at least load and run
            status = "OK" if not problems else "DIFFERENT"
            print(f"{label}: {status}")
            for p in problems[:8]:
                print("   ", p)
            failures += bool(problems)

        if args.families:
            check_families(args, work, env, check)
            print("all identical" if failures == 0 else f"{failures} differences")
            sys.exit(1 if failures else 0)
        for name, (folder, tiny) in ({} if args.tokenizer_only else folders).items():
            for outtype in ["f32", "f16", "bf16"]:
                theirs = work / f"{name}-{outtype}-llamacpp.gguf"
                ours = work / f"{name}-{outtype}-lfm.gguf"
                if args.quantize_only:
                    if outtype == "f32" and name in ("h256", "tiny-f16"):
                        fx.convert(args, folder, theirs, outtype, tiny=tiny)
                    continue
                fx.convert(args, folder, theirs, outtype, tiny=tiny)
                run([args.lfm, "convert", folder, ours, "--type", outtype])
                check(f"convert {name} {outtype}", ours, theirs)
        # Quantization mixes on the hidden-256 model (all rows whole k-blocks) and on a tiny one (fallbacks).
        for name in [] if args.tokenizer_only else ["h256", "tiny-f16"]:
            check_mixes(args, work, env, check, name, folders[name][0], logits=name == "h256")
        if args.quantize_only:
            print("all identical" if failures == 0 else f"{failures} differences")
            sys.exit(1 if failures else 0)
        # The real LFM2 tokenizer: tokenizer.ggml.* and chat template.
        folder = work / "real-tokenizer"
        folder.mkdir()
        import torch
        from transformers import Lfm2Config, Lfm2ForCausalLM
        cfg = Lfm2Config(vocab_size=65536, hidden_size=32, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=1, num_key_value_heads=1, max_position_embeddings=128000,
                         pad_token_id=0, bos_token_id=1, eos_token_id=7, tie_word_embeddings=True,
                         block_auto_adjust_ff_dim=False, layer_types=["conv", "full_attention"])
        torch.manual_seed(0)
        Lfm2ForCausalLM(cfg).to(torch.float16).save_pretrained(folder)
        shutil.copy(fx.SHARED / "tokenizer.json", folder / "tokenizer.json")
        shutil.copy(fx.SHARED / "chat_template.jinja", folder / "chat_template.jinja")
        (folder / "tokenizer_config.json").write_text(json.dumps({
            "bos_token": "<|startoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|pad|>",
            "add_bos_token": True, "add_eos_token": False}))
        theirs = work / "real-llamacpp.gguf"
        ours = work / "real-lfm.gguf"
        fx.convert(args, folder, theirs, "f16", tiny=False)
        run([args.lfm, "convert", folder, ours, "--type", "f16"])
        check("convert real-tokenizer f16", ours, theirs, logits=False)
        fx.llama_logits(exe, ours, [1, 2, 3], 1)
    print("all identical" if failures == 0 else f"{failures} differences")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
