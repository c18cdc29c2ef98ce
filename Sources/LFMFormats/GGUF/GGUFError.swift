// Errors from reading, querying and writing GGUF files.

/// What went wrong with a GGUF file, with where (byte offset, key or tensor) and what was expected.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    /// The file ends before a field that needs `needed` bytes at `offset`.
    case truncated(what: String, offset: Int, needed: Int, fileSize: Int)
    /// The first four bytes are not "GGUF".
    case badMagic(found: [UInt8])
    /// The version is not 2 or 3.
    case unsupportedVersion(UInt32)
    /// A count (tensors, keys, array elements) cannot fit in the rest of the file.
    case countTooLarge(what: String, count: UInt64, offset: Int, remainingBytes: Int)
    /// A string length runs past the end of the file.
    case stringTooLong(what: String, length: UInt64, offset: Int, remainingBytes: Int)
    /// A string is not valid UTF-8.
    case invalidUTF8(what: String, offset: Int)
    /// A metadata value type tag is not a GGUF type.
    case unknownValueType(key: String, rawValue: UInt32, offset: Int)
    /// Arrays nest deeper than `GGUFFile.maxArrayNesting`.
    case arrayNestingTooDeep(key: String, offset: Int)
    /// A key appears twice.
    case duplicateKey(String)
    /// `general.alignment` is not a non-zero power of two stored as uint32.
    case badAlignment(found: String)
    /// A tensor has more than 4 dimensions.
    case tooManyDimensions(tensor: String, count: UInt32)
    /// A dimension does not fit in `Int`, or the element or byte count overflows.
    case badDimensions(tensor: String, dimensions: [UInt64], reason: String)
    /// A tensor's type id is not a known ggml type.
    case unknownTensorType(tensor: String, rawValue: UInt32)
    /// The first dimension is not a whole number of blocks of the tensor's type.
    case notBlockMultiple(tensor: String, type: String, firstDimension: Int, blockSize: Int)
    /// A tensor's data offset is not a multiple of the alignment.
    case misalignedOffset(tensor: String, offset: UInt64, alignment: Int)
    /// A tensor's data lies (partly) outside the file.
    case tensorOutOfBounds(tensor: String, start: UInt64, byteCount: Int, fileSize: Int)
    /// Two tensors have the same name.
    case duplicateTensorName(String)
    /// A requested metadata key is absent.
    case missingKey(String)
    /// A metadata value has another type than requested.
    case typeMismatch(key: String, expected: String, found: String)
    /// A metadata value does not fit the requested Swift type.
    case valueOutOfRange(key: String, value: String, expected: String)
    /// A requested tensor is absent.
    case missingTensor(String)
    /// The writer was given something it cannot write.
    case invalidWriterInput(String)
    /// Writing the file failed.
    case writeFailed(path: String, errno: Int32)
    /// The tensor data supplied to the writer has the wrong size.
    case tensorDataSizeMismatch(tensor: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case .truncated(let what, let offset, let needed, let size):
            return "GGUF truncated: \(what) needs \(needed) bytes at offset \(offset), file has \(size) bytes"
        case .badMagic(let found):
            return "not a GGUF file: magic is \(found.map { String(format2: $0) }.joined(separator: " ")), expected 47 47 55 46 (\"GGUF\")"
        case .unsupportedVersion(let v):
            return "unsupported GGUF version \(v) (supported: 2, 3)"
        case .countTooLarge(let what, let count, let offset, let remaining):
            return "GGUF \(what) count \(count) at offset \(offset) cannot fit in the remaining \(remaining) bytes"
        case .stringTooLong(let what, let length, let offset, let remaining):
            return "GGUF \(what) string length \(length) at offset \(offset) exceeds the remaining \(remaining) bytes"
        case .invalidUTF8(let what, let offset):
            return "GGUF \(what) string at offset \(offset) is not valid UTF-8"
        case .unknownValueType(let key, let raw, let offset):
            return "GGUF key \(key): unknown value type \(raw) at offset \(offset) (expected 0...12)"
        case .arrayNestingTooDeep(let key, let offset):
            return "GGUF key \(key): arrays nested deeper than \(GGUFFile.maxArrayNesting) at offset \(offset)"
        case .duplicateKey(let key):
            return "GGUF key \(key) appears more than once"
        case .badAlignment(let found):
            return "GGUF general.alignment must be a non-zero power of two of type uint32, found \(found)"
        case .tooManyDimensions(let tensor, let count):
            return "GGUF tensor \(tensor): \(count) dimensions, at most 4 supported"
        case .badDimensions(let tensor, let dims, let reason):
            return "GGUF tensor \(tensor): bad dimensions \(dims): \(reason)"
        case .unknownTensorType(let tensor, let raw):
            return "GGUF tensor \(tensor): unknown ggml type id \(raw)"
        case .notBlockMultiple(let tensor, let type, let first, let block):
            return "GGUF tensor \(tensor): first dimension \(first) is not a multiple of the \(type) block size \(block)"
        case .misalignedOffset(let tensor, let offset, let alignment):
            return "GGUF tensor \(tensor): data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .tensorOutOfBounds(let tensor, let start, let count, let size):
            return "GGUF tensor \(tensor): data at file offset \(start) of \(count) bytes runs past the end of the file (\(size) bytes)"
        case .duplicateTensorName(let name):
            return "GGUF tensor name \(name) appears more than once"
        case .missingKey(let key):
            return "GGUF metadata key \(key) is missing"
        case .typeMismatch(let key, let expected, let found):
            return "GGUF metadata key \(key): expected \(expected), found \(found)"
        case .valueOutOfRange(let key, let value, let expected):
            return "GGUF metadata key \(key): value \(value) does not fit \(expected)"
        case .missingTensor(let name):
            return "GGUF tensor \(name) is missing"
        case .invalidWriterInput(let message):
            return "GGUF writer: \(message)"
        case .writeFailed(let path, let code):
            return "GGUF writer: writing \(path) failed (errno \(code))"
        case .tensorDataSizeMismatch(let tensor, let expected, let found):
            return "GGUF writer: tensor \(tensor) needs \(expected) bytes of data, got \(found)"
        }
    }
}

extension String {
    /// Two-digit lowercase hex of a byte.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
