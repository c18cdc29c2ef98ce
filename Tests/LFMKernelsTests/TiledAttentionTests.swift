import CLFMKernels
import Foundation
import LFMCore
import Testing
@testable import LFMKernels

/// The tiled (online-softmax) attention of `CPUBackend` and the KV row conversions, on every ISA
/// path this machine has, against `ReferenceBackend` (widen every row, then a two-pass softmax in
/// Double) and against GGUF bytes written by gguf-py 0.19.0.
///
/// Tolerance: |error| ≤ 1e-5 · (1 + |ref|). Outputs are convex combinations of values of size ≤ 1
/// (≤ 1.2 after quantization), and the F32 kernels differ from the Double reference only by
/// summation order over ≤ 128 keys of 32–64-term dot products (a few 1e-7).
@Suite struct TiledAttentionTests {
    static let tile = Int(LFM_ATTENTION_TILE)

    static func backends(threads: [Int] = [1, 2, 3]) -> [(CPUBackend, String)] {
        testedISAs.flatMap { isa in threads.map { (makeBackend(isa: isa, threads: $0), "\(isa) threads \($0)") } }
    }

    /// Stores `rows` random rows of `width` values as `type` with the reference conversion.
    static func storedRows(_ rng: inout SplitMix, rows: Int, width: Int, type: KVCacheType, scale: Float) -> [UInt8] {
        let values = rng.floats(rows * width, scale: scale)
        let rowBytes = type.rowBytes(width: width)
        var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
        bytes.withUnsafeMutableBytes { out in
            ReferenceBackend().storeKeyValues(values, xStride: width, rows: rows, width: width, as: type,
                                              into: out.baseAddress!, rowBytes: rowBytes)
        }
        return bytes
    }

    struct Case: CustomStringConvertible {
        var headDim: Int, heads: Int, kvHeads: Int, rows: Int, start: Int, window: Int
        var description: String { "hd \(headDim) heads \(heads)/\(kvHeads) rows \(rows) start \(start) window \(window)" }
    }

    /// Runs `c` on each backend and once on the reference over the same stored rows; returns
    /// each backend's worst error ratio (≤ 1 passes).
    static func compare(_ c: Case, type: KVCacheType, backends: [(CPUBackend, String)], seed: UInt64) -> [(String, Float)] {
        var rng = SplitMix(seed: seed)
        let total = c.start + c.rows, width = c.kvHeads * c.headDim
        let qStride = c.heads * c.headDim + 3, outStride = c.heads * c.headDim + 5
        let q = rng.floats(c.rows * qStride, scale: 2)
        let keys = storedRows(&rng, rows: total, width: width, type: type, scale: 2)
        let values = storedRows(&rng, rows: total, width: width, type: type, scale: 1)
        let rowBytes = type.rowBytes(width: width), scale = 1 / Float(c.headDim).squareRoot()
        func run(_ b: ComputeBackend) -> [Float] {
            var out = [Float](repeating: 0, count: c.rows * outStride)
            keys.withUnsafeBytes { k in
                values.withUnsafeBytes { v in
                    b.attention(q: q, qStride: qStride, rows: c.rows, startPosition: c.start, keys: k.baseAddress!,
                                values: v.baseAddress!, kvType: type, kvRowBytes: rowBytes, heads: c.heads,
                                kvHeads: c.kvHeads, headDim: c.headDim, window: c.window, scale: scale, out: &out,
                                outStride: outStride)
                }
            }
            return out
        }
        let reference = run(ReferenceBackend())
        let tolerance = reference.map { 1e-5 * (1 + abs($0)) }
        return backends.map { ($0.1, worstRatio(run($0.0), reference, tolerance: tolerance)) }
    }

    /// Key counts around the tile size, GQA ratios 1–4, windows, decode / whole prefill / a chunk
    /// after earlier positions; F32 keys and values (head dimensions that are not block multiples too).
    @Test func f32MatchesReferenceAroundTileSizes() {
        let t = Self.tile
        var cases: [Case] = []
        for total in [1, t - 1, t, t + 1, 3 * t + 5] {
            for (heads, kvHeads) in [(1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (6, 2)] {
                for window in [0, 5, t + 3] {
                    let hd = [32, 64, 7][(total + heads + window) % 3]
                    var shapes = [(1, total - 1), (total, 0)]
                    if total > 9 { shapes.append((9, total - 9)) }
                    for (rows, start) in shapes {
                        cases.append(Case(headDim: hd, heads: heads, kvHeads: kvHeads, rows: rows, start: start, window: window))
                    }
                }
            }
        }
        let backends = Self.backends(threads: [1, 2])
        for (i, c) in cases.enumerated() {
            for (label, ratio) in Self.compare(c, type: .f32, backends: backends, seed: UInt64(i)) {
                #expect(ratio <= 1, "\(label) \(c): error ratio \(ratio)")
            }
        }
    }

    /// Each type: the kernel on stored rows equals the reference attention on the same rows widened.
    @Test(arguments: KVCacheType.allCases)
    func storedTypeMatchesReferenceOnWidenedRows(type: KVCacheType) {
        let t = Self.tile
        let cases = [Case(headDim: 32, heads: 4, kvHeads: 1, rows: 1, start: 3 * t + 4, window: 0),
                     Case(headDim: 64, heads: 4, kvHeads: 2, rows: 1, start: t, window: 0),
                     Case(headDim: 64, heads: 3, kvHeads: 3, rows: t + 1, start: 0, window: 0),
                     Case(headDim: 32, heads: 2, kvHeads: 1, rows: 9, start: 2 * t, window: t - 1),
                     Case(headDim: 128, heads: 2, kvHeads: 1, rows: 5, start: 7, window: 0)]
        let backends = Self.backends(threads: [1, 2])
        for (i, c) in cases.enumerated() {
            for (label, ratio) in Self.compare(c, type: type, backends: backends, seed: 100 + UInt64(i)) {
                #expect(ratio <= 1, "\(label) \(type) \(c): error ratio \(ratio)")
            }
        }
    }

    /// Splitting an item's keys over threads and merging the partial (max, sum, output) results.
    @Test func keySplitsMergeExactly() {
        let t = Self.tile
        let cases = [Case(headDim: 64, heads: 2, kvHeads: 1, rows: 1, start: 5 * t + 7, window: 0),
                     Case(headDim: 32, heads: 4, kvHeads: 4, rows: 1, start: 4 * t, window: 2 * t + 1),
                     Case(headDim: 32, heads: 3, kvHeads: 1, rows: 3, start: 3 * t + 1, window: 0),
                     Case(headDim: 7, heads: 1, kvHeads: 1, rows: 2, start: t, window: 0)]
        for type in [KVCacheType.f32, .q8_0] {
            var backends: [(CPUBackend, String)] = []
            for (backend, label) in Self.backends(threads: [1, 2, 3]) {
                for splits in [2, 3, 7] {
                    let split = makeBackend(isa: backend.isa, threads: backend.threads)
                    split.attentionKeySplits = splits
                    backends.append((split, "\(label) splits \(splits)"))
                }
            }
            for (i, c) in cases.enumerated() where c.headDim % type.blockSize == 0 {
                for (label, ratio) in Self.compare(c, type: type, backends: backends, seed: 200 + UInt64(i)) {
                    #expect(ratio <= 1, "\(label) \(type) \(c): error ratio \(ratio)")
                }
            }
        }
    }

    /// Query-row blocks of any size (one row, a few rows, more than a tile, all rows in one block)
    /// give the reference result: prefill chunks at depth and from position 0, every stored type.
    @Test func rowBlocksOfAnySizeMatchReference() {
        let t = Self.tile
        let cases = [Case(headDim: 64, heads: 4, kvHeads: 2, rows: 3 * t + 5, start: 2 * t + 3, window: 0),
                     Case(headDim: 32, heads: 3, kvHeads: 1, rows: 2 * t + 1, start: 0, window: t + 3),
                     Case(headDim: 32, heads: 2, kvHeads: 2, rows: 40, start: 5, window: 0)]
        for type in KVCacheType.allCases {
            var backends: [(CPUBackend, String)] = []
            for (backend, label) in Self.backends(threads: [1, 2]) {
                for rowsPerItem in [1, 7, t + 1, 128] {
                    let blocked = makeBackend(isa: backend.isa, threads: backend.threads)
                    blocked.attentionRowsPerItem = rowsPerItem
                    backends.append((blocked, "\(label) rows per item \(rowsPerItem)"))
                }
            }
            for (i, c) in cases.enumerated() where c.headDim % type.blockSize == 0 {
                for (label, ratio) in Self.compare(c, type: type, backends: backends, seed: 300 + UInt64(i)) {
                    #expect(ratio <= 1, "\(label) \(type) \(c): error ratio \(ratio)")
                }
            }
        }
    }

    /// Items holding blocks of KV heads (one head, blocks that do not divide the heads, every head)
    /// give the reference result, alone and with key splits; single query rows (decode, the key
    /// rows scored as stored) at head dimensions 64 and 128 (their own loops) and others, and the
    /// default choice (every head in one item for a single row over at least 8 tiles).
    @Test func kvHeadBlocksOfAnySizeMatchReference() {
        let t = Self.tile
        let cases = [Case(headDim: 64, heads: 10, kvHeads: 5, rows: 1, start: 9 * t + 5, window: 0),
                     Case(headDim: 128, heads: 6, kvHeads: 3, rows: 1, start: 8 * t, window: 0),
                     Case(headDim: 32, heads: 12, kvHeads: 4, rows: 1, start: 9 * t + 1, window: 3 * t + 2),
                     Case(headDim: 96, heads: 4, kvHeads: 4, rows: 1, start: 2 * t + 9, window: 0),
                     Case(headDim: 7, heads: 3, kvHeads: 3, rows: 1, start: t + 1, window: 0),
                     Case(headDim: 64, heads: 8, kvHeads: 4, rows: 3, start: 2 * t + 3, window: 0)]
        for type in KVCacheType.allCases {
            var backends: [(CPUBackend, String)] = Self.backends(threads: [1, 2])
            for (backend, label) in Self.backends(threads: [1, 2]) {
                for headsPerItem in [1, 2, 3, 5] {
                    for splits in [nil, 3] as [Int?] {
                        let blocked = makeBackend(isa: backend.isa, threads: backend.threads)
                        blocked.attentionKVHeadsPerItem = headsPerItem
                        blocked.attentionKeySplits = splits
                        backends.append((blocked, "\(label) KV heads per item \(headsPerItem) splits \(splits ?? 0)"))
                    }
                }
            }
            for (i, c) in cases.enumerated() where c.headDim % type.blockSize == 0 {
                for (label, ratio) in Self.compare(c, type: type, backends: backends, seed: 400 + UInt64(i)) {
                    #expect(ratio <= 1, "\(label) \(type) \(c): error ratio \(ratio)")
                }
            }
        }
    }

    /// Without an override, a decode step over a long context splits its keys when the items are few.
    @Test func decodeSplitsKeysWhenItemsAreFew() {
        let backend = makeBackend(isa: ISA.detected, threads: 2)
        #expect(backend.keySplits(items: 1, tiles: 64, work: 1 << 20) == 4)
        #expect(backend.keySplits(items: 8, tiles: 64, work: 1 << 20) == 1)
        #expect(backend.keySplits(items: 1, tiles: 2, work: 1 << 20) == 1)
        #expect(makeBackend(isa: ISA.detected, threads: 1).keySplits(items: 1, tiles: 64, work: 1 << 20) == 1)
    }

    // MARK: Stored rows against gguf-py

    struct Fixture: Decodable {
        let width: Int
        let rows: [[UInt32]]
        let types: [String: [String]]
        let dequantized: [String: [[UInt32]]]
    }

    static func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/kvcache/kv_rows.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    static let fixtureNames: [KVCacheType: String] = [.f16: "F16", .bf16: "BF16", .q8_0: "Q8_0", .q4_0: "Q4_0"]

    /// Every backend stores the fixture rows exactly as gguf.quants.quantize does, and the stored
    /// rows widen to exactly gguf.quants.dequantize's floats (through attention with one key).
    @Test(arguments: [KVCacheType.f16, .bf16, .q8_0, .q4_0])
    func storedRowsEqualGGUFBytes(type: KVCacheType) throws {
        let f = try Self.fixture()
        let name = try #require(Self.fixtureNames[type])
        let expected = try #require(f.types[name]).map(Self.bytes(hex:))
        let widened = try #require(f.dequantized[name])
        let width = f.width, rowBytes = type.rowBytes(width: width)
        var all: [(ComputeBackend, String)] = Self.backends(threads: [1, 2]).map { ($0.0, $0.1) }
        all.append((ReferenceBackend(), "reference"))
        for (r, bits) in f.rows.enumerated() {
            let row = bits.map { Float(bitPattern: $0) }
            #expect(expected[r].count == rowBytes)
            for (backend, label) in all {
                var out = [UInt8](repeating: 0xAA, count: rowBytes)
                out.withUnsafeMutableBytes { o in
                    backend.storeKeyValues(row, xStride: width, rows: 1, width: width, as: type, into: o.baseAddress!,
                                           rowBytes: rowBytes)
                }
                #expect(out == expected[r], "\(label) \(type) row \(r)")
                // One visible key: the output equals that key's widened value row
                // (one query head per KV head of 32, weight exp(0) / exp(0) = 1).
                let heads = width / 32
                var attended = [Float](repeating: 0, count: width)
                let q = [Float](repeating: 0, count: width)
                expected[r].withUnsafeBytes { k in
                    backend.attention(q: q, qStride: width, rows: 1, startPosition: 0, keys: k.baseAddress!,
                                      values: k.baseAddress!, kvType: type, kvRowBytes: rowBytes, heads: heads,
                                      kvHeads: heads, headDim: 32, window: 0, scale: 1, out: &attended, outStride: width)
                }
                // Equal values (the weighted sum 0 · 0 + 1 · v turns a stored -0 into +0).
                #expect(attended == widened[r].map { Float(bitPattern: $0) }, "\(label) \(type) row \(r) widened")
            }
        }
    }

    /// F32 rows are stored unchanged.
    @Test func f32RowsAreCopied() {
        var rng = SplitMix(seed: 7)
        let x = rng.floats(3 * 40)
        for (backend, label) in Self.backends(threads: [2]) {
            var out = [UInt8](repeating: 0, count: 3 * 160)
            out.withUnsafeMutableBytes { o in
                backend.storeKeyValues(x, xStride: 40, rows: 3, width: 40, as: .f32, into: o.baseAddress!, rowBytes: 160)
            }
            let back = out.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(back == x, "\(label)")
        }
    }

    /// A block with a non-finite value reads back as NaN (not silently clamped), on every path.
    @Test func nonFiniteBlocksReadBackAsNaN() {
        var row = [Float](repeating: 0.5, count: 64)
        row[3] = .infinity
        row[40] = .nan
        for type in [KVCacheType.q8_0, .q4_0] {
            let rowBytes = type.rowBytes(width: 64)
            var all: [(ComputeBackend, String)] = Self.backends(threads: [1]).map { ($0.0, $0.1) }
            all.append((ReferenceBackend(), "reference"))
            var stored: [[UInt8]] = []
            for (backend, _) in all {
                var out = [UInt8](repeating: 0, count: rowBytes)
                out.withUnsafeMutableBytes { o in
                    backend.storeKeyValues(row, xStride: 64, rows: 1, width: 64, as: type, into: o.baseAddress!,
                                           rowBytes: rowBytes)
                }
                stored.append(out)
            }
            #expect(Set(stored).count == 1, "\(type): every path stores the same bytes")
            var widened = [Float](repeating: 0, count: 64)
            stored[0].withUnsafeBytes { bytes in
                widened.withUnsafeMutableBufferPointer { out in
                    #expect(throws: Never.self) { try type.storage.dequantizeRow(bytes, into: out) }
                }
            }
            #expect(widened[0..<32].allSatisfy(\.isNaN) && widened[32..<64].allSatisfy(\.isNaN), "\(type)")
        }
    }

    /// Q8_0 / Q4_0 need whole blocks per head: a typed error, not a fallback.
    @Test func blockTypesRejectHeadDimensionsThatAreNotBlockMultiples() {
        #expect(throws: KVCacheError.headDimensionNotBlockMultiple(type: .q8_0, headDim: 48, layer: 3)) {
            try KVCacheType.q8_0.validate(headDim: 48, layer: 3)
        }
        #expect(throws: KVCacheError.headDimensionNotBlockMultiple(type: .q4_0, headDim: 16, layer: 0)) {
            try KVCacheType.q4_0.validate(headDim: 16, layer: 0)
        }
        for type in [KVCacheType.f32, .f16, .bf16] { #expect(throws: Never.self) { try type.validate(headDim: 7, layer: 0) } }
        #expect(KVCacheType.q8_0.rowBytes(width: 64) == 68)
        #expect(KVCacheType.q4_0.rowBytes(width: 64) == 36)
        #expect(KVCacheType.bf16.rowBytes(width: 64) == 128)
        #expect(KVCacheType.f32.rowBytes(width: 64) == 256)
    }
}
