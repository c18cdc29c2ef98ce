// Reference quantizers, following ggml's `quantize_row_*_ref` step by step so that the bytes match:
// same search order, same tie-breaking, same Float rounding of every intermediate (no fused multiply-add).
import Dispatch
import Foundation
import LFMCore

extension GGMLType {
    /// Quantizes `source` (a whole number of blocks) into `destination`, which must hold exactly
    /// `rowBytes(cols: source.count)` bytes.
    ///
    /// Throws `QuantError.nonFiniteInput` for NaN or infinite inputs (ggml's result is undefined there).
    public func quantizeRow(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableRawBufferPointer) throws {
        let count = source.count
        let expected = try rowBytes(cols: count)
        guard destination.count == expected else {
            throw QuantError.bufferSizeMismatch(type: self, elements: count, expectedBytes: expected, foundBytes: destination.count)
        }
        if let bad = source.firstIndex(where: { !$0.isFinite }) {
            throw QuantError.nonFiniteInput(type: self, index: bad)
        }
        guard count > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let blocks = count / blockSize
        // Blocks are independent, so large inputs are split over the cores: same bytes.
        let chunks = blocks >= 2 * Self.parallelQuantizationBlocks
            ? min(ProcessInfo.processInfo.activeProcessorCount * 4, blocks / Self.parallelQuantizationBlocks) : 1
        if chunks <= 1 {
            quantizeBlocks(src, dst, 0..<blocks)
            return
        }
        let source = UncheckedSendable(src), target = UncheckedSendable(dst)
        DispatchQueue.concurrentPerform(iterations: chunks) { i in
            quantizeBlocks(source.value, target.value, (blocks * i / chunks)..<(blocks * (i + 1) / chunks))
        }
    }

    /// Blocks of a row from which `quantizeRow` splits the work over the cores (per chunk).
    static let parallelQuantizationBlocks = 256

    /// Quantizes blocks `range` of `src` into the matching blocks of `dst`.
    private func quantizeBlocks(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ range: Range<Int>) {
        for b in range {
            let x = src + b * blockSize
            let block = dst + b * typeSize
            switch self {
            case .f32: block.storeBytes(of: x.pointee, as: Float.self)
            case .f16: block.storeBytes(of: HalfConversion.floatToF16(x.pointee), as: UInt16.self)
            case .bf16: block.storeBytes(of: HalfConversion.floatToBF16(x.pointee), as: UInt16.self)
            case .q4_0: QuantBlocks.quantizeQ4_0(x, block)
            case .q4_1: QuantBlocks.quantizeQ4_1(x, block)
            case .q5_0: QuantBlocks.quantizeQ5_0(x, block)
            case .q5_1: QuantBlocks.quantizeQ5_1(x, block)
            case .q8_0: QuantBlocks.quantizeQ8_0(x, block)
            case .q2_K: QuantBlocks.quantizeQ2_K(x, block)
            case .q3_K: QuantBlocks.quantizeQ3_K(x, block)
            case .q4_K: QuantBlocks.quantizeQ4_K(x, block)
            case .q5_K: QuantBlocks.quantizeQ5_K(x, block)
            case .q6_K: QuantBlocks.quantizeQ6_K(x, block)
            case .q8_K: QuantBlocks.quantizeQ8_K(x, block)
            case .iq4_NL: QuantBlocks.quantizeIQ4_NL(x, block)
            case .iq4_XS: QuantBlocks.quantizeIQ4_XS(x, block)
            }
        }
    }

    /// Quantizes `values` (a whole number of blocks) and returns the bytes (convenience for tests and tools).
    public func quantize(_ values: [Float]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: try rowBytes(cols: values.count))
        try values.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBytes { try quantizeRow(src, into: $0) }
        }
        return out
    }
}

extension QuantBlocks {
    @inline(__always)
    static func storeHalf(_ value: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: HalfConversion.floatToF16(value), toByteOffset: offset, as: UInt16.self)
    }

    /// C's `(int8_t)(v)` / `(uint8_t)(v)` for the in-range values the quantizers produce; out-of-range
    /// values (impossible for finite input) clamp instead of trapping.
    @inline(__always)
    static func truncateToInt(_ v: Float) -> Int32 {
        guard v > -2_147_483_648, v < 2_147_483_648 else { return v > 0 ? Int32.max : Int32.min }
        return Int32(v.rounded(.towardZero))
    }

    /// Index of the first element of largest magnitude among `n` values, ggml-style (strictly greater wins).
    @inline(__always)
    static func signedAbsMax(_ x: UnsafePointer<Float>, _ n: Int) -> (amax: Float, max: Float) {
        var amax: Float = 0, max: Float = 0
        for j in 0..<n where amax < abs(x[j]) {
            amax = abs(x[j])
            max = x[j]
        }
        return (amax, max)
    }

    @inline(__always)
    static func minMax(_ x: UnsafePointer<Float>, _ n: Int) -> (min: Float, max: Float) {
        var mn = Float.greatestFiniteMagnitude, mx = -Float.greatestFiniteMagnitude
        for j in 0..<n {
            if x[j] < mn { mn = x[j] }
            if x[j] > mx { mx = x[j] }
        }
        return (mn, mx)
    }

    static func quantizeQ4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let (_, max) = signedAbsMax(x, 32)
        let d = max / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        for j in 0..<16 {
            let q0 = UInt8(truncatingIfNeeded: Swift.min(15, truncateToInt(x[j] * id + 8.5)))
            let q1 = UInt8(truncatingIfNeeded: Swift.min(15, truncateToInt(x[j + 16] * id + 8.5)))
            y.storeBytes(of: q0 | (q1 << 4), toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    static func quantizeQ4_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let (mn, mx) = minMax(x, 32)
        let d = (mx - mn) / 15
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        storeHalf(mn, y, 2)
        for j in 0..<16 {
            let q0 = UInt8(truncatingIfNeeded: Swift.min(15, truncateToInt((x[j] - mn) * id + 0.5)))
            let q1 = UInt8(truncatingIfNeeded: Swift.min(15, truncateToInt((x[j + 16] - mn) * id + 0.5)))
            y.storeBytes(of: q0 | (q1 << 4), toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    static func quantizeQ5_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let (_, max) = signedAbsMax(x, 32)
        let d = max / -16
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = UInt8(truncatingIfNeeded: Swift.min(31, truncateToInt(x[j] * id + 16.5)))
            let q1 = UInt8(truncatingIfNeeded: Swift.min(31, truncateToInt(x[j + 16] * id + 16.5)))
            y.storeBytes(of: (q0 & 0x0F) | ((q1 & 0x0F) << 4), toByteOffset: 6 + j, as: UInt8.self)
            qh |= UInt32((q0 & 0x10) >> 4) << UInt32(j)
            qh |= UInt32((q1 & 0x10) >> 4) << UInt32(j + 16)
        }
        y.storeBytes(of: qh, toByteOffset: 2, as: UInt32.self)
    }

    static func quantizeQ5_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let (mn, mx) = minMax(x, 32)
        let d = (mx - mn) / 31
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        storeHalf(mn, y, 2)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = UInt8(truncatingIfNeeded: truncateToInt((x[j] - mn) * id + 0.5))
            let q1 = UInt8(truncatingIfNeeded: truncateToInt((x[j + 16] - mn) * id + 0.5))
            y.storeBytes(of: (q0 & 0x0F) | ((q1 & 0x0F) << 4), toByteOffset: 8 + j, as: UInt8.self)
            qh |= UInt32((q0 & 0x10) >> 4) << UInt32(j)
            qh |= UInt32((q1 & 0x10) >> 4) << UInt32(j + 16)
        }
        y.storeBytes(of: qh, toByteOffset: 4, as: UInt32.self)
    }

    static func quantizeQ8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        for j in 0..<32 {
            // roundf: half away from zero.
            let q = Int8(truncatingIfNeeded: truncateToInt((x[j] * id).rounded(.toNearestOrAwayFromZero)))
            y.storeBytes(of: q, toByteOffset: 2 + j, as: Int8.self)
        }
    }

    static func quantizeQ8_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let (amax, max) = signedAbsMax(x, ggmlQK_K)
        guard amax != 0 else {
            y.initializeMemory(as: UInt8.self, repeating: 0, count: GGMLType.q8_K.typeSize)
            return
        }
        let iscale = -127 / max
        for j in 0..<ggmlQK_K {
            let v = Swift.min(127, KQuant.nearestInt(iscale * x[j]))
            y.storeBytes(of: Int8(truncatingIfNeeded: v), toByteOffset: 4 + j, as: Int8.self)
        }
        for j in 0..<16 {
            var sum: Int32 = 0
            for i in 0..<16 { sum += Int32(y.load(fromByteOffset: 4 + j * 16 + i, as: Int8.self)) }
            y.storeBytes(of: Int16(truncatingIfNeeded: sum), toByteOffset: 4 + ggmlQK_K + 2 * j, as: Int16.self)
        }
        y.storeBytes(of: 1 / iscale, toByteOffset: 0, as: Float.self)
    }
}

/// A pointer handed to `concurrentPerform` workers that write disjoint ranges.
private struct UncheckedSendable<T>: @unchecked Sendable {
    // @unchecked: carries the source and destination pointers to `concurrentPerform` workers, which write disjoint ranges and are joined before the caller continues.
    let value: T
    init(_ value: T) { self.value = value }
}
