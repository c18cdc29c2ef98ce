#include "CLFMKernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
// HWCAP_ASIMDDP of <asm/hwcap.h>: the CPU has SDOT / UDOT (the dot-product extension).
#define LFM_HWCAP_ASIMDDP (1ul << 20)
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

uint32_t lfm_cpu_features(void) {
#if defined(__x86_64__)
    // __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512 state (XGETBV).
    __builtin_cpu_init();
    uint32_t f = 0;
    if (__builtin_cpu_supports("avx2")) f |= LFM_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= LFM_CPU_FMA;
    if (__builtin_cpu_supports("f16c")) f |= LFM_CPU_F16C;
    if (__builtin_cpu_supports("avx512f")) f |= LFM_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) f |= LFM_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vl")) f |= LFM_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512bf16")) f |= LFM_CPU_AVX512BF16;
    if (__builtin_cpu_supports("avx512vnni")) f |= LFM_CPU_AVX512VNNI;
    if (__builtin_cpu_supports("avx512dq")) f |= LFM_CPU_AVX512DQ;
    if (__builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni") && __builtin_cpu_supports("bmi2"))
        f |= LFM_CPU_AVX512VBMI;
    if (__builtin_cpu_supports("avxvnni")) f |= LFM_CPU_AVXVNNI;
    // Hypervisors may hide the AVX-VNNI bit of a CPU that executes the instructions (seen on KVM
    // guests of Xeon hosts); the operator can assert it, or clear it to run the plain AVX2 kernels.
    const char *assume = getenv("LFM_ASSUME_AVXVNNI");
    if (assume && strcmp(assume, "1") == 0 && (f & LFM_CPU_AVX2)) f |= LFM_CPU_AVXVNNI;
    if (assume && strcmp(assume, "0") == 0) f &= ~LFM_CPU_AVXVNNI;
    return f;
#elif defined(__aarch64__)
    // NEON (Advanced SIMD) is part of the ARMv8-A baseline; the dot-product extension is optional
    // before ARMv8.4 (Cortex-A53 / A72 lack it) and must be asked of the OS.
    uint32_t f = LFM_CPU_NEON;
#if defined(__linux__)
    if (getauxval(AT_HWCAP) & LFM_HWCAP_ASIMDDP) f |= LFM_CPU_DOTPROD;
#elif defined(__APPLE__)
    int value = 0;
    size_t length = sizeof value;
    if (sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &length, NULL, 0) == 0 && value != 0)
        f |= LFM_CPU_DOTPROD;
#endif
    return f;
#else
    return 0;
#endif
}

int lfm_cpu_is_amd(void) {
#if defined(__x86_64__)
    // Asked on every regrouped Q8_0 product: the vendor is read once (-1: not yet; every thread that
    // races here stores the same value).
    static int vendor = -1;
    int amd = __atomic_load_n(&vendor, __ATOMIC_RELAXED);
    if (amd < 0) {
        __builtin_cpu_init();
        amd = __builtin_cpu_is("amd") ? 1 : 0;
        __atomic_store_n(&vendor, amd, __ATOMIC_RELAXED);
    }
    return amd;
#else
    return 0;
#endif
}

void lfm_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

long lfm_atomic_load(const long *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
void lfm_atomic_store(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
long lfm_atomic_fetch_add(long *p, long v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
int lfm_atomic_cas(long *p, long expected, long desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void lfm_permute_pairs(const float *x, size_t xStride, size_t m, size_t cols, float *out) {
    for (size_t i = 0; i < m; i++) {
        const float *src = x + i * xStride;
        float *dst = out + i * cols;
        size_t k = 0;
        for (; k + 32 <= cols; k += 32)
            for (size_t p = 0; p < 16; p++) {
                dst[k + p] = src[k + 2 * p];
                dst[k + 16 + p] = src[k + 2 * p + 1];
            }
        for (; k < cols; k++) dst[k] = src[k];
    }
}
