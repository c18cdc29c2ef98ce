#!/usr/bin/env bash
# Builds Scripts/reference/gguf/ggml_oracle (a dev-only reference tool, not used by tests or CI) from
# ggml's C sources as vendored in the ggml-python==0.0.45 sdist (ggml 0.15.3), fetched from PyPI.
# Needs gcc/g++ and pip. Usage: bash Scripts/reference/gguf/build_ggml_oracle.sh [workdir]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-/tmp/ggml-oracle}"
mkdir -p "$work/obj"
cd "$work"
[ -f ggml_python-0.0.45.tar.gz ] || pip download ggml-python==0.0.45 --no-deps --no-binary :all: -d .
[ -d ggml_python-0.0.45 ] || tar xzf ggml_python-0.0.45.tar.gz
src="$work/ggml_python-0.0.45/vendor/ggml"
flags=(-O1 -fPIC -I"$src/include" -I"$src/src" -D_GNU_SOURCE -DGGML_VERSION='"0.15.3"' -DGGML_COMMIT='"sdist"')
for f in ggml.c ggml-quants.c ggml-alloc.c; do gcc "${flags[@]}" -c "$src/src/$f" -o "obj/$f.o"; done
for f in ggml-backend.cpp ggml-threading.cpp gguf.cpp ggml.cpp ggml-opt.cpp ggml-backend-meta.cpp; do
    g++ -std=c++17 "${flags[@]}" -c "$src/src/$f" -o "obj/$f.o"
done
gcc "${flags[@]}" -c "$here/ggml_oracle.c" -o obj/oracle.o
g++ -o "$work/ggml_oracle" obj/*.o -lm -lpthread
echo "built $work/ggml_oracle"
