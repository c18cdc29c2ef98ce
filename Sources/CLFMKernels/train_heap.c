// Heap tuning for training (see lfm_tr_keep_heap in CLFMKernelsTraining.h).
#include "CLFMKernelsTraining.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int lfm_tr_keep_heap(void) {
#if defined(__GLIBC__)
    // 32 MiB is glibc's largest mmap threshold; trimming only above 1 GiB of free top memory.
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) && mallopt(M_TRIM_THRESHOLD, 1 << 30);
#else
    return 0;
#endif
}
