import CLFMKernels
import LFMCore
import Testing
@testable import LFMKernels

/// The packed prefill GEMMs (`lfm_matmul_packed_avx512`, `lfm_matmul_packed_avx2`) against
/// `ReferenceBackend`, on shapes around their tiles (14 activation rows x 32 weight rows; 6 x 16),
/// vector (16; 8) and K-slice (`LFM_PACKED_KC`) sizes, with 1-3 threads, on every path the machine
/// has (portable runs the tile kernels).
@Suite struct CPUPackedMatmulTests {
    static let kc = Int(LFM_PACKED_KC)
    static let mr = Int(LFM_PACKED_MR_AVX512)

    /// (rows, cols, m) cases: every tile edge for short rows, then K-slice edges.
    static let shapes: [(Int, Int, Int)] = {
        var result: [(Int, Int, Int)] = []
        for rows in [1, 31, 33, 70] {
            for cols in [1, 15, 17, 100] {
                for m in [2, 3, 5, 9, 13, mr, mr + 1, 2 * mr + 1, 43] { result.append((rows, cols, m)) }
            }
        }
        for rows in [33, 70] {
            for cols in [kc - 1, kc, kc + 1, 2 * kc + 40] {
                for m in [mr + 1, 43] { result.append((rows, cols, m)) }
            }
        }
        return result
    }()

    @Test(arguments: [DType.f32, .f16, .bf16])
    func matchesReferenceAroundTileBoundaries(dtype: DType) {
        var seed: UInt64 = 5000
        for (rows, cols, m) in Self.shapes {
            seed += 1
            let c = CPUMatmulTests.makeCase(rows: rows, cols: cols, m: m, dtype: dtype, seed: seed)
            for isa in testedISAs {
                for threads in [1, 2, 3] {
                    let backend = makeBackend(isa: isa, threads: threads)
                    backend.packedMinimumRows = (2, 2, 2)
                    let result = CPUMatmulTests.check(backend, c, tolerance: c.tolerance)
                    #expect(result.ratio <= 1, "\(isa) \(dtype) rows \(rows) cols \(cols) m \(m) threads \(threads): error/tolerance \(result.ratio)")
                    #expect(result.padOK, "\(isa) \(dtype) rows \(rows) cols \(cols) m \(m): wrote outside the rows")
                }
            }
        }
    }

    /// Default settings (packed path for BF16 too) on a prefill-sized product: several K
    /// slices, uneven thread split.
    @Test(arguments: [DType.f32, .f16, .bf16])
    func matchesReferenceOnPrefillShape(dtype: DType) {
        let c = CPUMatmulTests.makeCase(rows: 200, cols: Self.kc + 300, m: 85, dtype: dtype, seed: 4242)
        for isa in testedISAs {
            for threads in [1, 2, 3] {
                let backend = CPUBackend(threads: threads, isa: isa)
                backend.packedMinimumRows.bf16 = 2
                let result = CPUMatmulTests.check(backend, c, tolerance: c.tolerance)
                #expect(result.ratio <= 1, "\(isa) \(dtype) threads \(threads): \(result.ratio)")
                #expect(result.padOK)
            }
        }
    }

    /// The AVX-512 activation packer writes exactly what the portable one writes (zero padding included).
    @Test func avx512PackingEqualsPortablePacking() {
        guard testedISAs.contains(where: { if case .avx512 = $0 { return true } else { return false } }) else { return }
        var rng = SplitMix(seed: 31)
        for (m, cols) in [(1, 1), (13, 17), (14, 16), (15, Self.kc + 3), (30, 2 * Self.kc + 1), (43, 100)] {
            let xStride = cols + 5
            let x = rng.floats(m * xStride)
            let count = lfm_packed_activation_floats(m, cols, Self.mr)
            var portable = [Float](repeating: .nan, count: count)
            var avx512 = [Float](repeating: .infinity, count: count)
            let mr = Self.mr, kc = Self.kc
            let padded = (m + mr - 1) / mr * mr
            lfm_pack_activations(x, xStride, m, cols, mr, 0, padded, &portable)
            // Two halves, as two threads would pack them.
            let half = (padded / mr / 2) * mr
            lfm_pack_activations_avx512(x, xStride, m, cols, 0, half, &avx512)
            lfm_pack_activations_avx512(x, xStride, m, cols, half, padded, &avx512)
            #expect(portable == avx512, "m \(m) cols \(cols)")
            // Spot-check the layout itself: element (t, k) of the last row and column.
            let t = m - 1, k = cols - 1
            let slice = k / kc * kc, kl = min(kc, cols - slice), panel = t / mr * mr
            let index = slice * padded + panel * kl + (k - slice) * mr + (t - panel)
            #expect(portable[index] == x[t * xStride + k], "m \(m) cols \(cols)")
        }
    }

    /// The AVX-512 pair permute (exact BF16 prefill) writes what the portable one writes, and that
    /// is the documented layout: each full block of 32 as its even- then its odd-index elements.
    @Test func avx512PairPermuteEqualsPortable() {
        guard testedISAs.contains(where: { if case .avx512 = $0 { return true } else { return false } }) else { return }
        var rng = SplitMix(seed: 37)
        for (m, cols) in [(1, 1), (2, 31), (3, 32), (2, 33), (4, 95), (1, 1024 + 7)] {
            let xStride = cols + 3
            let x = rng.floats(m * xStride)
            var portable = [Float](repeating: .nan, count: m * cols)
            var avx512 = [Float](repeating: .infinity, count: m * cols)
            lfm_permute_pairs(x, xStride, m, cols, &portable)
            lfm_permute_pairs_avx512(x, xStride, m, cols, &avx512)
            #expect(portable == avx512, "m \(m) cols \(cols)")
            for t in 0..<m {
                for k in 0..<cols {
                    let block = k / 32 * 32
                    let source = block + 32 <= cols
                        ? block + (k - block < 16 ? 2 * (k - block) : 2 * (k - block - 16) + 1)
                        : k
                    #expect(portable[t * cols + k] == x[t * xStride + source], "m \(m) cols \(cols) t \(t) k \(k)")
                }
            }
        }
    }
}
