import LFMCore
@testable import LFMKernels

/// Deterministic pseudo-random numbers for test inputs.
typealias SplitMix = SplitMix64

extension SplitMix64 {
    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float { signedUnit() * scale }

    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in float(scale) }
    }
}

/// Owns the bytes of a test weight matrix.
final class RawStorage: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    init(byteCount: Int) {
        pointer = .allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }
}

/// A `rows × cols` matrix of `values` stored as `dtype` (rounded to nearest even; block types
/// through the reference quantizer, row by row).
func makeWeights(rows: Int, cols: Int, dtype: DType, values: [Float]) -> WeightMatrix {
    let rowBytes = dtype.byteCount(of: cols)!
    let storage = RawStorage(byteCount: max(rows * rowBytes, 1))
    if dtype.isQuantized {
        values.withUnsafeBufferPointer { source in
            for r in 0..<rows {
                let row = UnsafeBufferPointer(rebasing: source[(r * cols)..<((r + 1) * cols)])
                try! dtype.quantizeRow(row, into: UnsafeMutableRawBufferPointer(start: storage.pointer + r * rowBytes, count: rowBytes))
            }
        }
    }
    for (i, v) in values.enumerated() where !dtype.isQuantized {
        switch dtype {
        case .f32: storage.pointer.storeBytes(of: v, toByteOffset: i * 4, as: Float.self)
        case .f16: storage.pointer.storeBytes(of: HalfConversion.floatToF16(v), toByteOffset: i * 2, as: UInt16.self)
        default: storage.pointer.storeBytes(of: HalfConversion.floatToBF16(v), toByteOffset: i * 2, as: UInt16.self)
        }
    }
    return WeightMatrix(rows: rows, cols: cols, dtype: dtype, data: UnsafeRawPointer(storage.pointer), owner: storage)
}

/// Every ISA path this machine can run (always includes `.portable`), with plain AVX2 next to
/// AVX2 + AVX-VNNI where the CPU has both.
let testedISAs: [ISA] = ISA.available.flatMap { isa -> [ISA] in
    if case .avx2(vnni: true) = isa { return [isa, .avx2(vnni: false)] }
    return [isa]
}

/// A backend that fans out even tiny operations, so thread splitting is exercised.
func makeBackend(isa: ISA, threads: Int, bf16DotPrefill: Bool = false) -> CPUBackend {
    let backend = CPUBackend(threads: threads, isa: isa, bf16DotPrefill: bf16DotPrefill)
    backend.minimumParallelWork = 0
    backend.minimumChunkRows = 1
    return backend
}

/// Largest `|a[i] - b[i]| / tolerance[i]` (≤ 1 means within tolerance); NaN counts as failure.
func worstRatio(_ a: [Float], _ b: [Float], tolerance: [Float]) -> Float {
    var worst: Float = 0
    for i in 0..<a.count {
        let ratio = abs(a[i] - b[i]) / tolerance[i]
        if !(ratio <= worst) { worst = ratio.isNaN ? .infinity : ratio }
    }
    return worst
}
