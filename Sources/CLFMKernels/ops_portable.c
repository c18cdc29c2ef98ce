// Row operations for the baseline ISA: SSE2 on x86-64, NEON on ARM64 (see internal/ops_template.h).
#include "CLFMKernels.h"
#define LFM_OPS_SUFFIX portable
#define LFM_VW 4
#include "internal/ops_template.h"
#include "internal/attention_template.h"
