#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
import LFMCore

/// A fresh temporary directory.
func temporaryCacheDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-cache-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The cache-file container: checksum, atomic writes, and every way a file can be unusable.
@Suite(.serialized) struct CacheFileTests {
    let model = ModelIdentity(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
    let payload: [Float] = (0..<1000).map { Float($0) * 0.25 - 7 }

    func write(_ path: String, kind: CacheFileKind = .session, model: ModelIdentity? = nil) throws {
        try CacheFile.write(to: path, kind: kind, model: model ?? self.model) { w in
            w.record(RecordTag("TEST"), flags: ByteWriter.required) { $0.floats(payload[...]) }
            w.record(RecordTag("OPTL")) { $0.u32(7) }
        }
    }

    func expectFailure(_ path: String, kind: CacheFileKind = .session, _ check: (CacheFileError) -> Bool) {
        do {
            _ = try MappedCacheFile(path: path, kind: kind, model: model)
            Issue.record("\(path) was accepted")
        } catch {
            #expect(check(error), "\(error)")
        }
    }

    @Test func xxhash64MatchesReferenceVectors() {
        #expect(XXHash64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        // Checked with python-xxhash 3.x (39 bytes: the 32-byte stripe loop, 8- and 4-byte tails, single bytes).
        #expect(XXHash64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
        #expect(XXHash64.hash(Array("Nobody inspects the spammish repetition".utf8), seed: 20_141_025) == 0xCE06_9361_3685_2706)
    }

    @Test func roundTripKeepsRecords() throws {
        let path = try temporaryCacheDirectory() + "/a.lfmc"
        try write(path)
        let file = try MappedCacheFile(path: path, kind: .session, model: model)
        #expect(file.records.map(\.tag) == [RecordTag("TEST"), RecordTag("OPTL")])
        var reader = ByteReader(try #require(file.records.first(RecordTag("TEST"))).payload, context: "test")
        #expect(try reader.floats(payload.count, "payload") == payload)
        #expect(file.records[0].isRequired && !file.records[1].isRequired)
        // A reader that knows only TEST skips OPTL but refuses an unknown required record.
        try file.records.checkKnown([RecordTag("TEST")], context: "test")
        #expect(throws: CacheFileError.unsupportedRecord(tag: "TEST", context: "test")) {
            try file.records.checkKnown([RecordTag("OPTL")], context: "test")
        }
        // No temporary files are left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        #expect(names == ["a.lfmc"])
    }

    @Test func truncatedFilesAreRejectedAtEveryLength() throws {
        let directory = try temporaryCacheDirectory()
        let path = directory + "/t.lfmc"
        try write(path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for length in [0, 3, 8, 20, 47, 48, 63, 64, 100, bytes.count / 2, bytes.count - 16, bytes.count - 1] {
            let cut = directory + "/cut\(length).lfmc"
            try Data(bytes[..<length]).write(to: URL(fileURLWithPath: cut))
            expectFailure(cut) {
                switch $0 {
                case .truncated: return true
                case .badMagic: return length < 8
                default: return false
                }
            }
        }
    }

    @Test func flippedBytesAreDetected() throws {
        let directory = try temporaryCacheDirectory()
        let path = directory + "/f.lfmc"
        try write(path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var generator = SplitMix64(seed: 5)
        // Every byte of the header and trailer, and random payload bytes: never accepted, never a crash.
        let positions = Array(0..<48) + Array((bytes.count - 16)..<bytes.count) + (0..<64).map { _ in 48 + Int(generator.next() % UInt64(bytes.count - 64)) }
        for position in positions {
            var damaged = bytes
            damaged[position] ^= 0x10
            let file = directory + "/flip\(position).lfmc"
            try Data(damaged).write(to: URL(fileURLWithPath: file))
            expectFailure(file) { _ in true }
        }
        var damaged = bytes
        damaged[200] ^= 1
        try Data(damaged).write(to: URL(fileURLWithPath: path))
        expectFailure(path) { if case .checksumMismatch = $0 { return true } else { return false } }
    }

    @Test func wrongModelVersionAndKindAreRejected() throws {
        let directory = try temporaryCacheDirectory()
        try write(directory + "/m.lfmc", model: ModelIdentity(high: 1, low: 2))
        expectFailure(directory + "/m.lfmc") { if case .wrongModel = $0 { return true } else { return false } }
        try write(directory + "/k.lfmc", kind: .prefixEntry)
        expectFailure(directory + "/k.lfmc") { if case .wrongKind = $0 { return true } else { return false } }
        // A future version (the checksum recomputed, as its writer would): refused by version.
        try write(directory + "/v.lfmc")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/v.lfmc")))
        bytes[8] = 2
        let sum = XXHash64.hash(Array(bytes[..<(bytes.count - 16)]))
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { bytes[bytes.count - 16 + i] = $0[i] } }
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/v.lfmc"))
        expectFailure(directory + "/v.lfmc") { $0 == .unsupportedVersion(path: directory + "/v.lfmc", found: 2, supported: 1) }
        expectFailure(directory + "/missing.lfmc") { $0 == .notFound(path: directory + "/missing.lfmc") }
    }

    @Test func unwritableDirectoryFailsWithATypedError() throws {
        let directory = try temporaryCacheDirectory()
        // A path under a regular file fails for every user (root ignores permission bits).
        let file = directory + "/plain"
        try Data([1]).write(to: URL(fileURLWithPath: file))
        #expect(throws: CacheFileError.self) { try write(file + "/x.lfmc") }
        if geteuid() != 0 {
            let locked = directory + "/locked"
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
            chmod(locked, 0o500)
            defer { chmod(locked, 0o700) }
            #expect(throws: CacheFileError.self) { try write(locked + "/x.lfmc") }
        }
    }

    /// A full disk, simulated with RLIMIT_FSIZE (SIGXFSZ ignored so write(2) fails with EFBIG).
    /// The limit is process-wide and restored at once; it is set far above the files other
    /// tests write, and this file is written past it.
    @Test func fileSizeLimitFailsTheWriteAndLeavesTheOldFile() throws {
        let directory = try temporaryCacheDirectory()
        let path = directory + "/big.lfmc"
        try write(path)
        let big = [UInt8](repeating: 0xA5, count: 40 << 20)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var old = rlimit()
        getrlimit(RLIMIT_FSIZE_VALUE, &old)
        var limited = old
        limited.rlim_cur = 32 << 20
        #expect(setrlimit(RLIMIT_FSIZE_VALUE, &limited) == 0)
        var failure: Error?
        do {
            try CacheFile.write(to: path, kind: .session, model: model) { w in w.record(RecordTag("BIG ")) { $0.raw(big) } }
        } catch { failure = error }
        setrlimit(RLIMIT_FSIZE_VALUE, &old)
        signal(SIGXFSZ, previousHandler)
        guard case .writeFailed(_, "write", let code) = failure as? CacheFileError else {
            Issue.record("expected a failed write, got \(String(describing: failure))")
            return
        }
        #expect(code == EFBIG)
        // The old file is intact and no temporary file is left.
        _ = try MappedCacheFile(path: path, kind: .session, model: model)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["big.lfmc"])
    }

    @Test func concurrentWritersLeaveAValidFile() async throws {
        let directory = try temporaryCacheDirectory()
        let path = directory + "/same.lfmc"
        let model = model
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for round in 0..<10 {
                        let values = [Float](repeating: Float(writer * 100 + round), count: 20_000)
                        try? CacheFile.write(to: path, kind: .prefixEntry, model: model) { w in
                            w.record(RecordTag("VALS"), flags: ByteWriter.required) { $0.floats(values[...]) }
                        }
                        // Readers racing the writers only ever see complete files.
                        if let file = try? MappedCacheFile(path: path, kind: .prefixEntry, model: model),
                           let r = file.records.first(RecordTag("VALS")) {
                            var reader = ByteReader(r.payload, context: "race")
                            let read = (try? reader.floats(20_000, "values")) ?? []
                            #expect(read.count == 20_000 && Set(read).count == 1)
                        }
                    }
                }
            }
        }
        let file = try MappedCacheFile(path: path, kind: .prefixEntry, model: model)
        #expect(file.records.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["same.lfmc"])
    }
}

#if os(Linux)
let RLIMIT_FSIZE_VALUE = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
#else
let RLIMIT_FSIZE_VALUE = RLIMIT_FSIZE
#endif
