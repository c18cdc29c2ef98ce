/// Progress through a string (a value, or the key of an additional property).
struct StringState: Hashable, Sendable {
    /// The string node (values) or the owning object node (keys).
    var node: Int32
    var isKey = false
    /// Code points so far (an escape counts as one).
    var chars: Int32 = 0
    /// Bytes of a key so far, counting the opening quote (to compare with declared keys).
    var bytes: Int32 = 1
    /// UTF-8 continuation still expected (see `StringState.pending`).
    var utf8: UInt8 = 0
    /// 0: none; 1: after a backslash; 2…5: inside `\u` after (value − 2) hex digits.
    var escape: UInt8 = 0
    var firstHex: UInt8 = 0
    /// Declared keys (sorted) that the key written so far still matches.
    var lo: Int32 = 0
    var hi: Int32 = 0

    /// Bytes still needed to finish the current UTF-8 sequence, per `utf8` state.
    static let pending: [Int] = [0, 1, 2, 3, 2, 2, 3, 3]
}

/// Progress through an object.
struct ObjectState: Hashable, Sendable {
    enum Phase: UInt8, Hashable, Sendable {
        case open, declaredKey, additionalKey, colon, afterColon, inValue, afterValue, afterComma
        /// Inside a multi-byte opening (`[name(`) or closing (`)]`), `pos` bytes in.
        case opening, closing
    }
    var node: Int32
    var phase: Phase = .open
    var spaced = false
    /// The next declared property that may appear.
    var next: Int32 = 0
    /// The property whose key or value is being written (−1: an additional one).
    var current: Int32 = -1
    var additionalCount: Int16 = 0
    /// While matching a declared key: the range of candidates in `keyTables[next]` and the byte position.
    var lo: Int32 = 0
    var hi: Int32 = 0
    var pos: Int32 = 0
}

/// Progress through an array.
struct ArrayState: Hashable, Sendable {
    enum Phase: UInt8, Hashable, Sendable { case open, inValue, afterValue, afterComma }
    var node: Int32
    var phase: Phase = .open
    var spaced = false
    var count: Int32 = 0
}

/// One level of the matcher's stack.
enum Frame: Hashable, Sendable {
    /// A value of the node is expected and not started.
    case value(Int32)
    case string(StringState)
    case number(Int32, NumberState)
    /// Matching the node's literals in `lo..<hi` after `pos` bytes.
    case literal(Int32, lo: Int32, hi: Int32, pos: Int32)
    case object(ObjectState)
    case array(ArrayState)
}

/// The candidates in `list[lo..<hi]` (sorted, sharing their first `pos` bytes) whose byte at `pos` is `byte`.
@inline(__always)
func narrow(_ list: [[UInt8]], _ lo: Int32, _ hi: Int32, _ pos: Int32, _ byte: UInt8) -> (Int32, Int32) {
    var first: Int32 = -1, last: Int32 = -1
    var i = Int(lo)
    let p = Int(pos)
    while i < Int(hi) {
        let item = list[i]
        if item.count > p && item[p] == byte {
            if first < 0 { first = Int32(i) }
            last = Int32(i)
        } else if first >= 0 { break }
        i += 1
    }
    return first < 0 ? (lo, lo) : (first, last + 1)
}

@inline(__always)
func narrowKeys(_ list: [KeyEntry], _ lo: Int32, _ hi: Int32, _ pos: Int32, _ byte: UInt8) -> (Int32, Int32) {
    var first: Int32 = -1, last: Int32 = -1
    var i = Int(lo)
    let p = Int(pos)
    while i < Int(hi) {
        let item = list[i].literal
        if item.count > p && item[p] == byte {
            if first < 0 { first = Int32(i) }
            last = Int32(i)
        } else if first >= 0 { break }
        i += 1
    }
    return first < 0 ? (lo, lo) : (first, last + 1)
}
