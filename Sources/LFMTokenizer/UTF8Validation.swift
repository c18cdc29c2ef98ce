/// Result of scanning bytes for UTF-8 validity.
enum UTF8Scan: Equatable {
    /// All bytes are valid UTF-8.
    case valid
    /// Bytes up to `validEnd` are valid; the rest is the start of a character that may still complete.
    case incomplete(validEnd: Int)
    /// The sequence starting at `offset` (of `length` bytes) can never be valid.
    case invalid(offset: Int, length: Int)
}

/// Scans `bytes` for the first UTF-8 problem (overlongs, surrogates and values above U+10FFFF are invalid).
func scanUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> UTF8Scan {
    let n = bytes.count
    var i = 0
    while i < n {
        let b0 = bytes[i]
        if b0 < 0x80 {
            i += 1
            continue
        }
        let need: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; upper = 0x9F
        case 0xF0: need = 3; lower = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; upper = 0x8F
        default: return .invalid(offset: i, length: 1)
        }
        for k in 1...need {
            guard i + k < n else { return .incomplete(validEnd: i) }
            let b = bytes[i + k]
            let lo = k == 1 ? lower : 0x80, hi = k == 1 ? upper : 0xBF
            if b < lo || b > hi { return .invalid(offset: i, length: k) }
        }
        i += need + 1
    }
    return .valid
}

/// Decodes UTF-8 bytes, throwing `TokenizerError.invalidUTF8` (or substituting U+FFFD per maximal
/// invalid subpart when `lossy`).
func decodeUTF8(_ bytes: [UInt8], lossy: Bool, context: String) throws -> String {
    if lossy { return String(decoding: bytes, as: UTF8.self) }
    let scan = bytes.withUnsafeBufferPointer { scanUTF8($0) }
    switch scan {
    case .valid:
        return String(decoding: bytes, as: UTF8.self)
    case let .incomplete(validEnd):
        throw TokenizerError.invalidUTF8(byteOffset: validEnd, bytes: Array(bytes[validEnd...]), context: context)
    case let .invalid(offset, length):
        let end = min(bytes.count, offset + max(length, 1))
        throw TokenizerError.invalidUTF8(byteOffset: offset, bytes: Array(bytes[offset..<end]), context: context)
    }
}

/// The bytes as a String if they are valid UTF-8.
func validString(_ bytes: some Collection<UInt8>) -> String? {
    let array = Array(bytes)
    let scan = array.withUnsafeBufferPointer { scanUTF8($0) }
    return scan == .valid ? String(decoding: array, as: UTF8.self) : nil
}
