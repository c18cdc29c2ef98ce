/// Character classes used by the pre-tokenizer scanner, matching the Oniguruma semantics that
/// Hugging Face `tokenizers` uses for `\p{L}`, `\p{N}` and `\s`.
enum CharClass {
    /// `\p{L}`: general category Lu, Ll, Lt, Lm, Lo.
    static let letter: UInt8 = 1
    /// `\p{N}`: general category Nd, Nl, No.
    static let number: UInt8 = 2
    /// `\s`: the Unicode White_Space property.
    static let space: UInt8 = 4
    /// `\r` or `\n`.
    static let newline: UInt8 = 8

    /// Class bits for every scalar of the Basic Multilingual Plane, computed once.
    static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for value in 0..<0x10000 {
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }  // surrogates
            table[value] = compute(scalar)
        }
        return table
    }()

    /// Unicode version of the character database behind the reference regex engine (the Oniguruma
    /// bundled with `tokenizers` 0.23.3 knows Unicode 16.0). Characters assigned later are treated as
    /// unassigned, so that a newer Swift runtime does not split text differently.
    static let referenceUnicodeVersion = (major: 16, minor: 0)

    static func compute(_ scalar: Unicode.Scalar) -> UInt8 {
        let props = scalar.properties
        var bits: UInt8 = 0
        if let age = props.age,
            (age.major, age.minor) > (referenceUnicodeVersion.major, referenceUnicodeVersion.minor)
        {
            return 0
        }
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            bits |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            bits |= number
        default:
            break
        }
        if props.isWhitespace { bits |= space }
        if scalar == "\r" || scalar == "\n" { bits |= newline }
        return bits
    }

    /// Class bits of planes 1 and 2 (emoji, historic scripts, CJK extensions), computed on first use.
    static let planes1And2: [UInt8] = (0x10000..<0x30000).map { value in
        Unicode.Scalar(UInt32(value)).map(compute) ?? 0
    }

    /// Class bits of a scalar value (any plane).
    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        if value < 0x10000 { return bmp[Int(value)] }
        if value < 0x30000 { return planes1And2[Int(value) - 0x10000] }
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        return compute(scalar)
    }
}

/// Decodes the scalar starting at `i` in valid UTF-8 `p[0..<n]`; returns class bits and byte length.
@inline(__always)
func classAt(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ ascii: UnsafePointer<UInt8>) -> (UInt8, Int) {
    let b0 = p[i]
    if b0 < 0x80 { return (ascii[Int(b0)], 1) }
    if b0 < 0xE0, i + 1 < n {
        let v = (UInt32(b0 & 0x1F) << 6) | UInt32(p[i + 1] & 0x3F)
        return (CharClass.of(v), 2)
    }
    if b0 < 0xF0, i + 2 < n {
        let v = (UInt32(b0 & 0x0F) << 12) | (UInt32(p[i + 1] & 0x3F) << 6) | UInt32(p[i + 2] & 0x3F)
        return (CharClass.of(v), 3)
    }
    if i + 3 < n {
        let v = (UInt32(b0 & 0x07) << 18) | (UInt32(p[i + 1] & 0x3F) << 12) | (UInt32(p[i + 2] & 0x3F) << 6)
            | UInt32(p[i + 3] & 0x3F)
        return (CharClass.of(v), 4)
    }
    return (0, n - i)  // truncated sequence; cannot happen for valid UTF-8
}

/// Byte length of the UTF-8 sequence whose lead byte is `b` (1 for stray bytes).
@inline(__always)
func utf8Length(lead b: UInt8) -> Int {
    if b < 0xC0 { return 1 }
    if b < 0xE0 { return 2 }
    if b < 0xF0 { return 3 }
    return 4
}
