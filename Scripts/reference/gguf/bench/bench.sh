#!/usr/bin/env bash
# Scalar dequantization throughput: LFMKernels' dequantizeRow (release build) next to ggml's generic C
# dequantize_row_* (ggml 0.15.3 from the ggml-python==0.0.45 sdist, built -O3 without -march, i.e. the
# scalar reference path). Dev tool, not CI. Usage: bash Scripts/reference/gguf/bench/bench.sh [GGML_WORKDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
ggmlwork="${1:-/tmp/ggml-oracle}"
work="${WORK:-/tmp/lfm-dequant-bench}"
mkdir -p "$work/obj"
[ -d "$ggmlwork/ggml_python-0.0.45" ] || bash "$root/Scripts/reference/gguf/build_ggml_oracle.sh" "$ggmlwork"
src="$ggmlwork/ggml_python-0.0.45/vendor/ggml"
flags=(-O3 -fPIC -I"$src/include" -I"$src/src" -D_GNU_SOURCE -DGGML_VERSION='"0.15.3"' -DGGML_COMMIT='"sdist"')
for f in ggml.c ggml-quants.c ggml-alloc.c; do gcc "${flags[@]}" -c "$src/src/$f" -o "$work/obj/$f.o"; done
for f in ggml-backend.cpp ggml-threading.cpp gguf.cpp ggml.cpp ggml-opt.cpp ggml-backend-meta.cpp; do
    g++ -std=c++17 "${flags[@]}" -c "$src/src/$f" -o "$work/obj/$f.o"
done
gcc "${flags[@]}" -c "$here/dequant_bench.c" -o "$work/obj/bench.o"
g++ -o "$work/ggml-bench" "$work"/obj/*.o -lm -lpthread
cd "$root"
swift build -c release --target LFMKernels --scratch-path "$work/build" >/dev/null
mods="$work/build/release/Modules"
[ -d "$mods" ] || mods="$work/build/release"
swiftc -O -parse-as-library -I "$mods" "$here/DequantBench.swift" \
    "$work"/build/release/LFMCore.build/*.o "$work"/build/release/LFMKernels.build/*.o \
    "$work"/build/release/CLFMKernels.build/*.o -o "$work/swift-bench"
"$work/ggml-bench"
"$work/swift-bench"
