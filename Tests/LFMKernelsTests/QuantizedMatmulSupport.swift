import LFMCore
@testable import LFMKernels

// Scalar references for the integer quantized matmul: activation quantization and the exact
// integer-dot-product form of every weight type, written independently of the C kernels.

/// One row of activations quantized to 8-bit blocks, as `LFMQuantActivations` holds it.
struct ReferenceActivations {
    var q: [Int8]
    var d: [Float]
    var sums: [Int16]
    var dsums: [Float]

    /// Quantizes `x` in blocks of `block`: d = amax / 127, q = round-half-even(x * 127 / amax),
    /// all zero when amax < 1e-30; sums of 16 codes; d * (sum of the block's codes).
    init(_ x: ArraySlice<Float>, block: Int) {
        let values = Array(x)
        var q: [Int8] = [], d: [Float] = [], dsums: [Float] = []
        for b in stride(from: 0, to: values.count, by: block) {
            let chunk = values[b..<(b + block)]
            let amax = chunk.map { abs($0) }.max() ?? 0
            let id: Float = amax >= 1e-30 ? 127 / amax : 0
            d.append(id != 0 ? amax / 127 : 0)
            let codes = chunk.map { Int8(($0 * id).rounded(.toNearestOrEven)) }
            q += codes
            dsums.append(d[d.count - 1] * Float(codes.reduce(0) { $0 + Int($1) }))
        }
        self.sums = stride(from: 0, to: q.count, by: 16).map { g in
            Int16(q[g..<(g + 16)].reduce(0) { $0 + Int($1) })
        }
        self.q = q
        self.d = d
        self.dsums = dsums
    }
}

/// A group of consecutive weights sharing one scale and min: w_k = scale * ints[k] + min.
struct IntegerGroup {
    var start: Int
    var scale: Double
    var min: Double
    var ints: [Int]
}

/// Weight row `row` of `w` decoded to integer groups, straight from the GGUF block bytes.
func integerGroups(_ w: WeightMatrix, row: Int) -> [IntegerGroup] {
    let base = w.data + row * w.rowBytes
    func byte(_ o: Int) -> Int { Int(base.load(fromByteOffset: o, as: UInt8.self)) }
    func half(_ o: Int) -> Double { Double(HalfConversion.f16ToFloat(base.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }
    func u32(_ o: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: o, as: UInt32.self) }
    var groups: [IntegerGroup] = []
    let blocks = w.cols / w.dtype.blockSize
    for b in 0..<blocks {
        let o = b * w.dtype.typeSize, start = b * w.dtype.blockSize
        switch w.dtype {
        case .q8_0:
            groups.append(IntegerGroup(start: start, scale: half(o), min: 0,
                                       ints: (0..<32).map { Int(Int8(truncatingIfNeeded: byte(o + 2 + $0))) }))
        case .q4_0, .q4_1:
            let qs = w.dtype == .q4_0 ? o + 2 : o + 4, offset = w.dtype == .q4_0 ? 8 : 0
            let ints = (0..<16).map { (byte(qs + $0) & 15) - offset } + (0..<16).map { (byte(qs + $0) >> 4) - offset }
            groups.append(IntegerGroup(start: start, scale: half(o), min: w.dtype == .q4_1 ? half(o + 2) : 0, ints: ints))
        case .q5_0, .q5_1:
            let five1 = w.dtype == .q5_1
            let qh = u32(five1 ? o + 4 : o + 2), qs = five1 ? o + 8 : o + 6, offset = five1 ? 0 : 16
            var ints = [Int](repeating: 0, count: 32)
            for j in 0..<16 {
                ints[j] = ((byte(qs + j) & 15) | Int((qh >> UInt32(j)) & 1) << 4) - offset
                ints[j + 16] = ((byte(qs + j) >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4) - offset
            }
            groups.append(IntegerGroup(start: start, scale: half(o), min: five1 ? half(o + 2) : 0, ints: ints))
        case .q2_K, .q3_K:
            // 16 sub-blocks of 16: element 128 n + 32 j + l takes bits 2 j of code byte 32 n + l; Q3_K's
            // bit 4 n + j of hmask byte l set means +4 on the code - 4, its scales are six bits in 12 bytes.
            let three = w.dtype == .q3_K
            let qs = o + (three ? 32 : 16)
            let d = half(o + (three ? 108 : 80)), dmin = three ? 0 : half(o + 82)
            for u in 0..<16 {
                let n = u / 8, j = (u % 8) / 2
                let ints = (0..<16).map { k -> Int in
                    let l = 16 * (u % 2) + k
                    let low = (byte(qs + 32 * n + l) >> (2 * j)) & 3
                    return three ? low - ((byte(o + l) >> (4 * n + j)) & 1 == 1 ? 0 : 4) : low
                }
                if three {
                    let packed = o + 96
                    let low = u < 8 ? byte(packed + u) & 15 : byte(packed + u - 8) >> 4
                    let high = (byte(packed + 8 + u % 4) >> (2 * (u / 4))) & 3
                    groups.append(IntegerGroup(start: start + 16 * u, scale: d * Double((low | high << 4) - 32), min: 0, ints: ints))
                } else {
                    let sc = byte(o + u)
                    groups.append(IntegerGroup(start: start + 16 * u, scale: d * Double(sc & 15), min: -dmin * Double(sc >> 4),
                                               ints: ints))
                }
            }
        case .q4_K, .q5_K:
            let five = w.dtype == .q5_K
            let d = half(o), dmin = half(o + 2)
            let s = (0..<12).map { byte(o + 4 + $0) }
            let qs = o + (five ? 48 : 16)
            for j in 0..<8 {
                let sc = j < 4 ? s[j] & 63 : (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4)
                let mn = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4)
                let ints = (0..<32).map { l -> Int in
                    let v = byte(qs + 32 * (j / 2) + l)
                    let nib = j % 2 == 0 ? v & 15 : v >> 4
                    return nib | (five ? ((byte(o + 16 + l) >> j) & 1) << 4 : 0)
                }
                groups.append(IntegerGroup(start: start + 32 * j, scale: d * Double(sc), min: -dmin * Double(mn), ints: ints))
            }
        case .q6_K:
            let d = half(o + 208)
            var q6 = [Int](repeating: 0, count: 256)
            for h in 0..<2 {
                for l in 0..<32 {
                    let ql0 = byte(o + 64 * h + l), ql1 = byte(o + 64 * h + 32 + l), qh = byte(o + 128 + 32 * h + l)
                    q6[128 * h + l] = (ql0 & 15) | ((qh & 3) << 4)
                    q6[128 * h + l + 32] = (ql1 & 15) | (((qh >> 2) & 3) << 4)
                    q6[128 * h + l + 64] = (ql0 >> 4) | (((qh >> 4) & 3) << 4)
                    q6[128 * h + l + 96] = (ql1 >> 4) | (((qh >> 6) & 3) << 4)
                }
            }
            for j in 0..<16 {
                let sc = Int(Int8(truncatingIfNeeded: byte(o + 192 + j)))
                groups.append(IntegerGroup(start: start + 16 * j, scale: d * Double(sc), min: 0,
                                           ints: q6[(16 * j)..<(16 * j + 16)].map { $0 - 32 }))
            }
        case .iq4_NL:
            let ints = (0..<16).map { Int(iq4nlValues[byte(o + 2 + $0) & 15]) } + (0..<16).map { Int(iq4nlValues[byte(o + 2 + $0) >> 4]) }
            groups.append(IntegerGroup(start: start, scale: half(o), min: 0, ints: ints))
        case .iq4_XS:
            let d = half(o), high = Int(base.loadUnaligned(fromByteOffset: o + 2, as: UInt16.self))
            for j in 0..<8 {
                let scale = ((byte(o + 4 + j / 2) >> (4 * (j % 2))) & 15 | ((high >> (2 * j)) & 3) << 4) - 32
                let qs = o + 8 + 16 * j
                let ints = (0..<16).map { Int(iq4nlValues[byte(qs + $0) & 15]) } + (0..<16).map { Int(iq4nlValues[byte(qs + $0) >> 4]) }
                groups.append(IntegerGroup(start: start + 32 * j, scale: d * Double(scale), min: 0, ints: ints))
            }
        default:
            preconditionFailure("no integer reference for \(w.dtype)")
        }
    }
    return groups
}

/// The integer-kernel result for one (weight row, activation row) in Double, and a bound on
/// the magnitudes of the partial terms a kernel adds (the scale for float rounding tolerances).
func referenceIntegerDot(_ groups: [IntegerGroup], _ a: ReferenceActivations, block: Int) -> (value: Double, magnitude: Double) {
    var value = 0.0, magnitude = 0.0
    for g in groups {
        let dx = Double(a.d[g.start / block])
        var dot = 0, sum = 0, absolute = 0
        for (k, v) in g.ints.enumerated() {
            let xq = Int(a.q[g.start + k])
            dot += v * xq
            sum += xq
            absolute += (abs(v) + 32) * abs(xq)
        }
        let term = g.scale * dx * Double(dot), minTerm = g.min * dx * Double(sum)
        value += term + minTerm
        // Kernels may add partial sums of unsigned codes and subtract the offset term (8, 16
        // or 32 times the activation sum) separately, so rounding scales with this.
        magnitude += abs(g.scale * dx) * Double(absolute) + abs(minTerm)
    }
    return (value, magnitude)
}

/// Types with an integer kernel.
let integerKernelTypes: [DType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS]

/// Byte offsets of the F16 scale fields inside one block of `dtype`.
func halfFieldOffsets(_ dtype: DType) -> [Int] {
    switch dtype {
    case .q8_0, .q4_0, .q5_0, .iq4_NL, .iq4_XS: return [0]
    case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
    case .q2_K: return [80, 82]
    case .q3_K: return [108]
    case .q6_K: return [208]
    default: return []
    }
}

/// A matrix of random block bytes (every bit pattern of the quants, 6-bit scales and high
/// bits) with finite random F16 scales in ±[2^-8, 2^-4).
func makeRandomBlockWeights(rows: Int, cols: Int, dtype: DType, rng: inout SplitMix) -> WeightMatrix {
    let rowBytes = dtype.byteCount(of: cols)!
    let storage = RawStorage(byteCount: rows * rowBytes)
    for i in 0..<(rows * rowBytes) { storage.pointer.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self) }
    for block in 0..<(rows * cols / dtype.blockSize) {
        for offset in halfFieldOffsets(dtype) {
            let magnitude = Float(1.0 / 256.0) * (1 + 15 * abs(rng.float()))
            let value = rng.next() & 1 == 0 ? magnitude : -magnitude
            storage.pointer.storeBytes(of: HalfConversion.floatToF16(value), toByteOffset: block * dtype.typeSize + offset, as: UInt16.self)
        }
    }
    return WeightMatrix(rows: rows, cols: cols, dtype: dtype, data: UnsafeRawPointer(storage.pointer), owner: storage)
}
