// Reference K-quant quantizers (Q4_K, Q5_K, Q6_K; Q2_K and Q3_K are in QuantizeLowK.swift), following ggml's `quantize_row_q{4,5,6}_K_ref`:
// per 32 (Q4_K/Q5_K) or 16 (Q6_K) elements a scale (and min) is searched by weighted least squares
// over a small grid of candidate inverse scales; the scales are then quantized to 6 (8) bits against
// a per-block f16 super-scale, and the elements are re-quantized with the final scales.

/// Helpers shared by the K-quant quantizers.
enum KQuant {
    /// Rounds to the nearest integer, ties to even, for |v| < 2^22 — computed the way ggml's
    /// `nearest_int` does (adding 1.5 * 2^23 and reading the mantissa bits), so results agree bit for bit.
    @inline(__always)
    static func nearestInt(_ v: Float) -> Int32 {
        let shifted = v + 12_582_912
        return Int32(bitPattern: shifted.bitPattern & 0x007F_FFFF) - 0x0040_0000
    }

    /// Asymmetric (scale, min) search over `n` values for levels 0...nmax (ggml's `make_qkx2_quants`).
    /// Writes the chosen levels into `levels`; returns the scale and the negated minimum. The error is
    /// weighted squared, or weighted absolute with `useMAD`.
    static func searchScaleMin(
        _ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
        _ levels: UnsafeMutablePointer<UInt8>, _ aux: UnsafeMutablePointer<UInt8>,
        rmin: Float, rdelta: Float, steps: Int, useMAD: Bool = false
    ) -> (scale: Float, negMin: Float) {
        var mn = x[0], mx = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < mn { mn = x[i] }
            if x[i] > mx { mx = x[i] }
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        if mn > 0 { mn = 0 }
        if mx == mn {
            for i in 0..<n { levels[i] = 0 }
            return (0, -mn)
        }
        let fmax = Float(nmax)
        var iscale = fmax / (mx - mn)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - mn))))
            levels[i] = UInt8(truncatingIfNeeded: l)
            let diff = scale * Float(levels[i]) + mn - x[i]
            bestError += weights[i] * (useMAD ? abs(diff) : diff * diff)
        }
        for step in 0...steps {
            iscale = (rmin + rdelta * Float(step) + fmax) / (mx - mn)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - mn))))
                aux[i] = UInt8(truncatingIfNeeded: l)
                let w = weights[i]
                let fl = Float(l)
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let det = sumW * sumL2 - sumL * sumL
            guard det > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / det
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<n {
                let diff = thisScale * Float(aux[i]) + thisMin - x[i]
                error += weights[i] * (useMAD ? abs(diff) : diff * diff)
            }
            if error < bestError {
                for i in 0..<n { levels[i] = aux[i] }
                bestError = error
                scale = thisScale
                mn = thisMin
            }
        }
        return (scale, -mn)
    }

    /// Symmetric scale search over `n` values for levels -nmax..<nmax, weighted by x² (ggml's
    /// `make_qx_quants` with `rmse_type` 1 and no importance weights). Levels are stored offset by nmax.
    static func searchSymmetricScale(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>,
                                     _ levels: UnsafeMutablePointer<Int8>) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax {
            amax = abs(x[i])
            max = x[i]
        }
        if amax < 1e-15 {
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        let fmax = Float(nmax)
        var iscale = Float(-nmax) / max
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
            levels[i] = Int8(truncatingIfNeeded: l + nmax)
            let w = x[i] * x[i]
            let fl = Float(l)
            sumLX += w * x[i] * fl
            sumL2 += w * fl * fl
        }
        var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = scale * sumLX
        for step in -9...9 where step != 0 {
            iscale = -(fmax + 0.1 * Float(step)) / max
            sumLX = 0
            sumL2 = 0
            for i in 0..<n {
                let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
                let w = x[i] * x[i]
                let fl = Float(l)
                sumLX += w * x[i] * fl
                sumL2 += w * fl * fl
            }
            if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
                for i in 0..<n {
                    let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
                    levels[i] = Int8(truncatingIfNeeded: nmax + l)
                }
                scale = sumLX / sumL2
                best = scale * sumLX
            }
        }
        return scale
    }
}

extension QuantBlocks {
    /// Shared first half of Q4_K/Q5_K: per-32 scale/min search, 6-bit packing of the scales into
    /// bytes 4..<16, f16 super-scales into bytes 0..<4, and the final levels (0...nmax) into `levels`.
    static func quantizeScaledMinK(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, nmax: Int32,
                                   rmin: Float, rdelta: Float, steps: Int, levels: UnsafeMutablePointer<UInt8>) {
        var scales = [Float](repeating: 0, count: 8)
        var mins = [Float](repeating: 0, count: 8)
        var weights = [Float](repeating: 0, count: 32)
        var aux = [UInt8](repeating: 0, count: 32)
        var maxScale: Float = 0, maxMin: Float = 0
        weights.withUnsafeMutableBufferPointer { w in
            aux.withUnsafeMutableBufferPointer { a in
                for j in 0..<8 {
                    let xs = x + 32 * j
                    var sumX2: Float = 0
                    for l in 0..<32 { sumX2 += xs[l] * xs[l] }
                    let avX = (sumX2 / 32).squareRoot()
                    for l in 0..<32 { w[l] = avX + abs(xs[l]) }
                    let (scale, negMin) = KQuant.searchScaleMin(
                        32, nmax, xs, w.baseAddress.unsafelyUnwrapped, levels + 32 * j, a.baseAddress.unsafelyUnwrapped,
                        rmin: rmin, rdelta: rdelta, steps: steps)
                    scales[j] = scale
                    mins[j] = negMin
                    if scale > maxScale { maxScale = scale }
                    if negMin > maxMin { maxMin = negMin }
                }
            }
        }
        let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
        let packed = (y + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<12 { packed[j] = 0 }
        for j in 0..<8 {
            let ls = Swift.min(63, UInt8(truncatingIfNeeded: KQuant.nearestInt(invScale * scales[j])))
            let lm = Swift.min(63, UInt8(truncatingIfNeeded: KQuant.nearestInt(invMin * mins[j])))
            if j < 4 {
                packed[j] = ls
                packed[j + 4] = lm
            } else {
                packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
                packed[j - 4] |= (ls >> 4) << 6
                packed[j] |= (lm >> 4) << 6
            }
        }
        storeHalf(maxScale / 63, y, 0)
        storeHalf(maxMin / 63, y, 2)
        let dAll = half(UnsafeRawPointer(y), 0)
        let mAll = half(UnsafeRawPointer(y), 2)
        for j in 0..<8 {
            let (sc, m) = scaleMinK4(j, UnsafePointer(packed))
            let d = dAll * Float(sc)
            if d == 0 { continue }
            let dm = mAll * Float(m)
            for i in 0..<32 {
                let l = KQuant.nearestInt((x[32 * j + i] + dm) / d)
                levels[32 * j + i] = UInt8(truncatingIfNeeded: Swift.max(0, Swift.min(nmax, l)))
            }
        }
    }

    static func quantizeQ4_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ggmlQK_K) { buffer in
            let levels = buffer.baseAddress.unsafelyUnwrapped
            levels.initialize(repeating: 0, count: ggmlQK_K)
            quantizeScaledMinK(x, y, nmax: 15, rmin: -1, rdelta: 0.1, steps: 20, levels: levels)
            let q = (y + 16).assumingMemoryBound(to: UInt8.self)
            for j in stride(from: 0, to: ggmlQK_K, by: 64) {
                for l in 0..<32 { q[j / 2 + l] = levels[j + l] | (levels[j + l + 32] << 4) }
            }
        }
    }

    static func quantizeQ5_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ggmlQK_K) { buffer in
            let levels = buffer.baseAddress.unsafelyUnwrapped
            levels.initialize(repeating: 0, count: ggmlQK_K)
            quantizeScaledMinK(x, y, nmax: 31, rmin: -0.5, rdelta: 0.1, steps: 15, levels: levels)
            let qh = (y + 16).assumingMemoryBound(to: UInt8.self)
            let ql = (y + 48).assumingMemoryBound(to: UInt8.self)
            for j in 0..<32 { qh[j] = 0 }
            var m1: UInt8 = 1, m2: UInt8 = 2
            for n in stride(from: 0, to: ggmlQK_K, by: 64) {
                for j in 0..<32 {
                    var l1 = levels[n + j]
                    if l1 > 15 { l1 -= 16; qh[j] |= m1 }
                    var l2 = levels[n + j + 32]
                    if l2 > 15 { l2 -= 16; qh[j] |= m2 }
                    ql[n / 2 + j] = l1 | (l2 << 4)
                }
                m1 = m1 &<< 2
                m2 = m2 &<< 2
            }
        }
    }

    static func quantizeQ6_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: ggmlQK_K) { buffer in
            let levels = buffer.baseAddress.unsafelyUnwrapped
            levels.initialize(repeating: 0, count: ggmlQK_K)
            var scales = [Float](repeating: 0, count: 16)
            var maxScale: Float = 0, maxAbsScale: Float = 0
            for ib in 0..<16 {
                let scale = KQuant.searchSymmetricScale(16, 32, x + 16 * ib, levels + 16 * ib)
                scales[ib] = scale
                if abs(scale) > maxAbsScale {
                    maxAbsScale = abs(scale)
                    maxScale = scale
                }
            }
            if maxAbsScale < 1e-15 {
                y.initializeMemory(as: UInt8.self, repeating: 0, count: GGMLType.q6_K.typeSize)
                return
            }
            let iscale = -128 / maxScale
            storeHalf(1 / iscale, y, 208)
            let sc = (y + 192).assumingMemoryBound(to: Int8.self)
            for ib in 0..<16 {
                sc[ib] = Int8(truncatingIfNeeded: Swift.min(127, KQuant.nearestInt(iscale * scales[ib])))
            }
            let dAll = half(UnsafeRawPointer(y), 208)
            for j in 0..<16 {
                let d = dAll * Float(sc[j])
                if d == 0 { continue }
                for i in 0..<16 {
                    let l = Swift.max(-32, Swift.min(31, KQuant.nearestInt(x[16 * j + i] / d)))
                    levels[16 * j + i] = Int8(truncatingIfNeeded: l + 32)
                }
            }
            let ql = y.assumingMemoryBound(to: UInt8.self)
            let qh = (y + 128).assumingMemoryBound(to: UInt8.self)
            for j in stride(from: 0, to: ggmlQK_K, by: 128) {
                let qlBase = ql + j / 2, qhBase = qh + j / 4
                for l in 0..<32 {
                    let l1 = UInt8(bitPattern: levels[j + l]), l2 = UInt8(bitPattern: levels[j + l + 32])
                    let l3 = UInt8(bitPattern: levels[j + l + 64]), l4 = UInt8(bitPattern: levels[j + l + 96])
                    qlBase[l] = (l1 & 0xF) | ((l3 & 0xF) << 4)
                    qlBase[l + 32] = (l2 & 0xF) | ((l4 & 0xF) << 4)
                    qhBase[l] = (l1 >> 4) | ((l2 >> 4) << 2) | ((l3 >> 4) << 4) | ((l4 >> 4) << 6)
                }
            }
        }
    }
}
