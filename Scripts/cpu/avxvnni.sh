#!/usr/bin/env bash
# Prints 1 when this CPU executes AVX-VNNI (the CPUID bit may be hidden by a hypervisor), else 0.
# `export LFM_ASSUME_AVXVNNI=$(Scripts/cpu/avxvnni.sh)` then lets the AVX-VNNI kernels run and be
# tested there (see LFM_CPU_AVXVNNI in Sources/CLFMKernels/include/CLFMKernels.h).
set -uo pipefail
ulimit -c 0
CC="${CC:-clang}"
command -v "$CC" > /dev/null || CC=cc
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
if "$CC" -O1 "$(dirname "$0")/avxvnni_probe.c" -o "$dir/probe" 2> /dev/null && ("$dir/probe" > /dev/null 2>&1); then
    echo 1
else
    echo 0
fi
