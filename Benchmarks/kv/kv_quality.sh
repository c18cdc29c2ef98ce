#!/usr/bin/env bash
# Quality of compressed and bounded KV caches on a long text, ours vs llama.cpp on the same GGUF file:
# KL divergence of each KV type's (and each bounded policy's) next-token distributions from the full
# F32 cache's, perplexity and top-1 agreement, over the same positions (llama-perplexity's: one whole
# --ctx window, the first token replaced by BOS, its second half scored).
#
#   Benchmarks/kv/kv_quality.sh --model FILE.gguf --llama-build DIR --lfm BIN [--ctx 16384] [--threads 2]
#       [--types f16,bf16,q8_0,q4_0] [--llama-types f16,q8_0,q4_0] [--text FILE] [--out DIR]
#
# Ours: `lfm perplexity --windows second-half --kv-type T --kl-full-cache --json` (the reference is the
# same model with the full F32 cache; double precision over every vocabulary entry), then the bounded
# policies with F32 keys and values: streaming (--kv-sinks 4 --kv-window 1020) and prune (--kv-budget 1024).
# llama.cpp: `llama-perplexity -fa on -ctk f32 -ctv f32 --kl-divergence-base`, then `-ctk T -ctv T
# --kl-divergence` per type (it stores the base log-probabilities as 16-bit values and skips p < e^-16).
# The default text is six licence texts from Debian's base-files (/usr/share/common-licenses, ~30K tokens
# with the LFM2 tokenizer), so nothing is downloaded or committed. Prints one Markdown table.
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
# llama-perplexity wants at least 2 x ctx tokens even for one chunk: it reads the text followed by
# more licence texts and scores its first chunk only, which holds the same tokens as our first window
# (checked below).
their_text="$out/text-llama.txt"
(cat "$text"; cd /usr/share/common-licenses && cat GPL-1 LGPL-2 LGPL-3 MPL-1.1 GFDL-1.2 Artistic CC0-1.0 GPL-3 GFDL-1.3) > "$their_text"
python3 - "$lfm" "$model" "$text" "$their_text" "$ctx" <<'PY'
import json, subprocess, sys
lfm, model, a, b, ctx = sys.argv[1:6]
ids = [json.loads(subprocess.run([lfm, "tokenize", "--model", model, "--file", f, "--json"], check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1])["ids"] for f in (a, b)]
n = int(ctx)
if len(ids[0]) + 1 < n or len(ids[0]) + 1 >= 2 * n:
    sys.exit(f"the text has {len(ids[0])} tokens: one window of {n} needs between {n - 1} and {2 * n - 2}")
if len(ids[1]) + 1 < 2 * n or ids[0][:n] != ids[1][:n]:
    sys.exit("llama.cpp's text does not start with the same window of tokens")
print(f"# text: {len(ids[0])} tokens (one window of {n}); llama.cpp's text {len(ids[1])} tokens, same first window", file=sys.stderr)
PY
export LD_LIBRARY_PATH="$llama_build/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
perplexity="$llama_build/bin/llama-perplexity"
batch=$(( ctx < 2048 ? ctx : 2048 ))
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(uptime)" >&2

ours() {  # name, lfm flags...
    local name="$1"; shift
    echo "# ours $name: $(date -u +%T)" >&2
    "$lfm" perplexity --model "$model" --file "$text" --ctx "$ctx" --windows second-half --kl-full-cache \
        -t "$threads" --json "$@" > "$out/ours-$name.json" 2> "$out/ours-$name.err" \
        || { cat "$out/ours-$name.err" >&2; exit 1; }
}
theirs() {  # type, extra flags...
    local t="$1"; shift
    echo "# llama.cpp $t: $(date -u +%T)" >&2
    "$perplexity" -m "$model" -f "$their_text" --chunks 1 -c "$ctx" -b "$batch" -t "$threads" -fa on -ctk "$t" -ctv "$t" \
        --kl-divergence-base "$out/base.kld" "$@" > "$out/llama-$t.log" 2>&1 \
        || { tail -20 "$out/llama-$t.log" >&2; exit 1; }
}

theirs f32
IFS=, read -ra our_list <<< "$types"
IFS=, read -ra their_list <<< "$llama_types"
for t in "${our_list[@]}"; do ours "$t" --kv-type "$t"; done
ours streaming --kv-policy streaming --kv-sinks 4 --kv-window 1020
ours prune --kv-policy prune --kv-budget 1024
for t in "${their_list[@]}"; do theirs "$t" --kl-divergence; done

python3 - "$out" "$types,streaming,prune" "$llama_types" <<'PY'
import json, re, sys, os
out, ours_list, theirs_list = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
def ours(name):
    return json.loads(open(f"{out}/ours-{name}.json").read().strip().splitlines()[-1])
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
ref = ours(ours_list[0])["kl"]["reference_ppl"]
print()
print(f"Full F32 cache PPL over the same positions: ours {ref:.4f}, llama.cpp {llama_base:.4f}. Raw outputs: {out}")
PY
