// Whether this CPU executes AVX-VNNI (VEX vpdpbusd) whatever CPUID says: some hypervisors hide the
// bit of a CPU that has it. Exit 0 and "avxvnni: executes" when one vpdpbusd gives the right sum;
// the process dies of SIGILL on a CPU without it (run it in a child: Scripts/cpu/avxvnni.sh).
#include <stdio.h>
#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,avxvnni"), noinline)) static int dot(int bias, char u, char s) {
    __m256i acc = _mm256_set1_epi32(bias);
    acc = _mm256_dpbusd_avx_epi32(acc, _mm256_set1_epi8(u), _mm256_set1_epi8(s));
    return _mm256_extract_epi32(acc, 7);
}

int main(void) {
    __builtin_cpu_init();
    printf("cpuid avxvnni: %d\n", __builtin_cpu_supports("avxvnni") ? 1 : 0);
    if (!__builtin_cpu_supports("avx2")) return 1;
    const int got = dot(1, 3, -2); // 1 + 4 * (3 * -2)
    printf("avxvnni: %s\n", got == -23 ? "executes" : "wrong result");
    return got == -23 ? 0 : 1;
}
#else
int main(void) { return 1; }
#endif
