/// The GPT-2 byte-to-character bijection used by byte-level BPE vocabularies.
///
/// Printable Latin-1 bytes map to themselves; the remaining 68 bytes map to U+0100 and up in order.
/// The tokenizer works on raw bytes internally and only uses this table to translate vocabulary
/// strings to and from bytes.
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` is the character that stands for byte `b`.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// Inverse of `scalarForByte`.
    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for b in 0..<256 { map[scalarForByte[b]] = UInt8(b) }
        return map
    }()

    /// Raw bytes a byte-level token string stands for, or nil if some character is outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            guard let b = byteForScalar[scalar.value] else { return nil }
            out.append(b)
        }
        return out
    }

    /// The byte-level token string for raw bytes.
    static func string(of bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes {
            if let scalar = Unicode.Scalar(scalarForByte[Int(b)]) { s.append(scalar) }
        }
        return String(s)
    }
}
