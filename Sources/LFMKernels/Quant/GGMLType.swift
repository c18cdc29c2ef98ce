// ggml tensor element types and their block geometry.
//
// Layouts (little-endian, one block each; "f16" is an IEEE half):
//   F32   1 element,   4 bytes   float
//   F16   1 element,   2 bytes   f16
//   BF16  1 element,   2 bytes   bfloat16
//   Q4_0  32 elements, 18 bytes  d:f16, qs[16] (low nibbles = elements 0..15, high = 16..31), x = d*(q-8)
//   Q4_1  32 elements, 20 bytes  d:f16, m:f16, qs[16], x = d*q + m
//   Q5_0  32 elements, 22 bytes  d:f16, qh:u32 (5th bits), qs[16], x = d*(q-16)
//   Q5_1  32 elements, 24 bytes  d:f16, m:f16, qh:u32, qs[16], x = d*q + m
//   Q8_0  32 elements, 34 bytes  d:f16, qs:i8[32], x = d*q
//   Q2_K  256 elements, 84 bytes   scales[16] (4-bit scale | 4-bit min), qs[64] (2 bits), d:f16, dmin:f16
//   Q3_K  256 elements, 110 bytes  hmask[32] (3rd bits), qs[64] (low 2 bits), scales[12] (16 6-bit scales), d:f16
//   Q4_K  256 elements, 144 bytes  d:f16, dmin:f16, scales[12] (8 6-bit scales + 8 6-bit mins), qs[128]
//   Q5_K  256 elements, 176 bytes  d:f16, dmin:f16, scales[12], qh[32], qs[128]
//   Q6_K  256 elements, 210 bytes  ql[128], qh[64], scales:i8[16], d:f16
//   Q8_K  256 elements, 292 bytes  d:f32, qs:i8[256], bsums:i16[16] (sums of 16 quants, for dot products)
// Type ids and sizes match the gguf 0.19.0 Python package (`GGMLQuantizationType`, `GGML_QUANT_SIZES`).

/// Number of elements in one K-quant super-block.
public let ggmlQK_K = 256

/// A ggml tensor element type supported by the quantization reference code.
///
/// Raw values are the ggml type ids stored in GGUF tensor infos.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case bf16 = 30

    /// Creates the type for a ggml type id, throwing `QuantError.unsupportedType` for ids this code does not handle.
    public init(id: UInt32) throws {
        guard let type = GGMLType(rawValue: id) else { throw QuantError.unsupportedType(id: id) }
        self = type
    }

    /// ggml's name for the type (`"Q4_K"`).
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        }
    }

    public var description: String { name }

    /// Elements per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: return ggmlQK_K
        }
    }

    /// Bytes per block.
    public var typeSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        }
    }

    /// Whether the type is a block-quantized format (not a plain float type).
    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes taken by `cols` consecutive elements (one row).
    ///
    /// Throws when `cols` is negative, not a multiple of `blockSize`, or the size overflows `Int`.
    public func rowBytes(cols: Int) throws -> Int {
        guard cols >= 0 else { throw QuantError.negativeCount(type: self, count: cols) }
        guard cols % blockSize == 0 else { throw QuantError.notBlockMultiple(type: self, count: cols) }
        let (bytes, overflow) = (cols / blockSize).multipliedReportingOverflow(by: typeSize)
        guard !overflow else { throw QuantError.sizeOverflow(type: self, count: cols) }
        return bytes
    }
}

/// Errors from the quantization reference code.
public enum QuantError: Error, CustomStringConvertible, Equatable {
    /// The ggml type id is not one this code supports.
    case unsupportedType(id: UInt32)
    /// A negative element count was given.
    case negativeCount(type: GGMLType, count: Int)
    /// The element count is not a whole number of blocks.
    case notBlockMultiple(type: GGMLType, count: Int)
    /// The byte size of `count` elements does not fit in `Int`.
    case sizeOverflow(type: GGMLType, count: Int)
    /// A buffer has the wrong size for the element count.
    case bufferSizeMismatch(type: GGMLType, elements: Int, expectedBytes: Int, foundBytes: Int)
    /// The input to a quantizer holds a NaN or an infinity (ggml's result is undefined for those).
    case nonFiniteInput(type: GGMLType, index: Int)

    public var description: String {
        switch self {
        case .unsupportedType(let id):
            return "unsupported ggml type id \(id) (supported: \(GGMLType.allCases.map { "\($0.name)=\($0.rawValue)" }.joined(separator: ", ")))"
        case .negativeCount(let type, let count):
            return "\(type): negative element count \(count)"
        case .notBlockMultiple(let type, let count):
            return "\(type): element count \(count) is not a multiple of the block size \(type.blockSize)"
        case .sizeOverflow(let type, let count):
            return "\(type): byte size of \(count) elements overflows"
        case .bufferSizeMismatch(let type, let elements, let expected, let found):
            return "\(type): \(elements) elements need \(expected) bytes, buffer has \(found)"
        case .nonFiniteInput(let type, let index):
            return "\(type): cannot quantize a non-finite value (element \(index))"
        }
    }
}
