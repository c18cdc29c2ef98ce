// Training kernels in portable C (SSE2 on x86-64, NEON on ARM64; see internal/train_template.h).
#include "CLFMKernelsTraining.h"
#define LFM_TR_SUFFIX portable
#define LFM_TR_VW 4
#include "internal/train_template.h"
