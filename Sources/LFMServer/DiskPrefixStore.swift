#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LFMCore
import LFMKernels
import LFMModels

/// Where the prefix cache keeps its cold tier, and how much it may use.
public struct PrefixCacheDiskOptions: Sendable {
    /// The cache directory (created if missing). Several servers may share it.
    public var directory: String
    /// Most bytes of entry files this server keeps in the directory; the least recently used go first.
    public var maxBytes: Int
    /// The model's fingerprint (`ModelFingerprint`): files of other models are left alone.
    public var model: ModelIdentity
    /// Where warnings go (default: standard error).
    public var warn: @Sendable (String) -> Void

    /// Creates options.
    public init(directory: String, maxBytes: Int, model: ModelIdentity,
                warn: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.model = model
        self.warn = warn
    }
}

/// The disk tier of the prefix cache: one cache file (`CacheFile`, kind `.prefixEntry`) per
/// snapshot, named `MODEL16-TOKENHASH-COUNT.lfmc` after the model's fingerprint and its tokens.
///
/// Entries are written through in the background when they enter the cache (so they survive a
/// restart or a crash) and mapped back, checksum-verified, when a prompt needs one that is no
/// longer in RAM. At start the index is rebuilt by scanning the directory (headers only; the
/// checksum is verified on use). Truncated, corrupt, wrong-version or wrong-model files are
/// skipped with a warning (corrupt ones deleted); files of other models are left alone. Writes use
/// unique temporary names and rename(2), so two servers sharing the directory never see a partial
/// file; each keeps its own index and evicts (least recently used, by file time across restarts)
/// down to `maxBytes`. Thread-safe: the engine thread looks up and loads, a serial queue writes.
final class DiskPrefixStore: @unchecked Sendable {
    // @unchecked: `items`, `pending` and `lastWarning` are only touched under `lock` (writes run on the serial `queue`).
    struct Item {
        let tokens: [Int]
        let hasLogits: Bool
        let path: String
        let bytes: Int
        var lastUsed: Double
    }

    let options: PrefixCacheDiskOptions
    private let shapes: [LayerCacheShape]
    private let maxContext: Int
    /// The engine's KV storage type and cache policy: entries saved with others are refused.
    private let kvType: KVCacheType
    private let cachePolicy: KVCachePolicy
    private let vocabularySize: Int
    private let lock = NSLock()
    private var items: [String: Item] = [:]
    private var pending: Set<String> = []
    private var lastWarning = ""
    private let queue = DispatchQueue(label: "lfm-prefix-cache-disk")
    private let prefix: String

    static let tokensTag = RecordTag("TOKN")
    static let stateTag = RecordTag("STAT")
    static let logitsTag = RecordTag("LOGT")

    init(options: PrefixCacheDiskOptions, shapes: [LayerCacheShape], maxContext: Int, kvType: KVCacheType = .f32,
         cachePolicy: KVCachePolicy = .full, vocabularySize: Int) {
        self.kvType = kvType
        self.cachePolicy = cachePolicy
        self.options = options
        self.shapes = shapes
        self.maxContext = maxContext
        self.vocabularySize = vocabularySize
        prefix = String(options.model.description.prefix(16))
        do {
            try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
        } catch {
            warn("prefix cache directory \(options.directory) cannot be created (\(error)); entries will not be kept on disk")
        }
        scan()
    }

    /// Bytes of entry files in the index.
    var byteCount: Int { lock.lock(); defer { lock.unlock() }; return items.values.reduce(0) { $0 + $1.bytes } }
    /// Entries in the index.
    var count: Int { lock.lock(); defer { lock.unlock() }; return items.count }

    /// The file name of the entry for `tokens`.
    func fileName(_ tokens: [Int]) -> String {
        let hash = tokens.map { Int32(truncatingIfNeeded: $0) }.withUnsafeBytes { XXHash64.hash($0) }
        let hex = String(hash, radix: 16)
        return "\(prefix)-\(String(repeating: "0", count: 16 - hex.count) + hex)-\(tokens.count).lfmc"
    }

    /// The longest indexed entry (more than `longerThan` tokens) that `prompt` starts with; an
    /// entry equal to the whole prompt only if it has logits.
    func longestPrefix(of prompt: [Int], longerThan: Int) -> Item? {
        lock.lock()
        defer { lock.unlock() }
        var best: Item?
        for item in items.values where item.tokens.count > max(longerThan, best?.tokens.count ?? 0) {
            let usable = item.tokens.count < prompt.count || (item.tokens.count == prompt.count && item.hasLogits)
            if usable, prompt.starts(with: item.tokens) { best = item }
        }
        return best
    }

    /// Maps `item` back and checks it whole; nil (with a warning, and the file dropped from the
    /// index) when it is gone, corrupt, or does not fit this model and context.
    func load(_ item: Item) -> PrefixCache.Entry? {
        do {
            let file = try MappedCacheFile(path: item.path, kind: .prefixEntry, model: options.model)
            try file.records.checkKnown([Self.tokensTag, Self.stateTag, Self.logitsTag], context: item.path)
            guard let t = file.records.first(Self.tokensTag), let s = file.records.first(Self.stateTag) else {
                throw CacheFileError.malformed(detail: "\(item.path): a TOKN or STAT record is missing")
            }
            var reader = ByteReader(t.payload, context: item.path)
            let tokens = try reader.tokens("tokens")
            guard tokens == item.tokens else { throw CacheFileError.malformed(detail: "\(item.path): tokens differ from its index entry") }
            let state = try SequenceState.decode(s.payload, shapes: shapes, maxContext: maxContext, kvType: kvType,
                                                 policy: cachePolicy)
            guard state.position == tokens.count else {
                throw CacheFileError.malformed(detail: "\(item.path): \(tokens.count) tokens but \(state.position) positions")
            }
            var logits: [Float]?
            if let l = file.records.first(Self.logitsTag) {
                var r = ByteReader(l.payload, context: item.path)
                let n = try r.i64("logit count")
                guard n == vocabularySize else { throw CacheFileError.malformed(detail: "\(item.path): \(n) logits, expected \(vocabularySize)") }
                logits = try r.floats(n, "logits")
            }
            touch(item)
            return PrefixCache.Entry(tokens: tokens, state: state, logits: logits, persisted: true)
        } catch {
            drop(item, because: error)
            return nil
        }
    }

    /// Queues a background write of `entry` unless the directory already holds it (or it is being written).
    func store(_ entry: PrefixCache.Entry) {
        let name = fileName(entry.tokens)
        lock.lock()
        if pending.contains(name) || items[name].map({ $0.hasLogits || entry.logits == nil }) == true {
            lock.unlock()
            return
        }
        pending.insert(name)
        lock.unlock()
        queue.async { [self] in
            defer { lock.lock(); pending.remove(name); lock.unlock() }
            let bytes = CacheFile.encode(kind: .prefixEntry, model: options.model, capacity: entry.state.byteCount) { w in
                w.record(Self.tokensTag, flags: ByteWriter.required) { $0.tokens(entry.tokens) }
                w.record(Self.stateTag, flags: ByteWriter.required) { entry.state.encode(into: &$0) }
                if let logits = entry.logits {
                    w.record(Self.logitsTag) { w in w.i64(logits.count); w.floats(logits[...]) }
                }
            }
            guard bytes.count <= options.maxBytes else { return }   // larger than the whole tier
            let path = options.directory + "/" + name
            do {
                try AtomicFile.write(bytes, to: path)
            } catch {
                warn("prefix cache entry not saved: \(error)")
                return
            }
            lock.lock()
            items[name] = Item(tokens: entry.tokens, hasLogits: entry.logits != nil, path: path, bytes: bytes.count,
                               lastUsed: Date().timeIntervalSince1970)
            let victims = evictions()
            lock.unlock()
            for victim in victims { unlink(victim.path) }
        }
    }

    /// Waits for queued writes to finish.
    func flush() { queue.sync {} }

    // MARK: Private

    /// Removes least recently used items until the index fits `maxBytes` (lock held); returns them.
    private func evictions() -> [Item] {
        var total = items.values.reduce(0) { $0 + $1.bytes }
        guard total > options.maxBytes else { return [] }
        var victims: [Item] = []
        for (name, item) in items.sorted(by: { $0.value.lastUsed < $1.value.lastUsed }) where total > options.maxBytes {
            items[name] = nil
            total -= item.bytes
            victims.append(item)
        }
        return victims
    }

    /// Marks `item` used now (in the index and as the file's modification time, for LRU across restarts).
    private func touch(_ item: Item) {
        lock.lock()
        let name = (item.path as NSString).lastPathComponent
        items[name]?.lastUsed = Date().timeIntervalSince1970
        lock.unlock()
        _ = utimes(item.path, nil)
    }

    private func drop(_ item: Item, because error: Error) {
        lock.lock()
        items[(item.path as NSString).lastPathComponent] = nil
        lock.unlock()
        if case CacheFileError.notFound = error { return }   // another server evicted it
        warn("ignoring prefix cache file: \(error)")
        if Self.isCorrupt(error) { unlink(item.path) }
    }

    /// Truncated, torn or damaged files are deleted; files of another model or format version are left alone.
    private static func isCorrupt(_ error: Error) -> Bool {
        guard let error = error as? CacheFileError else { return false }
        switch error {
        case .truncated, .checksumMismatch, .malformed, .badMagic: return true
        default: return false
        }
    }

    /// Rebuilds the index from the directory (headers and token records only).
    private func scan() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: options.directory) else { return }
        let now = Date().timeIntervalSince1970
        for name in names {
            let path = options.directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            #if os(Linux)
            let modified = Double(info.st_mtim.tv_sec)
            #else
            let modified = Double(info.st_mtimespec.tv_sec)
            #endif
            if name.hasPrefix("."), name.contains(".lfmc.tmp-") {
                if now - modified > 3600 { unlink(path) }   // left behind by a writer that died
                continue
            }
            guard name.hasSuffix(".lfmc"), name.hasPrefix(prefix + "-") else { continue }
            do {
                let file = try MappedCacheFile(path: path, kind: .prefixEntry, model: options.model, verifyChecksum: false)
                guard let t = file.records.first(Self.tokensTag) else {
                    throw CacheFileError.malformed(detail: "\(path): no TOKN record")
                }
                var reader = ByteReader(t.payload, context: path)
                let tokens = try reader.tokens("tokens")
                guard !tokens.isEmpty, tokens.count <= maxContext, fileName(tokens) == name else {
                    throw CacheFileError.malformed(detail: "\(path): its tokens do not match its name or this context")
                }
                items[name] = Item(tokens: tokens, hasLogits: file.records.first(Self.logitsTag) != nil, path: path,
                                   bytes: file.byteCount, lastUsed: modified)
            } catch {
                warn("ignoring prefix cache file: \(error)")
                if Self.isCorrupt(error) { unlink(path) }
            }
        }
        for victim in evictions() { unlink(victim.path) }
    }

    private func warn(_ message: String) {
        lock.lock()
        let repeated = message == lastWarning
        lastWarning = message
        lock.unlock()
        if !repeated { options.warn(message) }
    }
}
