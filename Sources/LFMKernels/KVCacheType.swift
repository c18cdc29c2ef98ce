import CLFMKernels
import LFMCore

/// How a KV cache stores keys and values (llama.cpp's `-ctk` / `-ctv` types).
///
/// One cache row is one position's `kvHeads · headDim` values in the type, rows contiguous; head
/// `h` starts at element `h · headDim`. Q8_0 and Q4_0 rows are GGUF blocks of 32 (an f16 scale
/// and 32 int8 codes; an f16 scale and 16 bytes of nibbles), quantized exactly as ggml's
/// `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref`, so a head must be a whole number of blocks.
/// F16 and BF16 round to nearest even. Attention reads the stored type directly.
public enum KVCacheType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32
    case f16
    case bf16
    case q8_0
    case q4_0

    /// The name on the command line: `"f32"`, `"q8_0"`.
    public var description: String { rawValue }

    /// The tensor storage type with the same layout.
    public var storage: DType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        }
    }

    /// Elements per block (32 for Q8_0 / Q4_0, 1 otherwise): widths and head dimensions must be
    /// multiples of it.
    public var blockSize: Int { storage.blockSize }

    /// Bytes of one row of `width` values (`width` a multiple of `blockSize`).
    public func rowBytes(width: Int) -> Int {
        width / storage.blockSize * storage.typeSize
    }

    /// Throws `KVCacheError.headDimensionNotBlockMultiple` when heads of `headDim` values cannot
    /// be stored in this type.
    public func validate(headDim: Int, layer: Int) throws {
        guard headDim > 0, headDim % blockSize == 0 else {
            throw KVCacheError.headDimensionNotBlockMultiple(type: self, headDim: headDim, layer: layer)
        }
    }

    /// The id the C kernels use (`LFM_KV_*`).
    var cType: Int32 {
        switch self {
        case .f32: return LFM_KV_F32
        case .f16: return LFM_KV_F16
        case .bf16: return LFM_KV_BF16
        case .q8_0: return LFM_KV_Q8_0
        case .q4_0: return LFM_KV_Q4_0
        }
    }
}

/// A KV cache type that cannot hold a model's (or a state's) rows.
public enum KVCacheError: Error, CustomStringConvertible, Equatable {
    /// An attention layer's head dimension is not a multiple of the type's block size.
    case headDimensionNotBlockMultiple(type: KVCacheType, headDim: Int, layer: Int)
    /// A cache row width is not a multiple of the type's block size.
    case widthNotBlockMultiple(type: KVCacheType, width: Int, layer: Int)

    public var description: String {
        switch self {
        case .headDimensionNotBlockMultiple(let type, let headDim, let layer):
            return "KV cache type \(type) stores blocks of \(type.blockSize) values per head, but attention layer \(layer) "
                + "has head dimension \(headDim) (expected a positive multiple of \(type.blockSize)); use f32, f16 or bf16"
        case .widthNotBlockMultiple(let type, let width, let layer):
            return "KV cache type \(type) stores blocks of \(type.blockSize) values, but layer \(layer) has rows of \(width) "
                + "values (expected a multiple of \(type.blockSize))"
        }
    }
}
