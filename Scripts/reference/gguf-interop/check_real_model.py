"""Checks `lfm convert`, `lfm quantize` and the forward pass on a real LFM2 checkpoint against llama.cpp.

Same pinned tools as make_interop_fixtures.py; needs a release `lfm` (swift build -c release --product lfm)
and a folder with the Hugging Face checkpoint plus llama.cpp's GGUF files of it:

    /root/venv-ref/bin/python Scripts/reference/gguf-interop/check_real_model.py \
        --llama-cpp /root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp --llama-bin /root/llamacpp-build/bin \
        --lfm .build/release/lfm --hf /root/models/lfm2-350m-bf16 --gguf-dir /root/models/lfm2-350m-gguf --name lfm2-350m

1. `lfm convert HF --type bf16` against llama.cpp's `<name>-bf16.gguf` (metadata, names, types, bytes).
2. `lfm quantize <name>-f32.gguf --type T` against llama-quantize's `<name>-<t>.gguf` for the given mixes.
3. Mean NLL of a text under `lfm perplexity` (one window) and under llama.cpp's logits on the same ids,
   for each GGUF file given with --nll.
"""
import argparse, json, math, os, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_interop_fixtures as fx  # noqa: E402
from check_lfm_outputs import compare  # noqa: E402

TEXT = ("The Liquid Foundation Models are a family of hybrid language models. They combine short "
        "convolutions with grouped-query attention, which keeps memory small on phones and laptops. "
        "In 2025 the team released checkpoints of 350M, 700M and 1.2B parameters.")


def timed(cmd):
    start = time.time()
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{res.stderr[-2000:]}")
    return res.stdout, time.time() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--llama-bin", required=True)
    ap.add_argument("--lfm", required=True)
    ap.add_argument("--hf", required=True)
    ap.add_argument("--gguf-dir", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--mixes", default="q4_k_m,q8_0,q4_0")
    ap.add_argument("--nll", default="f32,q4_k_m")
    ap.add_argument("--skip-convert", action="store_true")
    args = ap.parse_args()
    gdir = Path(args.gguf_dir)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = fx.build_logits_tool(args, work)
        if not args.skip_convert:
            ours = work / "convert-bf16.gguf"
            _, seconds = timed([args.lfm, "convert", args.hf, ours, "--type", "bf16"])
            problems = compare(ours, gdir / f"{args.name}-bf16.gguf")
            print(f"convert bf16 ({seconds:.1f} s): {'OK' if not problems else 'DIFFERENT'}")
            for p in problems[:10]:
                print("   ", p)
            ours.unlink()
        for mix in [m for m in args.mixes.split(",") if m]:
            ours = work / f"{mix}.gguf"
            _, seconds = timed([args.lfm, "quantize", gdir / f"{args.name}-f32.gguf", ours, "--type", mix])
            problems = compare(ours, gdir / f"{args.name}-{mix}.gguf")
            print(f"quantize {mix} ({seconds:.1f} s): {'OK' if not problems else 'DIFFERENT'}")
            for p in problems[:10]:
                print("   ", p)
            ours.unlink()
        text = work / "text.txt"
        text.write_text(TEXT)
        for kind in [k for k in args.nll.split(",") if k]:
            path = gdir / f"{args.name}-{kind}.gguf"
            ids = [1] + json.loads(timed([args.lfm, "tokenize", "--model", path, "--file", text, "--json"])[0])["ids"]
            out, _ = timed([args.lfm, "perplexity", "--model", path, "--file", text, "--ctx", str(len(ids)), "--json", "-t", "2"])
            ours = json.loads(out)
            ref = fx.llama_logits(exe, path, ids, 1)
            logits = np.array(ref["prompt_logits"], dtype=np.float64)
            m = logits.max(axis=1, keepdims=True)
            logp = logits - (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))
            nll = -float(np.mean([logp[i - 1, ids[i]] for i in range(1, len(ids))]))
            print(f"NLL {kind}: lfm {ours['nll']:.6f} ({ours['tokens']} tokens), llama.cpp {nll:.6f}, "
                  f"difference {abs(ours['nll'] - nll):.2e}")


if __name__ == "__main__":
    main()
