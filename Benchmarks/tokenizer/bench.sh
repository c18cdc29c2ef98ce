#!/usr/bin/env bash
# Encode throughput of LFMTokenizer vs Hugging Face `tokenizers`, one thread each, same corpus, one run.
#
# Requirements: Python with tokenizers==0.23.3 (PYTHON=/path/to/python; default /root/venv-ref/bin/python).
# Usage: Benchmarks/tokenizer/bench.sh [repeats]
# Corpus: the texts of Tests/LFMTokenizerTests/Fixtures/lfm2/cases.jsonl joined with "\n" (about 1.08 MB),
# encoded as one string without special tokens. "first" is the first encode (cold word caches), "best"
# is the fastest of the repeats (warm caches, both implementations cache words).
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
THEIRS=$("$PYTHON" - "$MODEL/tokenizer.json" "$WORK/corpus.txt" "$REPEATS" <<'PY'
import json, sys, time
import tokenizers
from tokenizers import Tokenizer
assert tokenizers.__version__ == "0.23.3", tokenizers.__version__
tok = Tokenizer.from_file(sys.argv[1])
text = open(sys.argv[2], encoding="utf-8", newline="").read()
n = len(text.encode("utf-8"))
times = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    ids = tok.encode(text, add_special_tokens=False).ids
    times.append(time.perf_counter() - t0)
print(json.dumps({"bytes": n, "tokens": len(ids), "first_mb_per_s": n / 1e6 / times[0], "best_mb_per_s": n / 1e6 / min(times)}))
PY
)
OURS=$("$LFM" tokenize --model "$MODEL" --file "$WORK/corpus.txt" --benchmark-repeats "$REPEATS")

"$PYTHON" - "$THEIRS" "$OURS" <<'PY'
import json, sys
theirs, ours = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert theirs["tokens"] == ours["tokens"], f"token counts differ: theirs {theirs['tokens']} ours {ours['tokens']}"
print(f"corpus: {theirs['bytes']} bytes, {theirs['tokens']} tokens (same count from both)")
print(f"{'':10} {'first MB/s':>11} {'best MB/s':>10}")
print(f"{'tokenizers':10} {theirs['first_mb_per_s']:11.2f} {theirs['best_mb_per_s']:10.2f}")
print(f"{'LFM':10} {ours['first_mb_per_s']:11.2f} {ours['best_mb_per_s']:10.2f}")
print(f"ratio ours/theirs: first {ours['first_mb_per_s'] / theirs['first_mb_per_s']:.2f}x, "
      f"best {ours['best_mb_per_s'] / theirs['best_mb_per_s']:.2f}x")
PY
