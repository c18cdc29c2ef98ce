// Row operations compiled for AVX2 + FMA (see internal/ops_template.h).
#include "CLFMKernels.h"
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define LFM_OPS_SUFFIX avx2
#define LFM_VW 8
#include "internal/ops_template.h"
#define LFM_AT_NATIVE_F16 1
#include "internal/attention_template.h"
#pragma clang attribute pop
#else
#define LFM_OPS_SUFFIX avx2
#define LFM_VW 4
#include "internal/ops_template.h"
#include "internal/attention_template.h"
#endif
