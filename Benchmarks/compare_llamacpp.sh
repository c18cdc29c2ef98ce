#!/usr/bin/env bash
# Side-by-side prefill/decode speed: our `lfm bench` vs llama.cpp's `llama-bench`, same model, same threads.
#
# Usage:
#   Benchmarks/compare_llamacpp.sh --models /root/models --llama-build /root/llamacpp-build --lfm /path/to/lfm \
#       [--size 350m] [-r 5] [-t 2] [-p 512] [-n 128] [--rows f32,f32-f16,bf16] [--out DIR] [--bw measure|GB/s]
#       [--name NAME] [--isa avx512|avx2|portable]
#
# Models come from Benchmarks/make_random_lfm2.py (--out /root/models): <models>/lfm2-<size>-f32,
# <models>/lfm2-<size>-bf16 (HF folders) and <models>/lfm2-<size>-gguf/lfm2-<size>-<type>.gguf.
# --name NAME replaces the "lfm2-<size>" prefix for other families (Benchmarks/make_random_transformer.py:
# --name qwen3-0.6b reads <models>/qwen3-0.6b-gguf/qwen3-0.6b-<type>.gguf).
# --isa runs ours on a slower kernel path this CPU also has (`lfm bench --isa`), e.g. the AVX2 path on an
# AVX-512 machine against a llama.cpp built without AVX-512 (-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF);
# on a CPU with AVX-VNNI that path uses it, and LFM_ASSUME_AVXVNNI=0 in the environment runs plain AVX2.
#
# Rows (--rows, comma list):
#   f32      ours: lfm2-S-f32 (HF, F32)          theirs: lfm2-S-f32.gguf
#   f32-f16  ours: lfm2-S-f32 (HF, F32)          theirs: lfm2-S-f16.gguf   (llama.cpp's usual "full precision")
#   bf16     ours: lfm2-S-bf16 (HF, BF16)        theirs: lfm2-S-bf16.gguf
#   q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k_m, q4_k_m, q5_k_m, q6_k, iq4_nl, iq4_xs, f16-gguf
#            ours: the same GGUF file            theirs: the same GGUF file (needs GGUF support in `lfm`)
#
# Each repetition runs ours once, then theirs once (-r 1 each), R times, so slow drifts of this shared
# machine hit both engines alike. Contract of `lfm bench ... --json`: its last JSON line is
#   {"pp_tokens_per_s": .., "pp_sd": .., "tg_tokens_per_s": .., "tg_sd": .., "isa": ".."}
# llama-bench is run with `-o jsonl` (one line per test: pp<P> then tg<N>, field avg_ts).
#
# Output: a markdown table on stdout (median and range over the R repetitions, the median of the paired
# per-repetition ratios ours/theirs, and the decode
# roofline: measured tg / (bandwidth / bytes of weights read per token), where the bytes are every weight
# once, the tied embedding counted once as the output head, and the bandwidth is read with a buffer of the
# model's size, or BW_MIB MiB if set). Raw outputs are kept in --out.
# Every table is preceded by a line naming the CPU model, its SIMD class (avx512 / avx2 / other) and
# the ISA paths used: ours (the "isa" field of `lfm bench --json`) and the bandwidth probe's loop.
set -euo pipefail

MODELS=""; LLAMA_BUILD=""; LFM=""; SIZE="350m"; REPS=5; THREADS=2; NP=512; NG=128
ROWS="f32,f32-f16,bf16"; OUT=""; BW=measure; NAME=""; ISA_ARGS=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --models) MODELS="$2"; shift 2 ;;
    --llama-build) LLAMA_BUILD="$2"; shift 2 ;;
    --lfm) LFM="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    -r) REPS="$2"; shift 2 ;;
    -t) THREADS="$2"; shift 2 ;;
    -p) NP="$2"; shift 2 ;;
    -n) NG="$2"; shift 2 ;;
    --rows) ROWS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --bw) BW="$2"; shift 2 ;;
    --name) NAME="$2"; shift 2 ;;
    --isa) ISA_ARGS=(--isa "$2"); shift 2 ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

die() { echo "error: $*" >&2; exit 1; }
[[ -n "$MODELS" && -n "$LLAMA_BUILD" && -n "$LFM" ]] || die "--models, --llama-build and --lfm are required (see --help)"
BENCH="$LLAMA_BUILD/bin/llama-bench"
[[ -x "$BENCH" ]] || die "llama-bench not found at $BENCH"
[[ -x "$LFM" ]] || die "lfm binary not executable: $LFM"
[[ -z "$OUT" ]] && OUT="$(mktemp -d /tmp/lfm-vs-llamacpp.XXXXXX)"
mkdir -p "$OUT/raw"

[[ -z "$NAME" ]] && NAME="lfm2-$SIZE"
G="$MODELS/$NAME-gguf/$NAME"
ours_model() {
  case "$1" in
    f32|f32-f16) echo "$MODELS/$NAME-f32" ;;
    bf16) echo "$MODELS/$NAME-bf16" ;;
    q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k_m|q4_k_m|q5_k_m|q6_k|iq4_nl|iq4_xs) echo "$G-$1.gguf" ;;
    f16-gguf) echo "$G-f16.gguf" ;;
    *) die "unknown row $1" ;;
  esac
}
theirs_model() {
  case "$1" in
    f32) echo "$G-f32.gguf" ;;
    f32-f16|f16-gguf) echo "$G-f16.gguf" ;;
    bf16) echo "$G-bf16.gguf" ;;
    q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k_m|q4_k_m|q5_k_m|q6_k|iq4_nl|iq4_xs) echo "$G-$1.gguf" ;;
    *) die "unknown row $1" ;;
  esac
}

IFS=',' read -r -a ROW_LIST <<< "$ROWS"
for row in "${ROW_LIST[@]}"; do
  [[ -e "$(ours_model "$row")" ]] || die "missing model for ours ($row): $(ours_model "$row")"
  [[ -e "$(theirs_model "$row")" ]] || die "missing model for llama.cpp ($row): $(theirs_model "$row")"
done

CPU_MODEL="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)"
[[ -n "$CPU_MODEL" ]] || CPU_MODEL="$(uname -m)"
CPU_FAMILY="$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)"
CPU_MODEL_ID="$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)"
[[ -n "$CPU_FAMILY" ]] && CPU_MODEL="$CPU_MODEL, family $CPU_FAMILY model $CPU_MODEL_ID"
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then CPU_CLASS=avx512
elif grep -qw avx2 /proc/cpuinfo 2>/dev/null; then CPU_CLASS=avx2
else CPU_CLASS=other; fi
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm); cpus: $(nproc); cpu: $CPU_MODEL ($CPU_CLASS)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "llama.cpp: $("$BENCH" --version 2>&1 | head -2 | tr '\n' ' ')"
  echo "args: model=$NAME reps=$REPS threads=$THREADS p=$NP n=$NG rows=$ROWS bw=$BW"
} > "$OUT/meta.txt"

# --bw measure (the default): the machine's read bandwidth with the same thread count, measured
# by Benchmarks/read_bandwidth.c before every row of every repetition (it varies with the host's other tenants:
# about 44 or about 80 GB/s on 2 threads here), so the roofline columns use the bandwidth of the same run.
# The probe picks its loop at run time (AVX-512, AVX2 or portable C), so a plain build runs on any CPU.
# The probe reads a buffer as large as the row's model file (ours), so the roofline sees the same cache
# hierarchy a decode step does: where the last-level cache is a large part of a model (an L3 of 260 MiB
# against a 230 MB file), a 1 GiB probe reads DRAM alone while the decode is partly served by L3, and
# the roofline comes out above 100 %. Each row's roofline uses the best of its own probes.
# BW_MIB=<MiB> probes every row with one fixed buffer instead (BW_MIB=1024: the DRAM bandwidth alone).
BW_LOOP="-"
# probe_mib ROW: the probe's buffer in MiB for ROW (BW_MIB, or ours' model size: the GGUF file, or the
# safetensors files of an HF folder), from 64 to 1024 (a larger buffer reads DRAM alone just the same).
probe_mib() {
  if [[ -n "${BW_MIB:-}" ]]; then echo "$BW_MIB"; return; fi
  local m bytes=0 f
  m="$(ours_model "$1")"
  if [[ -d "$m" ]]; then
    for f in "$m"/*.safetensors; do [[ -e "$f" ]] && bytes=$((bytes + $(wc -c < "$f"))); done
  else
    bytes=$(($(wc -c < "$m")))
  fi
  local mib=$(( (bytes + (1 << 20) - 1) >> 20 ))
  (( mib < 64 )) && mib=64
  (( mib > 1024 )) && mib=1024
  echo "$mib"
}
if [[ "$BW" == measure ]]; then
  CC="${CC:-cc}"
  "$CC" -O2 -pthread "$(dirname "$0")/read_bandwidth.c" -o "$OUT/read_bandwidth" 2> "$OUT/read_bandwidth.err" \
    || die "could not build read_bandwidth.c with $CC (see $OUT/read_bandwidth.err); pass --bw GB/s instead"
fi
# measure_bw REP ROW MIB: one line "REP ROW GB/s MIB" in raw/bandwidth.txt (the probe's output in
# raw/bandwidth-REP-ROW.txt).
measure_bw() {
  [[ "$BW" == measure ]] || return 0
  local gbs log="$OUT/raw/bandwidth-$1-$2.txt"
  "$OUT/read_bandwidth" "$THREADS" "$3" > "$log" 2>&1 || die "read_bandwidth failed (rep $1, row $2), see $log"
  gbs="$(sed -n 's/^best \([0-9.]*\) GB.*/\1/p' "$log")"
  [[ -n "$gbs" ]] || die "read_bandwidth printed no result (rep $1, row $2), see $log"
  BW_LOOP="$(sed -n 's/^loop: //p' "$log")"
  echo "$1 $2 $gbs $3" >> "$OUT/raw/bandwidth.txt"
}

for ((rep = 1; rep <= REPS; rep++)); do
  for row in "${ROW_LIST[@]}"; do
    measure_bw "$rep" "$row" "$(probe_mib "$row")"
    o="$OUT/raw/ours-$row-$rep.out"; t="$OUT/raw/theirs-$row-$rep.jsonl"
    echo "[rep $rep/$REPS] $row: ours" >&2
    "$LFM" bench --model "$(ours_model "$row")" -p "$NP" -n "$NG" -t "$THREADS" -r 1 ${ISA_ARGS[@]+"${ISA_ARGS[@]}"} --json > "$o" 2> "$o.err" \
      || die "lfm bench failed ($row, rep $rep), see $o.err"
    echo "[rep $rep/$REPS] $row: llama.cpp" >&2
    "$BENCH" -m "$(theirs_model "$row")" -p "$NP" -n "$NG" -t "$THREADS" -r 1 -o jsonl > "$t" 2> "$t.err" \
      || die "llama-bench failed ($row, rep $rep), see $t.err"
  done
done
measure_bw end dram "${BW_MIB:-1024}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/meta.txt"
echo "bandwidth probe loop: $BW_LOOP" >> "$OUT/meta.txt"

python3 - "$OUT" "$REPS" "$NP" "$NG" "$BW" "$ROWS" "$MODELS" "$NAME" "$CPU_MODEL" "$CPU_CLASS" "$BW_LOOP" <<'PY'
import glob, json, math, os, statistics, sys

out, reps, np_, ng, bw, rows, models, name, cpu_model, cpu_class, bw_loop = sys.argv[1:12]
reps, np_, ng = int(reps), int(np_), int(ng)
tg_by_rep, bw_before, probe_mib = {}, {}, {}
row_bw, dram_bw = {}, None
if bw == "measure":
    for line in open(os.path.join(out, "raw", "bandwidth.txt")):
        fields = line.split()
        if len(fields) < 3:
            continue
        if fields[0] == "end":
            dram_bw = float(fields[2])
            continue
        bw_before[(fields[0], fields[1])] = float(fields[2])
        if len(fields) > 3:
            probe_mib[fields[1]] = int(fields[3])
    if not bw_before:
        raise SystemExit("no bandwidth measured (see %s/raw/bandwidth.txt)" % out)
    # Each row's roofline: the best of the probes run just before that row's repetitions, with a
    # buffer as large as its model (see probe_mib in the shell part).
    for row in rows.split(","):
        samples = [v for (r, name_), v in bw_before.items() if name_ == row]
        if not samples:
            raise SystemExit("no bandwidth measured for row %s (see %s/raw/bandwidth.txt)" % (row, out))
        row_bw[row] = max(samples)
    bw_note = "measured read bandwidth, per row the best of %d runs of read_bandwidth.c before it in this session, " \
        "with a buffer of the row's model size: %s" % (reps, "; ".join(
            "%s %.1f GB/s (%s MiB)" % (r, row_bw[r], probe_mib.get(r, "?")) for r in rows.split(",")))
    if dram_bw is not None:
        bw_note += "; after the runs with %s MiB: %.1f GB/s" % (os.environ.get("BW_MIB") or 1024, dram_bw)
else:
    for row in rows.split(","):
        row_bw[row] = float(bw)
    bw_note = "bandwidth given with --bw"

def ours_bytes(row):
    # bytes of weights read per decoded token: every tensor once (tied embedding = output head)
    path = {"f32": "f32", "f32-f16": "f32", "bf16": "bf16"}.get(row)
    if path is None:
        return None
    folder = os.path.join(models, "%s-%s" % (name, path))
    total = 0
    for f in glob.glob(os.path.join(folder, "*.safetensors")):
        with open(f, "rb") as fh:
            header = int.from_bytes(fh.read(8), "little")
        total += os.path.getsize(f) - 8 - header
    return total

def last_json(path):
    for line in reversed(open(path).read().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit("no JSON line in %s" % path)

def med(xs):
    return statistics.median(xs)

def fmt(xs):
    return "%.1f (%.1f–%.1f)" % (med(xs), min(xs), max(xs))

# The ISA path of our runs: the "isa" field of every `lfm bench --json` line (older builds lack it).
isas = set()
for row in rows.split(","):
    for rep in range(1, reps + 1):
        isas.add(str(last_json(os.path.join(out, "raw", "ours-%s-%d.out" % (row, rep))).get("isa", "not reported")))
header = "CPU: %s (%s); ISA path: ours %s, bandwidth probe %s" % (cpu_model, cpu_class, "/".join(sorted(isas)), bw_loop)

print(header)
print()
print("| row | ours model | llama.cpp model | pp%d ours | pp%d llama.cpp | pp ratio | tg%d ours | tg%d llama.cpp | tg ratio | tg roofline ours | tg roofline llama.cpp |"
      % (np_, np_, ng, ng))
print("|---|---|---|---|---|---|---|---|---|---|---|")
for row in rows.split(","):
    opp, otg, tpp, ttg, tbytes = [], [], [], [], None
    for rep in range(1, reps + 1):
        o = last_json(os.path.join(out, "raw", "ours-%s-%d.out" % (row, rep)))
        opp.append(float(o["pp_tokens_per_s"])); otg.append(float(o["tg_tokens_per_s"]))
        for line in open(os.path.join(out, "raw", "theirs-%s-%d.jsonl" % (row, rep))):
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            tbytes = int(r["model_size"])
            if int(r["n_prompt"]) == np_ and int(r["n_gen"]) == 0:
                tpp.append(float(r["avg_ts"]))
            elif int(r["n_prompt"]) == 0 and int(r["n_gen"]) == ng:
                ttg.append(float(r["avg_ts"]))
    if len(tpp) != reps or len(ttg) != reps:
        raise SystemExit("row %s: llama-bench results incomplete" % row)
    # Bytes a decode step reads: `lfm bench --json`'s "weight_bytes_per_token" (the chosen experts only, for
    # a mixture of experts); older builds: every weight once. GGUF rows: the same file for both engines.
    per_token = o.get("weight_bytes_per_token")
    obytes = per_token or ours_bytes(row) or tbytes
    rbytes = per_token if per_token and row not in ("f32", "f32-f16", "bf16") else tbytes
    pp_ratio = med([a / b for a, b in zip(opp, tpp)])  # paired: ours and theirs ran back to back
    tg_ratio = med([a / b for a, b in zip(otg, ttg)])
    tg_by_rep[row] = [a / b for a, b in zip(otg, ttg)]
    roof_o = med(otg) / (row_bw[row] * 1e9 / obytes) * 100
    roof_t = med(ttg) / (row_bw[row] * 1e9 / rbytes) * 100
    oname = {"f32": "HF F32", "f32-f16": "HF F32", "bf16": "HF BF16"}.get(row, "GGUF " + row.upper())
    tname = {"f32": "GGUF F32", "f32-f16": "GGUF F16", "bf16": "GGUF BF16", "f16-gguf": "GGUF F16"}.get(row, "GGUF " + row.upper())
    print("| %s | %s (%.0f MB) | %s (%.0f MB) | %s | %s | %.2f | %s | %s | %.2f | %.0f %% | %.0f %% |" % (
        row, oname, obytes / 1e6, tname, tbytes / 1e6, fmt(opp), fmt(tpp), pp_ratio, fmt(otg), fmt(ttg),
        tg_ratio, roof_o, roof_t))
print()
if bw_before:
    print(header)
    print()
    # Decode is bandwidth-bound, and this machine's bandwidth changes with its neighbours: each
    # repetition's back-to-back generation ratio, with the read bandwidth measured just before
    # that pair of runs.
    print("| repetition | " + " | ".join("tg ratio %s (bandwidth before)" % r for r in rows.split(",")) + " |")
    print("|---|" + "---|" * len(rows.split(",")))
    for rep in range(1, reps + 1):
        cells = ["%.2f (%.0f GB/s)" % (tg_by_rep[r][rep - 1], bw_before.get((str(rep), r), float("nan")))
                 for r in rows.split(",")]
        print("| %d | %s |" % (rep, " | ".join(cells)))
    print()
print("tokens/s, median (min–max) over %d interleaved repetitions; ratio = median over repetitions of" % reps)
print("ours / llama.cpp measured back to back (> 1: ours faster);")
print("roofline = tg / (read bandwidth / weight bytes per token); %s. Raw outputs and machine info: %s" % (bw_note, out))
PY
