import LFMCore
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
//   IQ4_NL 32 elements, 18 bytes   d:f16, qs[16] (low nibbles = elements 0..15, high = 16..31),
//                                  x = d * iq4nlValues[nibble] (a fixed non-linear 16-entry table)
//   IQ4_XS 256 elements, 136 bytes d:f16, scales_h:u16 (2 high bits per 32-sub-block), scales_l[4]
//                                  (4 low bits per sub-block, sub-block 2i in the low nibble of byte i),
//                                  qs[128] (16 bytes per sub-block, nibbles as IQ4_NL);
//                                  x = d * (ls - 32) * iq4nlValues[nibble], ls the 6-bit sub-block scale
// Type ids and sizes match the gguf 0.19.0 Python package (`GGMLQuantizationType`, `GGML_QUANT_SIZES`).

/// Number of elements in one K-quant super-block.
public let ggmlQK_K = 256

/// IQ4_NL / IQ4_XS code values: ggml's `kvalues_iq4nl` (a 4-bit index selects one).
public let iq4nlValues: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

/// The quantization code's name for the engine's storage type enum (raw values are ggml ids).
public typealias GGMLType = DType

extension DType {
    /// Creates the type for a ggml type id, throwing `QuantError.unsupportedType` for ids this code does not handle.
    public init(id: UInt32) throws {
        guard let type = DType(rawValue: id) else { throw QuantError.unsupportedType(id: id) }
        self = type
    }

    /// Bytes taken by `cols` consecutive elements (one row).
    ///
    /// Throws when `cols` is negative, not a multiple of `blockSize`, or the size overflows `Int`.
    public func rowBytes(cols: Int) throws -> Int {
        guard cols >= 0 else { throw QuantError.negativeCount(type: self, count: cols) }
        guard cols % blockSize == 0 else { throw QuantError.notBlockMultiple(type: self, count: cols) }
        guard let bytes = byteCount(of: cols) else { throw QuantError.sizeOverflow(type: self, count: cols) }
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
