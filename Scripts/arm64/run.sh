#!/usr/bin/env bash
# Cross-compiles the C kernels of Sources/CLFMKernels for ARM64 (aarch64 Linux) with the driver
# Scripts/arm64/check_vectors.c and runs it under qemu-user against the vectors the Swift scalar
# references wrote (Scripts/arm64/vectors), on CPU models without the dot-product extension
# (cortex-a53) and with it (cortex-a76, max); then builds the same driver for x86-64 and runs it
# natively. Swift itself is not cross-compiled (no ARM64 Swift SDK here): see README.md.
#
#   Scripts/arm64/run.sh
#
# Installs what it needs when missing (Debian packages: gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross for the ARM64 C library and linker, qemu-user; clang when no clang is on
# PATH: the Swift toolchain's clang, which SwiftPM compiles CLFMKernels with, is preferred).
# Builds into a temporary folder. Prints each run's lines, then
# "arm64: N passed, N failed" (runs); exits non-zero when any run failed.
# Not part of .ci/run (CI has no network for apt).
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.a ] || missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
command -v clang >/dev/null || missing+=(clang)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cc=clang
echo "compiler: $($cc --version | head -1)"
echo "qemu: $(qemu-aarch64 --version | head -1)"
build="$(mktemp -d /tmp/lfm-arm64.XXXXXX)"
trap 'rm -rf "$build"' EXIT
kernels=(Sources/CLFMKernels/*.c)
# -O3 as Package.swift gives CLFMKernels; nothing -march specific (the target attributes and
# run-time checks choose the paths).
flags=(-O3 -std=gnu11 -Wall -Wno-unused-function -ISources/CLFMKernels/include -ISources/CLFMKernels)

build_for() { # TRIPLE OUTPUT
    local triple="$1" out="$2" objects=()
    mkdir -p "$build/$triple"
    for f in "${kernels[@]}" Scripts/arm64/check_vectors.c; do
        local o="$build/$triple/$(basename "${f%.c}").o"
        $cc --target="$triple" "${flags[@]}" -c "$f" -o "$o"
        objects+=("$o")
    done
    $cc --target="$triple" -static "${objects[@]}" -lm -o "$out"
}

build_for aarch64-linux-gnu "$build/check_vectors-aarch64"
echo "built for aarch64: ${#kernels[@]} kernel files + check_vectors.c ($(file -b "$build/check_vectors-aarch64" | cut -d, -f1-2))"
echo "SDOT instructions in quant_neon.o: $(aarch64-linux-gnu-objdump -d "$build/aarch64-linux-gnu/quant_neon.o" | grep -c $'\tsdot') "\
"(widening smull/smull2: $(aarch64-linux-gnu-objdump -d "$build/aarch64-linux-gnu/quant_neon.o" | grep -cE $'\tsmull2?\t'))"
build_for x86_64-linux-gnu "$build/check_vectors-x86_64"

pass=0 fail=0
run() { # LABEL COMMAND...
    local label="$1"
    shift
    echo
    echo "== $label"
    if "$@" Scripts/arm64/vectors; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "== $label: FAILED"; fi
}
for cpu in cortex-a53 cortex-a76 max; do
    run "aarch64 under qemu -cpu $cpu" qemu-aarch64 -cpu "$cpu" "$build/check_vectors-aarch64"
done
run "x86_64 native" "$build/check_vectors-x86_64"
echo
echo "arm64: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
