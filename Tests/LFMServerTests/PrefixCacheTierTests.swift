import Foundation
import LFMCore
import LFMGeneration
import LFMModels
@testable import LFMServer
import Testing

/// Collects warnings (thread-safe).
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

/// The prefix cache's disk tier: spill, map back, survive a restart, stay within its limits, and
/// skip bad files.
@Suite(.serialized) struct PrefixCacheTierTests {
    let identity = ModelIdentity(high: 0xAB, low: 0xCD)

    func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-prefix-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func engine(_ directory: String, entries: Int = 1, diskBytes: Int = 1 << 30, log: WarningLog,
                model: ModelIdentity? = nil) throws -> BatchEngine {
        let (m, tokenizer, _) = try TestModel.get()
        var configuration = EngineConfiguration(maxBatch: 4, maxContext: 512, prefixCacheEntries: entries)
        configuration.prefixCacheDisk = PrefixCacheDiskOptions(directory: directory, maxBytes: diskBytes, model: model ?? identity,
                                                               warn: { log.add($0) })
        return BatchEngine(model: m, tokenizer: tokenizer, configuration: configuration, metrics: ServerMetrics())
    }

    func run(_ engine: BatchEngine, _ prompt: [Int]) async throws -> (text: String, usage: JobUsage?) {
        let result = await collect(try engine.submit(GenerationJob(promptTokens: prompt,
                                                                   options: GenerationOptions(sampling: .greedy, maxTokens: 6, stopTokens: []))))
        return (result.text, result.usage)
    }

    let promptA = (1...40).map { $0 * 37 % 5000 + 3 }
    let promptB = (1...30).map { $0 * 53 % 5000 + 11 }

    func entryFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".lfmc") }.sorted()
    }

    @Test func evictedEntriesComeBackFromDiskAndSurviveARestart() async throws {
        let dir = try directory()
        let log = WarningLog()
        let first = try engine(dir, log: log)
        let a1 = try await run(first, promptA)
        #expect(a1.usage?.cachedPromptTokens == 0)
        _ = try await run(first, promptB)   // one RAM entry: A leaves RAM
        first.flushPrefixCache()
        #expect(try entryFiles(dir).count == 2)
        let a2 = try await run(first, promptA)
        #expect(a2.usage?.cachedPromptTokens == promptA.count)   // mapped back from disk
        #expect(a2.text == a1.text && a2.usage?.tokens == a1.usage?.tokens)
        first.shutdown()

        // A new engine (a restarted server) finds both entries by scanning the directory.
        let second = try engine(dir, log: log)
        defer { second.shutdown() }
        let a3 = try await run(second, promptA)
        #expect(a3.usage?.cachedPromptTokens == promptA.count)
        #expect(a3.usage?.tokens == a1.usage?.tokens)
        // A longer prompt starting with A continues from A's snapshot.
        let longer = try await run(second, promptA + [5, 6, 7])
        #expect(longer.usage?.cachedPromptTokens == promptA.count)
        #expect(log.all.isEmpty, "\(log.all)")
    }

    @Test func badFilesAreSkippedWithAWarning() async throws {
        let dir = try directory()
        let log = WarningLog()
        let first = try engine(dir, log: log)
        let a1 = try await run(first, promptA)
        _ = try await run(first, promptB)
        first.flushPrefixCache()
        first.shutdown()
        let files = try entryFiles(dir)
        #expect(files.count == 2)
        // Damage A's file (flip a byte in its KV payload), truncate B's, and add garbage under our prefix.
        let store = DiskPrefixStore(options: PrefixCacheDiskOptions(directory: dir, maxBytes: 1 << 30, model: identity, warn: { _ in }),
                                    shapes: [], maxContext: 512, vocabularySize: 1)
        let fileA = dir + "/" + store.fileName(promptA), fileB = dir + "/" + store.fileName(promptB)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fileA)))
        bytes[bytes.count - 200] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: fileA))
        let b = try Data(contentsOf: URL(fileURLWithPath: fileB))
        try b.prefix(b.count / 2).write(to: URL(fileURLWithPath: fileB))
        let garbage = dir + "/" + String(identity.description.prefix(16)) + "-0000000000000000-3.lfmc"
        try Data("not a cache file".utf8).write(to: URL(fileURLWithPath: garbage))
        // A file of another model (same name scheme, other fingerprint) is left alone, without a warning.
        let foreign = try engine(dir, log: WarningLog(), model: ModelIdentity(high: 1, low: 2))
        _ = try await run(foreign, promptB)
        foreign.flushPrefixCache()
        foreign.shutdown()

        let second = try engine(dir, log: log)
        defer { second.shutdown() }
        // The scan warned about B and the garbage (headers); A's damage shows when it is mapped back.
        #expect(log.all.count == 2, "\(log.all)")
        let a2 = try await run(second, promptA)
        #expect(a2.usage?.cachedPromptTokens == 0)     // never served from a corrupt file
        #expect(a2.usage?.tokens == a1.usage?.tokens)
        #expect(log.all.count == 3 && log.all.last?.contains("corrupt") == true, "\(log.all)")
        second.flushPrefixCache()
        // Corrupt files are deleted (A was rewritten after its rerun); the other model's file is still there.
        let left = try entryFiles(dir)
        #expect(!left.contains((garbage as NSString).lastPathComponent))
        #expect(!left.contains((fileB as NSString).lastPathComponent))
        #expect(left.contains((fileA as NSString).lastPathComponent))
        #expect(left.contains { !$0.hasPrefix(String(identity.description.prefix(16))) })
        _ = try MappedCacheFile(path: fileA, kind: .prefixEntry, model: identity)
    }

    @Test func diskTierStaysWithinItsByteLimit() async throws {
        let dir = try directory()
        let log = WarningLog()
        let probe = try engine(dir, log: log)
        _ = try await run(probe, promptA)
        probe.flushPrefixCache()
        probe.shutdown()
        let one = try entryFiles(dir).reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? 0)
        }
        #expect(one > 0)
        let limit = one * 5 / 2   // room for two entries of this size
        let bounded = try engine(dir, diskBytes: limit, log: log)
        defer { bounded.shutdown() }
        for k in 0..<5 { _ = try await run(bounded, promptA.map { ($0 + k * 7) % 5000 + 3 }) }
        bounded.flushPrefixCache()
        let total = try entryFiles(dir).reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? 0)
        }
        #expect(total <= limit)
        #expect(try entryFiles(dir).count == 2)
        #expect(log.all.isEmpty, "\(log.all)")
    }

    @Test func unwritableDirectoryWarnsAndServes() async throws {
        let dir = try directory()
        let file = dir + "/plain"
        try Data([1]).write(to: URL(fileURLWithPath: file))
        let log = WarningLog()
        let broken = try engine(file + "/cache", log: log)
        defer { broken.shutdown() }
        let a = try await run(broken, promptA)
        broken.flushPrefixCache()
        #expect(a.usage?.completionTokens == 6)
        #expect(!log.all.isEmpty && log.all.allSatisfy { $0.contains("cannot") }, "\(log.all)")
    }

    @Test func twoServersWritingOneDirectoryLeaveValidFiles() async throws {
        let dir = try directory()
        let log = WarningLog()
        let engines = try (0..<2).map { _ in try engine(dir, log: log) }
        defer { for e in engines { e.shutdown() } }
        // Both write the same keys (and some of their own) at the same time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, e) in engines.enumerated() {
                group.addTask {
                    for k in 0..<4 { _ = try await self.run(e, self.promptA.map { ($0 + k) % 5000 + 3 }) }
                    _ = try await self.run(e, self.promptB.map { $0 + n })
                }
            }
            try await group.waitForAll()
        }
        for e in engines { e.flushPrefixCache() }
        let files = try entryFiles(dir)
        #expect(files.count == 6)
        for name in files { _ = try MappedCacheFile(path: dir + "/" + name, kind: .prefixEntry, model: identity) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { $0.hasSuffix(".lfmc") })
        #expect(log.all.isEmpty, "\(log.all)")
    }
}
