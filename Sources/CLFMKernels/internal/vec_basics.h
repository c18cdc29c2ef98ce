// Vector basics shared by the per-ISA templates (ops_template.h, train_template.h): LFM_VW-lane
// float / int vectors with clang's ext_vector_type, unaligned load / store, splat, horizontal sum
// and maximum, the vector exp of vec_exp.h and a dot product. The including file defines LFM_VW
// (4, 8 or 16).
#ifndef LFM_VEC_BASICS_H
#define LFM_VEC_BASICS_H
#include <stdint.h>
#include <string.h>
#include "vec_exp.h"

#define VI static inline __attribute__((always_inline))

typedef float vf __attribute__((ext_vector_type(LFM_VW)));
typedef int32_t vi __attribute__((ext_vector_type(LFM_VW)));

VI vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
VI void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
VI vf vsplat(float f) { vf v = f; return v; }

// Horizontal sum as a halving tree (.lo / .hi are ext_vector_type halves).
VI float vsum(vf v) {
#if LFM_VW == 16
    typedef float h8 __attribute__((ext_vector_type(8)));
    h8 a = v.lo + v.hi;
    typedef float h4 __attribute__((ext_vector_type(4)));
    h4 b = a.lo + a.hi;
#elif LFM_VW == 8
    typedef float h4 __attribute__((ext_vector_type(4)));
    h4 b = v.lo + v.hi;
#else
    vf b = v;
#endif
    return (b.x + b.z) + (b.y + b.w);
}

VI float vmax(vf v) {
    float s = v[0];
    for (int i = 1; i < LFM_VW; i++) s = v[i] > s ? v[i] : s;
    return s;
}

LFM_DEFINE_VEXP(VI, vexp, vf, vi, vsplat)

/// Dot product of n floats (vector lanes, then the tail).
VI float dotf(const float *a, const float *b, size_t n) {
    vf acc = vsplat(0);
    size_t i = 0;
    for (; i + LFM_VW <= n; i += LFM_VW) acc += vload(a + i) * vload(b + i);
    float s = vsum(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

#endif
