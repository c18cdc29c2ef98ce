#!/usr/bin/env bash
# Quality of compressed and bounded KV caches on a long text, ours vs llama.cpp on the same GGUF file:
# KL divergence of each KV type's (and each bounded policy's) next-token distributions from the full
# F32 cache's, perplexity and top-1 agreement, over the same positions (llama-perplexity's: whole
# --ctx windows, the first token of each replaced by BOS, their second halves scored).
#
#   Benchmarks/kv/kv_quality.sh --model FILE.gguf --llama-build DIR --lfm BIN [--ctx 16384] [--threads 2]
#       [--types f16,bf16,q8_0,q4_0] [--llama-types f16,q8_0,q4_0] [--text FILE] [--out DIR]
#
# Ours: one `lfm perplexity --windows second-half --kv-compare TYPES,streaming,prune --json` run: every KV
# type and the two bounded policies (F32 keys and values; streaming --kv-sinks 4 --kv-window 1020, prune
# --kv-budget 1024) side by side with one full-F32-cache pass as the reference (double precision over
# every vocabulary entry).
# llama.cpp: `llama-perplexity -fa off -ctk f32 -ctv f32 --kl-divergence-base`, then `-fa on -ctk T -ctv T
# --kl-divergence` per type (it stores the base log-probabilities as 16-bit values and skips p < e^-16).
# The base runs without flash attention because with it llama.cpp casts F32 keys and values to F16 before
# the attention (src/llama-graph.cpp, build_attn_mha), so `-fa on -ctk f32` is an F16 computation.
# The default text is six licence texts from Debian's base-files (/usr/share/common-licenses, ~30K tokens
# with the LFM2 tokenizer), so nothing is downloaded or committed. A text of at least 2 x ctx tokens is
# cut into floor(tokens / ctx) windows by both engines alike; a shorter one (at least ctx) gives one
# window, and llama-perplexity (which wants 2 x ctx tokens) then reads it followed by more licence texts
# with --chunks 1 (its first window is checked to hold the same tokens). Prints one Markdown table.
set -euo pipefail

model=""; llama_build=""; lfm=""; ctx=16384; threads=2; types="f16,bf16,q8_0,q4_0"; llama_types="f16,q8_0,q4_0"; text=""; out=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) model="$2"; shift 2 ;;
        --llama-build) llama_build="$2"; shift 2 ;;
        --lfm) lfm="$2"; shift 2 ;;
        --ctx) ctx="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --types) types="$2"; shift 2 ;;
        --llama-types) llama_types="$2"; shift 2 ;;
        --text) text="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ -n "$model" && -n "$llama_build" && -n "$lfm" ]] || {
    echo "usage: $0 --model FILE.gguf --llama-build DIR --lfm BIN [--ctx N] [--threads N] [--types a,b] [--llama-types a,b] [--text FILE] [--out DIR]" >&2; exit 2; }
out="${out:-$(mktemp -d /tmp/kv-quality.XXXXXX)}"
mkdir -p "$out"
if [[ -z "$text" ]]; then
    text="$out/text.txt"
    (cd /usr/share/common-licenses && cat GPL-3 GFDL-1.3 Apache-2.0 GPL-2 LGPL-2.1 MPL-2.0) > "$text"
fi
their_text="$out/text-llama.txt"
(cat "$text"; cd /usr/share/common-licenses && cat GPL-1 LGPL-2 LGPL-3 MPL-1.1 GFDL-1.2 Artistic CC0-1.0 GPL-3 GFDL-1.3) > "$their_text"
chunks=$(python3 - "$lfm" "$model" "$text" "$their_text" "$ctx" <<'PY'
import json, subprocess, sys
lfm, model, a, b, ctx = sys.argv[1:6]
def ids(path):
    out = subprocess.run([lfm, "tokenize", "--model", model, "--file", path, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["ids"]
ours, n = ids(a), int(ctx)
if len(ours) + 1 >= 2 * n:  # BOS + the text: whole windows for both engines
    print(f"# text: {len(ours)} tokens, {(len(ours) + 1) // n} windows of {n} for both engines", file=sys.stderr)
    print(0)
    sys.exit()
theirs = ids(b)
if len(ours) + 1 < n:
    sys.exit(f"the text has {len(ours)} tokens: one window of {n} needs at least {n - 1}")
if len(theirs) + 1 < 2 * n or ours[:n] != theirs[:n]:
    sys.exit("llama.cpp's text does not start with the same window of tokens")
print(f"# text: {len(ours)} tokens (one window of {n}); llama.cpp's text {len(theirs)} tokens, same first window", file=sys.stderr)
print(1)
PY
)
if [[ "$chunks" == 0 ]]; then their_text="$text"; chunk_flags=(); else chunk_flags=(--chunks 1); fi
export LD_LIBRARY_PATH="$llama_build/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
perplexity="$llama_build/bin/llama-perplexity"
batch=$(( ctx < 2048 ? ctx : 2048 ))
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(uptime)" >&2

ours() {  # lfm flags...
    echo "# ours: $(date -u +%T)" >&2
    "$lfm" perplexity --model "$model" --file "$text" --ctx "$ctx" --windows second-half -t "$threads" --json "$@" \
        > "$out/ours.json" 2> "$out/ours.err" || { cat "$out/ours.err" >&2; exit 1; }
}
theirs() {  # type, flash attention on|off, extra flags...
    local t="$1" fa="$2"; shift 2
    echo "# llama.cpp $t: $(date -u +%T)" >&2
    "$perplexity" -m "$model" -f "$their_text" "${chunk_flags[@]}" -c "$ctx" -b "$batch" -t "$threads" -fa "$fa" -ctk "$t" -ctv "$t" \
        --kl-divergence-base "$out/base.kld" "$@" > "$out/llama-$t.log" 2>&1 \
        || { tail -20 "$out/llama-$t.log" >&2; exit 1; }
}

theirs f32 off
IFS=, read -ra their_list <<< "$llama_types"
ours --kv-compare "$types,streaming,prune" --kv-sinks 4 --kv-window 1020 --kv-budget 1024
for t in "${their_list[@]}"; do theirs "$t" on --kl-divergence; done

python3 - "$out" "$types,streaming,prune" "$llama_types" <<'PY'
import json, re, sys, os
out, ours_list, theirs_list = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
report = json.loads(open(f"{out}/ours.json").read().strip().splitlines()[-1])
def ours(name):
    policy = name if name in ("streaming", "prune") else "full"
    kv_type = "f32" if policy != "full" else name
    return next(c for c in report["caches"] if c["kv_type"] == kv_type and c["kv_policy"].split("(")[0].split(" ")[0] == policy)
def theirs(t):
    path = f"{out}/llama-{t}.log"
    if not os.path.exists(path):
        return None
    log = open(path).read()
    def grab(label):
        m = re.search(r'^' + re.escape(label) + r'\s*:?\s*([-0-9.eE+]+)', log, re.M)
        return float(m.group(1)) if m else float('nan')
    return {"mean": grab("Mean    KLD"), "p99": grab("99.0%   KLD"), "top1": grab("Same top p") / 100, "ppl": grab("Mean PPL(Q)")}
base_log = open(f"{out}/llama-f32.log").read()
m = re.search(r'Final estimate: PPL = ([0-9.]+)', base_log)
llama_base = float(m.group(1)) if m else float('nan')
print("| KV cache | positions | PPL ours / llama.cpp | mean KL ours | mean KL llama.cpp | KL ratio ours / llama.cpp | p99 KL ours / llama.cpp | top-1 agreement ours / llama.cpp |")
print("|---|---|---|---|---|---|---|---|")
for name in ours_list:
    o = ours(name); kl = o["kl"]
    t = theirs(name) if name in theirs_list else None
    label = {"streaming": "F32, streaming 4 + 1020", "prune": "F32, prune 1024"}.get(name, name)
    if t:
        ratio = kl["mean"] / t["mean"] if t["mean"] > 0 else float('nan')
        print(f"| {label} | {kl['positions']} | {o['ppl']:.4f} / {t['ppl']:.4f} | {kl['mean']:.3g} ± {kl['mean_se']:.2g} | {t['mean']:.6f} | {ratio:.3f} | {kl['p99']:.3g} / {t['p99']:.5f} | {100*kl['top1_agreement']:.2f} % / {100*t['top1']:.2f} % |")
    else:
        print(f"| {label} | {kl['positions']} | {o['ppl']:.4f} / — | {kl['mean']:.3g} ± {kl['mean_se']:.2g} | — | — | {kl['p99']:.3g} / — | {100*kl['top1_agreement']:.2f} % / — |")
ref = report["reference_ppl"]
print()
print(f"Full F32 cache PPL over the same positions: ours {ref:.4f}, llama.cpp {llama_base:.4f}. Raw outputs: {out}")
PY
