#!/usr/bin/env bash
# Checks that files written by GGUFWriter are read correctly by the gguf Python package (gguf==0.19.0, numpy)
# and, when an oracle path is given (build_ggml_oracle.sh), by ggml's own gguf.cpp. Dev tool, not CI.
# Usage: bash Scripts/reference/gguf/writer-check/check_writer.sh [PYTHON] [ORACLE]
set -euo pipefail
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
py="${1:-python3}"
oracle="${2:-}"
work="${WORK:-/tmp/lfm-gguf-writer-check}"
mkdir -p "$work"
cd "$root"
swift build --target LFMFormats --scratch-path "$work/build" >/dev/null
mods="$work/build/debug/Modules"
[ -d "$mods" ] || mods="$work/build/debug"
swiftc -parse-as-library -I "$mods" Scripts/reference/gguf/writer-check/WriteSample.swift \
    "$work"/build/debug/LFMCore.build/*.o "$work"/build/debug/LFMFormats.build/*.o -o "$work/write-sample"
"$work/write-sample" "$work/sample.gguf"
"$py" Scripts/reference/gguf/writer-check/check_writer.py "$work/sample.gguf"
if [ -n "$oracle" ]; then "$oracle" check "$work/sample.gguf"; fi
