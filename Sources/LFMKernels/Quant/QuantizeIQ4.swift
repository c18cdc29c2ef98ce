// Reference IQ4_NL / IQ4_XS dequantizers and quantizers (the 4-bit non-linear i-quants).
//
// Both formats store 4-bit indices into `iq4nlValues` (16 non-uniformly spaced int8 levels) with one
// scale per 32 elements: IQ4_NL as an f16 per block of 32, IQ4_XS as a 6-bit integer per 32-element
// sub-block times an f16 per super-block of 256. The quantizers follow ggml's
// `quantize_row_iq4_nl_impl` as `quantize_iq4_nl` / `quantize_iq4_xs` call it without an importance
// matrix (what llama-quantize runs): weights x², 7 extra scale candidates on each side
// (`ntry = 7`), the same Float operation order and tie-breaking, so the bytes match ggml's.
// Note: ggml's `quantize_row_iq4_nl_ref` passes `ntry = -1` (no candidate search) and so differs
// from `quantize_iq4_nl`; this file matches `quantize_iq4_nl`, the function llama-quantize uses
// (`quantize_row_iq4_xs_ref` is `quantize_iq4_xs` itself).
import LFMCore

extension QuantBlocks {
    /// `iq4nlValues` as Float, for the quantizers' and dequantizers' arithmetic.
    static let iq4Levels: [Float] = iq4nlValues.map { Float($0) }

    static func dequantizeIQ4_NL(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            out[j] = d * iq4Levels[Int(qs[j] & 0xF)]
            out[j + 16] = d * iq4Levels[Int(qs[j] >> 4)]
        }
    }

    /// The 6-bit scale (0...63, stored with an offset of 32) of sub-block `ib` (0..<8) of an IQ4_XS block.
    @inline(__always)
    static func scaleIQ4_XS(_ block: UnsafeRawPointer, _ ib: Int) -> Int32 {
        let high = block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
        let low = block.load(fromByteOffset: 4 + ib / 2, as: UInt8.self)
        return Int32((low >> (4 * UInt8(ib % 2))) & 0xF) | Int32((high >> (2 * UInt16(ib))) & 3) << 4
    }

    static func dequantizeIQ4_XS(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for ib in 0..<8 {
            let dl = d * Float(scaleIQ4_XS(block, ib) - 32)
            let qs = (block + 8 + 16 * ib).assumingMemoryBound(to: UInt8.self)
            let o = out + 32 * ib
            for j in 0..<16 {
                o[j] = dl * iq4Levels[Int(qs[j] & 0xF)]
                o[j + 16] = dl * iq4Levels[Int(qs[j] >> 4)]
            }
        }
    }

    /// Index of the level nearest to `x` (ggml's `best_index_int8`: binary search, ties to the upper level).
    @inline(__always)
    static func nearestIQ4Index(_ x: Float) -> Int {
        let v = iq4Levels
        if x <= v[0] { return 0 }
        if x >= v[15] { return 15 }
        var lower = 0, upper = 15
        while upper - lower > 1 {
            let middle = (lower + upper) / 2
            if x < v[middle] { upper = middle } else { lower = middle }
        }
        return x - v[upper - 1] < v[upper] - x ? upper - 1 : upper
    }

    /// Σ w q x and Σ w q² over 32 values at inverse scale `id` (weights w = x²).
    @inline(__always)
    static func iq4Sums(_ x: UnsafePointer<Float>, _ id: Float) -> (sumqx: Float, sumq2: Float) {
        var sumqx: Float = 0, sumq2: Float = 0
        for j in 0..<32 {
            let q = iq4Levels[nearestIQ4Index(id * x[j])]
            let w = x[j] * x[j]
            sumqx += w * q * x[j]
            sumq2 += w * q * q
        }
        return (sumqx, sumq2)
    }

    /// The least-squares scale of 32 values (0 for an all-but-zero group), searched as ggml does with
    /// `ntry = 7`: the scale mapping the signed largest value to the level -127, refined, against
    /// 15 neighbouring inverse scales (itry - 127) / max.
    static func searchIQ4Scale(_ x: UnsafePointer<Float>) -> Float {
        let (amax, max) = signedAbsMax(x, 32)
        if amax < 1e-15 { return 0 }
        let values0 = iq4Levels[0]
        var d = -max / values0
        var (sumqx, sumq2) = iq4Sums(x, 1 / d)
        d = sumq2 > 0 ? sumqx / sumq2 : 0
        var best = d * sumqx
        for itry in -7...7 {
            (sumqx, sumq2) = iq4Sums(x, Float(itry + Int(iq4nlValues[0])) / max)
            if sumq2 > 0 && sumqx * sumqx > best * sumq2 {
                d = sumqx / sumq2
                best = d * sumqx
            }
        }
        return d
    }

    /// Packs the indices of 32 values at inverse scale `id` into 16 bytes (element j low nibble, j + 16 high).
    @inline(__always)
    static func packIQ4(_ x: UnsafePointer<Float>, _ id: Float, _ q: UnsafeMutableRawPointer) {
        for j in 0..<16 {
            let low = UInt8(nearestIQ4Index(id * x[j])), high = UInt8(nearestIQ4Index(id * x[j + 16]))
            q.storeBytes(of: low | high << 4, toByteOffset: j, as: UInt8.self)
        }
    }

    static func quantizeIQ4_NL(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let d = searchIQ4Scale(x)
        storeHalf(d, y, 0)
        packIQ4(x, d != 0 ? 1 / d : 0, y + 2)
    }

    static func quantizeIQ4_XS(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var scales = [Float](repeating: 0, count: 8)
        var maxScale: Float = 0, amaxScale: Float = 0
        for ib in 0..<8 {
            let d = searchIQ4Scale(x + 32 * ib)
            scales[ib] = d
            if abs(d) > amaxScale {
                amaxScale = abs(d)
                maxScale = d
            }
        }
        let d = -maxScale / 32
        storeHalf(d, y, 0)
        let id: Float = d != 0 ? 1 / d : 0
        var high: UInt16 = 0
        var low = [UInt8](repeating: 0, count: 4)
        for ib in 0..<8 {
            let l = Swift.max(-32, Swift.min(31, KQuant.nearestInt(id * scales[ib])))
            let dl = d * Float(l)
            packIQ4(x + 32 * ib, dl != 0 ? 1 / dl : 0, y + 8 + 16 * ib)
            let stored = UInt8(l + 32)
            low[ib / 2] |= (stored & 0xF) << (4 * UInt8(ib % 2))
            high |= UInt16(stored >> 4) << (2 * UInt16(ib))
        }
        y.storeBytes(of: high.littleEndian, toByteOffset: 2, as: UInt16.self)
        for i in 0..<4 { y.storeBytes(of: low[i], toByteOffset: 4 + i, as: UInt8.self) }
    }
}
