#!/usr/bin/env bash
# The architecture-search benchmark of issue 17: an NSGA-II search over LIV genomes with the
# hardware in the loop, plus the three hand-designed references, on the Python standard library's
# docstrings (PSF License v2; the bundled default model's corpus and tokenizer).
#
#   Benchmarks/search/run_search.sh [OUT_DIR] [BUDGET] [SEED]
#
# Needs python3 with `tokenizers==0.23.3` (only to run the corpus script, which also rebuilds the
# tokenizer; the search uses the bundled tokenizer.json, byte-identical to it). Writes OUT_DIR
# (default runs/search): the search directory, front.svg, show.json and cpu.txt. Run it with
# nothing else on the machine: decode latency is one of the objectives. Resumable: running it
# again with the same arguments continues where it stopped.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-runs/search}
budget=${2:-48}
seed=${3:-1}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ ! -f "$out/corpus/corpus.txt" ]; then
    python3 "$root/Scripts/default-model/make_corpus_and_tokenizer.py" "$out/corpus" >&2
fi
(cd "$root" && swift build -c release --product lfm >&2)
lfm="$root/.build/release/lfm"
lscpu > "$out/cpu.txt"

start=$(date +%s)
"$lfm" search --corpus "$out/corpus/corpus.txt" --budget "$budget" --seed "$seed" --out "$out/run" --references
echo "search wall time: $(( $(date +%s) - start )) s" | tee -a "$out/cpu.txt" >&2
"$lfm" search show "$out/run" --plot "$out/front.svg"
"$lfm" search show "$out/run" --json > "$out/show.json"
