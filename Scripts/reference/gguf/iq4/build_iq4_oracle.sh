#!/usr/bin/env bash
# Builds iq4_oracle (dev-only, not used by tests or CI) from ggml-quants.c of the pinned llama.cpp:
# the llama-cpp-python==0.3.36 sdist's vendor/llama.cpp. No -march and -ffp-contract=off, so every
# float product and sum is rounded on its own (as the Swift reference quantizers do).
# Usage: bash build_iq4_oracle.sh LLAMA_CPP_DIR [workdir]
#   LLAMA_CPP_DIR e.g. .../llama_cpp_python-0.3.36/vendor/llama.cpp (pip download llama-cpp-python==0.3.36
#   --no-deps --no-binary :all:, then untar)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$1/ggml"
work="${2:-/tmp/iq4-oracle}"
mkdir -p "$work/obj"
flags=(-O1 -fPIC -ffp-contract=off -I"$src/include" -I"$src/src" -D_GNU_SOURCE)
gcc "${flags[@]}" -c "$src/src/ggml-quants.c" -o "$work/obj/ggml-quants.o"
gcc "${flags[@]}" -c "$here/iq4_oracle.c" -o "$work/obj/iq4_oracle.o"
gcc -o "$work/iq4_oracle" "$work/obj/ggml-quants.o" "$work/obj/iq4_oracle.o" -lm
echo "built $work/iq4_oracle"
