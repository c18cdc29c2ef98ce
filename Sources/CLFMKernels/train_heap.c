// Heap tuning for training (see lfm_tr_keep_heap in CLFMKernelsTraining.h).
#include "CLFMKernelsTraining.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int lfm_tr_keep_heap(void) {
#if defined(__GLIBC__)
    // 32 MiB is glibc's largest mmap threshold; trimming only above 1 GiB of free top memory.
    // A top pad of 64 MiB (the size of a thread arena's heap) keeps glibc from unmapping whole
    // heaps of a thread arena when they empty (it does so whatever the trim threshold), which the
    // training step's thread (not the main thread: its arena is a chain of 64 MiB heaps) would
    // otherwise map, fault and zero again every step.
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) && mallopt(M_TRIM_THRESHOLD, 1 << 30)
        && mallopt(M_TOP_PAD, 64 << 20);
#else
    return 0;
#endif
}
