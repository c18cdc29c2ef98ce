#!/usr/bin/env bash
# Builds and runs a libFuzzer (+AddressSanitizer) harness for GGUFFile's parser. Dev tool, not part of CI.
# Usage: bash Scripts/reference/gguf/fuzz/run_libfuzzer.sh [seconds]   (default 60; needs the Swift toolchain)
set -euo pipefail
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
secs="${1:-60}"
work="${FUZZ_WORK:-/tmp/lfm-gguf-fuzz}"
mkdir -p "$work/corpus"
cd "$root"
# Instrument LFMCore + LFMFormats for coverage and ASan in a separate build directory.
swift build --target LFMFormats --scratch-path "$work/build" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >/dev/null
mods="$work/build/debug/Modules"
[ -d "$mods" ] || mods="$work/build/debug"
swiftc -sanitize=fuzzer,address -parse-as-library -I "$mods" \
    Scripts/reference/gguf/fuzz/GGUFFuzzTarget.swift \
    "$work"/build/debug/LFMCore.build/*.o "$work"/build/debug/LFMFormats.build/*.o \
    -o "$work/gguf-fuzzer"
cp Tests/LFMFormatsTests/Fixtures/gguf/*.gguf "$work/corpus/"
"$work/gguf-fuzzer" "$work/corpus" -max_total_time="$secs" -max_len=16384 -rss_limit_mb=2048 -malloc_limit_mb=256
