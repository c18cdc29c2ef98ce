// The driver and entry point of a packed prefill GEMM (matmul_packed_avx512.c, matmul_packed_avx2.c).
// Before including, define MR and NR (the register tile), LFM_PACKED_INL / LFM_PACKED_TARGET (the
// file's always-inline and target attributes) and LFM_PACKED_ENTRY (the entry point's name), and
// pack_units(kl), pack_range(dt, base, rb, nr, kl, u0, u1, bp) and micro(a, b, kl, c, ldc, accumulate,
// mv, nv) (see matmul_packed_avx512.c).

// Weight blocks are double-buffered: while the micro-kernel runs over the activation panels
// with one block, the next block is packed into `bp + KC * NR` a few units per call, so its
// memory reads overlap the arithmetic instead of stalling it.
LFM_PACKED_INL void packed(int dt, const char *w, size_t K, size_t n0, size_t n1, const float *ap, size_t m,
                           float *y, size_t ys, float *bp) {
    const size_t es = lfm_dtype_size(dt), rb = K * es, mp = lfm_packed_rows(m, MR), calls = (m + MR - 1) / MR;
    for (size_t kc = 0; kc < K; kc += LFM_PACKED_KC) {
        const size_t kl = lfm_min(LFM_PACKED_KC, K - kc), units = pack_units(kl);
        const float *ab = ap + kc * mp;
        pack_range(dt, w + n0 * rb + kc * es, rb, lfm_min(NR, n1 - n0), kl, 0, units, bp);
        size_t which = 0;
        for (size_t n = n0; n < n1; n += NR, which ^= 1) {
            const size_t nv = lfm_min(NR, n1 - n);
            float *cur = bp + which * LFM_PACKED_KC * NR, *nxt = bp + (which ^ 1) * LFM_PACKED_KC * NR;
            const size_t next = n + NR, nvn = next < n1 ? lfm_min(NR, n1 - next) : 0;
            const size_t total = nvn ? units : 0, per = (total + calls - 1) / calls;
            const char *base = w + next * rb + kc * es;
            size_t done = 0;
            for (size_t t = 0; t < m; t += MR) {
                const size_t e = lfm_min(done + per, total);
                pack_range(dt, base, rb, nvn, kl, done, e, nxt);
                done = e;
                micro(ab + t * kl, cur, kl, y + t * ys + n, ys, kc > 0, lfm_min(MR, m - t), nv);
            }
        }
    }
}

/// `packed` instantiated per weight type (so each copy has its loads fixed).
LFM_PACKED_TARGET static void packed_f32(const void *w, size_t K, size_t n0, size_t n1, const float *ap, size_t m,
                                         float *y, size_t ys, float *bp) {
    packed(LFM_DT_F32, (const char *)w, K, n0, n1, ap, m, y, ys, bp);
}
LFM_PACKED_TARGET static void packed_f16(const void *w, size_t K, size_t n0, size_t n1, const float *ap, size_t m,
                                         float *y, size_t ys, float *bp) {
    packed(LFM_DT_F16, (const char *)w, K, n0, n1, ap, m, y, ys, bp);
}
LFM_PACKED_TARGET static void packed_bf16(const void *w, size_t K, size_t n0, size_t n1, const float *ap, size_t m,
                                          float *y, size_t ys, float *bp) {
    packed(LFM_DT_BF16, (const char *)w, K, n0, n1, ap, m, y, ys, bp);
}

LFM_PACKED_TARGET void LFM_PACKED_ENTRY(int dtype, const void *w, size_t cols, size_t n0, size_t n1, const float *ap,
                                        size_t m, float *y, size_t yStride, float *panel) {
    if (lfm_matmul_trivial(cols, n0, n1, m, y, yStride)) return;
    switch (dtype) {
    case LFM_DT_F32: packed_f32(w, cols, n0, n1, ap, m, y, yStride, panel); break;
    case LFM_DT_F16: packed_f16(w, cols, n0, n1, ap, m, y, yStride, panel); break;
    default: packed_bf16(w, cols, n0, n1, ap, m, y, yStride, panel); break;
    }
}
