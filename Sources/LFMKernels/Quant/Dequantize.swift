// Scalar reference dequantization, bit-exact with ggml's `dequantize_row_*` (no fused multiply-add:
// every product and sum is rounded to Float on its own, as ggml's generic C code does on x86-64).
import LFMCore

extension GGMLType {
    /// Widens `destination.count` elements stored as `self` in `source` to `Float`.
    ///
    /// `source` must hold exactly `rowBytes(cols: destination.count)` bytes.
    public func dequantizeRow(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let count = destination.count
        let expected = try rowBytes(cols: count)
        guard source.count == expected else {
            throw QuantError.bufferSizeMismatch(type: self, elements: count, expectedBytes: expected, foundBytes: source.count)
        }
        guard count > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
        switch self {
        case .f32:
            for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
            return
        case .f16:
            for i in 0..<count { dst[i] = HalfConversion.f16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            return
        case .bf16:
            for i in 0..<count { dst[i] = HalfConversion.bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            return
        default:
            break
        }
        let blocks = count / blockSize
        let stride = typeSize
        for b in 0..<blocks {
            let block = src + b * stride
            let out = dst + b * blockSize
            switch self {
            case .f32, .f16, .bf16: break  // handled above
            case .q4_0: QuantBlocks.dequantizeQ4_0(block, out)
            case .q4_1: QuantBlocks.dequantizeQ4_1(block, out)
            case .q5_0: QuantBlocks.dequantizeQ5_0(block, out)
            case .q5_1: QuantBlocks.dequantizeQ5_1(block, out)
            case .q8_0: QuantBlocks.dequantizeQ8_0(block, out)
            case .q2_K: QuantBlocks.dequantizeQ2_K(block, out)
            case .q3_K: QuantBlocks.dequantizeQ3_K(block, out)
            case .q4_K: QuantBlocks.dequantizeQ4_K(block, out)
            case .q5_K: QuantBlocks.dequantizeQ5_K(block, out)
            case .q6_K: QuantBlocks.dequantizeQ6_K(block, out)
            case .q8_K: QuantBlocks.dequantizeQ8_K(block, out)
            case .iq4_NL: QuantBlocks.dequantizeIQ4_NL(block, out)
            case .iq4_XS: QuantBlocks.dequantizeIQ4_XS(block, out)
            }
        }
    }

    /// Dequantizes `count` elements stored as `self` in `bytes` (convenience for tests and tools).
    public func dequantize(_ bytes: [UInt8], count: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: max(count, 0))
        try bytes.withUnsafeBytes { src in
            try out.withUnsafeMutableBufferPointer { try dequantizeRow(src, into: $0) }
        }
        return out
    }
}

/// Per-block reference kernels. `block` points at one block of the type, `out` at its elements.
enum QuantBlocks {
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        HalfConversion.f16ToFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// Scale and min `j` (0..<8) of a Q4_K/Q5_K 12-byte scale array (6 bits each).
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (q[j] & 63, q[j + 4] & 63)
        }
        return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    static func dequantizeQ4_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            out[j] = Float(Int32(qs[j] & 0x0F) - 8) * d
            out[j + 16] = Float(Int32(qs[j] >> 4) - 8) * d
        }
    }

    static func dequantizeQ4_1(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        let m = half(block, 2)
        let qs = (block + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            out[j] = Float(qs[j] & 0x0F) * d + m
            out[j + 16] = Float(qs[j] >> 4) * d + m
        }
    }

    static func dequantizeQ5_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let qs = (block + 6).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            out[j] = Float(Int32((qs[j] & 0x0F) | h0) - 16) * d
            out[j + 16] = Float(Int32((qs[j] >> 4) | h1) - 16) * d
        }
    }

    static func dequantizeQ5_1(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        let m = half(block, 2)
        let qh = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let qs = (block + 8).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            out[j] = Float((qs[j] & 0x0F) | h0) * d + m
            out[j + 16] = Float((qs[j] >> 4) | h1) * d + m
        }
    }

    static func dequantizeQ8_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<32 {
            out[j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d
        }
    }

    static func dequantizeQ2_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let scales = block.assumingMemoryBound(to: UInt8.self)
        var q = (block + 16).assumingMemoryBound(to: UInt8.self)
        let d = half(block, 80)
        let dmin = half(block, 82)
        var y = out
        var s = 0
        for _ in 0..<2 {
            var shift: UInt8 = 0
            for _ in 0..<4 {
                for half in 0..<2 {
                    let sc = scales[s]
                    s += 1
                    let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 { y[l] = dl * Float((q[l + 16 * half] >> shift) & 3) - ml }
                    y += 16
                }
                shift += 2
            }
            q += 32
        }
    }

    /// The 16 signed 6-bit scales of a Q3_K block (stored offset by 32 in 12 bytes).
    @inline(__always)
    static func scalesQ3_K(_ packed: UnsafePointer<UInt8>, _ j: Int) -> Int32 {
        let low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4
        let high = (packed[8 + j % 4] >> UInt8(2 * (j / 4))) & 3
        return Int32(low | (high << 4)) - 32
    }

    static func dequantizeQ3_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let hm = block.assumingMemoryBound(to: UInt8.self)
        var q = (block + 32).assumingMemoryBound(to: UInt8.self)
        let packed = (block + 96).assumingMemoryBound(to: UInt8.self)
        let dAll = half(block, 108)
        var y = out
        var s = 0
        var m: UInt8 = 1
        for _ in 0..<2 {
            var shift: UInt8 = 0
            for _ in 0..<4 {
                for half in 0..<2 {
                    let dl = dAll * Float(scalesQ3_K(packed, s))
                    s += 1
                    for l in 0..<16 {
                        let i = l + 16 * half
                        let v = Int32((q[i] >> shift) & 3) - (hm[i] & m != 0 ? 0 : 4)
                        y[l] = dl * Float(v)
                    }
                    y += 16
                }
                shift += 2
                m = m &<< 1
            }
            q += 32
        }
    }

    static func dequantizeQ4_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        let dmin = half(block, 2)
        let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
        var q = (block + 16).assumingMemoryBound(to: UInt8.self)
        var y = out
        for j in stride(from: 0, to: 8, by: 2) {
            let (sc1, m1) = scaleMinK4(j, scales)
            let (sc2, m2) = scaleMinK4(j + 1, scales)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1)
            let d2 = d * Float(sc2), min2 = dmin * Float(m2)
            for l in 0..<32 { y[l] = d1 * Float(q[l] & 0xF) - min1 }
            for l in 0..<32 { y[l + 32] = d2 * Float(q[l] >> 4) - min2 }
            q += 32
            y += 64
        }
    }

    static func dequantizeQ5_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        let dmin = half(block, 2)
        let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (block + 16).assumingMemoryBound(to: UInt8.self)
        var ql = (block + 48).assumingMemoryBound(to: UInt8.self)
        var y = out
        var u1: UInt8 = 1, u2: UInt8 = 2
        for j in stride(from: 0, to: 8, by: 2) {
            let (sc1, m1) = scaleMinK4(j, scales)
            let (sc2, m2) = scaleMinK4(j + 1, scales)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1)
            let d2 = d * Float(sc2), min2 = dmin * Float(m2)
            for l in 0..<32 {
                y[l] = d1 * Float((ql[l] & 0xF) + (qh[l] & u1 != 0 ? 16 : 0)) - min1
            }
            for l in 0..<32 {
                y[l + 32] = d2 * Float((ql[l] >> 4) + (qh[l] & u2 != 0 ? 16 : 0)) - min2
            }
            ql += 32
            y += 64
            u1 = u1 &<< 2
            u2 = u2 &<< 2
        }
    }

    static func dequantizeQ6_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 208)
        var ql = block.assumingMemoryBound(to: UInt8.self)
        var qh = (block + 128).assumingMemoryBound(to: UInt8.self)
        var sc = (block + 192).assumingMemoryBound(to: Int8.self)
        var y = out
        for _ in 0..<2 {
            for l in 0..<32 {
                let s = l / 16
                let q1 = Int32((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32
                let q2 = Int32((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32
                let q3 = Int32((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                let q4 = Int32((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                y[l] = d * Float(sc[s]) * Float(q1)
                y[l + 32] = d * Float(sc[s + 2]) * Float(q2)
                y[l + 64] = d * Float(sc[s + 4]) * Float(q3)
                y[l + 96] = d * Float(sc[s + 6]) * Float(q4)
            }
            y += 128
            ql += 64
            qh += 32
            sc += 8
        }
    }

    static func dequantizeQ8_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = block.loadUnaligned(as: Float.self)
        for j in 0..<ggmlQK_K {
            out[j] = d * Float(block.load(fromByteOffset: 4 + j, as: Int8.self))
        }
    }
}
