// Training kernels in portable C (SSE2 on x86-64, NEON on ARM64; see internal/train_template.h).
#include "CLFMKernelsTraining.h"
#define LFM_TR_SUFFIX portable
#define LFM_TR_VW 4
#include "internal/train_template.h"

size_t lfm_tr_attention_scratch_floats(size_t seqLen, size_t d, int backward) {
    return (d + TR_AT + (backward ? seqLen : 0)) * TR_LD(seqLen);
}
