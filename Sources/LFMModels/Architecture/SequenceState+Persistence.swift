#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LFMCore
import LFMKernels

/// Saving and restoring a `SequenceState` as a self-describing byte blob (the payload of session
/// files and prefix-cache entries). This file is the only one outside `SequenceState.swift` that
/// touches the state's storage.
///
/// The blob is a list of tagged records (`ByteWriter.record`), all flagged required:
/// - `SQHD`: blob version (1), position, max context, layer count, then per layer its shape:
///   kind (0 none, 1 convolution, 2 key/value, 3 recurrent) and two numbers (rows, channels /
///   width, window / channels, 0).
/// - `SQKV`, one per key/value layer: layer index, storage type (``KeyValueStorageTag``, the
///   state's `kvType`), kept rows, first kept position, byte counts and the stored key and value
///   rows (oldest first, in that type's bytes).
/// - `SQPL`: the cache policy (kind 0 full, 1 streaming, 2 prune, and its three numbers), the RoPE
///   shift of streaming evictions, and per full-attention layer the observation queries pruning keeps.
/// - `SQKR`, instead of `SQKV` when encoding relative to a base state whose rows start the same:
///   layer, rows and first kept position; the rows are copied from the base when decoding.
/// - `SQCV`, one per convolution layer: layer index, storage type, value count, raw values.
/// - `SQRC`, one per recurrent layer: the same fields as `SQCV` (added without a version bump:
///   blobs without recurrent layers are unchanged, and older readers reject kind 3 by name).
/// Readers skip unknown records unless they are flagged required, so new data (a RoPE offset, a
/// pruning policy's scores) is added as new records.
public enum KeyValueStorageTag: UInt32, Sendable {
    /// Little-endian F32 values, `width` per row.
    case f32 = 0
    /// IEEE half / bfloat16 values, `width` per row.
    case f16 = 1, bf16 = 2
    /// GGUF Q8_0 / Q4_0 blocks, `width / 32` per row.
    case q8_0 = 3, q4_0 = 4

    init(_ type: KVCacheType) {
        switch type {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .q8_0: self = .q8_0
        case .q4_0: self = .q4_0
        }
    }

    var kvType: KVCacheType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        }
    }
}

extension SequenceState {
    static let headerTag = RecordTag("SQHD")
    static let keyValueTag = RecordTag("SQKV")
    static let keyValueReferenceTag = RecordTag("SQKR")
    static let convolutionTag = RecordTag("SQCV")
    static let policyTag = RecordTag("SQPL")
    static let recurrentTag = RecordTag("SQRC")
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
                case .recurrent(let channels): w.u32(3); w.i64(channels); w.i64(0)
                }
            }
        }
        for (l, shape) in shapes.enumerated() {
            switch shape {
            case .none: continue
            case .convolution, .recurrent:
                var tag = Self.convolutionTag
                if case .recurrent = shape { tag = Self.recurrentTag }
                w.record(tag, flags: ByteWriter.required) { w in
                    w.i64(l)
                    w.u32(KeyValueStorageTag.f32.rawValue)
                    w.i64(conv[l].count)
                    w.floats(conv[l][...])
                }
            case .keyValue:
                let rows = keptRows(l)
                let count = rows * keyValueRowBytes(l)
                if let base, base.shapes == shapes, base.kvType == kvType, base.firstKept[l] == firstKept[l], base.keptRows(l) >= rows,
                   base.keyRows[l][..<count] == keyRows[l][..<count], base.valueRows[l][..<count] == valueRows[l][..<count] {
                    w.record(Self.keyValueReferenceTag, flags: ByteWriter.required) { w in
                        w.i64(l); w.i64(rows); w.i64(firstKept[l])
                    }
                    continue
                }
                w.record(Self.keyValueTag, flags: ByteWriter.required) { w in
                    w.i64(l)
                    w.u32(KeyValueStorageTag(kvType).rawValue)
                    w.i64(rows)
                    w.i64(firstKept[l])
                    w.i64(count)
                    w.i64(count)
                    keyRows[l][..<count].withUnsafeBytes { w.raw($0) }
                    valueRows[l][..<count].withUnsafeBytes { w.raw($0) }
                }
            }
        }
        w.record(Self.policyTag, flags: ByteWriter.required) { w in
            switch cachePolicy {
            case .full: w.u32(0); w.i64(0); w.i64(0); w.i64(0)
            case .streaming(let sinks, let window): w.u32(1); w.i64(sinks); w.i64(window); w.i64(0)
            case .prune(let budget, let observation, let kernel): w.u32(2); w.i64(budget); w.i64(observation); w.i64(kernel)
            }
            w.i64(policyState.shift)
            let observed = policyState.observations.keys.sorted()
            w.i64(observed.count)
            for l in observed {
                let queries = policyState.observations[l] ?? []
                w.i64(l)
                w.i64(queries.count)
                w.floats(queries[...])
            }
        }
    }

    /// Reads a state written by `encode`, for a model whose layers have `shapes`, holding at most
    /// `maxContext` positions (rows, under a bounded policy), its keys and values stored as
    /// `kvType` and its caches following `policy`. `base` must be the state the blob was encoded
    /// relative to (if any).
    /// - Throws: `CacheFileError` when the blob is malformed, uses an unknown storage type or
    ///   required record, or does not fit `shapes` / `maxContext` / `kvType` / `policy`.
    public static func decode(_ blob: UnsafeRawBufferPointer, shapes: [LayerCacheShape], maxContext: Int,
                              kvType: KVCacheType = .f32, policy: KVCachePolicy = .full,
                              relativeTo base: SequenceState? = nil) throws(CacheFileError) -> SequenceState {
        var reader = ByteReader(blob, context: "sequence state")
        let records = try reader.records()
        try records.checkKnown([headerTag, keyValueTag, keyValueReferenceTag, convolutionTag, recurrentTag, policyTag],
                               context: "sequence state")
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
            case 3: saved.append(.recurrent(channels: a))
            default: throw .malformed(detail: "sequence state: layer \(l) has unknown kind \(kind)")
            }
        }
        guard saved == shapes else {
            throw .malformed(detail: "sequence state: layer shapes \(saved) do not match the model's \(shapes)")
        }
        guard policy.isBounded || position <= maxContext else {
            throw .malformed(detail: "sequence state: \(position) positions saved, the context holds \(maxContext)")
        }
        var state: SequenceState
        do { state = try SequenceState(shapes: shapes, maxContext: maxContext, kvType: kvType) } catch {
            throw .malformed(detail: "sequence state: \(error)")
        }
        state.position = position
        state.cachePolicy = policy
        var seen = Set<Int>()
        if let record = records.first(policyTag) {
            var r = ByteReader(record.payload, context: "sequence state policy")
            let kind = try r.u32("policy kind")
            let a = try r.i64("policy number"), b = try r.i64("policy number"), c = try r.i64("policy number")
            let saved: KVCachePolicy
            switch kind {
            case 0: saved = .full
            case 1: saved = .streaming(sinks: a, window: b)
            case 2: saved = .prune(budget: a, observationWindow: b, poolingKernel: c)
            default: throw .malformed(detail: "sequence state: unknown cache policy kind \(kind)")
            }
            guard saved == policy else {
                throw .malformed(detail: "sequence state: saved with KV cache policy \(saved), this run uses \(policy)")
            }
            state.policyState.shift = try r.i64("RoPE shift", in: 0...position)
            let observed = try r.i64("observed layers", in: 0...shapes.count)
            for _ in 0..<observed {
                let l = try r.i64("observed layer", in: 0...max(0, shapes.count - 1))
                let count = try r.i64("observation count", in: 0...(1 << 28))
                state.policyState.observations[l] = try r.floats(count, "observations of layer \(l)")
            }
        } else if policy != .full {
            throw .malformed(detail: "sequence state: no cache policy saved, this run uses \(policy)")
        }
        for record in records where record.tag != headerTag && record.tag != policyTag {
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
            case (recurrentTag, .recurrent(let channels)):
                try storage(try r.u32("storage type"))
                let count = try r.i64("value count")
                guard count == channels else {
                    throw .malformed(detail: "sequence state: layer \(l) recurrent state has \(count) values, expected \(channels)")
                }
                state.conv[l] = try r.floats(count, "recurrent state of layer \(l)")
            case (keyValueTag, .keyValue(_, let window)):
                let tag = try r.u32("storage type")
                guard KeyValueStorageTag(rawValue: tag)?.kvType == kvType else {
                    throw .malformed(detail: "sequence state: layer \(l) stores KV type tag \(tag), this run uses \(kvType)")
                }
                let rows = try r.i64("rows"), first = try r.i64("first kept position")
                try checkRows(rows, first: first, position: position, window: window, bounded: policy.isBounded, layer: l)
                let rowBytes = state.keyValueRowBytes(l)
                let keyBytes = try r.i64("key bytes"), valueBytes = try r.i64("value bytes")
                guard keyBytes == rows * rowBytes, valueBytes == keyBytes else {
                    throw .malformed(detail: "sequence state: layer \(l) has \(keyBytes)/\(valueBytes) key/value bytes, expected \(rows * rowBytes)")
                }
                state.keyRows[l] = [UInt8](try r.raw(keyBytes, "keys of layer \(l)"))
                state.valueRows[l] = [UInt8](try r.raw(valueBytes, "values of layer \(l)"))
                state.firstKept[l] = first
            case (keyValueReferenceTag, .keyValue(_, let window)):
                let rows = try r.i64("rows"), first = try r.i64("first kept position")
                try checkRows(rows, first: first, position: position, window: window, bounded: policy.isBounded, layer: l)
                guard let base, base.shapes == shapes, base.kvType == kvType, base.firstKept[l] == first, base.keptRows(l) >= rows else {
                    throw .malformed(detail: "sequence state: layer \(l) refers to a base state that is missing or does not hold its rows")
                }
                let count = rows * state.keyValueRowBytes(l)
                state.keyRows[l] = Array(base.keyRows[l][..<count])
                state.valueRows[l] = Array(base.valueRows[l][..<count])
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

    /// Convolution and recurrent states are always F32.
    private static func storage(_ raw: UInt32) throws(CacheFileError) {
        guard raw == KeyValueStorageTag.f32.rawValue else {
            throw .malformed(detail: "sequence state: convolution storage type \(raw), expected F32 (0)")
        }
    }

    private static func checkRows(_ rows: Int, first: Int, position: Int, window: Int, bounded: Bool,
                                  layer l: Int) throws(CacheFileError) {
        guard first >= 0, rows >= 0, first + rows == position, window == 0 && !bounded ? first == 0 : true else {
            throw .malformed(detail: "sequence state: layer \(l) keeps \(rows) rows from position \(first), inconsistent with position \(position)")
        }
    }
}
