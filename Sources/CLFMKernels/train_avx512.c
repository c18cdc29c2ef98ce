// Training kernels compiled for AVX512 (see internal/train_template.h).
#include "CLFMKernelsTraining.h"
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c"))), apply_to = function)
#define LFM_TR_SUFFIX avx512
#define LFM_TR_VW 16
#define LFM_TR_HAS_GEMM 1
#include "internal/train_template.h"
#pragma clang attribute pop
#else
#define LFM_TR_SUFFIX avx512
#define LFM_TR_VW 4
#include "internal/train_template.h"
#endif
