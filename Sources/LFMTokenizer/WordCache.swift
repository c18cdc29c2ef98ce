import Foundation

/// Open-addressing cache from a pre-tokenized word (bytes) to its ids, stored in flat arenas so that a
/// lookup does not allocate.
struct WordTable {
    private struct Slot {
        var hash: UInt64 = 0  // 0 = empty
        var keyStart: Int32 = 0
        var keyLength: Int32 = 0
        var valueStart: Int32 = 0
        var valueLength: Int32 = 0
    }

    private var slots: [Slot]
    private var mask: Int
    private var count = 0
    private var keys: [UInt8] = []
    private(set) var values: [Int32] = []
    private static let maxSlots = 1 << 18

    init(slots: Int = 1 << 14) {
        self.slots = [Slot](repeating: Slot(), count: slots)
        mask = slots - 1
    }

    /// Hash of a byte string (never 0).
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(n)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h | 1
    }

    /// Range of the cached ids in `values`, if the word is cached.
    @inline(__always)
    func lookup(_ hash: UInt64, _ p: UnsafePointer<UInt8>, _ n: Int) -> Range<Int>? {
        slots.withUnsafeBufferPointer { s in
            var i = Int(truncatingIfNeeded: hash >> 20) & mask
            while true {
                let slot = s[i]
                if slot.hash == 0 { return nil }
                if slot.hash == hash && Int(slot.keyLength) == n {
                    let equal = keys.withUnsafeBufferPointer { k -> Bool in
                        guard let base = k.baseAddress else { return false }
                        return memcmp(base + Int(slot.keyStart), p, n) == 0
                    }
                    if equal { return Int(slot.valueStart)..<Int(slot.valueStart + slot.valueLength) }
                }
                i = (i + 1) & mask
            }
        }
    }

    /// Caches `ids` for the word (the caller checked it is absent).
    mutating func insert(_ hash: UInt64, _ p: UnsafePointer<UInt8>, _ n: Int, _ ids: ArraySlice<Int32>) {
        if (count + 1) * 4 > slots.count * 3 || keys.count + n > Int(Int32.max) / 2 {
            if slots.count < WordTable.maxSlots {
                grow()
            } else {
                self = WordTable(slots: slots.count)  // full: start over
            }
        }
        let slot = Slot(
            hash: hash, keyStart: Int32(keys.count), keyLength: Int32(n), valueStart: Int32(values.count),
            valueLength: Int32(ids.count))
        keys.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        values.append(contentsOf: ids)
        place(slot)
        count += 1
    }

    private mutating func place(_ slot: Slot) {
        var i = Int(truncatingIfNeeded: slot.hash >> 20) & mask
        while slots[i].hash != 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.hash != 0 { place(slot) }
    }
}

/// Shared word cache of a `Tokenizer`. Encoders take it with `tryLock`; a concurrent encoder that
/// finds it busy uses a private table instead of waiting.
final class WordCache: @unchecked Sendable {
    // @unchecked: `table` is only touched under `lock`.
    private let lock = NSLock()
    private var table = WordTable()

    func withTable<R>(_ body: (inout WordTable) -> R) -> R {
        if lock.try() {
            defer { lock.unlock() }
            return body(&table)
        }
        var local = WordTable()
        return body(&local)
    }
}
