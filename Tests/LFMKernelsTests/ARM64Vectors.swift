import Foundation
import LFMCore
@testable import LFMKernels

/// Test vectors for the C matrix-product kernels, made by the Swift scalar references, for
/// Scripts/arm64/check_vectors.c (which runs the C kernels cross-compiled for ARM64 under qemu,
/// and natively). Committed in Scripts/arm64/vectors; `ARM64VectorTests` regenerates them and
/// checks they equal the committed files, so they cannot drift from the references.
///
/// One file per weight type (`f32.bin`, ..., `iq4_xs.bin`), little-endian:
///
///     "LFMV", u32 version (1), u32 cases, then per case:
///     u32 kind (0 float product, 1 block-quantized product), u32 type (float: 0 F32, 1 F16,
///     2 BF16; quantized: the ggml type id), u32 rows, cols, m, xStride, yStride,
///     u32 weight byte count, the weight bytes (GGUF row layout), f32 x[m * xStride],
///     [quantized only: u32 block, i8 q[m * cols], f32 d[m * cols / block],
///      i16 sums[m * cols / 16], f32 dsums[m * cols / block]: the reference activations],
///     f32 expected[m * yStride], f32 tolerance[m * yStride].
///
/// Padding columns (n >= rows) expect the sentinel 777 with tolerance 0: a kernel must not
/// write them (the driver fills y with 777 first). Tolerances are the kernel tests' own:
/// float products `4 · 2^-24 · sqrt(K + 1) · Σ|x·w|` (CPUMatmulTests) against
/// `ReferenceBackend`; quantized products `1e-5 ·` the partial-term magnitude against the exact
/// integer-dot reference (QuantizedMatmulKernelTests).
enum ARM64Vectors {
    static let version: UInt32 = 1
    static let paddingSentinel: Float = 777

    /// Float shapes (rows, cols, m): decode (m = 1) and prefill tiles, odd columns and tails.
    static let floatShapes = [(1, 7, 1), (5, 33, 1), (9, 257, 1), (4, 100, 2), (37, 16, 5), (3, 130, 17), (6, 64, 4)]
    /// Quantized shapes (rows, blocks, m, random block bytes).
    static let quantShapes = [(1, 1, 1, false), (7, 3, 2, true), (37, 2, 5, false), (5, 3, 3, true), (6, 2, 4, false),
                              (3, 1, 7, true)]
    static let floatTypes: [(String, DType)] = [("f32", .f32), ("f16", .f16), ("bf16", .bf16)]
    /// Every type with an integer kernel; new types go last (a file's seeds follow its index).
    static let quantTypes: [(String, DType)] = [("q8_0", .q8_0), ("q4_0", .q4_0), ("q4_k", .q4_K), ("q6_k", .q6_K),
                                                ("q4_1", .q4_1), ("q5_0", .q5_0), ("q5_1", .q5_1), ("q2_k", .q2_K),
                                                ("q3_k", .q3_K), ("q5_k", .q5_K), ("iq4_nl", .iq4_NL), ("iq4_xs", .iq4_XS)]

    /// Every file: name to bytes.
    static func files() -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for (index, (name, dtype)) in floatTypes.enumerated() {
            var file = VectorFile(cases: floatShapes.count)
            for (shape, (rows, cols, m)) in floatShapes.enumerated() {
                file.appendFloatCase(rows: rows, cols: cols, m: m, dtype: dtype, seed: UInt64(100 * index + shape + 1))
            }
            result[name + ".bin"] = file.bytes
        }
        for (index, (name, dtype)) in quantTypes.enumerated() {
            var file = VectorFile(cases: quantShapes.count)
            for (shape, (rows, blocks, m, randomBytes)) in quantShapes.enumerated() {
                file.appendQuantizedCase(rows: rows, cols: blocks * dtype.blockSize, m: m, dtype: dtype,
                                         randomBytes: randomBytes, seed: UInt64(1000 + 100 * index + shape))
            }
            result[name + ".bin"] = file.bytes
        }
        return result
    }
}

/// The bytes of one vector file.
struct VectorFile {
    private(set) var bytes: [UInt8] = []

    init(cases: Int) {
        bytes += Array("LFMV".utf8)
        append(ARM64Vectors.version)
        append(UInt32(cases))
    }

    mutating func append(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func append(_ values: [Float]) { for v in values { append(v.bitPattern) } }
    mutating func append(_ values: [Int16]) {
        for v in values { withUnsafeBytes(of: UInt16(bitPattern: v).littleEndian) { bytes += $0 } }
    }
    mutating func append(_ values: [Int8]) { bytes += values.map { UInt8(bitPattern: $0) } }

    private mutating func appendHeader(kind: UInt32, type: UInt32, rows: Int, cols: Int, m: Int, xStride: Int,
                                       yStride: Int, w: WeightMatrix) {
        for v in [kind, type, UInt32(rows), UInt32(cols), UInt32(m), UInt32(xStride), UInt32(yStride)] { append(v) }
        let count = rows * w.rowBytes
        append(UInt32(count))
        bytes += UnsafeRawBufferPointer(start: w.data, count: count)
    }

    /// A float product against `ReferenceBackend`, with CPUMatmulTests' tolerance.
    mutating func appendFloatCase(rows: Int, cols: Int, m: Int, dtype: DType, seed: UInt64) {
        var rng = SplitMix(seed: seed)
        let w = makeWeights(rows: rows, cols: cols, dtype: dtype, values: rng.floats(rows * cols))
        let xStride = cols + 3, yStride = rows + 2
        let x = rng.floats(m * xStride, scale: 2)
        var expected = [Float](repeating: ARM64Vectors.paddingSentinel, count: m * yStride)
        ReferenceBackend().matmul(w, x: x, xStride: xStride, m: m, y: &expected, yStride: yStride)
        var tolerance = [Float](repeating: 0, count: m * yStride)
        for i in 0..<m {
            for n in 0..<rows {
                var absSum = 0.0
                for k in 0..<cols { absSum += abs(Double(x[i * xStride + k]) * Double(w.element(n, k))) }
                tolerance[i * yStride + n] = Float(4 * 0x1p-24 * (Double(cols) + 1).squareRoot() * absSum + 1e-30)
            }
        }
        let type: UInt32 = dtype == .f32 ? 0 : dtype == .f16 ? 1 : 2
        appendHeader(kind: 0, type: type, rows: rows, cols: cols, m: m, xStride: xStride, yStride: yStride, w: w)
        append(x)
        append(expected)
        append(tolerance)
        withExtendedLifetime(w.owner) {}
    }

    /// A block-quantized product against the integer reference, with
    /// QuantizedMatmulKernelTests' tight tolerance. In the 5-row cases activation row 2 is all
    /// zero (its blocks quantize to d = 0).
    mutating func appendQuantizedCase(rows: Int, cols: Int, m: Int, dtype: DType, randomBytes: Bool, seed: UInt64) {
        var rng = SplitMix(seed: seed)
        let block = dtype.blockSize == 256 ? 256 : 32
        let w = randomBytes
            ? makeRandomBlockWeights(rows: rows, cols: cols, dtype: dtype, rng: &rng)
            : makeWeights(rows: rows, cols: cols, dtype: dtype, values: rng.floats(rows * cols))
        let xStride = cols + 3, yStride = rows + 2
        var x = rng.floats(m * xStride, scale: 2)
        if m == 5 { for k in 0..<cols { x[2 * xStride + k] = 0 } }
        let acts = (0..<m).map { ReferenceActivations(x[($0 * xStride)..<($0 * xStride + cols)], block: block) }
        let groups = (0..<rows).map { integerGroups(w, row: $0) }
        var expected = [Float](repeating: ARM64Vectors.paddingSentinel, count: m * yStride)
        var tolerance = [Float](repeating: 0, count: m * yStride)
        for t in 0..<m {
            for n in 0..<rows {
                let (value, magnitude) = referenceIntegerDot(groups[n], acts[t], block: block)
                expected[t * yStride + n] = Float(value)
                tolerance[t * yStride + n] = Float(1e-5 * magnitude) + 1e-30
            }
        }
        appendHeader(kind: 1, type: dtype.rawValue, rows: rows, cols: cols, m: m, xStride: xStride, yStride: yStride, w: w)
        append(x)
        append(UInt32(block))
        append(acts.flatMap(\.q))
        append(acts.flatMap(\.d))
        append(acts.flatMap(\.sums))
        append(acts.flatMap(\.dsums))
        append(expected)
        append(tolerance)
        withExtendedLifetime(w.owner) {}
    }
}
