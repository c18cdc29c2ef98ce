#!/usr/bin/env python3
"""Inference speed side by side: `lfm bench` against transformers on the CPU, same Hugging Face folder.

Pinned: torch==2.13.0+cpu, transformers==5.24.0 (/root/venv-ref). Usage:
    /root/venv-ref/bin/python Benchmarks/compare_transformers.py --lfm .build-release/release/lfm \
        --model /root/models/lfm3-1.7b-bf16 [--model /root/models/lfm3-1.7b-f32] [-p 512] [-n 128] [-t 2] [-r 3]

Each repetition runs ours (`lfm bench --model DIR -p P -n N -t T -r 1 --json`, a subprocess) and then
transformers in this process, alternately, so slow drifts of a shared machine hit both alike. transformers:
the model loaded with the folder's own dtype (config `torch_dtype`), `torch.set_num_threads(T)`,
inference mode; prefill = one forward over P random token ids (the logits of every position, as
`lfm bench` computes only the last: transformers' `logits_to_keep=1` is used so both compute one row);
decode = N single-token forwards with the returned cache (greedy token of the previous step), timed as
a whole. One warm-up forward of 8 tokens precedes the first repetition.

The read-bandwidth roofline of our decode: tg / (bandwidth / bytes of weights per token), bytes = the
safetensors data (a tied embedding counted once, as the output head), bandwidth from
Benchmarks/read_bandwidth.c (built with cc; T threads) measured before every repetition with a buffer of the
model's size, up to 1 GiB (BW_MIB=<MiB> fixes it), the best of them used, as Benchmarks/compare_llamacpp.sh does.

Prints a markdown table (median and range per engine, median of per-repetition ratios ours/theirs) and,
last, one JSON line with every figure.
"""
import argparse
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            text = fh.read()
        model = re.search(r"^model name\s*: (.*)$", text, re.M)
        family = re.search(r"^cpu family\s*: (.*)$", text, re.M)
        mid = re.search(r"^model\s*: (.*)$", text, re.M)
        simd = "avx512" if " avx512f" in text else "avx2" if " avx2" in text else "other"
        return "%s (family %s model %s, %s)" % (model.group(1), family.group(1), mid.group(1), simd)
    except (OSError, AttributeError):
        return platform.processor() or "unknown"


def weight_bytes(folder):
    total = 0
    for f in glob.glob(os.path.join(folder, "*.safetensors")):
        with open(f, "rb") as fh:
            header = int.from_bytes(fh.read(8), "little")
        total += os.path.getsize(f) - 8 - header
    return total


def bandwidth(probe, threads, model_bytes):
    """The probe's best GB/s over a buffer of the model's size (64 MiB to 1 GiB: beyond that, DRAM alone), or
    BW_MIB MiB if set."""
    mib = os.environ.get("BW_MIB") or str(min(1024, max(64, (model_bytes + (1 << 20) - 1) >> 20)))
    out = subprocess.run([probe, str(threads), mib], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^best ([0-9.]+) GB/s", out, re.M)
    if not m:
        sys.exit("read_bandwidth printed no GB/s figure:\n" + out)
    return float(m.group(1))


def ours(lfm, model, p, n, t):
    res = subprocess.run([lfm, "bench", "--model", model, "-p", str(p), "-n", str(n), "-t", str(t), "-r", "1",
                          "--json"], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit("lfm bench failed:\n" + res.stderr[-2000:])
    line = [l for l in res.stdout.splitlines() if l.startswith("{")][-1]
    j = json.loads(line)
    return j["pp_tokens_per_s"], j["tg_tokens_per_s"], j.get("isa", "?")


class Theirs:
    def __init__(self, folder, threads):
        torch.set_num_threads(threads)
        self.model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
        self.model.eval()
        self.vocab = self.model.config.vocab_size
        self.gen = torch.Generator().manual_seed(1)
        with torch.inference_mode():
            self.model(torch.randint(0, self.vocab, (1, 8), generator=self.gen), use_cache=True, logits_to_keep=1)

    def run(self, p, n):
        ids = torch.randint(0, self.vocab, (1, p), generator=self.gen)
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = self.model(ids, use_cache=True, logits_to_keep=1)
            t1 = time.perf_counter()
            cache = out.past_key_values
            token = out.logits[:, -1:].argmax(-1)
            t2 = time.perf_counter()
            for _ in range(n):
                out = self.model(token, past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                token = out.logits[:, -1:].argmax(-1)
            t3 = time.perf_counter()
        return p / (t1 - t0), n / (t3 - t2)


def fmt(xs):
    return "%.1f (%.1f–%.1f)" % (statistics.median(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfm", required=True)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=3)
    args = ap.parse_args()
    probe = os.path.join(tempfile.mkdtemp(), "read_bandwidth")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-pthread", os.path.join(HERE, "read_bandwidth.c"), "-o", probe],
                   check=True)
    print("CPU: %s; threads %d; torch %s, transformers %s" % (cpu_name(), args.t, torch.__version__,
                                                              transformers.__version__))
    print()
    print("| model | pp%d ours | pp%d transformers | pp ratio | tg%d ours | tg%d transformers | tg ratio | "
          "tg %% roofline ours |" % (args.p, args.p, args.n, args.n))
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for folder in args.model:
        theirs = Theirs(folder, args.t)
        bytes_per_token = weight_bytes(folder)
        opp, otg, tpp, ttg, bws, isas = [], [], [], [], [], set()
        for _ in range(args.r):
            bws.append(bandwidth(probe, args.t, bytes_per_token))
            a, b, isa = ours(args.lfm, folder, args.p, args.n, args.t)
            c, d = theirs.run(args.p, args.n)
            opp.append(a); otg.append(b); tpp.append(c); ttg.append(d); isas.add(isa)
        del theirs
        bw = max(bws)
        roof = statistics.median(otg) / (bw * 1e9 / bytes_per_token) * 100
        ppr = statistics.median([a / c for a, c in zip(opp, tpp)])
        tgr = statistics.median([b / d for b, d in zip(otg, ttg)])
        name = os.path.basename(os.path.normpath(folder))
        print("| %s | %s | %s | %.2fx | %s | %s | %.2fx | %.0f %% |" % (name, fmt(opp), fmt(tpp), ppr, fmt(otg), fmt(ttg),
                                                                      tgr, roof), flush=True)
        results.append({"model": name, "ours_pp": opp, "theirs_pp": tpp, "ours_tg": otg, "theirs_tg": ttg,
                        "pp_ratio": ppr, "tg_ratio": tgr, "bandwidth_gbs": bws, "weight_bytes": bytes_per_token,
                        "tg_roofline_percent": roof, "isa": sorted(isas)})
    print()
    print(json.dumps({"cpu": cpu_name(), "threads": args.t, "p": args.p, "n": args.n, "results": results}))


if __name__ == "__main__":
    main()
