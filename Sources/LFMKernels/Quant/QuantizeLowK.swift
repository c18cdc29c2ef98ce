// Reference quantizers for Q2_K and Q3_K, following ggml's `quantize_row_q2_K_ref` / `quantize_row_q3_K_ref`.

extension KQuant {
    /// Symmetric scale search for Q3_K (ggml's `make_q3_quants` with `do_rmse`): start from the max-based
    /// levels in -nmax..<nmax, then up to 5 passes of per-element coordinate descent on the x²-weighted
    /// least-squares fit. Levels are stored offset by nmax.
    static func searchQ3Scale(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ levels: UnsafeMutablePointer<Int8>) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax {
            amax = abs(x[i])
            max = x[i]
        }
        if amax < 1e-15 {
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        let iscale = Float(-nmax) / max
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
            levels[i] = Int8(truncatingIfNeeded: l)
            let w = x[i] * x[i]
            sumLX += w * x[i] * Float(l)
            sumL2 += w * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = x[i] * x[i]
                let current = Float(levels[i])
                var slx = sumLX - w * x[i] * current
                guard slx > 0 else { continue }
                var sl2 = sumL2 - w * current * current
                let newL = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(x[i] * sl2 / slx)))
                if newL != Int32(levels[i]) {
                    slx += w * x[i] * Float(newL)
                    sl2 += w * Float(newL) * Float(newL)
                    if sl2 > 0 && slx * slx * sumL2 > sumLX * sumLX * sl2 {
                        levels[i] = Int8(truncatingIfNeeded: newL)
                        sumLX = slx
                        sumL2 = sl2
                        changed += 1
                    }
                }
            }
            if changed == 0 { break }
        }
        for i in 0..<n { levels[i] = Int8(truncatingIfNeeded: Int32(levels[i]) + nmax) }
        return sumL2 > 0 ? sumLX / sumL2 : 0
    }
}

extension QuantBlocks {
    /// Packs 256 2-bit levels: byte `j/4 + l` of each 128-element half holds elements l, l+32, l+64, l+96.
    static func packTwoBit(_ levels: UnsafePointer<UInt8>, into qs: UnsafeMutablePointer<UInt8>) {
        for j in stride(from: 0, to: ggmlQK_K, by: 128) {
            for l in 0..<32 {
                qs[j / 4 + l] = levels[j + l] | (levels[j + l + 32] << 2) | (levels[j + l + 64] << 4) | (levels[j + l + 96] << 6)
            }
        }
    }

    static func quantizeQ2_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ggmlQK_K + 16) { buffer in
            let levels = buffer.baseAddress.unsafelyUnwrapped
            levels.initialize(repeating: 0, count: ggmlQK_K + 16)
            let aux = levels + ggmlQK_K
            var scales = [Float](repeating: 0, count: 16)
            var mins = [Float](repeating: 0, count: 16)
            var weights = [Float](repeating: 0, count: 16)
            var maxScale: Float = 0, maxMin: Float = 0
            weights.withUnsafeMutableBufferPointer { w in
                for j in 0..<16 {
                    for l in 0..<16 { w[l] = abs(x[16 * j + l]) }
                    let (scale, negMin) = KQuant.searchScaleMin(
                        16, 3, x + 16 * j, w.baseAddress.unsafelyUnwrapped, levels + 16 * j, aux,
                        rmin: -0.5, rdelta: 0.1, steps: 15, useMAD: true)
                    scales[j] = scale
                    mins[j] = negMin
                    if scale > maxScale { maxScale = scale }
                    if negMin > maxMin { maxMin = negMin }
                }
            }
            let packed = y.assumingMemoryBound(to: UInt8.self)
            if maxScale > 0 {
                let iscale = 15 / maxScale
                for j in 0..<16 { packed[j] = UInt8(truncatingIfNeeded: KQuant.nearestInt(iscale * scales[j])) }
                storeHalf(maxScale / 15, y, 80)
            } else {
                for j in 0..<16 { packed[j] = 0 }
                storeHalf(0, y, 80)
            }
            if maxMin > 0 {
                let iscale = 15 / maxMin
                for j in 0..<16 { packed[j] |= UInt8(truncatingIfNeeded: KQuant.nearestInt(iscale * mins[j]) << 4) }
                storeHalf(maxMin / 15, y, 82)
            } else {
                storeHalf(0, y, 82)
            }
            let dAll = half(UnsafeRawPointer(y), 80)
            let mAll = half(UnsafeRawPointer(y), 82)
            for j in 0..<16 {
                let d = dAll * Float(packed[j] & 0xF)
                if d == 0 { continue }
                let dm = mAll * Float(packed[j] >> 4)
                for i in 0..<16 {
                    let l = KQuant.nearestInt((x[16 * j + i] + dm) / d)
                    levels[16 * j + i] = UInt8(truncatingIfNeeded: Swift.max(0, Swift.min(3, l)))
                }
            }
            packTwoBit(levels, into: (y + 16).assumingMemoryBound(to: UInt8.self))
        }
    }

    static func quantizeQ3_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: ggmlQK_K) { buffer in
            let levels = buffer.baseAddress.unsafelyUnwrapped
            levels.initialize(repeating: 0, count: ggmlQK_K)
            var scales = [Float](repeating: 0, count: 16)
            var maxScale: Float = 0, amax: Float = 0
            for j in 0..<16 {
                scales[j] = KQuant.searchQ3Scale(16, 4, x + 16 * j, levels + 16 * j)
                if abs(scales[j]) > amax {
                    amax = abs(scales[j])
                    maxScale = scales[j]
                }
            }
            let packed = (y + 96).assumingMemoryBound(to: UInt8.self)
            for j in 0..<12 { packed[j] = 0 }
            if maxScale != 0 {
                let iscale = -32 / maxScale
                for j in 0..<16 {
                    // C: int8_t l = nearest_int(...) truncates before clamping.
                    let raw = Int32(Int8(truncatingIfNeeded: KQuant.nearestInt(iscale * scales[j])))
                    let l = UInt8(truncatingIfNeeded: Swift.max(-32, Swift.min(31, raw)) + 32)
                    if j < 8 {
                        packed[j] = l & 0xF
                    } else {
                        packed[j - 8] |= (l & 0xF) << 4
                    }
                    packed[j % 4 + 8] |= (l >> 4) << UInt8(2 * (j / 4))
                }
                storeHalf(1 / iscale, y, 108)
            } else {
                storeHalf(0, y, 108)
            }
            let dAll = half(UnsafeRawPointer(y), 108)
            for j in 0..<16 {
                let d = dAll * Float(scalesQ3_K(UnsafePointer(packed), j))
                if d == 0 { continue }
                for i in 0..<16 {
                    let l = Swift.max(-4, Swift.min(3, KQuant.nearestInt(x[16 * j + i] / d)))
                    levels[16 * j + i] = Int8(truncatingIfNeeded: l + 4)
                }
            }
            // High bits: element j's 3rd bit goes to hmask[j % 32], bit j / 32.
            let hmask = y.assumingMemoryBound(to: UInt8.self)
            for j in 0..<32 { hmask[j] = 0 }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ggmlQK_K) { low in
                let lows = low.baseAddress.unsafelyUnwrapped
                for j in 0..<ggmlQK_K {
                    var l = UInt8(bitPattern: levels[j])
                    if l > 3 {
                        hmask[j % 32] |= 1 << UInt8(j / 32)
                        l -= 4
                    }
                    lows[j] = l
                }
                packTwoBit(lows, into: (y + 32).assumingMemoryBound(to: UInt8.self))
            }
        }
    }
}
