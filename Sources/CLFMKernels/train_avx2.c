// Training kernels compiled for AVX2 (see internal/train_template.h).
#include "CLFMKernelsTraining.h"
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define LFM_TR_SUFFIX avx2
#define LFM_TR_VW 8
#define LFM_TR_HAS_GEMM 1
#include "internal/train_template.h"
#pragma clang attribute pop
#else
#define LFM_TR_SUFFIX avx2
#define LFM_TR_VW 4
#include "internal/train_template.h"
#endif
