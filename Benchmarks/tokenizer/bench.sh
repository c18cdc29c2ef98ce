#!/usr/bin/env bash
# Encode throughput of LFMTokenizer vs Hugging Face `tokenizers`, one thread each, same corpus, one run.
#
# Requirements: Python with tokenizers==0.23.3 (PYTHON=/path/to/python; default /root/venv-ref/bin/python).
# Usage: Benchmarks/tokenizer/bench.sh [repeats]
# Corpus: the 523 texts of Tests/LFMTokenizerTests/Fixtures/lfm2/cases.jsonl (about 1.08 MB), without
# special tokens, two ways: "whole" = the texts joined with "\n" and encoded as one string, "per-text" =
# each text encoded by its own call. "first" is the first pass (cold word caches), "best" the fastest
# of the repeats (warm caches; both implementations cache words).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS="${1:-5}"
PYTHON="${PYTHON:-/root/venv-ref/bin/python}"
WORK=Benchmarks/.work/tokenizer
MODEL=Tests/LFMTokenizerTests/Fixtures/lfm2
mkdir -p "$WORK"

"$PYTHON" - "$WORK/corpus.txt" <<'PY'
import json, sys
texts = [json.loads(line)["text"] for line in open("Tests/LFMTokenizerTests/Fixtures/lfm2/cases.jsonl", encoding="utf-8")]
open(sys.argv[1], "w", encoding="utf-8", newline="").write("\n".join(texts))
PY

swift build -c release --product lfm >/dev/null
LFM="$(swift build -c release --show-bin-path)/lfm"

export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
theirs() {  # $1 = whole | per-text
"$PYTHON" - "$MODEL/tokenizer.json" "$WORK/corpus.txt" "$MODEL/cases.jsonl" "$REPEATS" "$1" <<'PY'
import json, sys, time
import tokenizers
from tokenizers import Tokenizer
assert tokenizers.__version__ == "0.23.3", tokenizers.__version__
t0 = time.perf_counter()
tok = Tokenizer.from_file(sys.argv[1])
load = time.perf_counter() - t0
if sys.argv[5] == "whole":
    texts = [open(sys.argv[2], encoding="utf-8", newline="").read()]
else:
    texts = [json.loads(line)["text"] for line in open(sys.argv[3], encoding="utf-8")]
n = sum(len(t.encode("utf-8")) for t in texts)
times = []
for _ in range(int(sys.argv[4])):
    t0 = time.perf_counter()
    tokens = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)
    times.append(time.perf_counter() - t0)
print(json.dumps({"bytes": n, "tokens": tokens, "load_seconds": load,
                  "first_mb_per_s": n / 1e6 / times[0], "best_mb_per_s": n / 1e6 / min(times)}))
PY
}

report() {  # $1 = label, $2 = theirs JSON, $3 = ours JSON
"$PYTHON" - "$1" "$2" "$3" <<'PY'
import json, sys
label, theirs, ours = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
assert theirs["tokens"] == ours["tokens"], f"token counts differ: theirs {theirs['tokens']} ours {ours['tokens']}"
print(f"[{label}] {theirs['bytes']} bytes, {theirs['tokens']} tokens (same count from both)")
print(f"  {'':10} {'load s':>7} {'first MB/s':>11} {'best MB/s':>10}")
for name, r in (("tokenizers", theirs), ("LFM", ours)):
    print(f"  {name:10} {r['load_seconds']:7.3f} {r['first_mb_per_s']:11.2f} {r['best_mb_per_s']:10.2f}")
print(f"  ratio ours/theirs: first {ours['first_mb_per_s'] / theirs['first_mb_per_s']:.2f}x, "
      f"best {ours['best_mb_per_s'] / theirs['best_mb_per_s']:.2f}x")
PY
}

report whole "$(theirs whole)" \
    "$("$LFM" tokenize --model "$MODEL" --file "$WORK/corpus.txt" --benchmark-repeats "$REPEATS")"
report per-text "$(theirs per-text)" \
    "$("$LFM" tokenize --model "$MODEL" --file "$MODEL/cases.jsonl" --benchmark-repeats "$REPEATS" --benchmark-jsonl)"
