#!/usr/bin/env python3
"""The edge claim, measured: LFM2-350M against a Llama of the same size and Qwen3-0.6B, at growing context depths,
in our engine and in llama.cpp, on the same GGUF files.

Models (random weights, real shapes): Benchmarks/make_random_lfm2.py --size 350m and
Benchmarks/make_random_transformer.py (llama-350m, qwen3-0.6b), all under --models:
    <models>/lfm2-350m-gguf/lfm2-350m-<type>.gguf, <models>/llama-350m-gguf/llama-350m-<type>.gguf,
    <models>/qwen3-0.6b-gguf/qwen3-0.6b-<type>.gguf

Usage:
    python3 Benchmarks/edge/edge_claim.py --lfm .build-release/release/lfm --llama-build /root/llamacpp-build \
        --models /root/models [--type q8_0] [--kv-type f32] [--depths 0,1024,4096,8192,16384,32768] \
        [-p 512] [-n 128] [-t 2] [--engines ours,llama.cpp] [--out DIR]
    python3 Benchmarks/edge/edge_claim.py --render DIR1/results.jsonl [DIR2/results.jsonl ...] [--out DIR]
        (no runs: the table and plot of earlier runs' results, e.g. one run per model, taken together)

For every model, engine and depth D, one process runs prefill of P tokens and generation of N tokens after D
tokens already in the context (`lfm bench -d D`, `llama-bench -d D`, one repetition each, flash attention on
for llama.cpp, the same KV type: --kv-type for ours, -ctk/-ctv for llama.cpp, except that llama-bench has no F32
cache type: with --kv-type f32 it runs F16 unless --llama-kv-type says otherwise; with flash attention on, llama.cpp
casts F32 keys and values to F16 before the attention anyway). Measured per run:
    prefill and decode tokens/s          (the engines' own JSON)
    peak memory                          (the process's maximum RSS, from wait4)
    CPU-seconds per generated token      (an energy proxy: the process's user+system CPU time of a second run with
                                          -n 0 subtracted from the first, divided by N; --cpu-split off skips the
                                          second run and reports threads / decode tokens/s instead)
    KV bytes per token                   (from the model's configuration: attention layers × 2 × KV width × bytes)
The LFM2 / Llama table puts the measured decode ratio next to the one the bytes read per generated token predict:
(weights + KV bytes per token × context) of the Llama over the same for LFM2, weights = the GGUF file's size, context =
depth + n / 2 (the mean context of the generated tokens).
Energy from RAPL counters is added where /sys/class/powercap/intel-rapl:0/energy_uj is readable (not on VMs).

Writes DIR/results.jsonl (one line per run), DIR/table.md (the markdown table) and DIR/edge_claim.png (decode
speed and peak memory against depth, drawn by plot_edge.py from results.jsonl). Prints the table and, last, one
JSON line with the path of each file.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {"lfm2-350m": "lfm2-350m", "llama-350m": "llama-350m", "qwen3-0.6b": "qwen3-0.6b"}
KV_BYTES = {"f32": 4.0, "f16": 2.0, "bf16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}


def cpu_name():
    try:
        text = open("/proc/cpuinfo").read()
        model = re.search(r"^model name\s*: (.*)$", text, re.M).group(1)
        family = re.search(r"^cpu family\s*: (.*)$", text, re.M).group(1)
        mid = re.search(r"^model\s*: (.*)$", text, re.M).group(1)
        simd = "avx512" if " avx512f" in text else "avx2" if " avx2" in text else "other"
        return "%s (family %s model %s, %s)" % (model, family, mid, simd)
    except (OSError, AttributeError):
        return "unknown"


def gguf_kv(path):
    """The few GGUF metadata values needed for KV bytes per token (gguf-py from the vendored llama.cpp)."""
    from gguf import GGUFReader
    r = GGUFReader(path)
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()

    def value(key):
        f = r.fields.get("%s.%s" % (arch, key))
        if f is None:
            return None
        data = [f.parts[i].tolist() for i in f.data]
        return [x[0] if isinstance(x, list) else x for x in data]
    layers = value("block_count")[0]
    heads = value("attention.head_count")[0]
    kv = value("attention.head_count_kv")
    width = value("embedding_length")[0]
    key_len = (value("attention.key_length") or [width // heads])[0]
    kv = kv if len(kv) == layers else kv * layers
    attention_layers = sum(1 for k in kv if k > 0)
    return arch, attention_layers, max(kv) * key_len


def rapl():
    try:
        with open("/sys/class/powercap/intel-rapl:0/energy_uj") as fh:
            return int(fh.read())
    except OSError:
        return None


def run(cmd, log):
    """Runs cmd, returns (stdout text, max RSS bytes, CPU seconds, wall seconds, joules or None)."""
    e0, t0 = rapl(), time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall, e1 = time.perf_counter() - t0, rapl()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed (%s): %s" % (log, " ".join(cmd)))
    joules = (e1 - e0) / 1e6 if e0 is not None and e1 is not None and e1 >= e0 else None
    return out, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, wall, joules


def ours(args, model, depth, n, log):
    cmd = [args.lfm, "bench", "--model", model, "-p", str(args.p), "-n", str(n), "-d", str(depth), "-t", str(args.t),
           "-r", "1", "--kv-type", args.kv_type, "--json"]
    out, rss, cpu, wall, joules = run(cmd, log)
    j = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    return j.get("pp_tokens_per_s"), j.get("tg_tokens_per_s"), rss, cpu, joules


def theirs(args, model, depth, n, log):
    bench = os.path.join(args.llama_build, "bin", "llama-bench")
    cmd = [bench, "-m", model, "-p", str(args.p), "-n", str(n), "-d", str(depth), "-t", str(args.t), "-r", "1",
           "-fa", "1", "-ctk", args.llama_kv_type, "-ctv", args.llama_kv_type, "-o", "jsonl"]
    out, rss, cpu, wall, joules = run(cmd, log)
    pp = tg = None
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            if r.get("n_prompt", 0) > 0:
                pp = r["avg_ts"]
            elif r.get("n_gen", 0) > 0:
                tg = r["avg_ts"]
    return pp, tg, rss, cpu, joules


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--render", nargs="+", metavar="RESULTS",
                    help="tabulate and plot earlier results.jsonl files (later files replace earlier cells); run nothing")
    ap.add_argument("--lfm")
    ap.add_argument("--llama-build")
    ap.add_argument("--models")
    ap.add_argument("--model", action="append", choices=sorted(MODELS), help="default: all three")
    ap.add_argument("--type", default="q8_0", help="weight file type (f16, q8_0, q4_0)")
    ap.add_argument("--kv-type", default="f32", choices=sorted(KV_BYTES))
    ap.add_argument("--llama-kv-type", choices=sorted(set(KV_BYTES) - {"f32"}),
                    help="llama.cpp's -ctk/-ctv (default: --kv-type; f16 for f32, which llama-bench does not take)")
    ap.add_argument("--depths", default="0,1024,4096,8192,16384,32768")
    ap.add_argument("--engines", default="ours,llama.cpp")
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("--cpu-split", choices=["on", "off"], default="on")
    ap.add_argument("--out")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="edge-claim-")
    results_path = os.path.join(out, "results.jsonl")
    if args.render:
        # A later file's result for the same model, engine, KV type and depth replaces an earlier one.
        latest = {}
        for r in (json.loads(l) for f in args.render for l in open(f) if l.strip()):
            latest[(r["model"], r["engine"], r.get("kv_type"), r["depth"])] = r
        results = list(latest.values())
        if not results:
            sys.exit("no results in %s" % " ".join(args.render))
        os.makedirs(out, exist_ok=True)
        if os.path.abspath(results_path) not in [os.path.abspath(f) for f in args.render]:
            with open(results_path, "w") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in results)
        report(results, out, results_path)
        return
    if not (args.lfm and args.llama_build and args.models):
        ap.error("--lfm, --llama-build and --models are needed unless --render is given")
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    depths = [int(d) for d in args.depths.split(",")]
    engines = args.engines.split(",")
    args.llama_kv_type = args.llama_kv_type or ("f16" if args.kv_type == "f32" else args.kv_type)
    results = []
    cpu = cpu_name()
    print("CPU: %s; threads %d; weights %s; KV %s (llama.cpp %s)" % (cpu, args.t, args.type, args.kv_type, args.llama_kv_type),
          file=sys.stderr)
    for name in args.model or ["lfm2-350m", "llama-350m", "qwen3-0.6b"]:
        path = os.path.join(args.models, "%s-gguf" % name, "%s-%s.gguf" % (name, args.type))
        if not os.path.exists(path):
            sys.exit("missing %s (see the docstring for how to make it)" % path)
        arch, attention_layers, kv_width = gguf_kv(path)
        for depth in depths:
            for engine in engines:
                fn = ours if engine == "ours" else theirs
                kv_type = args.kv_type if engine == "ours" else args.llama_kv_type
                kv_per_token = attention_layers * 2 * kv_width * KV_BYTES[kv_type]
                tag = "%s-%s-d%d" % (name, engine, depth)
                pp, tg, rss, cpu_s, joules = fn(args, path, depth, args.n, os.path.join(out, "logs", tag + ".err"))
                if args.cpu_split == "on":
                    _, _, _, cpu0, joules0 = fn(args, path, depth, 0, os.path.join(out, "logs", tag + "-n0.err"))
                    cpu_per_token = max(cpu_s - cpu0, 0) / args.n
                    joules_per_token = (joules - joules0) / args.n if joules is not None and joules0 is not None else None
                else:
                    cpu_per_token = args.t / tg if tg else None
                    joules_per_token = None
                row = {"model": name, "arch": arch, "engine": engine, "depth": depth, "pp_tokens_per_s": pp,
                       "tg_tokens_per_s": tg, "peak_rss_bytes": rss, "kv_bytes_per_token": kv_per_token,
                       "weight_bytes": os.path.getsize(path), "n": args.n, "p": args.p,
                       "cpu_s_per_token": cpu_per_token, "joules_per_token": joules_per_token,
                       "weights": args.type, "kv_type": kv_type, "threads": args.t, "cpu": cpu}
                results.append(row)
                with open(results_path, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print("%-12s %-9s d=%-6d pp %8.1f  tg %7.2f  rss %7.1f MB  cpu/token %.4f s" % (
                    name, engine, depth, pp or 0, tg or 0, rss / 1e6, cpu_per_token or 0), file=sys.stderr, flush=True)
    report(results, out, results_path)


def report(results, out, results_path):
    """Writes table.md and the plot for `results`, prints the table and, last, the JSON line of paths."""
    first = results[0]
    lines = ["CPU: %s; threads %d; weights %s; p=%d n=%d" % (
                 first["cpu"], first["threads"], first["weights"], first.get("p", 512), first.get("n", 128)),
             "", "| model | engine | KV | depth | pp t/s | tg t/s | peak RSS MB | KV bytes/token | CPU-s/token |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append("| %s | %s | %s | %d | %.1f | %.2f | %.0f | %.0f | %.4f |" % (
            r["model"], r["engine"], r["kv_type"], r["depth"], r["pp_tokens_per_s"] or 0, r["tg_tokens_per_s"] or 0,
            r["peak_rss_bytes"] / 1e6, r["kv_bytes_per_token"], r["cpu_s_per_token"] or 0))
    # LFM2 / Llama decode ratio per engine and depth, next to the ratio of bytes read per token.
    by = {(r["model"], r["engine"], r["depth"]): r for r in results}
    engines = sorted({r["engine"] for r in results}, key=lambda e: e != "ours")
    depths = sorted({r["depth"] for r in results})

    def bytes_per_token(r):
        if "weight_bytes" not in r:
            return None
        return r["weight_bytes"] + r["kv_bytes_per_token"] * (r["depth"] + r.get("n", 128) / 2)
    ratio_lines = []
    for engine in engines:
        for depth in depths:
            a, b = by.get(("lfm2-350m", engine, depth)), by.get(("llama-350m", engine, depth))
            if a and b and a["tg_tokens_per_s"] and b["tg_tokens_per_s"]:
                measured = a["tg_tokens_per_s"] / b["tg_tokens_per_s"]
                ba, bb = bytes_per_token(a), bytes_per_token(b)
                predicted = bb / ba if ba and bb else None
                ratio_lines.append("| %s | %d | %.2fx | %s | %s | %.2fx |" % (
                    engine, depth, measured, "%.2fx" % predicted if predicted else "—",
                    "%.2f" % (measured / predicted) if predicted else "—", a["peak_rss_bytes"] / b["peak_rss_bytes"]))
    if ratio_lines:
        lines += ["", "| engine | depth | decode LFM2 / Llama | bytes per token predict | measured / predicted | peak memory LFM2 / Llama |",
                  "|---|---|---|---|---|---|"] + ratio_lines
    table = "\n".join(lines) + "\n"
    with open(os.path.join(out, "table.md"), "w") as fh:
        fh.write(table)
    print(table)
    png = os.path.join(out, "edge_claim.png")
    subprocess.run([sys.executable, os.path.join(HERE, "plot_edge.py"), results_path, png], check=False)
    print(json.dumps({"results": results_path, "table": os.path.join(out, "table.md"), "plot": png}))


if __name__ == "__main__":
    main()
