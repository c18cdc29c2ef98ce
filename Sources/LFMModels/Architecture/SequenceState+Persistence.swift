#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LFMCore

/// Saving and restoring a `SequenceState` as a self-describing byte blob (the payload of session
/// files and prefix-cache entries). This file is the only one outside `SequenceState.swift` that
/// touches the state's storage.
///
/// The blob is a list of tagged records (`ByteWriter.record`), all flagged required:
/// - `SQHD`: blob version (1), position, max context, layer count, then per layer its shape:
///   kind (0 none, 1 convolution, 2 key/value) and two numbers (rows, channels / width, window).
/// - `SQKV`, one per key/value layer: layer index, storage type (``KeyValueStorageTag``), kept rows,
///   first kept position, byte counts and the raw key and value rows (oldest first).
/// - `SQKR`, instead of `SQKV` when encoding relative to a base state whose rows start the same:
///   layer, rows and first kept position; the rows are copied from the base when decoding.
/// - `SQCV`, one per convolution layer: layer index, storage type, value count, raw values.
/// Readers skip unknown records unless they are flagged required, so new data (a RoPE offset, a
/// pruning policy's scores) is added as new records.
public enum KeyValueStorageTag: UInt32, Sendable {
    /// Little-endian F32 values, `width` per row.
    case f32 = 0
    // Reserved for compressed caches: f16 = 1, bf16 = 2, q8_0 = 3, q4_0 = 4.
}

extension SequenceState {
    static let headerTag = RecordTag("SQHD")
    static let keyValueTag = RecordTag("SQKV")
    static let keyValueReferenceTag = RecordTag("SQKR")
    static let convolutionTag = RecordTag("SQCV")
    static let blobVersion: UInt32 = 1

    /// Writes this state's records into `w`. With `base`, key/value layers whose kept rows equal
    /// the start of the base's (same first kept position) are written as references (`SQKR`), so
    /// a snapshot taken on the way to `base` costs only its convolution states.
    public func encode(into w: inout ByteWriter, relativeTo base: SequenceState? = nil) {
        w.record(Self.headerTag, flags: ByteWriter.required) { w in
            w.u32(Self.blobVersion)
            w.i64(position)
            w.i64(maxContext)
            w.i64(shapes.count)
            for shape in shapes {
                switch shape {
                case .none: w.u32(0); w.i64(0); w.i64(0)
                case .convolution(let rows, let channels): w.u32(1); w.i64(rows); w.i64(channels)
                case .keyValue(let width, let window): w.u32(2); w.i64(width); w.i64(window)
                }
            }
        }
        for (l, shape) in shapes.enumerated() {
            switch shape {
            case .none: continue
            case .convolution:
                w.record(Self.convolutionTag, flags: ByteWriter.required) { w in
                    w.i64(l)
                    w.u32(KeyValueStorageTag.f32.rawValue)
                    w.i64(conv[l].count)
                    w.floats(conv[l][...])
                }
            case .keyValue(let width, _):
                let rows = keptRows(l)
                let count = rows * width
                if let base, base.shapes == shapes, base.firstKept[l] == firstKept[l], base.keptRows(l) >= rows,
                   Self.sameBytes(base.keys[l][..<count], keys[l][..<count]), Self.sameBytes(base.values[l][..<count], values[l][..<count]) {
                    w.record(Self.keyValueReferenceTag, flags: ByteWriter.required) { w in
                        w.i64(l); w.i64(rows); w.i64(firstKept[l])
                    }
                    continue
                }
                w.record(Self.keyValueTag, flags: ByteWriter.required) { w in
                    w.i64(l)
                    w.u32(KeyValueStorageTag.f32.rawValue)
                    w.i64(rows)
                    w.i64(firstKept[l])
                    w.i64(count * 4)
                    w.i64(count * 4)
                    w.floats(keys[l][..<count])
                    w.floats(values[l][..<count])
                }
            }
        }
    }

    /// Reads a state written by `encode`, for a model whose layers have `shapes`, holding at most
    /// `maxContext` positions. `base` must be the state the blob was encoded relative to (if any).
    /// - Throws: `CacheFileError` when the blob is malformed, uses an unknown storage type or
    ///   required record, or does not fit `shapes` / `maxContext`.
    public static func decode(_ blob: UnsafeRawBufferPointer, shapes: [LayerCacheShape], maxContext: Int,
                              relativeTo base: SequenceState? = nil) throws(CacheFileError) -> SequenceState {
        var reader = ByteReader(blob, context: "sequence state")
        let records = try reader.records()
        try records.checkKnown([headerTag, keyValueTag, keyValueReferenceTag, convolutionTag], context: "sequence state")
        guard let header = records.first(headerTag) else { throw .malformed(detail: "sequence state: no SQHD record") }
        var h = ByteReader(header.payload, context: "sequence state header")
        let version = try h.u32("version")
        guard version == blobVersion else {
            throw .malformed(detail: "sequence state: blob version \(version), this build reads \(blobVersion)")
        }
        let position = try h.i64("position")
        _ = try h.i64("max context")
        let layerCount = try h.i64("layer count", in: 0...100_000)
        var saved: [LayerCacheShape] = []
        for l in 0..<layerCount {
            let kind = try h.u32("kind of layer \(l)")
            let a = try h.i64("shape of layer \(l)"), b = try h.i64("shape of layer \(l)")
            switch kind {
            case 0: saved.append(.none)
            case 1: saved.append(.convolution(rows: a, channels: b))
            case 2: saved.append(.keyValue(width: a, window: b))
            default: throw .malformed(detail: "sequence state: layer \(l) has unknown kind \(kind)")
            }
        }
        guard saved == shapes else {
            throw .malformed(detail: "sequence state: layer shapes \(saved) do not match the model's \(shapes)")
        }
        guard position <= maxContext else {
            throw .malformed(detail: "sequence state: \(position) positions saved, the context holds \(maxContext)")
        }
        var state = SequenceState(shapes: shapes, maxContext: maxContext)
        state.position = position
        var seen = Set<Int>()
        for record in records where record.tag != headerTag {
            var r = ByteReader(record.payload, context: "sequence state record \(record.tag)")
            let l = try r.i64("layer", in: 0...max(0, shapes.count - 1))
            guard shapes.indices.contains(l), seen.insert(l).inserted else {
                throw .malformed(detail: "sequence state: record \(record.tag) for layer \(l) is out of range or repeated")
            }
            switch (record.tag, shapes[l]) {
            case (convolutionTag, .convolution(let rows, let channels)):
                try storage(try r.u32("storage type"))
                let count = try r.i64("value count")
                guard count == rows * channels else {
                    throw .malformed(detail: "sequence state: layer \(l) conv state has \(count) values, expected \(rows * channels)")
                }
                state.conv[l] = try r.floats(count, "conv state of layer \(l)")
            case (keyValueTag, .keyValue(let width, let window)):
                try storage(try r.u32("storage type"))
                let rows = try r.i64("rows"), first = try r.i64("first kept position")
                try checkRows(rows, first: first, position: position, window: window, layer: l)
                let keyBytes = try r.i64("key bytes"), valueBytes = try r.i64("value bytes")
                guard keyBytes == rows * width * 4, valueBytes == keyBytes else {
                    throw .malformed(detail: "sequence state: layer \(l) has \(keyBytes)/\(valueBytes) key/value bytes, expected \(rows * width * 4)")
                }
                state.keys[l] = try r.floats(rows * width, "keys of layer \(l)")
                state.values[l] = try r.floats(rows * width, "values of layer \(l)")
                state.firstKept[l] = first
            case (keyValueReferenceTag, .keyValue(let width, let window)):
                let rows = try r.i64("rows"), first = try r.i64("first kept position")
                try checkRows(rows, first: first, position: position, window: window, layer: l)
                guard let base, base.shapes == shapes, base.firstKept[l] == first, base.keptRows(l) >= rows else {
                    throw .malformed(detail: "sequence state: layer \(l) refers to a base state that is missing or does not hold its rows")
                }
                state.keys[l] = Array(base.keys[l][..<(rows * width)])
                state.values[l] = Array(base.values[l][..<(rows * width)])
                state.firstKept[l] = first
            default:
                throw .malformed(detail: "sequence state: record \(record.tag) does not fit layer \(l) (\(shapes[l]))")
            }
        }
        for (l, shape) in shapes.enumerated() where shape != .none && !seen.contains(l) {
            throw .malformed(detail: "sequence state: layer \(l) (\(shape)) has no saved data")
        }
        return state
    }

    /// Bitwise equality (`==` on floats would call -0 and 0 equal and NaN unequal).
    private static func sameBytes(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0
            }
        }
    }

    private static func storage(_ raw: UInt32) throws(CacheFileError) {
        guard KeyValueStorageTag(rawValue: raw) != nil else {
            throw .malformed(detail: "sequence state: storage type \(raw) is not supported by this build")
        }
    }

    private static func checkRows(_ rows: Int, first: Int, position: Int, window: Int, layer l: Int) throws(CacheFileError) {
        guard first + rows == position, window == 0 ? first == 0 : true else {
            throw .malformed(detail: "sequence state: layer \(l) keeps \(rows) rows from position \(first), inconsistent with position \(position)")
        }
    }
}
