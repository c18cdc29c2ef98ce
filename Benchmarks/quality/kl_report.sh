#!/usr/bin/env bash
# Quality of quantized weights, ours vs llama.cpp on the same files: KL divergence of each
# format's next-token distributions from the F32 model's, and top-1 agreement, over the same
# positions (llama-perplexity's: whole --ctx windows, the first token replaced by BOS, the second
# half of each window scored).
#
#   Benchmarks/quality/kl_report.sh --gguf-dir /root/models/lfm2-350m-gguf --prefix lfm2-350m \
#       --llama-build /root/llamacpp-build --lfm .build/release/lfm [--types q8_0,q4_0,q4_k_m] \
#       [--text FILE] [--ctx 512] [--threads 2] [--out DIR]
#
# llama.cpp: `llama-perplexity --kl-divergence-base` on the F32 file, then `--kl-divergence` per
# format (it stores the base log-probabilities as 16-bit values and skips p < e^-16 in the sum).
# Ours: `lfm perplexity --windows second-half --kl-reference F32 --json` (double precision, every
# vocabulary entry). The default text is the GPL-3, GFDL-1.3 and Apache-2.0 licence texts from
# Debian's base-files (/usr/share/common-licenses), so nothing is downloaded or committed.
set -euo pipefail

gguf_dir=""; prefix=""; llama_build=""; lfm=""; types="q8_0,q4_0,q4_k_m"; text=""; ctx=512; threads=2; out=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --gguf-dir) gguf_dir="$2"; shift 2 ;;
        --prefix) prefix="$2"; shift 2 ;;
        --llama-build) llama_build="$2"; shift 2 ;;
        --lfm) lfm="$2"; shift 2 ;;
        --types) types="$2"; shift 2 ;;
        --text) text="$2"; shift 2 ;;
        --ctx) ctx="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ -n "$gguf_dir" && -n "$prefix" && -n "$llama_build" && -n "$lfm" ]] || {
    echo "usage: $0 --gguf-dir DIR --prefix NAME --llama-build DIR --lfm BIN [--types a,b] [--text FILE] [--ctx N] [--threads N] [--out DIR]" >&2; exit 2; }
out="${out:-$(mktemp -d /tmp/kl-report.XXXXXX)}"
mkdir -p "$out"
if [[ -z "$text" ]]; then
    text="$out/text.txt"
    cat /usr/share/common-licenses/GPL-3 /usr/share/common-licenses/GFDL-1.3 /usr/share/common-licenses/Apache-2.0 > "$text"
fi
export LD_LIBRARY_PATH="$llama_build/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
perplexity="$llama_build/bin/llama-perplexity"
base="$gguf_dir/$prefix-f32.gguf"
[[ -f "$base" ]] || { echo "missing $base" >&2; exit 1; }

echo "# load: $(uptime)" >&2
"$perplexity" -m "$base" -f "$text" -c "$ctx" -b "$ctx" -t "$threads" \
    --kl-divergence-base "$out/base.kld" > "$out/llama-f32.log" 2>&1
llama_base_ppl=$(grep -o 'Final estimate: PPL = [0-9.]*' "$out/llama-f32.log" | awk '{print $5}')

echo "| format | positions (ours / llama.cpp) | PPL ours / llama.cpp | mean KL ours | mean KL llama.cpp | KL ratio ours / llama.cpp | p99 KL ours / llama.cpp | top-1 agreement ours | top-1 agreement llama.cpp |"
echo "|---|---|---|---|---|---|---|---|---|"
IFS=, read -ra list <<< "$types"
for t in "${list[@]}"; do
    file="$gguf_dir/$prefix-$t.gguf"
    [[ -f "$file" ]] || { echo "missing $file" >&2; exit 1; }
    "$lfm" perplexity --model "$file" --file "$text" --ctx "$ctx" --windows second-half \
        --kl-reference "$base" -t "$threads" --json > "$out/ours-$t.json" 2> "$out/ours-$t.err"
    "$perplexity" -m "$file" -f "$text" -c "$ctx" -b "$ctx" -t "$threads" \
        --kl-divergence-base "$out/base.kld" --kl-divergence > "$out/llama-$t.log" 2>&1
    python3 - "$out/ours-$t.json" "$out/llama-$t.log" "$t" <<'PY'
import json, re, sys
ours = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
log = open(sys.argv[2]).read()
def grab(label):
    m = re.search(r'^' + re.escape(label) + r'\s*:?\s*([-0-9.eE+]+)', log, re.M)
    return float(m.group(1)) if m else float('nan')
kl = ours["kl"]
mean_kld = grab("Mean    KLD")
p99_kld = grab("99.0%   KLD")
same_top = grab("Same top p") / 100
ppl = grab("Mean PPL(Q)")
m = re.search(r'computing over (\d+) chunks, n_ctx=(\d+)', log)
positions = int(m.group(1)) * (int(m.group(2)) - 1 - int(m.group(2)) // 2) if m else -1
ratio = kl["mean"] / mean_kld if mean_kld == mean_kld and mean_kld > 0 else float('nan')
print(f"| {sys.argv[3]} | {kl['positions']} / {positions} | {ours['ppl']:.4f} / {ppl:.4f} | {kl['mean']:.6f} ± {kl['mean_se']:.6f} | {mean_kld:.6f} | {ratio:.3f} | {kl['p99']:.5f} / {p99_kld:.5f} | {100*kl['top1_agreement']:.2f} % | {100*same_top:.2f} % |")
PY
done
echo
echo "F32 reference PPL: ours $(python3 -c 'import json,sys; print(round(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["kl"]["reference_ppl"],4))' "$out/ours-${list[0]}.json"), llama.cpp $llama_base_ppl. Raw outputs: $out"
