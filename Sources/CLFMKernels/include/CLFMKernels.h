#ifndef CLFMKERNELS_H
#define CLFMKERNELS_H
// ISA-specific inner loops for swift-lfm. Every function here has a portable Swift
// reference in LFMKernels; x86 variants use per-function target attributes and are
// selected at run time (see lfm_cpu_features), so the binary runs on any x86-64.
#include <stddef.h>
#include <stdint.h>

#endif
